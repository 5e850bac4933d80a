/**
 * The lab's servers exactly as NetbootServer declares them (the real index.ts evaluated with
 * the kvm stack's config, then applied to the local Docker engine), answering real clients in
 * network namespaces on the lab bridge.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeDhcp, runDhclient } from "../support/dhcp-clients";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { serverResourcesOf } from "../support/lab-servers";
import { createTestHost, type TestHost } from "../support/netns";
import { runStack } from "../support/pulumi-harness";
import { dockerObjectsOf, labelFlags, testCaseLabels, testRunId } from "../support/test-run";

const id = randomBytes(3).toString("hex");
const net = `10.214.${randomInt(0, 256)}`;
const server = `${net}.2`;
const bridge = `nbtbr${id}`;
const prefix = `nbt${id}`;
const RESERVED_MAC = "52:54:00:5e:00:10";
const POOLED_MAC = "52:54:00:5e:00:11";
const labels = testCaseLabels(`server-${id}`);

/** What the boot tree holds during the test (written into the volume the component declares). */
const LOADER = randomBytes(300_000);
const HOSTNAME_FILE = `lab-root-${id}\n`;

const workDir = mkdtempSync(join(tmpdir(), "nbt-server-"));
let lab: AppliedLab | undefined;
let imageName = "";
const hosts: TestHost[] = [];

async function host(options: { mac?: string; address?: string } = {}): Promise<TestHost> {
  const created = await createTestHost({ bridge, ...options });
  hosts.push(created);
  return created;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function docker(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout;
}

/** Runs a shell command in a throw-away container with a lab volume mounted at /v. */
async function withVolume(volume: string, script: string, input?: Buffer): Promise<string> {
  const result = await execa("docker", ["run", "--rm", "-i", ...labelFlags(labels), "-v", `${volume}:/v`, "--entrypoint", "sh", imageName, "-c", script], {
    input,
  });
  return result.stdout;
}

beforeAll(async () => {
  const { resources } = await runStack("kvm", {
    configOverrides: {
      "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge, pools: [{ start: `${net}.100`, end: `${net}.120` }] },
      "netboot-lab:docker": { baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm", namePrefix: prefix },
      "netboot-lab:bootImages": [{ name: "linux", kind: "ipxe", nfsRoot: true }],
      "netboot-lab:clients": [
        { name: "reserved", mac: RESERVED_MAC, ipv4: `${net}.10`, bootImage: "linux" },
        { name: "pooled", mac: POOLED_MAC, bootImage: "linux" },
      ],
    },
  });
  const serverResources = serverResourcesOf(resources, "kvm");
  imageName = String(serverResources.find((resource) => resource.name === "nbl-kvm-image")?.inputs.imageName);
  lab = await applyToDocker(serverResources, { labels });
  await withVolume(
    `${prefix}-boot-tree`,
    "mkdir -p /v/linux/root/etc && cat > /v/linux/undionly.kpxe && " +
      `printf '%s' '${HOSTNAME_FILE.trim()}' > /v/linux/root/etc/hostname && echo >> /v/linux/root/etc/hostname && chmod -R a+rX /v`,
    LOADER,
  );
}, 600_000);

afterAll(async () => {
  for (const created of hosts) await created.destroy();
  await lab?.teardown();
  rmSync(workDir, { recursive: true, force: true });
});

describe("dhcpd from the declared container", () => {
  it("gives a reserved BIOS client its address, next-server and loader", async () => {
    const reply = await probeDhcp(await host({ mac: RESERVED_MAC }), { arch: "bios" });
    expect(reply).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${net}.10`, siaddr: server, file: "linux/undionly.kpxe" });
    expect(reply?.options).not.toHaveProperty("routers");
  });

  it("hands EFI x64 firmware (arch 7 and 9) the EFI loader and iPXE its script, not its own binary again", async () => {
    const client = await host({ mac: RESERVED_MAC });
    expect(await probeDhcp(client, { arch: "efi-bc" })).toMatchObject({ file: "linux/ipxe.efi" });
    expect(await probeDhcp(client, { arch: "efi-x64" })).toMatchObject({ file: "linux/ipxe.efi" });
    expect(await probeDhcp(client, { arch: "bios", ipxe: true })).toMatchObject({ file: `http://${server}/linux/boot.ipxe` });
  });

  it("sends root-path although the client did not request it", async () => {
    const reply = await probeDhcp(await host({ mac: RESERVED_MAC }), { requestOptions: [1, 3, 67] });
    expect(reply?.options).toMatchObject({ "root-path": `${server}:/netboot/linux/root` });
  });

  it("answers plain BOOTP requests, with and without the RFC 1048 cookie", async () => {
    const client = await host({ mac: RESERVED_MAC });
    expect(await probeDhcp(client, { bootp: true })).toMatchObject({ messageType: "BOOTREPLY", yiaddr: `${net}.10`, file: "linux/undionly.kpxe" });
    expect(await probeDhcp(client, { bootp: "plain" })).toMatchObject({ messageType: "BOOTREPLY", yiaddr: `${net}.10` });
  });

  it("gives one MAC the same pool address with and without a client-identifier (real dhclient, then a bare probe)", async () => {
    const client = await host({ mac: POOLED_MAC });
    const withId = await runDhclient(client, { clientId: `01:${POOLED_MAC}`, timeoutSeconds: 15 });
    expect(withId.address, withId.log).toMatch(new RegExp(`^${net.replace(/\./g, "\\.")}\\.(1[01][0-9]|120)$`));
    expect(await probeDhcp(client, { clientId: null })).toMatchObject({ yiaddr: withId.address });
  });

  it("does not answer a MAC the stack does not declare", async () => {
    expect(await probeDhcp(await host({ mac: "52:54:00:5e:00:99" }), { timeoutMs: 3000 })).toBeUndefined();
  });

  it("keeps leases on its volume across a container restart", async () => {
    const client = await host({ mac: POOLED_MAC });
    const before = await probeDhcp(client, { full: true, clientId: null });
    await docker("restart", `${prefix}-dhcpd`);
    expect(await withVolume(`${prefix}-leases`, "cat /v/dhcpd.leases")).toContain(`hardware ethernet ${POOLED_MAC};`);
    const after = await probeDhcp(client, { clientId: null, timeoutMs: 10_000 });
    expect(after?.yiaddr).toBe(before?.yiaddr);
  });

  it("runs with only the capabilities it needs", async () => {
    const [state] = JSON.parse(await docker("inspect", `${prefix}-dhcpd`));
    expect(state.HostConfig.Privileged).toBe(false);
    expect(state.HostConfig.CapDrop).toEqual(["ALL"]);
    expect([...state.HostConfig.CapAdd].sort()).toEqual(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
  });
});

describe("TFTP, NFS and HTTP serve the boot tree read-only", () => {
  let client: TestHost;
  beforeAll(async () => {
    client = await host({ address: `${net}.50/24` });
  });

  it("TFTP returns the loader byte for byte, with blksize and tsize negotiated", async () => {
    const result = await client.run("curl", ["-sS", "--tftp-blksize", "1468", `tftp://${server}/linux/undionly.kpxe`], { encoding: "buffer" });
    expect(sha256(result.stdout as Uint8Array)).toBe(sha256(LOADER));
  });

  it("TFTP refuses a write and a path out of the tree", async () => {
    const upload = join(workDir, "upload.bin");
    writeFileSync(upload, "not allowed\n");
    const write = await client.run("curl", ["-sS", "-T", upload, `tftp://${server}/linux/upload.bin`], { reject: false });
    expect(write.exitCode).not.toBe(0);
    const escape = await client.run("curl", ["-sS", "--path-as-is", `tftp://${server}/../etc/passwd`], { reject: false });
    expect(escape.exitCode).not.toBe(0);
    expect(await withVolume(`${prefix}-boot-tree`, "ls /v/linux")).not.toContain("upload.bin");
  });

  for (const version of [3, 4]) {
    it(`NFSv${version} reads an exported file and cannot write`, async () => {
      const read = await client.run("nfs-cat", [`nfs://${server}/netboot/linux/root/etc/hostname?version=${version}`]);
      expect(read.stdout).toBe(HOSTNAME_FILE.trim());
      const source = join(workDir, "nfs-write.txt");
      writeFileSync(source, "not allowed\n");
      const write = await client.run("nfs-cp", [source, `nfs://${server}/netboot/linux/written-v${version}.txt?version=${version}`], { reject: false });
      expect(write.exitCode).not.toBe(0);
    });
  }

  it("HTTP serves the same file and refuses uploads", async () => {
    const result = await client.run("curl", ["-sSf", `http://${server}/linux/undionly.kpxe`], { encoding: "buffer" });
    expect(sha256(result.stdout as Uint8Array)).toBe(sha256(LOADER));
    const put = await client.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--data", "x", `http://${server}/linux/put.txt`]);
    expect(put.stdout).toBe("403");
  });
});

describe("teardown", () => {
  it("leaves no container, network, volume, namespace or link behind", async () => {
    for (const created of hosts.splice(0)) await created.destroy();
    await lab?.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
    expect((await execa("ip", ["link", "show", bridge], { reject: false })).exitCode).not.toBe(0);
    expect((await execa("ip", ["netns", "list"])).stdout).not.toContain(testRunId() + "-");
  });
});
