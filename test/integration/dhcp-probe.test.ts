/**
 * The DHCP test tools against a real ISC dhcpd: dhcpd runs in a server namespace on a bridge
 * this file creates, clients run in their own namespaces on the same bridge. Nothing leaves the
 * bridge; everything is removed in afterAll, by name and by PID.
 */
import { randomInt } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestBridge, createTestHost, type TestHost } from "../support/netns";
import { probeArgs, probeDhcp, routeBroadcastsThroughEth0, runDhclient } from "../support/dhcp-clients";

/** A /24 per run, so two runs (or another test's lab) on this machine do not share a subnet. */
const NET = `10.213.${randomInt(100, 200)}`;
const SERVER = `${NET}.1`;
const ROOT_PATH = `${SERVER}:/netboot/root`;
const FIXED_MAC = "52:54:00:77:00:01";
const POOLED_MAC = "52:54:00:77:00:02";
const BOOTP_MAC = "52:54:00:77:00:03";
const UNKNOWN_MAC = "52:54:00:77:00:99";
const POOL_FIRST = 100;
const POOL_LAST = 150;

const FILES = { bios: "bios/undionly.kpxe", efi64: "efi64/ipxe.efi", efi32: "efi32/ipxe.efi", ipxe: `http://${SERVER}/boot.ipxe` };

/** The lab's fixes in miniature: ignore-client-uids, dynamic-bootp, forced root-path, iPXE before arch, deny unknown-clients. */
const DHCPD_CONF = `
option client-arch code 93 = unsigned integer 16;
ddns-update-style none;
ping-check false;
ignore-client-uids true;
allow bootp;
default-lease-time 600;
max-lease-time 600;
if exists dhcp-parameter-request-list {
  option dhcp-parameter-request-list = concat(option dhcp-parameter-request-list, 11);
}
subnet ${NET}.0 netmask 255.255.255.0 {
  authoritative;
  option root-path "${ROOT_PATH}";
  pool {
    range dynamic-bootp ${NET}.${POOL_FIRST} ${NET}.${POOL_LAST};
    deny unknown-clients;
  }
  if exists user-class and option user-class = "iPXE" {
    filename "${FILES.ipxe}";
  } elsif option client-arch = 00:07 or option client-arch = 00:09 {
    filename "${FILES.efi64}";
  } elsif option client-arch = 00:06 {
    filename "${FILES.efi32}";
  } else {
    filename "${FILES.bios}";
  }
}
host fixed { hardware ethernet ${FIXED_MAC}; fixed-address ${NET}.50; }
host pooled { hardware ethernet ${POOLED_MAC}; }
host bootp { hardware ethernet ${BOOTP_MAC}; }
`;

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
let bridge = "";
let destroyBridge: (() => Promise<void>) | undefined;
let server: TestHost | undefined;
const clients: TestHost[] = [];
let workDir: string | undefined;
let dhcpd: ResultPromise | undefined;
let dhcpdLog = "";

async function host(options: { mac?: string } = {}): Promise<TestHost> {
  const created = await createTestHost({ bridge, ...options });
  clients.push(created);
  return created;
}

async function startDhcpd(server: TestHost, dir: string): Promise<void> {
  await writeFile(join(dir, "dhcpd.conf"), DHCPD_CONF);
  await writeFile(join(dir, "dhcpd.leases"), "");
  const args = ["-4", "-f", "-d", "-cf", join(dir, "dhcpd.conf"), "-lf", join(dir, "dhcpd.leases"), "-pf", join(dir, "dhcpd.pid"), server.interfaceName];
  dhcpd = server.run("/usr/sbin/dhcpd", args, { reject: false, all: true });
  const started = new Promise<void>((resolveStarted) => {
    dhcpd!.all?.on("data", (chunk: Buffer) => {
      dhcpdLog += chunk.toString();
      if (dhcpdLog.includes("Server starting service.")) resolveStarted();
    });
  });
  const exited = dhcpd.then((result) => {
    throw new Error(`dhcpd exited (${result.exitCode}) before serving:\n${dhcpdLog}`);
  });
  await Promise.race([started, exited]);
}

beforeAll(async () => {
  const created = await createTestBridge();
  bridge = created.name;
  destroyBridge = created.destroy;
  workDir = await mkdtemp(join(tmpdir(), "nbt-dhcp-probe-"));
  server = await createTestHost({ bridge, address: `${SERVER}/24` });
  await startDhcpd(server, workDir);
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.destroy();
});

afterAll(async () => {
  if (dhcpd) {
    dhcpd.kill("SIGTERM"); // our own child, by PID
    await dhcpd;
  }
  for (const created of [...clients.splice(0), server]) await created?.destroy();
  await destroyBridge?.();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function inPool(address: string | undefined): boolean {
  const last = Number(address?.split(".")[3]);
  return address?.startsWith(`${NET}.`) === true && last >= POOL_FIRST && last <= POOL_LAST;
}

describe("netboot-lab probe dhcp and dhclient against ISC dhcpd", () => {
  it("gives one MAC the same address with and without a client-identifier (iPXE, then GRUB or pxeboot)", async () => {
    const client = await host({ mac: POOLED_MAC });

    const withId = await runDhclient(client, { clientId: `01:${POOLED_MAC}`, timeoutSeconds: 10 });
    expect(inPool(withId.address), withId.log).toBe(true);

    const withoutId = await probeDhcp(client, { clientId: null });
    expect(withoutId).toMatchObject({ messageType: "DHCPOFFER", yiaddr: withId.address });

    const dhclientWithoutId = await runDhclient(client, { timeoutSeconds: 10 });
    expect(dhclientWithoutId.address, dhclientWithoutId.log).toBe(withId.address);
  });

  it("answers a BOOTP request without a DHCP message type, with and without the magic cookie", async () => {
    const client = await host({ mac: BOOTP_MAC });

    const rfc1497 = await probeDhcp(client, { bootp: true });
    expect(rfc1497).toMatchObject({ messageType: "BOOTREPLY", chaddr: BOOTP_MAC, file: FILES.bios, options: { "root-path": ROOT_PATH } });
    expect(inPool(rfc1497?.yiaddr)).toBe(true);

    const rfc951 = await probeDhcp(client, { bootp: "plain" });
    expect(rfc951).toMatchObject({ messageType: "BOOTREPLY", yiaddr: rfc1497?.yiaddr });
  });

  it("sends root-path to clients that never request it: the probe's request list and dhclient's leave 17 out", async () => {
    const client = await host({ mac: FIXED_MAC });

    const ack = await probeDhcp(client, { full: true, requestOptions: [1, 3, 67] });
    expect(ack).toMatchObject({ messageType: "DHCPACK", yiaddr: `${NET}.50`, options: { "root-path": ROOT_PATH, "dhcp-server-identifier": SERVER } });

    const lease = await runDhclient(client, { timeoutSeconds: 10 });
    expect(lease, lease.log).toMatchObject({ address: `${NET}.50`, options: { "root-path": ROOT_PATH } });
  });

  it("hands BIOS, EFI ia32, EFI x64 (arch 7 and 9) and iPXE their own boot file", async () => {
    // One unnumbered namespace impersonates every firmware: DHCP replies come back broadcast.
    const client = await host();
    const fileFor = async (options: { arch?: string; ipxe?: boolean }) => (await probeDhcp(client, { mac: POOLED_MAC, ...options }))?.file;

    expect(await fileFor({ arch: "bios" })).toBe(FILES.bios);
    expect(await fileFor({})).toBe(FILES.bios);
    expect(await fileFor({ arch: "efi-ia32" })).toBe(FILES.efi32);
    expect(await fileFor({ arch: "efi-bc" })).toBe(FILES.efi64);
    expect(await fileFor({ arch: "efi-x64" })).toBe(FILES.efi64);
    expect(await fileFor({ arch: "7" })).toBe(FILES.efi64);
    expect(await fileFor({ arch: "efi-x64", ipxe: true })).toBe(FILES.ipxe);
    expect(await fileFor({ arch: "bios", ipxe: true })).toBe(FILES.ipxe);
  });

  it("gets no answer for an undeclared MAC (deny unknown-clients): exit 3 and a message saying so", async () => {
    const client = await host({ mac: UNKNOWN_MAC });
    await routeBroadcastsThroughEth0(client);

    const result = await client.run(process.execPath, [CLI, ...probeArgs(client, { timeoutMs: 2000 })], { reject: false });

    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`no answer to the DHCPDISCOVER for ${UNKNOWN_MAC} on eth0 within 2000 ms`);
    const dhclient = await runDhclient(client, { timeoutSeconds: 3 });
    expect(dhclient.address, dhclient.log).toBeUndefined();
    expect(dhcpdLog).toContain(`DHCPDISCOVER from ${UNKNOWN_MAC} via eth0`);
  });

  it("prints a readable answer without --json", async () => {
    const client = await host({ mac: FIXED_MAC });
    await routeBroadcastsThroughEth0(client);

    const result = await client.run(process.execPath, [CLI, "probe", "dhcp", "--arch", "efi-x64"]);

    expect(result.stdout).toMatch(new RegExp(`^DHCPOFFER for ${FIXED_MAC} from \\S+ \\(xid 0x[0-9a-f]{8}, broadcast\\)\n`));
    expect(result.stdout).toContain(`  yiaddr  ${NET}.50\n`);
    expect(result.stdout).toContain(`  file    ${FILES.efi64}\n`);
    expect(result.stdout).toMatch(new RegExp(`\n    root-path +${ROOT_PATH.replace(/\./g, "\\.")}(\n|$)`));
  });
});

describe("netboot-lab probe dhcp refuses what cannot work, saying how to fix it", () => {
  it("will not send from an unnumbered interface that broadcasts do not leave through", async () => {
    const client = await host();

    const result = await client.run(process.execPath, [CLI, "probe", "dhcp"], { reject: false });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("eth0 has no IPv4 address and no route takes broadcasts to 255.255.255.255");
    expect(result.stderr).toContain("ip route add 255.255.255.255/32 dev eth0");
  });

  it("will not send a BOOTP request for another MAC, whose unicast reply this host could not receive", async () => {
    const client = await host();
    await routeBroadcastsThroughEth0(client);

    const result = await client.run(process.execPath, [CLI, "probe", "dhcp", "--bootp", "--mac", BOOTP_MAC], { reject: false });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`--mac ${BOOTP_MAC} differs from eth0's own MAC ${client.mac}`);
  });

  it.each([
    [["--mac", "52:54:00"], '--mac "52:54:00" is not a MAC address'],
    [["--arch", "arm"], '--arch "arm" is not an architecture; use bios, efi-ia32, efi-bc, efi-x64 or a number'],
    [["--client-id", "01:zz"], '--client-id "01:zz" is not hex'],
    [["--client-id", "01", "--no-client-id"], "--client-id and --no-client-id contradict each other"],
    [["--full", "--bootp"], "BOOTP has no REQUEST/ACK"],
    [["--request-options", "1,300"], '--request-options "1,300" must be option codes 1-254'],
    [["--timeout-ms", "soon"], '--timeout-ms "soon" must be a whole number'],
    [["--interface", "nbtnosuch0"], "--interface nbtnosuch0: no such network interface here"],
  ])("rejects %j with exit 2", async (args, message) => {
    const result = await execa("node", [CLI, "probe", "dhcp", ...args], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
