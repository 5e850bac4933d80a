/**
 * What each lab daemon's log lines say about a client's boot, as plain events: ISC dhcpd's
 * DHCP and BOOTP lines, Kea's lease lines, tftpd-hpa's read requests and refusals (through the syslog sink of its
 * container), nginx's access log (lib/servers/http.ts NGINX_LOG_FORMAT) and ganesha's RPC
 * dispatch lines. Pure functions of one line each; `watch` feeds them `docker logs` output.
 */

export type DhcpMessage =
  "DHCPDISCOVER" | "DHCPOFFER" | "DHCPREQUEST" | "DHCPACK" | "DHCPNAK" | "DHCPDECLINE" | "DHCPRELEASE" | "DHCPINFORM" | "BOOTREQUEST" | "BOOTREPLY";

export type DaemonEvent =
  | { readonly kind: "dhcp"; readonly message: DhcpMessage; readonly mac?: string; readonly ip?: string; readonly note?: string }
  | { readonly kind: "tftp-read"; readonly ip: string; readonly file: string }
  | { readonly kind: "tftp-refused"; readonly ip: string; readonly code: number; readonly reason: string }
  | {
      /** A whole TFTP read as captured on the wire (tftp-capture.ts): the blksize the server agreed to, the DATA bytes sent once each. */
      readonly kind: "tftp-transfer";
      readonly ip: string;
      readonly file: string;
      readonly blksize: number;
      readonly blocks: number;
      readonly bytes: number;
      /** From the RRQ to the last DATA block (or the ERROR). */
      readonly seconds: number;
      /** Present when an ERROR packet ended the transfer, by the client (an abort) or the server (a refusal). */
      readonly error?: { readonly by: "client" | "server"; readonly code: number; readonly message: string };
    }
  | {
      readonly kind: "http";
      readonly ip: string;
      readonly method: string;
      readonly path: string;
      readonly status: number;
      readonly bytes: number;
      readonly seconds: number;
      readonly userAgent: string;
    }
  | { readonly kind: "nfs"; readonly ip: string; readonly program: "mount" | "nfs"; readonly version: number; readonly procedure: number };

/** A `docker logs --timestamps` line: RFC 3339 time with nanoseconds, a space, the daemon's line. */
export function splitDockerTimestamp(line: string): { time: Date; text: string } | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z (.*)$/.exec(line);
  if (!match) return undefined;
  const millis = (match[2] ?? ".0").slice(0, 4).padEnd(4, "0");
  return { time: new Date(`${match[1]}${millis}Z`), text: match[3]! };
}

const MAC = "([0-9a-f]{2}(?::[0-9a-f]{2}){5})";
const IP = "(\\d{1,3}(?:\\.\\d{1,3}){3})";

const DHCPD_PATTERNS: { pattern: RegExp; read: (match: RegExpExecArray) => DaemonEvent }[] = [
  // DHCPDISCOVER from 52:54:00:6d:00:99 via eth0: network 10.216.204.0/24: no free leases
  {
    pattern: new RegExp(`^(DHCPDISCOVER|DHCPRELEASE|DHCPDECLINE) (?:of ${IP} )?from ${MAC}(?: \\([^)]*\\))? via \\S+(?:: (.*))?$`),
    read: (m) => dhcp(m[1]!, { ip: m[2], mac: m[3], note: m[4] }),
  },
  // DHCPOFFER on 10.216.204.10 to 52:54:00:6d:00:10 via eth0 / DHCPACK on … to … (name) via eth0
  { pattern: new RegExp(`^(DHCPOFFER|DHCPACK|DHCPNAK) on ${IP} to ${MAC}(?: \\([^)]*\\))? via \\S+`), read: (m) => dhcp(m[1]!, { ip: m[2], mac: m[3] }) },
  // DHCPNAK on 10.0.0.9 to 52:… via eth0 is above; dhcpd also logs DHCPNAK without an address for bad requests
  // DHCPREQUEST for 10.216.204.10 (10.216.204.2) from 52:54:00:6d:00:10 via eth0[: wrong network.]
  {
    pattern: new RegExp(`^DHCPREQUEST for ${IP}(?: \\(${IP}\\))? from ${MAC}(?: \\([^)]*\\))? via \\S+(?:: (.*))?$`),
    read: (m) => dhcp("DHCPREQUEST", { ip: m[1], mac: m[3], note: m[4] }),
  },
  // BOOTREQUEST from 52:54:00:6d:00:11 via eth0[: …]
  { pattern: new RegExp(`^BOOTREQUEST from ${MAC} via \\S+(?:: (.*))?$`), read: (m) => dhcp("BOOTREQUEST", { mac: m[1], note: m[2] }) },
  // BOOTREPLY for 10.216.204.11 to efi-grub (52:54:00:6d:00:11) via eth0 / BOOTREPLY on 10.216.204.128 to 52:54:00:6d:00:12 via eth0
  {
    pattern: new RegExp(`^BOOTREPLY (?:for|on) ${IP} to (?:\\S+ \\(${MAC}\\)|${MAC}) via \\S+`),
    read: (m) => dhcp("BOOTREPLY", { ip: m[1], mac: m[2] ?? m[3] }),
  },
  // DHCPINFORM from 10.216.204.50 via eth0
  { pattern: new RegExp(`^DHCPINFORM from ${IP} via \\S+`), read: (m) => dhcp("DHCPINFORM", { ip: m[1] }) },
  // DHCPACK to 10.216.204.50 (52:54:00:6d:00:10) via eth0 (the answer to an INFORM)
  { pattern: new RegExp(`^DHCPACK to ${IP} \\(${MAC}\\) via \\S+`), read: (m) => dhcp("DHCPACK", { ip: m[1], mac: m[2], note: "answer to DHCPINFORM" }) },
];

function dhcp(message: string, fields: { mac?: string; ip?: string; note?: string }): DaemonEvent {
  return {
    kind: "dhcp",
    message: message as DhcpMessage,
    ...(fields.mac ? { mac: fields.mac } : {}),
    ...(fields.ip ? { ip: fields.ip } : {}),
    ...(fields.note ? { note: fields.note } : {}),
  };
}

export function parseDhcpdLine(text: string): DaemonEvent | undefined {
  for (const { pattern, read } of DHCPD_PATTERNS) {
    const match = pattern.exec(text);
    if (match) return read(match);
  }
  return undefined;
}

/** The client part of Kea's lease messages: `[hwtype=1 52:54:00:6d:00:10], cid=[01:52:…], tid=0x73fc519d: `. */
const KEA_CLIENT = `\\[hwtype=\\d+ ${MAC}\\], cid=\\[[^\\]]*\\], tid=0x[0-9a-f]+: `;

const KEA_PATTERNS: { pattern: RegExp; read: (match: RegExpExecArray) => DaemonEvent }[] = [
  // DHCP4_LEASE_ADVERT [hwtype=1 52:54:00:77:00:12], cid=[01:52:54:00:77:00:12], tid=0x73fc519d: lease 10.77.0.128 will be advertised
  { pattern: new RegExp(` DHCP4_LEASE_ADVERT ${KEA_CLIENT}lease ${IP} will be advertised`), read: (m) => dhcp("DHCPOFFER", { mac: m[1], ip: m[2] }) },
  // DHCP4_LEASE_ALLOC …: lease 10.77.0.128 has been allocated for 3600 seconds; BOOTP leases are allocated "for infinity seconds"
  {
    pattern: new RegExp(` DHCP4_LEASE_ALLOC ${KEA_CLIENT}lease ${IP} has been allocated for (\\d+|infinity) seconds`),
    read: (m) => dhcp(m[3] === "infinity" ? "BOOTREPLY" : "DHCPACK", { mac: m[1], ip: m[2] }),
  },
  // ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES …: Failed to allocate an IPv4 address for client with classes: ALL, UNKNOWN (an undeclared MAC)
  {
    pattern: new RegExp(` ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES ${KEA_CLIENT}Failed to allocate an IPv4 address for client with classes: (.*)$`),
    read: (m) => dhcp("DHCPDISCOVER", { mac: m[1], note: `no address for this client, classes ${m[2]}` }),
  },
  // DHCP4_PACKET_NAK_0001 …: failed to advertise a lease, client sent ciaddr 0.0.0.0, requested-ip-address 10.0.0.9
  { pattern: new RegExp(` DHCP4_PACKET_NAK_\\d+ ${KEA_CLIENT}(.*)$`), read: (m) => dhcp("DHCPNAK", { mac: m[1], note: m[2] }) },
];

/** kea-dhcp4's INFO lines (lib/servers/kea.ts logs to stdout): offers, allocations, refusals. */
export function parseKeaLine(text: string): DaemonEvent | undefined {
  for (const { pattern, read } of KEA_PATTERNS) {
    const match = pattern.exec(text);
    if (match) return read(match);
  }
  return undefined;
}

/** busybox syslogd -S: `Dec  2 01:01:41 in.tftpd[7]: RRQ from 10.216.204.250 filename linux-ipxe/undionly.kpxe`. */
export function parseTftpdLine(text: string): DaemonEvent | undefined {
  const message = /in\.tftpd\[\d+\]: (.*)$/.exec(text)?.[1];
  if (!message) return undefined;
  const read = new RegExp(`^RRQ from ${IP} filename (.+?)(?: remapped to .*)?$`).exec(message);
  if (read) return { kind: "tftp-read", ip: read[1]!, file: read[2]!.replace(/^\/+/, "") };
  const refused = new RegExp(`^sending NAK \\((\\d+), (.*)\\) to ${IP}$`).exec(message);
  if (refused) return { kind: "tftp-refused", ip: refused[3]!, code: Number(refused[1]), reason: refused[2]! };
  return undefined;
}

/** `10.216.204.10 "GET /linux-ipxe/boot.ipxe HTTP/1.1" 200 410 0.000 "iPXE/1.21.1+ (g4e456d99)"`. */
export function parseNginxLine(text: string): DaemonEvent | undefined {
  const match = new RegExp(`^${IP} "(\\S+) (\\S+) [^"]*" (\\d{3}) (\\d+) ([\\d.]+) "([^"]*)"$`).exec(text);
  if (!match) return undefined;
  return {
    kind: "http",
    ip: match[1]!,
    method: match[2]!,
    path: decodeURIComponent(match[3]!.split("?")[0]!.replace(/^\/+/, "")),
    status: Number(match[4]),
    bytes: Number(match[5]),
    seconds: Number(match[6]),
    userAgent: match[7]!,
  };
}

const NFS_PROGRAM = 100003;
const MOUNT_PROGRAM = 100005;

/** `… nfs_rpc_process_request :DISP :DEBUG :Request from ::ffff:10.0.0.10 for Program 100005, Version 3, Function 1 has xid=…`. */
export function parseGaneshaLine(text: string): DaemonEvent | undefined {
  const match = new RegExp(`:Request from (?:::ffff:)?${IP} for Program (\\d+), Version (\\d+), Function (\\d+)`).exec(text);
  if (!match) return undefined;
  const program = Number(match[2]);
  if (program !== NFS_PROGRAM && program !== MOUNT_PROGRAM) return undefined;
  return { kind: "nfs", ip: match[1]!, program: program === MOUNT_PROGRAM ? "mount" : "nfs", version: Number(match[3]), procedure: Number(match[4]) };
}

/** The parser for each daemon role (lib/servers roles). */
export const LOG_PARSERS: Readonly<Record<string, (text: string) => DaemonEvent | undefined>> = {
  dhcpd: parseDhcpdLine,
  kea: parseKeaLine,
  tftp: parseTftpdLine,
  http: parseNginxLine,
  nfs: parseGaneshaLine,
};
