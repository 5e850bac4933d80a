/**
 * Kea as the lab runs it: the kvm stack with `servers.dhcp.server: kea`, its NetbootServer
 * children applied to the local engine, so kea-dhcp4 runs from the server image in the pod's
 * network namespace. Real clients in namespaces on the lab bridge; `netboot-lab check` reads
 * Kea's answers, `watch`'s parser reads its log, and the faults a dhcpd lab survives (a crash,
 * a restart, the pod down while the daemon starts) leave Kea answering too.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckReport } from "../../lib/check/report";
import { readStackConfigMap } from "../../lib/model";
import { LOG_PARSERS, splitDockerTimestamp, type DaemonEvent } from "../../lib/watch/log-lines";
import { probeDhcp, type ProbeReply } from "../support/dhcp-clients";
import { labPlacement, startLabServers, type LabServers } from "../support/lab-servers";
import { createTestHost, type TestHost } from "../support/netns";
import { mergeConfig, PROJECT_DIR } from "../support/pulumi-harness";
import { dockerObjectsOf } from "../support/test-run";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const placement = labPlacement("kea", 218);
const { net, server, bridge, prefix, labels } = placement;
const KEA = `${prefix}-kea`;
const RESERVED_MAC = "52:54:00:6f:00:10";
const POOLED_MAC = "52:54:00:6f:00:11";
const UNKNOWN_MAC = "52:54:00:6f:00:99";

let lab: LabServers | undefined;
const hosts: TestHost[] = [];
const workDir = mkdtempSync(join(tmpdir(), "nbl-kea-check-"));
let stackFile = "";

async function host(mac: string): Promise<TestHost> {
  const created = await createTestHost({ bridge, mac });
  hosts.push(created);
  return created;
}

async function docker(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout.trim();
}

/** Asks until an answer comes (the daemon may still be starting), at most `attempts` times. */
async function probeUntilAnswered(client: TestHost, options: Parameters<typeof probeDhcp>[1], attempts = 15): Promise<ProbeReply | undefined> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const reply = await probeDhcp(client, { timeoutMs: 2000, ...options });
    if (reply) return reply;
  }
  return undefined;
}

async function checkDhcpRows(): Promise<{ rows: CheckReport["rows"]; text: string }> {
  const result = await execa("node", [CLI, "check", "--stack", "kvm", "--config", stackFile, "--json"], { reject: false });
  const report = JSON.parse(result.stdout) as CheckReport;
  return { rows: report.rows.filter((row) => row.kind === "dhcp"), text: result.stdout + result.stderr };
}

beforeAll(async () => {
  lab = await startLabServers(
    placement,
    [
      { name: "reserved", mac: RESERVED_MAC, ipv4: `${net}.10`, bootImage: "linux" },
      { name: "pooled", mac: POOLED_MAC, bootImage: "linux" },
    ],
    undefined,
    { "netboot-lab:servers": { dhcp: { server: "kea" } } },
  );
  // The stack file `check --config` reads: the kvm stack with this lab's overrides.
  stackFile = join(workDir, "Pulumi.kvm.yaml");
  writeFileSync(stackFile, dump({ config: mergeConfig(readStackConfigMap(join(PROJECT_DIR, "stacks", "Pulumi.kvm.yaml")), lab.configOverrides) }));
}, 900_000);

afterAll(async () => {
  // A probe container left by an interrupted check would keep the network from being removed.
  const left = await execa("docker", ["ps", "-aq", "--filter", `label=io.netboot-lab.lab=${prefix}`, "--filter", "label=io.netboot-lab.role=check"]);
  for (const container of left.stdout.split("\n").filter(Boolean)) await execa("docker", ["rm", "-f", container], { reject: false });
  for (const created of hosts) await created.destroy();
  await lab?.applied.teardown();
  rmSync(workDir, { recursive: true, force: true });
});

describe("kea-dhcp4 in the lab's pod", () => {
  it("runs in place of dhcpd, with NET_RAW and NET_BIND_SERVICE only", async () => {
    expect((await execa("docker", ["inspect", `${prefix}-dhcpd`], { reject: false })).exitCode).not.toBe(0);
    const [state] = JSON.parse(await docker("inspect", KEA));
    expect(state.State.Running).toBe(true);
    expect(state.HostConfig.CapDrop).toEqual(["ALL"]);
    expect([...state.HostConfig.CapAdd].sort()).toEqual(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
    expect(Object.keys(state.HostConfig.Tmpfs)).toEqual(["/run"]);
  });

  it("gives a reserved client its address, next-server, per-firmware file and unrequested root-path; iPXE its script", async () => {
    const client = await host(RESERVED_MAC);
    const bios = await probeUntilAnswered(client, { arch: "bios", requestOptions: [1, 3, 67] });
    expect(bios).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${net}.10`, siaddr: server, file: "linux/undionly.kpxe" });
    expect(bios?.options).toMatchObject({ "root-path": `${server}:/netboot/linux/root`, "dhcp-server-identifier": server });
    expect(await probeDhcp(client, { arch: "efi-x64" })).toMatchObject({ file: "linux/ipxe.efi" });
    expect(await probeDhcp(client, { arch: "bios", ipxe: true })).toMatchObject({ file: `http://${server}/linux/boot.ipxe` });
    expect(await probeDhcp(client, { bootp: true })).toMatchObject({ messageType: "BOOTREPLY", yiaddr: `${net}.10`, file: "linux/undionly.kpxe" });
  });

  it("answers no undeclared MAC, by DHCP or BOOTP", async () => {
    const stranger = await host(UNKNOWN_MAC);
    expect(await probeDhcp(stranger, { timeoutMs: 3000 })).toBeUndefined();
    expect(await probeDhcp(stranger, { bootp: true, timeoutMs: 3000 })).toBeUndefined();
  });

  it("keeps a pool client's lease on the leases volume across a restart, with and without client-id", async () => {
    const pooled = await host(POOLED_MAC);
    const bound = await probeUntilAnswered(pooled, { full: true });
    expect(bound?.yiaddr).toMatch(new RegExp(`^${net.replace(/\./g, "\\.")}\\.1[01]\\d$|^${net.replace(/\./g, "\\.")}\\.120$`));
    expect(await probeDhcp(pooled, { clientId: null })).toMatchObject({ yiaddr: bound?.yiaddr });
    // A second run of the container: its PID file is on a tmpfs, so no stale one keeps Kea from starting.
    await docker("restart", KEA);
    expect(await lab!.inVolume(`${prefix}-leases`, "cat /v/kea-leases4.csv")).toContain(`${bound?.yiaddr},${POOLED_MAC}`);
    expect((await probeUntilAnswered(pooled, { clientId: null }))?.yiaddr).toBe(bound?.yiaddr);
  });
});

describe("netboot-lab check and watch read Kea", () => {
  it("check passes every DHCP row of every client and the undeclared MAC", async () => {
    const { rows, text } = await checkDhcpRows();
    expect(rows.find((row) => row.subject === "other-servers")?.detail).toBe(`only the lab's kea-dhcp4 (${server}) answered`);
    expect(rows.map((row) => `${row.client} ${row.subject} ${row.status}`).sort(), text).toEqual(
      [
        "reserved pxe pass",
        "reserved ipxe pass",
        "reserved bootp pass",
        "pooled pxe pass",
        "pooled ipxe pass",
        "(unknown) unknown-mac pass",
        "(network) other-servers pass",
      ].sort(),
    );
  });

  it("check names kea-dhcp4 and its stopped container when it does not answer", async () => {
    await docker("stop", KEA);
    try {
      const { rows } = await checkDhcpRows();
      const reserved = rows.find((row) => row.client === "reserved" && row.subject === "pxe");
      expect(reserved).toMatchObject({ status: "fail", detail: expect.stringContaining(`kea-dhcp4 does not answer: its container ${KEA} is exited`) });
      expect(rows.find((row) => row.subject === "unknown-mac")?.status).toBe("skip");
    } finally {
      await docker("start", KEA);
    }
  });

  it("watch's parser reads Kea's offers, allocations and the undeclared MAC from the container's log", async () => {
    const log = await execa("docker", ["logs", "--timestamps", KEA], { all: true });
    const events = String(log.all)
      .split("\n")
      .map((line) => splitDockerTimestamp(line))
      .map((line) => (line ? LOG_PARSERS.kea!(line.text) : undefined))
      .filter((event): event is DaemonEvent => event !== undefined);
    expect(events).toContainEqual({ kind: "dhcp", message: "DHCPOFFER", mac: RESERVED_MAC, ip: `${net}.10` });
    expect(events).toContainEqual(expect.objectContaining({ kind: "dhcp", message: "DHCPACK", mac: POOLED_MAC }));
    expect(events).toContainEqual(expect.objectContaining({ kind: "dhcp", message: "DHCPDISCOVER", mac: UNKNOWN_MAC }));
  });
});

describe("Kea's container through the faults a dhcpd lab survives", () => {
  it("a crash: the restart policy brings it back and the pool client keeps its address", async () => {
    const pooled = await host(POOLED_MAC);
    const before = await probeUntilAnswered(pooled, { full: true, clientId: null });
    const [pid, restarts] = (await docker("inspect", "-f", "{{.State.Pid}} {{.RestartCount}}", KEA)).split(" ").map(Number);
    process.kill(pid!, "SIGKILL");
    let back = false;
    for (let attempt = 0; attempt < 150 && !back; attempt += 1) {
      const [running, count] = (await docker("inspect", "-f", "{{.State.Running}} {{.RestartCount}}", KEA)).split(" ");
      back = running === "true" && Number(count) > restarts!;
      if (!back) await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
    expect(back).toBe(true);
    expect((await probeUntilAnswered(pooled, { clientId: null }))?.yiaddr).toBe(before?.yiaddr);
  });

  it("the pod down while Kea starts: the keeper starts it once the pod runs, and it answers", async () => {
    await docker("stop", `${prefix}-pod`);
    const refused = await execa("docker", ["restart", KEA], { reject: false });
    expect(refused.stderr).toMatch(/non running container/);
    await docker("start", `${prefix}-pod`);
    const reply = await probeUntilAnswered(await host(RESERVED_MAC), { arch: "bios" }, 20);
    expect(reply).toMatchObject({ yiaddr: `${net}.10` });
    expect((await execa("docker", ["logs", `${prefix}-keeper`])).stdout).toMatch(new RegExp(`started ${KEA}: its last start failed \\(cannot join network`));
  });
});

describe("teardown", () => {
  it("leaves nothing behind", async () => {
    for (const created of hosts.splice(0)) await created.destroy();
    await lab?.applied.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
