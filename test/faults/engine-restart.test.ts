/**
 * The Docker engine restarts (a host reboot, a package upgrade): the lab must answer again
 * without `pulumi up`, from its restart policies alone. Restarting dockerd disturbs everything
 * on the engine, so this file is not part of the main suite: `npm run test:faults` runs it on
 * its own, after the main suite, with no other test file in parallel (vitest.faults.config.mts).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeDhcp } from "../support/dhcp-clients";
import { labPlacement, startLabServers, type LabServers } from "../support/lab-servers";
import { createTestHost, type TestHost } from "../support/netns";
import { PROJECT_DIR } from "../support/pulumi-harness";
import { dockerObjectsOf } from "../support/test-run";

const placement = labPlacement("engine-restart", 216);
const { net, server, bridge, prefix, labels } = placement;
const RESERVED_MAC = "52:54:00:60:00:10";
const LOADER = randomBytes(200_000);
/** Where scripts/start-dockerd.sh has the engine log. */
const ENGINE_LOG = "/var/log/netboot-lab-dockerd.log";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let lab: LabServers | undefined;
const hosts: TestHost[] = [];

/** Restarts the engine the way the machine runs it: systemd's unit, or scripts/start-dockerd.sh's nohup dockerd. */
async function restartEngine(): Promise<void> {
  const systemd = existsSync("/run/systemd/system") && (await execa("systemctl", ["is-active", "--quiet", "docker"], { reject: false })).exitCode === 0;
  if (systemd) {
    await execa("systemctl", ["restart", "docker"]);
    return;
  }
  const pid = Number(readFileSync("/var/run/docker.pid", "utf8").trim());
  process.kill(pid, "SIGTERM");
  for (let attempt = 0; attempt < 300 && existsSync(`/proc/${pid}`); attempt += 1) await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  await execa("bash", [`${PROJECT_DIR}/scripts/start-dockerd.sh`], { stdio: "inherit" });
}

/** Each lab container's state and last start error, and what the engine logged about starting them: what a failure needs to be understood. */
async function labContainerStates(): Promise<string> {
  const ids = (await execa("docker", ["ps", "-aq", ...Object.entries(labels).flatMap(([key, value]) => ["--filter", `label=${key}=${value}`])])).stdout
    .split("\n")
    .filter(Boolean);
  const states = ids.length
    ? (
        await execa("docker", [
          "inspect",
          "--format",
          "{{.Name}} {{.State.Status}} restarts={{.RestartCount}} started={{.State.StartedAt}} error={{.State.Error}}",
          ...ids,
        ])
      ).stdout
    : "no lab containers";
  const engineLog = existsSync(ENGINE_LOG)
    ? readFileSync(ENGINE_LOG, "utf8")
        .split("\n")
        .filter((line) => /Loading containers|failed to start|level=error/.test(line))
        .slice(-15)
        .join("\n")
    : "";
  return `${states}\n${engineLog}`;
}

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, seconds = 90): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
  }
  throw new Error(`${what} did not happen within ${seconds} s of the engine restart; the lab's containers:\n${await labContainerStates()}`);
}

beforeAll(async () => {
  lab = await startLabServers(placement, [{ name: "reserved", mac: RESERVED_MAC, ipv4: `${net}.10`, bootImage: "linux" }], [{ name: "linux", kind: "ipxe" }]);
  await lab.inVolume(`${prefix}-boot-tree`, "mkdir -p /v/linux && cat > /v/linux/undionly.kpxe && chmod -R a+rX /v", LOADER);
}, 600_000);

afterAll(async () => {
  for (const created of hosts) await created.destroy();
  await lab?.applied.teardown();
});

describe("after a Docker engine restart", () => {
  it("the lab answers DHCP and serves TFTP again, with no pulumi up", async () => {
    const dhcpClient = await createTestHost({ bridge, mac: RESERVED_MAC });
    const tftpClient = await createTestHost({ bridge, address: `${net}.50/24` });
    hosts.push(dhcpClient, tftpClient);
    expect(await probeDhcp(dhcpClient, { arch: "bios" })).toMatchObject({ yiaddr: `${net}.10` });

    await restartEngine();

    const reply = await eventually("a DHCP answer", async () => (await probeDhcp(dhcpClient, { arch: "bios", timeoutMs: 3000 })) ?? undefined);
    expect(reply).toMatchObject({ yiaddr: `${net}.10`, file: "linux/undionly.kpxe" });
    const loader = await eventually("a TFTP transfer", async () => {
      const result = await tftpClient.run("curl", ["-sS", "--max-time", "10", `tftp://${server}/linux/undionly.kpxe`], { encoding: "buffer", reject: false });
      return result.exitCode === 0 ? (result.stdout as Uint8Array) : undefined;
    });
    expect(sha256(loader)).toBe(sha256(LOADER));
  }, 300_000);
});

describe("teardown", () => {
  it("leaves nothing behind", async () => {
    for (const created of hosts.splice(0)) await created.destroy();
    await lab?.applied.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
