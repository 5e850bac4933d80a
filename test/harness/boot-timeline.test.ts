/**
 * Where a boot's time goes: the events and phases bootTimeline derives from a capture of the lab
 * bridge and from when the serial log's lines showed up, on frames shaped like the e2e's.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { clientRequest, dhcpOption, encodeDhcpPacket, type DhcpPacket } from "../../lib/net/dhcp";
import { BOOTED_MARKER, INIT_STARTED_LINE, NFS_ROOT_MARKER } from "../../lib/pxe";
import { BOOT_PHASES, bootPhases, bootSerialPatterns, bootTimeline, watchSerialLog, type SerialWatch } from "../support/boot-timeline";
import type { Frame } from "../support/pcap";

const GUEST = "52:54:00:77:00:11";
const OTHER_GUEST = "52:54:00:77:00:10";
const SERVER_MAC = "02:42:0a:4d:00:02";
const SERVER = "10.77.0.2";
const STARTED_MS = 1_700_000_000_000;
const at = (seconds: number) => STARTED_MS + seconds * 1000;

function dhcpFrame(seconds: number, mac: string, type: "DHCPDISCOVER" | "DHCPACK"): Frame {
  if (type === "DHCPDISCOVER") {
    const payload = encodeDhcpPacket(clientRequest({ mac, parameterRequestList: [1, 3, 67] }, { type }, 1));
    return {
      timeMs: at(seconds),
      srcMac: mac,
      dstMac: "ff:ff:ff:ff:ff:ff",
      ipv4: { src: "0.0.0.0", dst: "255.255.255.255", protocol: 17 },
      udp: { srcPort: 68, dstPort: 67, payload },
    };
  }
  const ack: DhcpPacket = {
    ...clientRequest({ mac, parameterRequestList: [1] }, { type: "DHCPDISCOVER" }, 1),
    op: "reply",
    yiaddr: "10.77.0.11",
    options: [dhcpOption("dhcp-message-type", "DHCPACK")],
  };
  const payload = encodeDhcpPacket(ack);
  return {
    timeMs: at(seconds),
    srcMac: SERVER_MAC,
    dstMac: mac,
    ipv4: { src: SERVER, dst: "10.77.0.11", protocol: 17 },
    udp: { srcPort: 67, dstPort: 68, payload },
  };
}

const httpGet = (seconds: number, path: string): Frame => ({
  timeMs: at(seconds),
  srcMac: GUEST,
  dstMac: SERVER_MAC,
  ipv4: { src: "10.77.0.11", dst: SERVER, protocol: 6 },
  tcp: { srcPort: 40000, dstPort: 80, payload: Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${SERVER}\r\n\r\n`) },
});
const httpData = (seconds: number, bytes: number): Frame => ({
  timeMs: at(seconds),
  srcMac: SERVER_MAC,
  dstMac: GUEST,
  ipv4: { src: SERVER, dst: "10.77.0.11", protocol: 6 },
  tcp: { srcPort: 80, dstPort: 40000, payload: Buffer.alloc(bytes) },
});
const tftpRead = (seconds: number, file: string): Frame => ({
  timeMs: at(seconds),
  srcMac: GUEST,
  dstMac: SERVER_MAC,
  ipv4: { src: "10.77.0.11", dst: SERVER, protocol: 17 },
  udp: { srcPort: 2070, dstPort: 69, payload: Buffer.concat([Buffer.of(0, 1), Buffer.from(`${file}\0octet\0`)]) },
});

/** An EFI GRUB boot with an NFS root: firmware DHCP, GRUB over TFTP, kernel and initrd over HTTP, the initramfs's DHCP, the mount. */
const grubBoot: Frame[] = [
  dhcpFrame(4.0, GUEST, "DHCPDISCOVER"),
  dhcpFrame(4.2, OTHER_GUEST, "DHCPACK"),
  dhcpFrame(5.1, GUEST, "DHCPACK"),
  tftpRead(5.3, "linux-grub/boot/grub/x86_64-efi/core.efi"),
  dhcpFrame(6.0, GUEST, "DHCPDISCOVER"),
  dhcpFrame(6.1, GUEST, "DHCPACK"),
  httpGet(6.4, "/linux-grub/vmlinuz"),
  httpData(6.5, 1448),
  httpData(6.6, 0),
  httpGet(6.7, "/linux-grub/initrd.img"),
  httpData(6.9, 1448),
  // A bare acknowledgement after the last byte is no file data.
  httpData(7.0, 0),
  dhcpFrame(12.6, GUEST, "DHCPDISCOVER"),
  dhcpFrame(13.5, GUEST, "DHCPACK"),
];
const grubSerial: SerialWatch = {
  text: "",
  firstSeen: { kernelStarted: at(9.2), initStarted: at(11.9), booted: at(13.6), rootMounted: at(15.0), marker: at(15.0) },
  cpuSeen: { kernelStarted: 6.4, initStarted: 8.2, booted: 9.1, rootMounted: 10.3, marker: 10.3 },
};

describe("bootTimeline", () => {
  it("finds each event of a guest's boot in the capture and the serial log, ignoring the other guests' frames", () => {
    const timeline = bootTimeline(grubBoot, GUEST, STARTED_MS, grubSerial);
    expect(timeline.events).toEqual({
      firmwareDiscover: 4,
      firmwareAck: 5.1,
      kernelRequest: 6.4,
      transferEnd: 6.9,
      kernelStarted: 9.2,
      initStarted: 11.9,
      initDiscover: 12.6,
      booted: 13.6,
      rootMounted: 15,
    });
    expect(timeline.stages).toEqual({ dhcpAnswered: 5.1, firstBootFileRequest: 5.3, kernelStarted: 9.2, rootMounted: 15, marker: 15 });
    expect(timeline.cpuSeconds).toEqual({ kernelStarted: 6.4, marker: 10.3 });
  });

  it("splits the boot into phases that add up to the marker", () => {
    const { phases, stages } = bootTimeline(grubBoot, GUEST, STARTED_MS, grubSerial);
    expect(phases).toEqual({
      firmware: 4,
      firmwareDhcp: 1.1,
      loader: 1.3,
      transfer: 0.5,
      decompression: 2.3,
      kernel: 2.7,
      initramfs: 0.7,
      initDhcp: 1,
      nfsMount: 1.4,
    });
    const total = Object.values(phases).reduce((sum: number, value) => sum + value!, 0);
    expect(total).toBeCloseTo(stages.marker!, 5);
  });

  it("reads the kernel request from a TFTP read request as well (pxelinux)", () => {
    const frames = [
      dhcpFrame(3.0, GUEST, "DHCPDISCOVER"),
      dhcpFrame(3.4, GUEST, "DHCPACK"),
      tftpRead(3.5, "linux-pxelinux/pxelinux.0"),
      tftpRead(5.0, "/linux-pxelinux/vmlinuz"),
    ];
    const timeline = bootTimeline(frames, GUEST, STARTED_MS, { text: "", firstSeen: {} });
    expect(timeline.events.kernelRequest).toBe(5);
    expect(timeline.stages.firstBootFileRequest).toBe(3.5);
  });

  it("leaves a phase null when the boot stalled before it, and the NFS mount null without an NFS root", () => {
    const stalled = bootTimeline(grubBoot.slice(0, 4), GUEST, STARTED_MS, { text: "", firstSeen: {} });
    expect(stalled.phases).toMatchObject({ firmware: 4, firmwareDhcp: 1.1, loader: null, transfer: null, kernel: null, nfsMount: null });
    const withoutRoot = { ...grubSerial.firstSeen, rootMounted: undefined, marker: grubSerial.firstSeen.booted };
    expect(bootTimeline(grubBoot, GUEST, STARTED_MS, { text: "", firstSeen: withoutRoot }).phases.nfsMount).toBeNull();
  });

  it("names every phase after two events in boot order", () => {
    expect(
      bootPhases({
        firmwareDiscover: 1,
        firmwareAck: 2,
        kernelRequest: 3,
        transferEnd: 4,
        kernelStarted: 5,
        initStarted: 6,
        initDiscover: 7,
        booted: 8,
        rootMounted: 9,
      }),
    ).toEqual(Object.fromEntries(Object.keys(BOOT_PHASES).map((phase) => [phase, 1])));
  });
});

describe("bootSerialPatterns", () => {
  const dir = mkdtempSync(join(tmpdir(), "boot-timeline-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sees the kernel's, the initramfs's and the markers' lines as a guest prints them", async () => {
    const log = join(dir, "efi-grub.serial.log");
    writeFileSync(
      log,
      [
        "netboot-lab: loading linux-grub",
        "[    0.000000] Linux version 6.1.0-41-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1",
        INIT_STARTED_LINE,
        `${BOOTED_MARKER} image=linux-grub ip=10.77.0.11`,
        "netboot-lab: NFS root mounted: 10.77.0.2:/netboot/linux-grub/root /mnt nfs ro,relatime,vers=3",
        `${NFS_ROOT_MARKER} 10.77.0.2:/netboot/linux-grub/root netboot-lab NFS root of boot image linux-grub`,
        "",
      ].join("\r\n"),
    );
    const watch = await watchSerialLog(log, bootSerialPatterns(NFS_ROOT_MARKER), "marker", 5_000);
    expect(Object.keys(watch.firstSeen).sort()).toEqual(["booted", "initStarted", "kernelStarted", "marker", "rootMounted"]);
  });

  it("notes the CPU seconds the QEMU writing the log had used when each line showed up", async () => {
    const log = join(dir, "paused.serial.log");
    writeFileSync(log, "");
    // A real QEMU, paused before its first instruction: it holds the log open and uses a little CPU starting up.
    const qemu = execa("qemu-system-x86_64", [
      "-S",
      "-nodefaults",
      "-display",
      "none",
      "-chardev",
      `file,id=serial0,path=${log},append=on`,
      "-serial",
      "chardev:serial0",
    ]);
    try {
      const watching = watchSerialLog(log, bootSerialPatterns(BOOTED_MARKER), "marker", 20_000);
      await new Promise((resolveWait) => setTimeout(resolveWait, 1_000));
      appendFileSync(log, `[    0.000000] Linux version 6.1.0\r\n${BOOTED_MARKER} image=i ip=10.77.0.10\r\n`);
      const watch = await watching;
      expect(watch.cpuSeen).toEqual({ kernelStarted: expect.any(Number), booted: expect.any(Number), marker: expect.any(Number) });
      expect(watch.cpuSeen!.marker).toBeGreaterThanOrEqual(watch.cpuSeen!.kernelStarted!);
      expect(watch.cpuSeen!.marker).toBeLessThan(20);
    } finally {
      qemu.kill();
      await qemu.catch(() => undefined);
    }
  });
});
