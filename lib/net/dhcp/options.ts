/**
 * DHCP options (RFC 2132 and the PXE/iPXE extensions) by the names ISC dhcpd uses in dhcpd.conf
 * and its lease files, with a typed codec for each value, so what the probe prints reads like
 * the config that produced it.
 */
import { formatIpv4, parseIpv4 } from "../ipv4";
import type { DhcpPacket } from "./packet";

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

export function encodeIpv4(address: string, field: string): Uint8Array {
  const value = parseIpv4(address);
  if (value === undefined) throw new RangeError(`${field}: "${address}" is not an IPv4 address (write it as A.B.C.D)`);
  const data = Buffer.alloc(4);
  data.writeUInt32BE(value);
  return data;
}

export function decodeIpv4(data: Uint8Array): string {
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

export const DHCP_MESSAGE_TYPES = ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPDECLINE", "DHCPACK", "DHCPNAK", "DHCPRELEASE", "DHCPINFORM"] as const;
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

const NAME_BY_CODE = new Map<number, DhcpOptionName>((Object.keys(OPTION_SPECS) as DhcpOptionName[]).map((name) => [OPTION_SPECS[name].code, name]));

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
export function readOption<N extends DhcpOptionName>(packet: Pick<DhcpPacket, "options">, name: N): DhcpOptionValue<N> | undefined {
  const option = packet.options?.find((candidate) => candidate.code === OPTION_SPECS[name].code);
  if (!option) return undefined;
  return (OPTION_SPECS[name].codec as OptionCodec<DhcpOptionValue<N>>).decode(option.data, name);
}

/** An option's value as plain JSON: its typed value, or its bytes as hex when unknown or malformed. */
export type OptionJson = string | number | readonly (string | number)[];

export function optionJson(option: DhcpOption): OptionJson {
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

export function formatHex(data: Uint8Array): string {
  return Buffer.from(data)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1:");
}

/** Parses hex octets written as `01:52:54:00:aa:bb:cc`, `01-52-…` or `015254…`; undefined when it is not hex. */
export function parseHex(textValue: string): Uint8Array | undefined {
  const compact = textValue.trim().toLowerCase().replace(/[:-]/g, "");
  if (!compact || compact.length % 2 !== 0 || !/^[0-9a-f]+$/.test(compact)) return undefined;
  return Buffer.from(compact, "hex");
}
