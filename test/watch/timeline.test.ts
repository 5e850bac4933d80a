/** Timelines from the real daemons' logs of one QEMU boot (bios-ipxe, QEMU's iPXE ROM) in a kvm lab, plus `netboot-lab check` probing it. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOG_PARSERS, splitDockerTimestamp, type DaemonEvent } from "../../lib/watch/log-lines";
import { BootTimelines, formatTimelines, type WatchedClient } from "../../lib/watch/timeline";

const CLIENTS: WatchedClient[] = [
  { name: "bios-ipxe", mac: "52:54:00:6d:00:10", ipv4: "10.216.136.10", rootPath: "10.216.136.2:/netboot/linux-ipxe/root" },
  { name: "efi-grub", mac: "52:54:00:6d:00:11", ipv4: "10.216.136.11", rootPath: "10.216.136.2:/netboot/linux-grub/root" },
  { name: "bios-pxelinux", mac: "52:54:00:6d:00:12" },
];

/** Every daemon's lines, in time order, as `watch` receives them. */
function capturedEvents(): { time: Date; event: DaemonEvent }[] {
  return Object.entries(LOG_PARSERS)
    .flatMap(([role, parse]) =>
      readFileSync(join(__dirname, "fixtures", `${role}.log`), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => splitDockerTimestamp(line)!)
        .map(({ time, text }) => ({ time, event: parse(text) })),
    )
    .filter((item): item is { time: Date; event: DaemonEvent } => item.event !== undefined)
    .sort((a, b) => a.time.getTime() - b.time.getTime());
}

function replay(timelines: BootTimelines) {
  return capturedEvents().flatMap(({ time, event }) => timelines.add(time, event) ?? []);
}

describe("boot timelines", () => {
  it("follow the guest from DHCP through the iPXE script and kernel over HTTP to its NFS root mount, in order", () => {
    const timelines = new BootTimelines(CLIENTS, { stallSeconds: 30, onlyMacs: ["52:54:00:6d:00:10"] });
    replay(timelines);
    const entries = timelines.entries().get("52:54:00:6d:00:10")!;
    const boot = entries.filter((entry) => entry.time >= new Date("2026-12-02T01:12:15Z")).map((entry) => entry.text);
    expect(boot).toEqual([
      "DHCPDISCOVER",
      "DHCPOFFER 10.216.136.10",
      "DHCPDISCOVER",
      "DHCPOFFER 10.216.136.10",
      "DHCPREQUEST 10.216.136.10",
      "DHCPACK 10.216.136.10",
      "HTTP GET /linux-ipxe/boot.ipxe 200, 410 bytes in 0 s",
      "HTTP GET /linux-ipxe/vmlinuz 200, 8247232 bytes in 0.131 s",
      "HTTP GET /linux-ipxe/initrd.img 200, 2691167 bytes in 0.019 s",
      "DHCPDISCOVER",
      "DHCPOFFER 10.216.136.10",
      "DHCPREQUEST 10.216.136.10",
      "DHCPACK 10.216.136.10",
      "NFSv3 MOUNT",
      "NFSv3 first request",
    ]);
    const times = entries.map((entry) => entry.elapsed);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("put the check's probe requests under the client MAC they name, and leave the probe's own address out", () => {
    const timelines = new BootTimelines(CLIENTS, { stallSeconds: 30 });
    const printed = replay(timelines);
    expect(printed.find((entry) => entry.mac === "52:54:00:6d:00:11")?.text).toBe("DHCPDISCOVER");
    expect(printed.find((entry) => entry.mac === "02:6e:62:6c:00:fe")).toMatchObject({ text: "DHCPDISCOVER (network 10.216.136.0/24: no free leases)" });
    expect(printed.some((entry) => entry.text.includes("missing.kpxe"))).toBe(false);
    expect(formatTimelines(timelines)).toContain("(undeclared) 02:6e:62:6c:00:fe");
  });

  it("show a TFTP read with the size the build recorded", () => {
    const timelines = new BootTimelines([{ name: "probe-as-client", mac: "02:42:0a:d8:88:7f", ipv4: "10.216.136.127" }], {
      stallSeconds: 30,
      fileSizes: new Map([["linux-ipxe/undionly.kpxe", 74213]]),
      onlyMacs: ["02:42:0a:d8:88:7f"],
    });
    const texts = replay(timelines).map((entry) => entry.text);
    expect(texts).toContain("TFTP read linux-ipxe/undionly.kpxe (74213 bytes)");
    expect(texts).toContain("TFTP read linux-grub/boot/grub/x86_64-efi/core.efi");
  });
});

describe("stalls", () => {
  const ack = { kind: "dhcp", message: "DHCPACK", mac: "52:54:00:6d:00:10", ip: "10.216.136.10" } as const;
  const start = new Date("2026-12-02T01:00:00Z");
  const later = (secondsAfter: number) => new Date(start.getTime() + secondsAfter * 1000);

  it("call out an ACK with no boot-file request once, after the quiet time", () => {
    const timelines = new BootTimelines(CLIENTS, { stallSeconds: 30 });
    timelines.add(start, ack);
    expect(timelines.stalls(later(29))).toEqual([]);
    expect(timelines.stalls(later(30)).map((entry) => entry.text)).toEqual([
      "ACK sent 30 s ago, no boot-file request: the firmware rejected the offer or the file name",
    ]);
    expect(timelines.stalls(later(60))).toEqual([]);
  });

  it("call out boot files read and no NFS mount for a client with an NFS root", () => {
    const timelines = new BootTimelines(CLIENTS, { stallSeconds: 30 });
    timelines.add(start, ack);
    timelines.add(later(2), {
      kind: "http",
      ip: "10.216.136.10",
      method: "GET",
      path: "linux-ipxe/vmlinuz",
      status: 200,
      bytes: 1,
      seconds: 0,
      userAgent: "iPXE",
    });
    expect(timelines.stalls(later(40))[0]).toMatchObject({
      client: "bios-ipxe",
      stage: "stall",
      text: expect.stringContaining("no NFS mount of 10.216.136.2:/netboot/linux-ipxe/root"),
    });
  });
});
