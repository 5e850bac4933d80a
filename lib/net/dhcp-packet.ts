/**
 * BOOTP and DHCP packets on the wire (RFC 951, RFC 1497/2132 vendor extensions, RFC 2131,
 * RFC 3396 long options), encoded and decoded without any I/O. Option names are the ones
 * ISC dhcpd uses in dhcpd.conf and its lease files, so what the probe prints reads like the
 * config that produced it.
 */
import { formatIpv4, parseIpv4 } from "./ipv4";

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
const HTYPE_ETHERNET = 1;

/** A malformed packet or option; the message says which field and why. */
export class DhcpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DhcpDecodeError";
  }
}

/** One option as it travels: its code and its payload, without the length byte. */
export interface DhcpOption {
  readonly code: number;
  readonly data: Uint8Array;
}

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
// Option value codecs

interface OptionCodec<T> {
  encode(value: T): Uint8Array;
  /** `name` is only for error messages. */
  decode(data: Uint8Array, name: string): T;
}

function expectLength(data: Uint8Array, name: string, valid: (length: number) => boolean, expected: string): void {
  if (!valid(data.length)) throw new DhcpDecodeError(`option ${name} is ${data.length} bytes long; expected ${expected}`);
}

function unsigned(bytes: 1 | 2 | 4): OptionCodec<number> {
  return {
    encode: (value) => {
      const data = Buffer.alloc(bytes);
      data.writeUIntBE(value, 0, bytes);
      return data;
    },
    decode: (data, name) => {
      expectLength(data, name, (length) => length === bytes, `${bytes}`);
      return Buffer.from(data).readUIntBE(0, bytes);
    },
  };
}

function unsignedList(bytes: 1 | 2): OptionCodec<number[]> {
  const single = unsigned(bytes);
  return {
    encode: (values) => Buffer.concat(values.map((value) => single.encode(value))),
    decode: (data, name) => {
      expectLength(data, name, (length) => length > 0 && length % bytes === 0, `a non-empty multiple of ${bytes}`);
      return chunks(data, bytes).map((chunk) => single.decode(chunk, name));
    },
  };
}

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  return Array.from({ length: data.length / size }, (_, index) => data.subarray(index * size, (index + 1) * size));
}

function encodeIpv4(address: string, field: string): Uint8Array {
  const value = parseIpv4(address);
  if (value === undefined) throw new RangeError(`${field}: "${address}" is not an IPv4 address (write it as A.B.C.D)`);
  const data = Buffer.alloc(4);
  data.writeUInt32BE(value);
  return data;
}

function decodeIpv4(data: Uint8Array): string {
  return formatIpv4(Buffer.from(data).readUInt32BE(0));
}

const ipv4: OptionCodec<string> = {
  encode: (address) => encodeIpv4(address, "IPv4 option"),
  decode: (data, name) => {
    expectLength(data, name, (length) => length === 4, "4");
    return decodeIpv4(data);
  },
};

const ipv4List: OptionCodec<string[]> = {
  encode: (addresses) => Buffer.concat(addresses.map((address) => encodeIpv4(address, "IPv4 list option"))),
  decode: (data, name) => {
    expectLength(data, name, (length) => length > 0 && length % 4 === 0, "a non-empty multiple of 4");
    return chunks(data, 4).map(decodeIpv4);
  },
};

/** NVT ASCII per RFC 2132; a trailing NUL, which some servers add, is not part of the text. */
const text: OptionCodec<string> = {
  encode: (value) => Buffer.from(value, "utf8"),
  decode: (data) => Buffer.from(data).toString("utf8").replace(/\0+$/, ""),
};

const bytes: OptionCodec<Uint8Array> = {
  encode: (value) => value,
  decode: (data) => data,
};

export const DHCP_MESSAGE_TYPES = [
  "DHCPDISCOVER",
  "DHCPOFFER",
  "DHCPREQUEST",
  "DHCPDECLINE",
  "DHCPACK",
  "DHCPNAK",
  "DHCPRELEASE",
  "DHCPINFORM",
] as const;
export type DhcpMessageType = (typeof DHCP_MESSAGE_TYPES)[number];

const messageType: OptionCodec<DhcpMessageType> = {
  encode: (type) => Uint8Array.of(DHCP_MESSAGE_TYPES.indexOf(type) + 1),
  decode: (data, name) => {
    const type = DHCP_MESSAGE_TYPES[unsigned(1).decode(data, name) - 1];
    if (!type) throw new DhcpDecodeError(`option ${name} has value ${data[0]}, which is not a DHCP message type (1-8)`);
    return type;
  },
};

/** The options the lab sends or checks, by their ISC dhcpd name. */
const OPTION_SPECS = {
  "subnet-mask": { code: 1, codec: ipv4 },
  routers: { code: 3, codec: ipv4List },
  "domain-name-servers": { code: 6, codec: ipv4List },
  "host-name": { code: 12, codec: text },
  "domain-name": { code: 15, codec: text },
  "root-path": { code: 17, codec: text },
  "broadcast-address": { code: 28, codec: ipv4 },
  "vendor-encapsulated-options": { code: 43, codec: bytes },
  "dhcp-requested-address": { code: 50, codec: ipv4 },
  "dhcp-lease-time": { code: 51, codec: unsigned(4) },
  "dhcp-option-overload": { code: 52, codec: unsigned(1) },
  "dhcp-message-type": { code: 53, codec: messageType },
  "dhcp-server-identifier": { code: 54, codec: ipv4 },
  "dhcp-parameter-request-list": { code: 55, codec: unsignedList(1) },
  "dhcp-message": { code: 56, codec: text },
  "dhcp-max-message-size": { code: 57, codec: unsigned(2) },
  "dhcp-renewal-time": { code: 58, codec: unsigned(4) },
  "dhcp-rebinding-time": { code: 59, codec: unsigned(4) },
  "vendor-class-identifier": { code: 60, codec: text },
  "dhcp-client-identifier": { code: 61, codec: bytes },
  "tftp-server-name": { code: 66, codec: text },
  "bootfile-name": { code: 67, codec: text },
  // RFC 3004 frames each class with a length byte, but iPXE sends bare "iPXE" and dhcpd.conf
  // compares `option user-class = "iPXE"`: text is what both sides actually use.
  "user-class": { code: 77, codec: text },
  "pxe-system-type": { code: 93, codec: unsignedList(2) },
  "pxe-client-id": { code: 97, codec: bytes },
} as const satisfies Record<string, { code: number; codec: OptionCodec<unknown> }>;

export type DhcpOptionName = keyof typeof OPTION_SPECS;
export type DhcpOptionValue<N extends DhcpOptionName> = (typeof OPTION_SPECS)[N]["codec"] extends OptionCodec<infer T> ? T : never;

const NAME_BY_CODE = new Map<number, DhcpOptionName>(
  (Object.keys(OPTION_SPECS) as DhcpOptionName[]).map((name) => [OPTION_SPECS[name].code, name]),
);

export function optionCode(name: DhcpOptionName): number {
  return OPTION_SPECS[name].code;
}

/** ISC dhcpd's name of an option code, or `option-N` for codes the lab does not know. */
export function optionName(code: number): string {
  return NAME_BY_CODE.get(code) ?? `option-${code}`;
}

/** Builds an option from a typed value, e.g. `dhcpOption("root-path", "10.0.0.1:/netboot")`. */
export function dhcpOption<N extends DhcpOptionName>(name: N, value: DhcpOptionValue<N>): DhcpOption {
  const codec = OPTION_SPECS[name].codec as OptionCodec<DhcpOptionValue<N>>;
  return { code: OPTION_SPECS[name].code, data: Uint8Array.from(codec.encode(value)) };
}

/** The typed value of an option in a packet; undefined when absent. Throws DhcpDecodeError when malformed. */
export function readOption<N extends DhcpOptionName>(packet: DhcpPacket, name: N): DhcpOptionValue<N> | undefined {
  const option = packet.options?.find((candidate) => candidate.code === OPTION_SPECS[name].code);
  if (!option) return undefined;
  return (OPTION_SPECS[name].codec as OptionCodec<DhcpOptionValue<N>>).decode(option.data, name);
}

export function formatHex(data: Uint8Array): string {
  return Buffer.from(data).toString("hex").replace(/(..)(?!$)/g, "$1:");
}

/** Parses hex octets written as `01:52:54:00:aa:bb:cc`, `01-52-…` or `015254…`; undefined when it is not hex. */
export function parseHex(textValue: string): Uint8Array | undefined {
  const compact = textValue.trim().toLowerCase().replace(/[:-]/g, "");
  if (!compact || compact.length % 2 !== 0 || !/^[0-9a-f]+$/.test(compact)) return undefined;
  return Buffer.from(compact, "hex");
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

function hardwareAddressBytes(address: string): Uint8Array {
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

  let options: DhcpOption[] | undefined;
  let overload = 0;
  if (hasMagicCookie(view)) {
    const instances = readOptionArea(view.subarray(FIXED_LENGTH + 4), "options field");
    overload = instances.find((option) => option.code === optionCode("dhcp-option-overload"))?.data[0] ?? 0;
    // RFC 3396 order: the options field, then file, then sname.
    if (overload & 1) instances.push(...readOptionArea(file, "file field"));
    if (overload & 2) instances.push(...readOptionArea(sname, "sname field"));
    options = concatenateInstances(instances);
  }
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
// What a client sends, and how a reply reads

/** Who the client claims to be: fields that every message of one client repeats. */
export interface ClientIdentity {
  /** chaddr; may differ from the sending interface's MAC (the broadcast flag brings the reply back anyway). */
  readonly mac: string;
  /** Option 61 payload, type byte included (01 + MAC is what iPXE and dhclient send); none omits the option. */
  readonly clientId?: Uint8Array;
  /** Option 93 value (0 BIOS, 6 EFI ia32, 7 EFI BC, 9 EFI x64); also sets PXE's option 60 like a PXE ROM does. */
  readonly clientArch?: number;
  /** Option 77, e.g. "iPXE". */
  readonly userClass?: string;
  /** Option 55 of DHCP messages; BOOTP requests carry none. */
  readonly parameterRequestList: readonly number[];
}

export type ClientMessage =
  | { readonly type: "DHCPDISCOVER" }
  | { readonly type: "DHCPREQUEST"; readonly requestedAddress: string; readonly serverIdentifier: string }
  /** Without vendor extensions: plain RFC 951, no magic cookie. With them: RFC 1497, cookie but no option 53. */
  | { readonly type: "BOOTREQUEST"; readonly vendorExtensions: boolean };

/** What a PXE ROM puts in option 60 (PXE spec 2.1), with the architecture in five decimal digits. */
export function pxeVendorClass(clientArch: number): string {
  return `PXEClient:Arch:${String(clientArch).padStart(5, "0")}:UNDI:002001`;
}

/** Largest message a client on an Ethernet link accepts (option 57): the 1500-byte MTU. */
const ETHERNET_MAX_MESSAGE = 1500;

function identityOptions(identity: ClientIdentity): DhcpOption[] {
  return [
    ...(identity.clientId ? [dhcpOption("dhcp-client-identifier", identity.clientId)] : []),
    ...(identity.clientArch === undefined
      ? []
      : [dhcpOption("pxe-system-type", [identity.clientArch]), dhcpOption("vendor-class-identifier", pxeVendorClass(identity.clientArch))]),
    ...(identity.userClass === undefined ? [] : [dhcpOption("user-class", identity.userClass)]),
  ];
}

function messageOptions(identity: ClientIdentity, message: ClientMessage): readonly DhcpOption[] | undefined {
  if (message.type === "BOOTREQUEST") return message.vendorExtensions ? identityOptions(identity) : undefined;
  return [
    dhcpOption("dhcp-message-type", message.type),
    ...(message.type === "DHCPREQUEST"
      ? [dhcpOption("dhcp-requested-address", message.requestedAddress), dhcpOption("dhcp-server-identifier", message.serverIdentifier)]
      : []),
    dhcpOption("dhcp-max-message-size", ETHERNET_MAX_MESSAGE),
    ...identityOptions(identity),
    dhcpOption("dhcp-parameter-request-list", [...identity.parameterRequestList]),
  ];
}

/** A client's request with the broadcast flag set, as a client without an address sends it. */
export function clientRequest(identity: ClientIdentity, message: ClientMessage, xid: number): DhcpPacket {
  return {
    op: "request",
    htype: HTYPE_ETHERNET,
    hops: 0,
    xid,
    secs: 0,
    broadcast: true,
    ciaddr: "0.0.0.0",
    yiaddr: "0.0.0.0",
    siaddr: "0.0.0.0",
    giaddr: "0.0.0.0",
    chaddr: formatHex(hardwareAddressBytes(identity.mac)),
    sname: "",
    file: "",
    options: messageOptions(identity, message),
  };
}

/** True when `reply` answers `request`: a reply with the same transaction id for the same hardware address. */
export function isReplyTo(request: DhcpPacket, reply: DhcpPacket): boolean {
  return reply.op === "reply" && reply.xid === request.xid && reply.chaddr === request.chaddr;
}

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

export type OptionJson = string | number | readonly (string | number)[];

function optionJson(option: DhcpOption): OptionJson {
  const name = NAME_BY_CODE.get(option.code);
  if (!name) return formatHex(option.data);
  try {
    const value = (OPTION_SPECS[name].codec as OptionCodec<unknown>).decode(option.data, name);
    return value instanceof Uint8Array ? formatHex(value) : (value as OptionJson);
  } catch (error) {
    // A summary is for looking at what arrived: show the bytes of an option that does not decode.
    if (error instanceof DhcpDecodeError) return formatHex(option.data);
    throw error;
  }
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
