/**
 * Proxy mode beside a real foreign DHCP server: the kvm stack with `servers.dhcp.mode: proxy`
 * applied to the local engine as the components declare it (the proxy-dhcp container in dhcpd's
 * place, the BSDP responder beside it), and an ISC dhcpd of the test's own in a namespace on the
 * lab bridge playing the site's server (its own pool, no boot options). QEMU guests boot from the
 * lab with addresses from the site's pool; every reply of the lab carries yiaddr 0.0.0.0 (read
 * from a capture of the guest's tap); an undeclared MAC gets nothing from the lab; a Mac that
 * got its address from the site server lists the lab's NetBoot images; `check` passes and names
 * the server that gave the address.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BsdpAnswer } from "../../lib/bsdp/client";
import type { CheckReport } from "../../lib/check/report";
import { readStackConfigMap, stackFilePath } from "../../lib/model";
import { readOption } from "../../lib/net/dhcp";
import { BOOTED_MARKER, NFS_ROOT_MARKER } from "../../lib/pxe";
import { darwinImage, darwinMedia } from "../boot-image/fixtures";
import { probeDhcp, routeBroadcastsThroughEth0, runDhclient } from "../support/dhcp-clients";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { startForeignDhcpd, type ForeignDhcpd } from "../support/foreign-dhcpd";
import { createTap, createTestHost, type TestHost } from "../support/netns";
import { captureOn, dhcpReplies, type Frame } from "../support/pcap";
import { mergeConfig, PROJECT_DIR, runStack } from "../support/pulumi-harness";
import { bootGuest, tapNetwork } from "../support/qemu";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const net = `10.219.${randomInt(0, 256)}`;
const server = `${net}.2`;
const bridge = `nbtbr${id}`;
const prefix = `nbt${id}`;
const labels = testCaseLabels(`proxy-dhcp-${id}`);
const media = darwinMedia();

/**
 * QEMU's NICs carry iPXE option ROMs, so bios-ipxe and efi-ipxe start in iPXE; efi-pxe's virtio
 * NIC has none (`romfile=`), so OVMF's own PXE client asks first and chains ipxe.efi.
 */
const GUESTS = {
  "bios-ipxe": { mac: "52:54:00:70:00:10", firmware: "bios", bootImage: "linux-ipxe" },
  "efi-ipxe": { mac: "52:54:00:70:00:11", firmware: "efi-x64", bootImage: "linux-ipxe" },
  "efi-pxe": { mac: "52:54:00:70:00:12", firmware: "efi-x64", nic: "qemu-virtio", bootImage: "linux-ipxe" },
} as const;

const overrides = {
  "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge },
  "netboot-lab:docker": { baseImage: BASE_IMAGE, namePrefix: prefix },
  "netboot-lab:servers": { dhcp: { mode: "proxy" } },
  "netboot-lab:bootImages": [{ name: "linux-ipxe", kind: "ipxe", nfsRoot: true }, darwinImage(media)],
  "netboot-lab:clients": Object.entries(GUESTS).map(([name, guest]) => ({ name, ...guest })),
};

const projectDir = mkdtempSync(join(tmpdir(), "nbt-proxy-project-"));
let lab: AppliedLab | undefined;
let site: ForeignDhcpd | undefined;
const hosts: TestHost[] = [];

beforeAll(async () => {
  const { resources } = await runStack("kvm", { configOverrides: overrides });
  // The CLI (check, bsdp) reads the same config from a stack file, as in a user's project.
  mkdirSync(join(projectDir, "stacks"));
  writeFileSync(stackFilePath(projectDir, "kvm"), dump({ config: mergeConfig(readStackConfigMap(stackFilePath(PROJECT_DIR, "kvm")), overrides) }));
  // The Mac image is only listed over BSDP here, never booted: its build is left out.
  lab = await applyToDocker(
    resources.filter((resource) => resource.name !== "nbl-kvm-snow-build"),
    { labels, imageBuildArgs: { BASE_IMAGE } },
  );
  site = await startForeignDhcpd({ bridge, net, host: 3, poolStart: 150, poolEnd: 199 });
}, 900_000);

/** What the proxy answered and why, and the site server's log, beside the captures for a failure's reader. */
async function keepProxyLog(): Promise<void> {
  const logs = await execa("docker", ["logs", `${prefix}-proxy-dhcp`], { all: true, reject: false });
  if (logs.exitCode === 0) writeFileSync(join(tmpdir(), `netboot-lab-proxy-dhcp-${id}.log`), `${logs.all ?? ""}\n--- site dhcpd ---\n${site?.log() ?? ""}`);
}

afterAll(async () => {
  await keepProxyLog();
  for (const host of hosts) await host.destroy();
  await site?.stop();
  const left = await execa("docker", ["ps", "-aq", "--filter", `label=io.netboot-lab.lab=${prefix}`, "--filter", "label=io.netboot-lab.role=check"]);
  for (const container of left.stdout.split("\n").filter(Boolean)) await execa("docker", ["rm", "-f", container], { reject: false });
  await lab?.teardown();
  media.cleanup();
  rmSync(projectDir, { recursive: true, force: true });
});

const inSitePool = (address: string) => {
  const last = Number(address.split(".")[3]);
  return address.startsWith(`${net}.`) && last >= 150 && last <= 199;
};

/** Boots a guest on a tap of the bridge to its NFS root, capturing the tap (every frame to and from the guest). */
async function bootClient(name: keyof typeof GUESTS): Promise<{ console: string; frames: Frame[] }> {
  const guest = GUESTS[name];
  const tap = await createTap(bridge);
  const capture = await captureOn(tap.name, join(tmpdir(), `netboot-lab-proxy-${name}-${id}.pcap`));
  let frames: Frame[] | undefined;
  try {
    const console = await bootGuest({
      firmware: guest.firmware === "bios" ? "bios" : "efi",
      network:
        name === "efi-pxe"
          ? ["-netdev", `tap,id=lab,ifname=${tap.name},script=no,downscript=no`, "-device", `virtio-net-pci,netdev=lab,mac=${guest.mac},romfile=`]
          : tapNetwork(tap.name, guest.mac),
      until: new RegExp(NFS_ROOT_MARKER),
      timeoutMs: 360_000,
    });
    frames = await capture.stop();
    return { console, frames };
  } finally {
    if (!frames) await capture.stop();
    await tap.destroy();
  }
}

function expectProxyBoot(name: keyof typeof GUESTS, console: string, frames: readonly Frame[]): { ports: number[] } {
  const booted = new RegExp(`${BOOTED_MARKER} image=linux-ipxe ip=(\\S+)`).exec(console);
  expect(booted, console.slice(-2000)).not.toBeNull();
  expect(inSitePool(booted![1]!), `address ${booted![1]} from the site's pool`).toBe(true);
  expect(console).toContain(`${NFS_ROOT_MARKER} ${server}:/netboot/linux-ipxe/root`);
  const replies = dhcpReplies(frames).filter((reply) => reply.packet.chaddr === GUESTS[name].mac);
  const fromLab = replies.filter((reply) => reply.from === server);
  expect(fromLab.length).toBeGreaterThan(0);
  for (const reply of fromLab) {
    expect(reply.packet.yiaddr).toBe("0.0.0.0");
    expect(readOption(reply.packet, "vendor-class-identifier")).toBe("PXEClient");
  }
  expect(replies.filter((reply) => reply.from === site!.address).every((reply) => inSitePool(reply.packet.yiaddr))).toBe(true);
  return { ports: [...new Set(fromLab.map((reply) => reply.port))].sort((a, b) => a - b) };
}

describe("QEMU guests netboot from a proxy-mode lab beside the site's DHCP server", () => {
  it("BIOS: QEMU's iPXE ROM takes the site's address and the lab's script, boots Linux and mounts its NFS root", async () => {
    const { console, frames } = await bootClient("bios-ipxe");
    expectProxyBoot("bios-ipxe", console, frames);
  }, 420_000);

  it("EFI x64 with QEMU's iPXE ROM: the script at once, as on BIOS", async () => {
    const { console, frames } = await bootClient("efi-ipxe");
    expectProxyBoot("efi-ipxe", console, frames);
  }, 420_000);

  it("EFI x64 without a ROM: OVMF's own PXE takes the proxy offer, asks again on 4011, loads ipxe.efi over TFTP, and iPXE gets its script", async () => {
    const { console, frames } = await bootClient("efi-pxe");
    const { ports } = expectProxyBoot("efi-pxe", console, frames);
    const mac = GUESTS["efi-pxe"].mac;
    const rrq = frames.find((frame) => frame.srcMac === mac && frame.udp?.dstPort === 69);
    expect(rrq?.udp?.payload.subarray(2).toString("latin1")).toContain("linux-ipxe/ipxe.efi");
    // OVMF asks the proxy again on 4011 (PXE spec), from port 4011, and takes the ACK sent back there.
    expect(frames.some((frame) => frame.srcMac === mac && frame.udp?.dstPort === 4011)).toBe(true);
    expect(ports).toEqual([67, 4011]);
  }, 420_000);

  it("an undeclared MAC gets the site's address and nothing from the lab", async () => {
    const stranger = await createTestHost({ bridge });
    hosts.push(stranger);
    const capture = await captureOn(stranger.hostLink, join(tmpdir(), `netboot-lab-proxy-stranger-${id}.pcap`));
    const reply = await probeDhcp(stranger, { arch: "bios", timeoutMs: 4000 });
    // libpcap hands over a partly filled buffer only after its timeout: let the last frames in.
    await new Promise((resolveWait) => setTimeout(resolveWait, 2000));
    const frames = await capture.stop();
    expect(reply?.siaddr === server || reply?.options?.["dhcp-server-identifier"] === server).toBe(false);
    const replies = dhcpReplies(frames).filter((entry) => entry.packet.chaddr === stranger.mac);
    expect(replies.map((entry) => entry.from)).toContain(site!.address);
    expect(replies.filter((entry) => entry.from === server)).toEqual([]);
    const logs = await execa("docker", ["logs", `${prefix}-proxy-dhcp`], { all: true });
    expect(logs.all).toContain(`${stranger.mac} DHCPDISCOVER on port 67: not a client of the stack: no answer`);
  }, 120_000);
});

describe("Macs and diagnostics in proxy mode", () => {
  it("a Mac with an address from the site's server lists the lab's NetBoot images over BSDP", async () => {
    const mac = await createTestHost({ bridge, mac: "00:50:56:00:00:31" });
    hosts.push(mac);
    const lease = await runDhclient(mac, { timeoutSeconds: 20 });
    expect(inSitePool(lease.address ?? ""), lease.log).toBe(true);
    await mac.run("ip", ["addr", "add", `${lease.address}/24`, "dev", mac.interfaceName]);
    await routeBroadcastsThroughEth0(mac);
    const result = await mac.run(process.execPath, [CLI, "bsdp", "list", "--interface", mac.interfaceName, "--json", "--timeout-ms", "3000"], {
      reject: false,
    });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const answer = JSON.parse(String(result.stdout)) as BsdpAnswer;
    expect(answer).toMatchObject({ messageType: "LIST", serverIdentifier: server });
    expect(answer.images).toHaveLength(1);
  }, 120_000);

  it("check passes every row and names the site's server as the one that gave the addresses", async () => {
    const result = await execa("node", [CLI, "check", "--stack", "kvm", "--project", projectDir, "--json"], { reject: false });
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.rows.filter((row) => row.status !== "pass")).toEqual([]);
    expect(result.exitCode).toBe(0);
    const other = report.rows.find((row) => row.subject === "other-servers");
    expect(other?.detail).toMatch(
      new RegExp(`^addresses from the site's DHCP server ${net.replace(/\./g, "\\.")}\\.3 \\(server-id ${net.replace(/\./g, "\\.")}\\.3\\)`),
    );
    for (const row of report.rows.filter((entry) => entry.kind === "dhcp" && entry.subject === "pxe")) expect(row.detail).toContain("DHCPOFFER 0.0.0.0");
  }, 300_000);
});

describe("teardown", () => {
  it("removes the lab's containers, networks and volumes", async () => {
    await keepProxyLog();
    for (const host of hosts) await host.destroy();
    await site?.stop();
    await lab?.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
