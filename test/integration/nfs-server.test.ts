/**
 * The NFS container exactly as the NetbootServer component declares it from nfsServer()'s spec
 * (applied by the declared-resource mapper), on a Docker bridge of its own, joined to a pod's
 * network namespace, read by libnfs clients
 * (nfs-cat, nfs-ls, nfs-cp) from test namespaces on that bridge over NFSv3 and NFSv4.
 */
import { execa } from "execa";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nfsServer } from "../../lib/servers/nfs";
import type { ServerContainerSpec } from "../../lib/servers/spec";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { createTestHost, type TestHost } from "../support/netns";
import { declareComponents } from "../support/pulumi-harness";
import { labelFlags, testCaseLabels } from "../support/test-run";

const id = randomBytes(3).toString("hex");
const names = {
  image: `netboot-lab/server:nbt-nfs-${id}`,
  network: `nbt-nfs-${id}`,
  bridge: `nbtnfs${id}`,
  volume: `nbt-nfs-tree-${id}`,
  pod: `nbt-nfs-pod-${id}`,
  nfs: `nbt-nfs-server-${id}`,
  lowPortPod: `nbt-nfs-pod-lowport-${id}`,
  lowPortNfs: `nbt-nfs-server-lowport-${id}`,
};
const LABELS = testCaseLabels(`nfs-${id}`);
const labelArgs = labelFlags(LABELS);
const EXPORT_PATH = "/netboot";
const HELLO = `hello from the boot tree ${id}\n`;
const KERNEL = `kernel bytes ${id}\n`;

const hosts: TestHost[] = [];
const applied: AppliedLab[] = [];
const workDir = mkdtempSync(join(tmpdir(), "nbt-nfs-"));
let prefix = ""; // first three octets of the lab subnet, e.g. "10.213.140"
let serverAddress = "";
let insideClient: TestHost;
let outsideClient: TestHost;
let nfsSpec: ServerContainerSpec;
let nfsStartedAt = 0;

async function docker(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout.trim();
}

/** A /24 on 10.213.x.0 nobody else on this machine uses right now (Docker refuses overlapping pools). */
async function createLabNetwork(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    prefix = `10.213.${randomInt(100, 250)}`;
    const created = await execa(
      "docker",
      ["network", "create", ...labelArgs, "--opt", `com.docker.network.bridge.name=${names.bridge}`, "--subnet", `${prefix}.0/24`, names.network],
      { reject: false },
    );
    if (created.exitCode === 0) return;
    if (attempt === 5 || !/overlap/i.test(created.stderr)) throw new Error(`docker network create failed: ${created.stderr}`);
  }
}

async function startPod(name: string, address: string, extraArgs: string[] = []): Promise<void> {
  await docker(
    "run",
    "-d",
    "--name",
    name,
    ...labelArgs,
    "--network",
    names.network,
    "--ip",
    address,
    "--cap-drop",
    "ALL",
    ...extraArgs,
    "--entrypoint",
    "sleep",
    names.image,
    "infinity",
  );
}

/** Declares the container with the component's own code and applies it; `expectExit` for a daemon that is meant to stop (the provider's mustRun would fail it). */
async function startNfs(spec: ServerContainerSpec, containerName: string, pod: string, expectExit = false): Promise<void> {
  const run = await declareComponents(async () => {
    const { serverContainer } = await import("../../components/netboot-server/index.js");
    serverContainer(containerName, spec, { name: containerName, image: names.image, pod, volumes: { bootTree: names.volume }, labels: [] }, {});
    return {};
  });
  if (run.error || run.failures.length) throw run.error ?? run.failures[0];
  const resources = run.resources.map((resource) => (expectExit ? { ...resource, inputs: { ...resource.inputs, mustRun: false } } : resource));
  applied.push(await applyToDocker(resources, { labels: LABELS }));
}

function nfsUrl(path: string, version: 3 | 4): string {
  return `nfs://${serverAddress}${EXPORT_PATH}${path}?version=${version}`;
}

function nfs(host: TestHost, tool: "nfs-cat" | "nfs-ls" | "nfs-cp", ...args: string[]) {
  return host.run(tool, args, { reject: false, timeout: 20_000, all: true });
}

async function waitForMount(host: TestHost): Promise<void> {
  while ((await nfs(host, "nfs-ls", nfsUrl("", 3))).exitCode !== 0) {
    if (Date.now() - nfsStartedAt > 30_000) {
      throw new Error(`no NFSv3 mount within 30 s; server log:\n${(await execa("docker", ["logs", names.nfs], { reject: false, all: true })).all}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  await execa("docker", [
    "build",
    ...labelArgs,
    "--build-arg",
    "BASE_IMAGE=local/debian:bookworm",
    "-t",
    names.image,
    resolve(__dirname, "../../images/server"),
  ]);
  await createLabNetwork();
  serverAddress = `${prefix}.2`;
  await docker("volume", "create", ...labelArgs, names.volume);
  await docker(
    "run",
    "--rm",
    ...labelArgs,
    "-v",
    `${names.volume}:/tree`,
    "--entrypoint",
    "sh",
    names.image,
    "-c",
    `mkdir -p /tree/linux && printf '%s' "$1" >/tree/hello.txt && printf '%s' "$2" >/tree/linux/kernel.txt`,
    "sh",
    HELLO,
    KERNEL,
  );
  await startPod(names.pod, serverAddress);
  // The lower half of the /24 may mount; the test's outside client sits in the upper half of the same link.
  nfsSpec = nfsServer({ exportPath: EXPORT_PATH, clientSubnet: `${prefix}.0/25`, serverAddress });
  await startNfs(nfsSpec, names.nfs, names.pod);
  nfsStartedAt = Date.now();
  insideClient = await createTestHost({ bridge: names.bridge, address: `${prefix}.50/24` });
  hosts.push(insideClient);
  outsideClient = await createTestHost({ bridge: names.bridge, address: `${prefix}.200/24` });
  hosts.push(outsideClient);
  await waitForMount(insideClient);
  console.info(`NFS container answered NFSv3 ${((Date.now() - nfsStartedAt) / 1000).toFixed(1)} s after docker start`);
});

afterAll(async () => {
  for (const host of hosts) await host.destroy();
  for (const lab of applied) await lab.teardown();
  const containers = [names.lowPortNfs, names.lowPortPod, names.nfs, names.pod];
  await execa("docker", ["rm", "-f", "-v", ...containers], { reject: false });
  await execa("docker", ["network", "rm", names.network], { reject: false });
  await execa("docker", ["volume", "rm", "-f", names.volume], { reject: false });
  await execa("docker", ["rmi", names.image], { reject: false });
  rmSync(workDir, { recursive: true, force: true });
});

describe.each([3, 4] as const)("NFSv%i client on the lab subnet", (version) => {
  it("reads exported files byte for byte", async () => {
    const hello = await nfs(insideClient, "nfs-cat", nfsUrl("/hello.txt", version));
    expect(hello.all).toBe(HELLO.trimEnd());
    expect(hello.exitCode).toBe(0);
    const kernel = await nfs(insideClient, "nfs-cat", nfsUrl("/linux/kernel.txt", version));
    expect(kernel.stdout).toBe(KERNEL.trimEnd());
  });

  it("lists the export", async () => {
    const listing = await nfs(insideClient, "nfs-ls", nfsUrl("", version));
    expect(listing.exitCode).toBe(0);
    expect(listing.stdout).toMatch(/ hello\.txt$/m);
    expect(listing.stdout).toMatch(/ linux$/m);
  });

  it("cannot write into the export", async () => {
    const upload = join(workDir, `upload-v${version}.txt`);
    writeFileSync(upload, "must not arrive\n");
    const copy = await nfs(insideClient, "nfs-cp", upload, nfsUrl(`/upload-v${version}.txt`, version));
    expect(copy.exitCode).not.toBe(0);
    expect(copy.all).toContain(version === 3 ? "NFS3ERR_ROFS" : "NFS4ERR_ROFS");
    const listing = await nfs(insideClient, "nfs-ls", nfsUrl("", version));
    expect(listing.stdout).not.toContain("upload");
  });
});

describe("a client outside the allowed subnet", () => {
  it("is refused the NFSv3 mount", async () => {
    const read = await nfs(outsideClient, "nfs-cat", nfsUrl("/hello.txt", 3));
    expect(read.exitCode).not.toBe(0);
    expect(read.all).toContain("MNT3ERR_ACCES");
  });

  it("does not see the export over NFSv4", async () => {
    const read = await nfs(outsideClient, "nfs-cat", nfsUrl("/hello.txt", 4));
    expect(read.exitCode).not.toBe(0);
    expect(read.all).toContain("NFS4ERR_NOENT");
  });
});

describe("the NFS container", () => {
  it("runs with only the spec's capabilities and keeps running", async () => {
    const [state] = JSON.parse(await docker("inspect", names.nfs)) as {
      State: { Running: boolean };
      HostConfig: { CapAdd: string[]; CapDrop: string[]; SecurityOpt: string[] };
    }[];
    expect(state!.HostConfig.CapDrop).toEqual(["ALL"]);
    // Declared as the engine reports them, so a refresh reads back exactly what was declared.
    expect([...state!.HostConfig.CapAdd].sort()).toEqual([...nfsSpec.capabilities].sort());
    expect(state!.HostConfig.SecurityOpt).toEqual([...nfsSpec.securityOpts]);
    expect(state!.State.Running).toBe(true);
  });

  it("stops with a clear message when rpcbind cannot bind port 111 (an engine that keeps low ports privileged, without NET_BIND_SERVICE)", async () => {
    // Docker 20.10+ lowers the privileged-port limit in a container's own network namespace;
    // restore the kernel default to get what older engines give.
    const address = `${prefix}.3`;
    await startPod(names.lowPortPod, address, ["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"]);
    const spec = nfsServer({ exportPath: EXPORT_PATH, clientSubnet: `${prefix}.0/25`, serverAddress: address });
    await startNfs(
      { ...spec, capabilities: spec.capabilities.filter((capability) => capability !== "CAP_NET_BIND_SERVICE") },
      names.lowPortNfs,
      names.lowPortPod,
      true,
    );
    const exitCode = await docker("wait", names.lowPortNfs);
    const logs = await execa("docker", ["logs", names.lowPortNfs], { all: true });
    expect(exitCode).toBe("1");
    expect(logs.all).toContain(`netboot-lab: rpcbind does not answer on ${address} port 111, so NFSv3 clients could not mount`);
  });
});
