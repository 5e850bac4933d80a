/**
 * Faults a lab meets in a room full of netbooting machines: a daemon that dies in the middle of
 * a transfer. The servers are the containers NetbootServer declares (kvm stack, applied to the
 * local engine); each daemon's main process is killed with SIGKILL from outside, as the OOM
 * killer or a crash would, while a client in a namespace on the lab bridge is reading a 40 MB
 * file, slowed down (TFTP: its link shaped with tc; HTTP: curl's rate limit) so that the kill
 * lands mid-transfer however fast the machine is. The restart policy brings the container back by itself and the client's retry gets the
 * file byte for byte; dhcpd's leases survive on their volume. (`docker kill` and `docker stop`
 * are deliberate stops, which the restart policy respects: see the README.)
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeDhcp } from "../support/dhcp-clients";
import { labPlacement, startLabServers, type LabServers } from "../support/lab-servers";
import { createTestHost, type TestHost } from "../support/netns";
import { PROJECT_DIR } from "../support/pulumi-harness";
import { dockerObjectsOf } from "../support/test-run";

const placement = labPlacement("faults", 215);
const { net, server, bridge, prefix, labels } = placement;
const POOLED_MAC = "52:54:00:5f:00:11";
const PAYLOAD = randomBytes(40 * 1024 * 1024);
const PAYLOAD_SHA = createHash("sha256").update(PAYLOAD).digest("hex");

let lab: LabServers | undefined;
const hosts: TestHost[] = [];
let client: TestHost;
const scratch = mkdtempSync(join(tmpdir(), "nbl-faults-"));

function sizeOf(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

async function docker(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout.trim();
}

async function state(container: string): Promise<{ running: boolean; pid: number; restarts: number }> {
  const [running, pid, restarts] = (await docker("inspect", "-f", "{{.State.Running}} {{.State.Pid}} {{.RestartCount}}", container)).split(" ");
  return { running: running === "true", pid: Number(pid), restarts: Number(restarts) };
}

/** Kills the container's main process as a crash would and waits until the restart policy has it running again. */
async function crashAndWaitForRestart(container: string): Promise<void> {
  const before = await state(container);
  expect(before.running).toBe(true);
  process.kill(before.pid, "SIGKILL");
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const now = await state(container);
    if (now.running && now.restarts > before.restarts) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  throw new Error(`${container} did not come back after its process was killed`);
}

/** What a netbooting client does: try, and on failure try again a few times. Returns the sha256 of what it got. */
async function withRetries(fetch: () => Promise<string>, attempts = 10): Promise<string> {
  let last = "";
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    last = await fetch().catch((error: unknown) => `failed: ${String(error)}`);
    if (last === PAYLOAD_SHA) return last;
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
  }
  return last;
}

/** Runs a shell pipeline in the client namespace; resolves with the sha256 it printed, or a failure note. */
async function fetchSha(pipeline: string): Promise<string> {
  const result = await client.run("bash", ["-c", `set -o pipefail; ${pipeline} | sha256sum | cut -d' ' -f1`], { reject: false });
  return result.exitCode === 0 ? String(result.stdout).trim() : `failed (exit ${result.exitCode}): ${String(result.stderr).slice(-300)}`;
}

beforeAll(async () => {
  lab = await startLabServers(placement, [{ name: "pooled", mac: POOLED_MAC, bootImage: "linux" }]);
  await lab.inVolume(`${prefix}-boot-tree`, "mkdir -p /v/linux/root && cat > /v/linux/root/payload.bin && chmod -R a+rX /v", PAYLOAD);
  client = await createTestHost({ bridge, address: `${net}.50/24` });
  hosts.push(client);
}, 600_000);

afterAll(async () => {
  for (const created of hosts) await created.destroy();
  await lab?.applied.teardown();
  rmSync(scratch, { recursive: true, force: true });
});

describe("every daemon container is declared to come back by itself", () => {
  it("has restart policy unless-stopped on the engine, and logs that rotate", async () => {
    for (const role of ["pod", "dhcpd", "tftp", "nfs", "http", "keeper"])
      expect(await docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", `${prefix}-${role}`), role).toBe("unless-stopped");
    for (const role of ["dhcpd", "tftp", "nfs", "http", "keeper"])
      expect(JSON.parse(await docker("inspect", "-f", "{{json .HostConfig.LogConfig}}", `${prefix}-${role}`)), role).toEqual({
        Type: "json-file",
        Config: { "max-size": "10m", "max-file": "3" },
      });
  });

  it("refreshes before every update, so `pulumi up` restores a container deleted by hand (Pulumi.yaml options.refresh)", () => {
    const project = load(readFileSync(`${PROJECT_DIR}/Pulumi.yaml`, "utf8")) as { options?: { refresh?: string } };
    expect(project.options?.refresh).toBe("always");
  });
});

describe("a daemon killed during a transfer", () => {
  it("TFTP: the container restarts and the client's retry gets the file", async () => {
    // The client's link carries 4 Mbit/s while the transfer is to be interrupted, so it lasts over
    // a minute on any machine; the kill waits until the file is arriving, so it lands mid-transfer.
    const shaped = ["dev", client.hostLink, "root"];
    await execa("tc", ["qdisc", "add", ...shaped, "tbf", "rate", "4mbit", "burst", "16kb", "latency", "1s"]);
    const partial = join(scratch, "tftp-partial.bin");
    try {
      // A TFTP transfer has no reconnect: the client notices the server's silence and gives up.
      const interrupted = client.run("curl", ["-sS", "--max-time", "10", "--tftp-blksize", "512", "-o", partial, `tftp://${server}/linux/root/payload.bin`], {
        reject: false,
      });
      for (let waited = 0; sizeOf(partial) < 256 * 1024 && waited < 300; waited += 1) await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      const receivedBeforeCrash = sizeOf(partial);
      await crashAndWaitForRestart(`${prefix}-tftp`);
      // Lock-step TFTP has one block in flight: once it has landed, nothing more arrives from a dead server.
      await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
      const receivedAfterCrash = sizeOf(partial);
      await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
      expect(sizeOf(partial)).toBe(receivedAfterCrash);
      const result = await interrupted;

      expect(receivedBeforeCrash).toBeGreaterThanOrEqual(256 * 1024);
      expect(receivedAfterCrash).toBeLessThan(PAYLOAD.length);
      expect(result.exitCode).not.toBe(0);
    } finally {
      await execa("tc", ["qdisc", "del", ...shaped], { reject: false });
    }
    expect(await withRetries(() => fetchSha(`curl -sS --max-time 60 --tftp-blksize 1468 tftp://${server}/linux/root/payload.bin`))).toBe(PAYLOAD_SHA);
  });

  it("HTTP: the container restarts and the client's retry gets the file", async () => {
    const interrupted = fetchSha(`curl -sSf --limit-rate 4M http://${server}/linux/root/payload.bin`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 1500));
    await crashAndWaitForRestart(`${prefix}-http`);

    expect(await interrupted).not.toBe(PAYLOAD_SHA);
    expect(await withRetries(() => fetchSha(`curl -sSf http://${server}/linux/root/payload.bin`))).toBe(PAYLOAD_SHA);
  });

  it("NFS: the container restarts and the read that spans the restart completes byte for byte (NFSv3 clients retry by themselves)", async () => {
    // A slow reader: nfs-cat blocks on the full pipe, so the kill lands in the middle of the read.
    const interrupted = fetchSha(`nfs-cat 'nfs://${server}/netboot/linux/root/payload.bin?version=3' | (sleep 3; cat)`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
    await crashAndWaitForRestart(`${prefix}-nfs`);

    expect(await interrupted).toBe(PAYLOAD_SHA);
    expect(await withRetries(() => fetchSha(`nfs-cat 'nfs://${server}/netboot/linux/root/payload.bin?version=3'`))).toBe(PAYLOAD_SHA);
  });

  it("dhcpd: the container restarts, the lease survives on its volume and the client gets its address again", async () => {
    const pooled = await createTestHost({ bridge, mac: POOLED_MAC });
    hosts.push(pooled);
    const before = await probeDhcp(pooled, { full: true, clientId: null });
    expect(before?.yiaddr).toMatch(new RegExp(`^${net.replace(/\./g, "\\.")}\\.`));

    await crashAndWaitForRestart(`${prefix}-dhcpd`);
    expect(await lab!.inVolume(`${prefix}-leases`, "cat /v/dhcpd.leases")).toContain(`hardware ethernet ${POOLED_MAC};`);

    let after;
    for (let attempt = 0; attempt < 10 && !after; attempt += 1) after = await probeDhcp(pooled, { clientId: null, timeoutMs: 3000 });
    expect(after?.yiaddr).toBe(before?.yiaddr);
  });
});

describe("the pod down while a daemon starts (what an engine restart does to a lab, moby/moby#50326)", () => {
  it("the keeper starts the daemon whose start failed and restarts those left in the pod's old namespace, and the lab answers again", async () => {
    await docker("stop", `${prefix}-pod`);
    // The engine refuses a daemon whose pod is not running, and its restart policy never retries a failed start.
    const refused = await execa("docker", ["restart", `${prefix}-dhcpd`], { reject: false });
    expect(refused.stderr).toMatch(/non running container/);
    expect(await docker("inspect", "-f", "{{.State.Status}}", `${prefix}-dhcpd`)).toBe("exited");

    await docker("start", `${prefix}-pod`);
    const pooled = await createTestHost({ bridge, mac: POOLED_MAC });
    hosts.push(pooled);
    let reply;
    for (let attempt = 0; attempt < 20 && !reply; attempt += 1) reply = await probeDhcp(pooled, { clientId: null, timeoutMs: 2000 });
    expect(reply?.yiaddr).toMatch(new RegExp(`^${net.replace(/\./g, "\\.")}\\.`));
    expect(await withRetries(() => fetchSha(`curl -sS --max-time 60 tftp://${server}/linux/root/payload.bin`))).toBe(PAYLOAD_SHA);

    const keeperLog = (await execa("docker", ["logs", `${prefix}-keeper`])).stdout;
    expect(keeperLog).toMatch(new RegExp(`started ${prefix}-dhcpd: its last start failed \\(cannot join network`));
    expect(keeperLog).toContain(`restarted ${prefix}-tftp: it runs since before ${prefix}-pod started`);
  });
});

describe("teardown", () => {
  it("leaves nothing behind", async () => {
    for (const created of hosts.splice(0)) await created.destroy();
    await lab?.applied.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
