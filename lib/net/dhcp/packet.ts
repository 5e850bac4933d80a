/**
 * BOOTP and DHCP packets on the wire (RFC 951, RFC 1497/2132 vendor extensions, RFC 2131,
 * RFC 3396 long options), encoded and decoded without any I/O.
 */
import {
  DhcpDecodeError,
  decodeIpv4,
  encodeIpv4,
  formatHex,
  optionCode,
  optionJson,
  optionName,
  parseHex,
  readOption,
  type DhcpMessageType,
  type DhcpOption,
  type OptionJson,
} from "./options";

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/** Length of the fixed BOOTP header, up to and including `file`. */
const FIXED_LENGTH = 236;
/** RFC 951's header plus its 64-byte vendor area: servers and relays drop shorter requests. */
const MIN_PACKET_LENGTH = 300;
const MAGIC_COOKIE = Uint8Array.of(99, 130, 83, 99);
const CHADDR_LENGTH = 16;
const SNAME_LENGTH = 64;
const FILE_LENGTH = 128;
const PAD = 0;
const END = 255;
const BROADCAST_FLAG = 0x8000;
export const HTYPE_ETHERNET = 1;

export interface DhcpPacket {
  readonly op: "request" | "reply";
  /** ARP hardware type; 1 is Ethernet. */
  readonly htype: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  /** Asks the server to broadcast its reply: the client has no address to receive unicast on. */
  readonly broadcast: boolean;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** Client hardware address, lower-case hex pairs joined by ':' (hlen is its length). */
  readonly chaddr: string;
  readonly sname: string;
  readonly file: string;
  /** Options after the magic cookie; undefined for a plain RFC 951 packet without the cookie. */
  readonly options?: readonly DhcpOption[];
}

// ---------------------------------------------------------------------------------------------
// Encoding

function writeText(target: Buffer, offset: number, length: number, value: string, field: string): void {
  const encoded = Buffer.from(value, "utf8");
  // One byte stays free for the terminating NUL.
  if (encoded.length >= length) throw new RangeError(`${field}: "${value}" is ${encoded.length} bytes; the field holds at most ${length - 1}`);
  encoded.copy(target, offset);
}

/** Options with their length bytes; payloads over 255 bytes are split into several instances (RFC 3396). */
function encodeOptions(options: readonly DhcpOption[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const { code, data } of options) {
    if (code === PAD || code === END) throw new RangeError(`option code ${code} is pad/end and cannot carry data`);
    let offset = 0;
    do {
      const piece = data.subarray(offset, offset + 255);
      parts.push(Uint8Array.of(code, piece.length), piece);
      offset += 255;
    } while (offset < data.length);
  }
  return Buffer.concat(parts);
}

export function hardwareAddressBytes(address: string): Uint8Array {
  const octets = parseHex(address);
  if (!octets || octets.length > CHADDR_LENGTH) {
    throw new RangeError(`chaddr: "${address}" is not a hardware address of 1-16 hex octets such as 52:54:00:12:34:56`);
  }
  return octets;
}

export function encodeDhcpPacket(packet: DhcpPacket): Buffer {
  const chaddr = hardwareAddressBytes(packet.chaddr);
  const header = Buffer.alloc(FIXED_LENGTH);
  header[0] = packet.op === "request" ? 1 : 2;
  header[1] = packet.htype;
  header[2] = chaddr.length;
  header[3] = packet.hops;
  header.writeUInt32BE(packet.xid >>> 0, 4);
  header.writeUInt16BE(packet.secs, 8);
  header.writeUInt16BE(packet.broadcast ? BROADCAST_FLAG : 0, 10);
  (["ciaddr", "yiaddr", "siaddr", "giaddr"] as const).forEach((field, index) => {
    header.set(encodeIpv4(packet[field], field), 12 + index * 4);
  });
  header.set(chaddr, 28);
  writeText(header, 44, SNAME_LENGTH, packet.sname, "sname");
  writeText(header, 108, FILE_LENGTH, packet.file, "file");
  const vendor = packet.options ? Buffer.concat([MAGIC_COOKIE, encodeOptions(packet.options), Uint8Array.of(END)]) : Buffer.alloc(0);
  const encoded = Buffer.concat([header, vendor]);
  return encoded.length >= MIN_PACKET_LENGTH ? encoded : Buffer.concat([encoded, Buffer.alloc(MIN_PACKET_LENGTH - encoded.length)]);
}

/**
 * A reply to `request` that hands out no address (yiaddr 0.0.0.0): what a BSDP server and a
 * proxyDHCP server send, with the lab's address as siaddr.
 */
export function addresslessReply(request: DhcpPacket, siaddr: string, fields: Pick<DhcpPacket, "sname" | "file">, options: readonly DhcpOption[]): DhcpPacket {
  return {
    op: "reply",
    htype: request.htype,
    hops: 0,
    xid: request.xid,
    secs: 0,
    broadcast: request.broadcast,
    ciaddr: request.ciaddr,
    yiaddr: "0.0.0.0",
    siaddr,
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    ...fields,
    options,
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Reads options up to `end` or the end of `area`; `where` names the area in error messages. */
function readOptionArea(area: Uint8Array, where: string): DhcpOption[] {
  const options: DhcpOption[] = [];
  let offset = 0;
  while (offset < area.length) {
    const code = area[offset]!;
    if (code === END) break;
    if (code === PAD) {
      offset += 1;
      continue;
    }
    const length = area[offset + 1];
    if (length === undefined || offset + 2 + length > area.length) {
      throw new DhcpDecodeError(`option ${optionName(code)} (code ${code}) in the ${where} runs past its end`);
    }
    options.push({ code, data: Uint8Array.from(area.subarray(offset + 2, offset + 2 + length)) });
    offset += 2 + length;
  }
  return options;
}

/** Joins every instance of a code into one option at its first position (RFC 3396). */
function concatenateInstances(options: readonly DhcpOption[]): DhcpOption[] {
  const byCode = new Map<number, Uint8Array[]>();
  for (const { code, data } of options) byCode.set(code, [...(byCode.get(code) ?? []), data]);
  return [...byCode].map(([code, pieces]) => ({ code, data: pieces.length === 1 ? pieces[0]! : Uint8Array.from(Buffer.concat(pieces)) }));
}

function readText(bytesField: Uint8Array): string {
  const end = bytesField.indexOf(0);
  return Buffer.from(end === -1 ? bytesField : bytesField.subarray(0, end)).toString("utf8");
}

function hasMagicCookie(bytesIn: Uint8Array): boolean {
  return bytesIn.length >= FIXED_LENGTH + 4 && MAGIC_COOKIE.every((byte, index) => bytesIn[FIXED_LENGTH + index] === byte);
}

function overloadOf(instances: readonly DhcpOption[] | undefined): number {
  return instances?.find((option) => option.code === optionCode("dhcp-option-overload"))?.data[0] ?? 0;
}

/** Every option instance as it travels, in RFC 3396 order (options field, then file, then sname); undefined without the magic cookie. */
function readOptionInstances(view: Buffer): DhcpOption[] | undefined {
  if (!hasMagicCookie(view)) return undefined;
  const instances = readOptionArea(view.subarray(FIXED_LENGTH + 4), "options field");
  const overload = overloadOf(instances);
  if (overload & 1) instances.push(...readOptionArea(view.subarray(108, 108 + FILE_LENGTH), "file field"));
  if (overload & 2) instances.push(...readOptionArea(view.subarray(44, 44 + SNAME_LENGTH), "sname field"));
  return instances;
}

/**
 * The payload of each instance of option `code`, not joined: BSDP parses every instance of
 * option 43 on its own (a sub-option never spans two), where RFC 3396 would join them.
 */
export function optionInstances(bytesIn: Uint8Array, code: number): Uint8Array[] {
  const view = Buffer.from(bytesIn.buffer, bytesIn.byteOffset, bytesIn.length);
  return (readOptionInstances(view) ?? []).filter((option) => option.code === code).map((option) => option.data);
}

export function decodeDhcpPacket(bytesIn: Uint8Array): DhcpPacket {
  if (bytesIn.length < FIXED_LENGTH) {
    throw new DhcpDecodeError(`packet is ${bytesIn.length} bytes; a BOOTP packet has at least ${FIXED_LENGTH}`);
  }
  const view = Buffer.from(bytesIn.buffer, bytesIn.byteOffset, bytesIn.length);
  const op = view[0];
  if (op !== 1 && op !== 2) throw new DhcpDecodeError(`op is ${op}; expected 1 (BOOTREQUEST) or 2 (BOOTREPLY)`);
  const hlen = view[2]!;
  if (hlen > CHADDR_LENGTH) throw new DhcpDecodeError(`hlen is ${hlen}; chaddr holds at most ${CHADDR_LENGTH} octets`);
  const sname = view.subarray(44, 44 + SNAME_LENGTH);
  const file = view.subarray(108, 108 + FILE_LENGTH);

  const instances = readOptionInstances(view);
  const options = instances && concatenateInstances(instances);
  const overload = overloadOf(instances);
  const address = (offset: number) => decodeIpv4(view.subarray(offset, offset + 4));
  return {
    op: op === 1 ? "request" : "reply",
    htype: view[1]!,
    hops: view[3]!,
    xid: view.readUInt32BE(4),
    secs: view.readUInt16BE(8),
    broadcast: (view.readUInt16BE(10) & BROADCAST_FLAG) !== 0,
    ciaddr: address(12),
    yiaddr: address(16),
    siaddr: address(20),
    giaddr: address(24),
    chaddr: formatHex(view.subarray(28, 28 + hlen)),
    sname: overload & 2 ? "" : readText(sname),
    file: overload & 1 ? "" : readText(file),
    options,
  };
}

// ---------------------------------------------------------------------------------------------
// How a packet reads

/** A packet as plain JSON: option values by ISC name, raw bytes as colon-separated hex. */
export interface DhcpPacketSummary {
  /** Option 53's type, or BOOTREQUEST/BOOTREPLY for BOOTP packets that carry none. */
  readonly messageType: DhcpMessageType | "BOOTREQUEST" | "BOOTREPLY";
  readonly xid: string;
  readonly broadcast: boolean;
  readonly chaddr: string;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  readonly sname: string;
  readonly file: string;
  /** Null when the packet has no magic cookie (plain RFC 951). */
  readonly options: Record<string, OptionJson> | null;
}

export function summarizePacket(packet: DhcpPacket): DhcpPacketSummary {
  return {
    messageType: declaredMessageType(packet) ?? (packet.op === "request" ? "BOOTREQUEST" : "BOOTREPLY"),
    xid: `0x${packet.xid.toString(16).padStart(8, "0")}`,
    broadcast: packet.broadcast,
    chaddr: packet.chaddr,
    ciaddr: packet.ciaddr,
    yiaddr: packet.yiaddr,
    siaddr: packet.siaddr,
    giaddr: packet.giaddr,
    sname: packet.sname,
    file: packet.file,
    options: packet.options ? Object.fromEntries(packet.options.map((option) => [optionName(option.code), optionJson(option)])) : null,
  };
}

function declaredMessageType(packet: DhcpPacket): DhcpMessageType | undefined {
  try {
    return readOption(packet, "dhcp-message-type");
  } catch (error) {
    if (error instanceof DhcpDecodeError) return undefined;
    throw error;
  }
}

/**
 * What one of the lab's own responders (BSDP, proxyDHCP) does with a request: answer it, sent to
 * `address:port`, or let it pass. `log` is absent for traffic that is not the responder's at all
 * (another server's clients): nothing worth a line.
 */
export type ResponderDecision<Reply = object> =
  | ({ readonly kind: "reply"; readonly reply: DhcpPacket; readonly address: string; readonly port: number; readonly log: string } & Reply)
  | { readonly kind: "ignore"; readonly log?: string };
