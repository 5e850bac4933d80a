/**
 * `npm run bench:lab`: 50 simulated clients netboot at the same moment, against the lab's
 * servers and, side by side in the same run, against a peer: dnsmasq (DHCP + TFTP, the same
 * reservations and boot files) and busybox httpd serving the same files.
 *
 * Every client is a network namespace with its own declared MAC on a bridge: the lab's Docker
 * bridge for the lab, a bridge of the benchmark's own for the peer. Stages, each started for
 * all clients at once: DHCP (busybox udhcpc, sending the PXE architecture or iPXE's user
 * class), boot payload (TFTP loaders for BIOS and EFI clients, kernel + initrd over HTTP for
 * iPXE clients), then the NFS root read (libnfs nfs-cat, NFSv3; lab only, the peer has no NFS).
 * Then one client measures delivery of a 50 MB file: TFTP at blksize 512, 1468 and the largest
 * the lab negotiates, and HTTP.
 *
 * The lab's containers are the kvm stack's servers exactly as index.ts declares them, evaluated
 * by the test harness and applied to the local engine; that harness needs vitest's module
 * loader, so vitest runs this file (vitest.bench.config.mts), outside `npm test`. Everything is
 * created with random names and subnets and removed at the end, also when the run fails.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { test } from "vitest";
import { applyToDocker } from "../test/support/docker-apply";
import { runStack } from "../test/support/pulumi-harness";

const CLIENTS = 50;
const STAGE_TIMEOUT_S = 120;
const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const LABEL = `io.netboot-lab.bench=${id}`;
const MAX_BLOCK_SIZE = 65464;

type Role = "bios" | "efi-x64" | "ipxe";
interface Client {
  readonly index: number;
  readonly role: Role;
  readonly mac: string;
  readonly ipv4: string;
  namespace?: string;
}
interface Side {
  readonly name: "lab" | "peer";
  readonly bridge: string;
  readonly net: string;
  readonly server: string;
}
interface Timing {
  readonly seconds: number;
  readonly failure?: string;
}

const cleanups: (() => Promise<unknown>)[] = [];
const defer = (cleanup: () => Promise<unknown>) => cleanups.unshift(cleanup);
async function cleanupAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
}

const run = (command: string, args: readonly string[], input?: Buffer | string) => execa(command, args, { input });
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The files both sides serve, as the lab's `linux` ipxe image lays them out (plus a 50 MB file for the throughput runs). */
function bootFiles(): Record<string, Buffer> {
  const loader = (path: string, size: number) => (existsSync(path) ? readFileSync(path) : randomBytes(size));
  return {
    "linux/undionly.kpxe": loader("/usr/lib/ipxe/undionly.kpxe", 70_000),
    "linux/ipxe.efi": loader("/usr/lib/ipxe/ipxe.efi", 1_000_000),
    "linux/vmlinuz": randomBytes(8 * 1024 * 1024),
    "linux/initrd.img": randomBytes(16 * 1024 * 1024),
    "linux/root/etc/bench.bin": randomBytes(4 * 1024 * 1024),
    "bench/50mb.bin": randomBytes(50 * 1000 * 1000),
  };
}

/** Writes the files world-readable (the servers read them as nobody / www-data), the folder itself included. */
function writeTree(dir: string, files: Record<string, Buffer>): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, path), content, { mode: 0o644 });
  }
}

function declaredClients(net: string): Client[] {
  const roles: Role[] = ["bios", "efi-x64", "ipxe"];
  return Array.from({ length: CLIENTS }, (_, index) => ({
    index,
    role: roles[index % roles.length]!,
    mac: `52:54:00:b0:${id.slice(0, 2)}:${index.toString(16).padStart(2, "0")}`,
    ipv4: `${net}.${10 + index}`,
  }));
}

/** The kvm stack's servers as index.ts declares them, with the bench's network, clients and largest TFTP block size, on the local engine. */
async function startLab(side: Side, clients: readonly Client[], files: Record<string, Buffer>): Promise<void> {
  const prefix = `nbb${id}`;
  const { resources } = await runStack("kvm", {
    configOverrides: {
      "netboot-lab:network": {
        subnet: `${side.net}.0/24`,
        serverAddress: side.server,
        bridge: side.bridge,
        pools: [{ start: `${side.net}.200`, end: `${side.net}.250` }],
      },
      "netboot-lab:docker": { baseImage: BASE_IMAGE, namePrefix: prefix },
      "netboot-lab:servers": { tftp: { enabled: true, maxBlockSize: MAX_BLOCK_SIZE } },
      "netboot-lab:bootImages": [{ name: "linux", kind: "ipxe", nfsRoot: true }],
      "netboot-lab:clients": clients.map((client) => ({
        name: `c${client.index}`,
        mac: client.mac,
        ipv4: client.ipv4,
        firmware: client.role === "efi-x64" ? "efi-x64" : "bios",
        bootImage: "linux",
      })),
    },
  });
  const servers = resources.filter((resource) => resource.parent === "nbl-kvm");
  const image = String(servers.find((resource) => resource.type === "docker:index/image:Image")?.inputs.imageName);
  const applied = await applyToDocker(servers, { labels: { "io.netboot-lab.bench": id } });
  defer(() => applied.teardown());
  const stage = mkdtempSync(join(tmpdir(), "nbb-tree-"));
  defer(async () => rmSync(stage, { recursive: true, force: true }));
  writeTree(stage, files);
  const tar = await execa("tar", ["--owner=0", "--group=0", "-C", stage, "-c", "."], { encoding: "buffer" });
  const volume = applied.dockerName("volume", `${prefix}-boot-tree`);
  await execa("docker", ["run", "--rm", "-i", "--label", LABEL, "--network", "none", "-v", `${volume}:/v`, "--entrypoint", "tar", image, "-x", "-C", "/v"], {
    input: tar.stdout,
  });
}

/** A network namespace joined to `bridge` by a veth pair, with `address` (or none) and `mac`. */
async function namespaceOn(bridge: string, tag: string, mac: string, address?: string): Promise<string> {
  const suffix = randomBytes(3).toString("hex");
  const namespace = `nbb-${id}-${tag}-${suffix}`;
  const hostLink = `nbbh${suffix}`;
  defer(() => execa("ip", ["netns", "del", namespace], { reject: false }));
  defer(() => execa("ip", ["link", "del", hostLink], { reject: false }));
  await run("ip", ["netns", "add", namespace]);
  await run("ip", ["link", "add", hostLink, "type", "veth", "peer", "name", `nbbp${suffix}`]);
  await run("ip", ["link", "set", `nbbp${suffix}`, "netns", namespace]);
  await run("ip", ["link", "set", hostLink, "master", bridge, "up"]);
  await run("ip", ["-n", namespace, "link", "set", "lo", "up"]);
  await run("ip", ["-n", namespace, "link", "set", `nbbp${suffix}`, "name", "eth0"]);
  await run("ip", ["-n", namespace, "link", "set", "eth0", "address", mac, "up"]);
  if (address) await run("ip", ["-n", namespace, "addr", "add", address, "dev", "eth0"]);
  return namespace;
}

/** The peer: dnsmasq (DHCP with the same reservations and boot files, TFTP) and busybox httpd, in a namespace on a bridge of its own. */
async function startPeer(side: Side, clients: readonly Client[], files: Record<string, Buffer>): Promise<void> {
  await run("ip", ["link", "add", side.bridge, "type", "bridge"]);
  defer(() => execa("ip", ["link", "del", side.bridge], { reject: false }));
  await run("ip", ["link", "set", side.bridge, "up"]);
  // With br_netfilter, bridged frames pass iptables' FORWARD chain, whose policy Docker sets to
  // DROP: let traffic between the ports of this bridge (and only this bridge) through.
  const accept = ["FORWARD", "-i", side.bridge, "-o", side.bridge, "-j", "ACCEPT"];
  await run("iptables", ["-I", ...accept]);
  defer(() => execa("iptables", ["-D", ...accept], { reject: false }));
  const namespace = await namespaceOn(side.bridge, "peer", "52:54:00:b1:00:02", `${side.server}/24`);
  const dir = mkdtempSync(join(tmpdir(), "nbb-peer-"));
  defer(async () => rmSync(dir, { recursive: true, force: true }));
  const tree = join(dir, "tree");
  writeTree(tree, files);
  const dnsmasqArgs = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--port=0",
    "--interface=eth0",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--log-facility=-",
    `--dhcp-range=${side.net}.200,${side.net}.250,255.255.255.0,1h`,
    "--dhcp-authoritative",
    `--dhcp-leasefile=${join(dir, "leases")}`,
    `--pid-file=${join(dir, "pid")}`,
    ...clients.map((client) => `--dhcp-host=${client.mac},${client.ipv4}`),
    "--dhcp-match=set:efi64,option:client-arch,7",
    "--dhcp-userclass=set:ipxe,iPXE",
    `--dhcp-boot=tag:!ipxe,tag:!efi64,linux/undionly.kpxe,,${side.server}`,
    `--dhcp-boot=tag:!ipxe,tag:efi64,linux/ipxe.efi,,${side.server}`,
    `--dhcp-boot=tag:ipxe,http://${side.server}/linux/boot.ipxe`,
    "--enable-tftp",
    `--tftp-root=${tree}`,
    "--user=root",
  ];
  for (const [what, argv] of [
    ["dnsmasq", ["dnsmasq", ...dnsmasqArgs]],
    ["busybox httpd", ["busybox", "httpd", "-f", "-p", `${side.server}:80`, "-h", tree]],
  ] as const) {
    const child: ResultPromise = execa("ip", ["netns", "exec", namespace, ...argv], { reject: false, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    defer(async () => {
      if (child.pid) process.kill(child.pid, "SIGTERM");
      await child;
    });
    void child.then(
      (result) => result.exitCode && !result.isTerminated && console.error(`${what} exited ${result.exitCode}: ${String(result.stderr).slice(-500)}`),
    );
  }
  await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
}

/** One client's DHCP exchange with udhcpc; the lease it got, as udhcpc's script saw it. */
async function dhcp(client: Client): Promise<Timing & { lease?: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), "nbb-udhcpc-"));
  const script = join(dir, "script");
  writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${join(dir, "lease")}\nexit 0\n`, { mode: 0o755 });
  const options =
    client.role === "ipxe" ? ["-x", `0x4d:${Buffer.from("iPXE").toString("hex")}`] : ["-x", `0x5d:${client.role === "efi-x64" ? "0007" : "0000"}`];
  const started = process.hrtime.bigint();
  const result = await execa(
    "ip",
    ["netns", "exec", client.namespace!, "busybox", "udhcpc", "-f", "-q", "-n", "-i", "eth0", "-t", "10", "-T", "2", "-s", script, ...options],
    { reject: false, timeout: STAGE_TIMEOUT_S * 1000 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  try {
    if (result.exitCode !== 0 || !existsSync(join(dir, "lease")))
      return { seconds, failure: `udhcpc exited ${result.exitCode}: ${String(result.stderr).slice(-200)}` };
    const lease = Object.fromEntries(
      readFileSync(join(dir, "lease"), "utf8")
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    return { seconds, lease };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fetches `url` in the client's namespace and checks it byte for byte. */
async function fetch(namespace: string, url: string, expected: Buffer, extra: readonly string[] = []): Promise<Timing> {
  const started = process.hrtime.bigint();
  const argv = url.startsWith("nfs://") ? ["nfs-cat", url] : ["curl", "-sSf", "--max-time", String(STAGE_TIMEOUT_S), ...extra, url];
  const result = await execa("ip", ["netns", "exec", namespace, ...argv], { reject: false, encoding: "buffer", timeout: STAGE_TIMEOUT_S * 1000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.exitCode !== 0)
    return {
      seconds,
      failure: `${argv[0]} ${url} exited ${result.exitCode}: ${Buffer.from(result.stderr as Uint8Array)
        .toString()
        .slice(-200)}`,
    };
  if (sha256(result.stdout as Uint8Array) !== sha256(expected))
    return { seconds, failure: `${url}: ${(result.stdout as Uint8Array).length} bytes, not byte-exact` };
  return { seconds };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

type StageResults = Record<string, Timing[]>;

async function runSide(
  side: Side,
  clients: readonly Client[],
  files: Record<string, Buffer>,
  withNfs: boolean,
): Promise<{ stages: StageResults; failures: string[]; throughput: Record<string, number> }> {
  const failures: string[] = [];
  const stages: StageResults = {};
  const own = clients.map((client) => ({ ...client }));
  for (const client of own) client.namespace = await namespaceOn(side.bridge, side.name, client.mac);

  const leases = await Promise.all(own.map((client) => dhcp(client)));
  stages.dhcp = leases;
  const addresses = new Set<string>();
  leases.forEach((lease, index) => {
    const client = own[index]!;
    if (lease.failure) return failures.push(`${side.name} c${index} dhcp: ${lease.failure}`);
    const ip = lease.lease?.ip;
    if (ip !== client.ipv4) failures.push(`${side.name} c${index} got ${ip}, declared ${client.ipv4}`);
    if (ip && addresses.has(ip)) failures.push(`${side.name} c${index}: ${ip} given twice`);
    if (ip) addresses.add(ip);
    return undefined;
  });
  // The clients take the addresses they were given, as a booting loader does.
  await Promise.all(
    own.map(
      (client, index) => leases[index]?.lease?.ip && run("ip", ["-n", client.namespace!, "addr", "add", `${leases[index]!.lease!.ip}/24`, "dev", "eth0"]),
    ),
  );

  const payload = await Promise.all(
    own.map(async (client, index): Promise<Timing> => {
      const lease = leases[index]!.lease;
      const bootFile = lease?.boot_file ?? lease?.bootfile ?? "";
      if (client.role === "ipxe") {
        if (!bootFile.startsWith("http://")) return { seconds: 0, failure: `iPXE client got boot file "${bootFile}"` };
        const base = bootFile.replace(/boot\.ipxe$/, "");
        const kernel = await fetch(client.namespace!, `${base}vmlinuz`, files["linux/vmlinuz"]!);
        const initrd = await fetch(client.namespace!, `${base}initrd.img`, files["linux/initrd.img"]!);
        return { seconds: kernel.seconds + initrd.seconds, failure: kernel.failure ?? initrd.failure };
      }
      const expected = client.role === "bios" ? "linux/undionly.kpxe" : "linux/ipxe.efi";
      if (bootFile !== expected) return { seconds: 0, failure: `${client.role} client got boot file "${bootFile}", expected ${expected}` };
      return fetch(client.namespace!, `tftp://${side.server}/${bootFile}`, files[bootFile]!, ["--tftp-blksize", "1468"]);
    }),
  );
  stages["payload TFTP (BIOS/EFI loader)"] = payload.filter((_, index) => own[index]!.role !== "ipxe");
  stages["payload HTTP (iPXE kernel+initrd)"] = payload.filter((_, index) => own[index]!.role === "ipxe");
  payload.forEach((timing, index) => timing.failure && failures.push(`${side.name} c${index} payload: ${timing.failure}`));

  if (withNfs) {
    const nfs = await Promise.all(
      own.map((client) => fetch(client.namespace!, `nfs://${side.server}/netboot/linux/root/etc/bench.bin?version=3`, files["linux/root/etc/bench.bin"]!)),
    );
    stages["NFS root read (4 MiB, v3)"] = nfs;
    nfs.forEach((timing, index) => timing.failure && failures.push(`${side.name} c${index} nfs: ${timing.failure}`));
  }

  const probe = own[0]!.namespace!;
  const big = files["bench/50mb.bin"]!;
  const throughput: Record<string, number> = {};
  for (const [label, url, extra] of [
    ["TFTP blksize 512", `tftp://${side.server}/bench/50mb.bin`, ["--tftp-blksize", "512"]],
    ["TFTP blksize 1468", `tftp://${side.server}/bench/50mb.bin`, ["--tftp-blksize", "1468"]],
    [`TFTP blksize ${MAX_BLOCK_SIZE}`, `tftp://${side.server}/bench/50mb.bin`, ["--tftp-blksize", String(MAX_BLOCK_SIZE)]],
    ["HTTP", `http://${side.server}/bench/50mb.bin`, []],
  ] as const) {
    const timing = await fetch(probe, url, big, extra);
    if (timing.failure) failures.push(`${side.name} 50 MB ${label}: ${timing.failure}`);
    throughput[label] = timing.failure ? NaN : big.length / 1e6 / timing.seconds;
  }
  return { stages, failures, throughput };
}

function report(lab: Awaited<ReturnType<typeof runSide>>, peer: Awaited<ReturnType<typeof runSide>>): boolean {
  const cell = (timings: Timing[] | undefined) => {
    const seconds = (timings ?? []).filter((timing) => !timing.failure).map((timing) => timing.seconds);
    return seconds.length ? `${percentile(seconds, 50).toFixed(2)} / ${percentile(seconds, 95).toFixed(2)} / ${Math.max(...seconds).toFixed(2)}` : "—";
  };
  console.log(`\n${CLIENTS} clients at once, seconds p50 / p95 / max (lab vs peer: dnsmasq + busybox httpd)\n`);
  console.log(`| stage | lab | peer | lab p95 ≤ peer p95 |\n|---|---|---|---|`);
  let withinTarget = true;
  for (const stage of Object.keys(lab.stages)) {
    const p95 = (timings: Timing[] | undefined) =>
      percentile(
        (timings ?? []).filter((timing) => !timing.failure).map((timing) => timing.seconds),
        95,
      );
    const compared = peer.stages[stage] ? p95(lab.stages[stage]) <= p95(peer.stages[stage]) : undefined;
    if (compared === false) withinTarget = false;
    console.log(`| ${stage} | ${cell(lab.stages[stage])} | ${cell(peer.stages[stage])} | ${compared === undefined ? "(no peer)" : compared ? "yes" : "NO"} |`);
  }
  console.log(`\n50 MB delivery to one client, MB/s\n\n| transfer | lab | peer |\n|---|---|---|`);
  for (const label of Object.keys(lab.throughput)) console.log(`| ${label} | ${lab.throughput[label]!.toFixed(1)} | ${peer.throughput[label]!.toFixed(1)} |`);
  const failures = [...lab.failures, ...peer.failures];
  console.log(
    `\nfailures: ${failures.length ? `\n  - ${failures.join("\n  - ")}` : "none"} (every address as declared and distinct, every file byte-exact, unless listed)`,
  );
  return failures.length === 0 && withinTarget;
}

async function main(): Promise<number> {
  const third = randomInt(0, 256);
  const labSide: Side = { name: "lab", bridge: `nbbl${id}`, net: `10.217.${third}`, server: `10.217.${third}.2` };
  const peerSide: Side = { name: "peer", bridge: `nbbp${id}`, net: `10.218.${third}`, server: `10.218.${third}.2` };
  const files = bootFiles();
  const peerClients = declaredClients(peerSide.net);
  console.log(`bench:lab ${id}: starting the lab's servers on ${labSide.bridge} and the peer on ${peerSide.bridge}`);
  await startLab(labSide, declaredClients(labSide.net), { ...files, "linux/boot.ipxe": Buffer.from("#!ipxe\n") });
  await startPeer(peerSide, peerClients, { ...files, "linux/boot.ipxe": Buffer.from("#!ipxe\n") });
  const labResults = await runSide(labSide, declaredClients(labSide.net), files, true);
  const peerResults = await runSide(peerSide, peerClients, files, false);
  return report(labResults, peerResults) ? 0 : 1;
}

test("bench:lab: 50 clients at once against the lab and against dnsmasq + busybox httpd", async () => {
  try {
    if ((await main()) !== 0) throw new Error("bench:lab: failures or a stage past its peer's p95 (see the report above)");
  } finally {
    await cleanupAll();
  }
}, 1_800_000);
