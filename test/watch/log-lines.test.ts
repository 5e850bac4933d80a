/** The daemons' own log lines, captured from the real containers of a kvm lab while a QEMU guest booted (test/watch/fixtures). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseDhcpdLine,
  parseGaneshaLine,
  parseKeaLine,
  parseNginxLine,
  parseTftpdLine,
  splitDockerTimestamp,
  type DaemonEvent,
} from "../../lib/watch/log-lines";

function events(daemon: string, parse: (text: string) => DaemonEvent | undefined): DaemonEvent[] {
  return readFileSync(join(__dirname, "fixtures", `${daemon}.log`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => parse(splitDockerTimestamp(line)!.text))
    .filter((event): event is DaemonEvent => event !== undefined);
}

describe("docker logs --timestamps", () => {
  it("splits the engine's nanosecond timestamp from the daemon's line", () => {
    expect(splitDockerTimestamp('2026-12-02T01:12:31.667232566Z 10.216.136.10 "GET / HTTP/1.1"')).toEqual({
      time: new Date("2026-12-02T01:12:31.667Z"),
      text: '10.216.136.10 "GET / HTTP/1.1"',
    });
    expect(splitDockerTimestamp("no timestamp")).toBeUndefined();
  });
});

describe("ISC dhcpd", () => {
  it("reads every DHCP and BOOTP line of a boot and of the check's probes, and nothing else", () => {
    const dhcp = events("dhcpd", parseDhcpdLine);
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "DHCPDISCOVER", mac: "52:54:00:6d:00:10" });
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "DHCPOFFER", mac: "52:54:00:6d:00:10", ip: "10.216.136.10" });
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "DHCPREQUEST", mac: "52:54:00:6d:00:10", ip: "10.216.136.10" });
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "DHCPACK", mac: "52:54:00:6d:00:10", ip: "10.216.136.10" });
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "BOOTREQUEST", mac: "52:54:00:6d:00:11" });
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "BOOTREPLY", mac: "52:54:00:6d:00:11", ip: "10.216.136.11" });
    expect(dhcp).toContainEqual({ kind: "dhcp", message: "DHCPDISCOVER", mac: "02:6e:62:6c:00:fe", note: "network 10.216.136.0/24: no free leases" });
    // 26 DHCP/BOOTP lines in the capture; banners and "Listening on" are not events.
    expect(dhcp).toHaveLength(26);
  });

  it("reads a pool client's BOOTREPLY (no host name) and INFORM exchanges", () => {
    expect(parseDhcpdLine("BOOTREPLY on 10.216.204.128 to 52:54:00:6d:00:12 via eth0")).toEqual({
      kind: "dhcp",
      message: "BOOTREPLY",
      mac: "52:54:00:6d:00:12",
      ip: "10.216.204.128",
    });
    expect(parseDhcpdLine("DHCPINFORM from 10.216.204.50 via eth0")).toEqual({ kind: "dhcp", message: "DHCPINFORM", ip: "10.216.204.50" });
  });
});

describe("Kea", () => {
  // kea-dhcp4 with the kvm stack's rendered config in a test namespace: a pool client's DORA and BOOTP request, an undeclared MAC's DISCOVER and BOOTP request.
  it("reads offers, allocations (BOOTP ones are for infinity) and an undeclared MAC's refusal, and nothing else", () => {
    expect(events("kea", parseKeaLine)).toEqual([
      { kind: "dhcp", message: "DHCPOFFER", mac: "52:54:00:77:00:12", ip: "10.77.0.128" },
      { kind: "dhcp", message: "DHCPACK", mac: "52:54:00:77:00:12", ip: "10.77.0.128" },
      { kind: "dhcp", message: "BOOTREPLY", mac: "52:54:00:77:00:12", ip: "10.77.0.128" },
      { kind: "dhcp", message: "DHCPDISCOVER", mac: "52:54:00:ee:00:99", note: "no address for this client, classes ALL, UNKNOWN" },
      { kind: "dhcp", message: "DHCPDISCOVER", mac: "52:54:00:ee:00:99", note: "no address for this client, classes ALL, UNKNOWN" },
    ]);
  });

  it("reads a NAK with its reason", () => {
    expect(
      parseKeaLine(
        "2026-12-05 07:40:01.100 INFO  [kea-dhcp4.packets/1.2] DHCP4_PACKET_NAK_0001 [hwtype=1 52:54:00:77:00:12], cid=[no info], tid=0x1: failed to advertise a lease, client sent ciaddr 0.0.0.0, requested-ip-address 10.77.0.9",
      ),
    ).toEqual({
      kind: "dhcp",
      message: "DHCPNAK",
      mac: "52:54:00:77:00:12",
      note: "failed to advertise a lease, client sent ciaddr 0.0.0.0, requested-ip-address 10.77.0.9",
    });
  });
});

describe("tftpd-hpa through the container's syslog sink", () => {
  it("reads each read request with its file and the refusal of a missing one", () => {
    expect(events("tftp", parseTftpdLine)).toEqual([
      { kind: "tftp-read", ip: "10.216.136.127", file: "linux-ipxe/undionly.kpxe" },
      { kind: "tftp-read", ip: "10.216.136.127", file: "linux-grub/boot/grub/x86_64-efi/core.efi" },
      { kind: "tftp-read", ip: "10.216.136.127", file: "linux-pxelinux/pxelinux.0" },
      { kind: "tftp-read", ip: "10.216.136.250", file: "linux-ipxe/missing.kpxe" },
      { kind: "tftp-refused", ip: "10.216.136.250", code: 1, reason: "File not found" },
    ]);
  });
});

describe("nginx access log (NGINX_LOG_FORMAT)", () => {
  it("reads status, bytes, time and the user agent iPXE sends", () => {
    const http = events("http", parseNginxLine);
    expect(http).toHaveLength(6);
    expect(http[4]).toEqual({
      kind: "http",
      ip: "10.216.136.10",
      method: "GET",
      path: "linux-ipxe/vmlinuz",
      status: 200,
      bytes: 8247232,
      seconds: 0.131,
      userAgent: "iPXE/1.0.0+git-20190125.36a4c85-5.1",
    });
  });
});

describe("nfs-ganesha dispatch log", () => {
  it("reads the MOUNT and NFS calls with the client's address, and skips rpcbind's own traffic", () => {
    const nfs = events("nfs", parseGaneshaLine);
    const guest = nfs.filter((event) => event.kind === "nfs" && event.ip === "10.216.136.10");
    expect(guest[0]).toEqual({ kind: "nfs", ip: "10.216.136.10", program: "mount", version: 3, procedure: 0 });
    expect(guest).toContainEqual({ kind: "nfs", ip: "10.216.136.10", program: "mount", version: 3, procedure: 1 });
    expect(nfs.some((event) => event.kind === "nfs" && event.program === "nfs" && event.version === 4)).toBe(true);
  });
});
