/**
 * Apple's Boot Service Discovery Protocol inside DHCP option 43 (darwin-netboot-formats.md §4):
 * the sub-options as typed fields. Encoding splits them over several option-43 instances the
 * way Apple's bsdpd does (whole sub-options per instance, a long boot image list as several
 * tag-9 sub-options); decoding reads each instance on its own and joins the lists, as Apple's
 * clients do. Pure: the DHCP packet around it is lib/net/dhcp's.
 */
import { DhcpDecodeError, decodeIpv4, encodeIpv4, optionCode, type DhcpOption } from "../net/dhcp/options";
import { optionInstances } from "../net/dhcp/packet";
import { formatImageId } from "./image-id";

/** Option 60 of every server reply; clients send `AAPLBSDPC/<arch>/<model>`. */
export const BSDP_VENDOR_CLASS = "AAPLBSDPC";
export const BSDP_VERSION_1_1 = 0x0101;
export const BSDP_VERSION_1_0 = 0x0100;
/** Longest image name in a boot image list (bsdp.h BSDP_IMAGE_NAME_MAX). */
export const BSDP_IMAGE_NAME_MAX = 246;
export const BSDP_MESSAGE_TYPES = ["LIST", "SELECT", "FAILED"] as const;
export type BsdpMessageType = (typeof BSDP_MESSAGE_TYPES)[number];

/** A malformed BSDP sub-option; the message names the instance, the sub-option and what is wrong. */
export class BsdpDecodeError extends DhcpDecodeError {
  constructor(message: string) {
    super(message);
    this.name = "BsdpDecodeError";
  }
}

export interface BsdpBootImage {
  /** The 32-bit image ID (attributes << 16 | index), see image-id.ts. */
  readonly id: number;
  /** Shown in the boot picker and Startup Disk; UTF-8, at most 246 bytes. */
  readonly name: string;
}

/** The BSDP sub-options (bsdp.h `bsdptag_t`), each optional. */
export interface BsdpOptions {
  /** 1: what the packet is. */
  readonly messageType?: BsdpMessageType;
  /** 2: protocol version; clients send 0x0101 (1.1) or 0x0100 (1.0, no image list). */
  readonly version?: number;
  /** 3: the server a SELECT is meant for (option 54 of the chosen ACK[LIST]). */
  readonly serverIdentifier?: string;
  /** 4: 0-65535, higher wins. */
  readonly serverPriority?: number;
  /** 5: where the client wants the reply; below 1024. */
  readonly replyPort?: number;
  /** 6: obsolete, never used by Apple's clients or servers; kept so such packets still decode. */
  readonly bootImageListPath?: string;
  /** 7 */
  readonly defaultImage?: number;
  /** 8 */
  readonly selectedImage?: number;
  /** 9: all tag-9 sub-options of the packet, joined. */
  readonly bootImages?: readonly BsdpBootImage[];
  /** 10: sent by NetBoot 1.0 firmware; carries no value. */
  readonly netboot10Firmware?: boolean;
  /** 11: only images whose 16-bit attributes equal one of these are wanted. */
  readonly attributesFilter?: readonly number[];
  /** 12: largest reply the client takes. */
  readonly maxMessageSize?: number;
  /** 128: `afp://…` of a diskless image's shadow volume. */
  readonly shadowMountPath?: string;
  /** 129 */
  readonly shadowFilePath?: string;
  /** 130: the host name the booted client takes. */
  readonly machineName?: string;
}

type Field = keyof BsdpOptions;

interface SubOptionCodec<T> {
  readonly tag: number;
  readonly label: string;
  /** One value per sub-option; only the boot image list needs several. */
  encode(value: T, label: string): Uint8Array[];
  decode(data: Uint8Array, label: string): T;
}

/** An option-43 instance is at most 255 bytes and a sub-option never spans two: its value is at most 253. */
const MAX_INSTANCE = 255;
const MAX_VALUE = MAX_INSTANCE - 2;
const PAD = 0;
const END = 255;
const IMAGE_HEADER = 5;

function fail(message: string): never {
  throw new BsdpDecodeError(message);
}

function expectLength(data: Uint8Array, label: string, expected: number): void {
  if (data.length !== expected) fail(`BSDP ${label} is ${data.length} bytes long; expected ${expected}`);
}

function unsigned(tag: number, label: string, bytes: 1 | 2 | 4): SubOptionCodec<number> {
  return {
    tag,
    label,
    encode: (value) => {
      if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * bytes)) throw new RangeError(`BSDP ${label}: ${value} does not fit ${bytes} byte(s)`);
      const data = Buffer.alloc(bytes);
      data.writeUIntBE(value, 0, bytes);
      return [data];
    },
    decode: (data) => {
      expectLength(data, label, bytes);
      return Buffer.from(data).readUIntBE(0, bytes);
    },
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(data: Uint8Array, what: string): string {
  try {
    return utf8.decode(data);
  } catch {
    return fail(`${what} is not UTF-8 text (${Buffer.from(data).toString("hex")})`);
  }
}

function text(tag: number, label: string): SubOptionCodec<string> {
  return {
    tag,
    label,
    encode: (value) => {
      const data = Buffer.from(value, "utf8");
      if (data.length > MAX_VALUE) throw new RangeError(`BSDP ${label}: "${value}" is ${data.length} bytes; a sub-option holds at most ${MAX_VALUE}`);
      return [data];
    },
    decode: (data) => decodeUtf8(data, `BSDP ${label}`),
  };
}

const messageType: SubOptionCodec<BsdpMessageType> = {
  tag: 1,
  label: "message type",
  encode: (type) => [Uint8Array.of(BSDP_MESSAGE_TYPES.indexOf(type) + 1)],
  decode: (data, label) => {
    expectLength(data, label, 1);
    return BSDP_MESSAGE_TYPES[data[0]! - 1] ?? fail(`BSDP message type is ${data[0]}; expected 1 (LIST), 2 (SELECT) or 3 (FAILED)`);
  },
};

const serverIdentifier: SubOptionCodec<string> = {
  tag: 3,
  label: "server identifier",
  encode: (address, label) => [encodeIpv4(address, `BSDP ${label}`)],
  decode: (data, label) => {
    expectLength(data, label, 4);
    return decodeIpv4(data);
  },
};

function encodeImage(image: BsdpBootImage): Buffer {
  const name = Buffer.from(image.name, "utf8");
  if (name.length > BSDP_IMAGE_NAME_MAX) {
    throw new RangeError(`BSDP boot image list: the name "${image.name}" is ${name.length} bytes; BSDP allows at most ${BSDP_IMAGE_NAME_MAX}`);
  }
  if (!Number.isInteger(image.id) || image.id < 0 || image.id > 0xffffffff)
    throw new RangeError(`BSDP boot image list: ID ${image.id} of "${image.name}" is not a 32-bit number`);
  const header = Buffer.alloc(IMAGE_HEADER);
  header.writeUInt32BE(image.id);
  header[4] = name.length;
  return Buffer.concat([header, name]);
}

const bootImages: SubOptionCodec<readonly BsdpBootImage[]> = {
  tag: 9,
  label: "boot image list",
  // Whole descriptions per sub-option, as many sub-options as needed (bsdpd S_insert_image_list).
  encode: (images) => {
    const values: Buffer[][] = [[]];
    let length = 0;
    for (const image of images) {
      const description = encodeImage(image);
      if (length + description.length > MAX_VALUE) {
        values.push([]);
        length = 0;
      }
      values[values.length - 1]!.push(description);
      length += description.length;
    }
    return values.map((descriptions) => Buffer.concat(descriptions));
  },
  decode: (data) => {
    const images: BsdpBootImage[] = [];
    let offset = 0;
    while (offset < data.length) {
      if (offset + IMAGE_HEADER > data.length) {
        fail(`BSDP boot image list: the entry at byte ${offset} needs ${IMAGE_HEADER} bytes (ID and name length) but ${data.length - offset} remain`);
      }
      const id = Buffer.from(data).readUInt32BE(offset);
      const nameLength = data[offset + 4]!;
      const hexId = formatImageId(id);
      if (nameLength > BSDP_IMAGE_NAME_MAX)
        fail(`BSDP boot image list: image ${hexId} has a ${nameLength}-byte name; BSDP allows at most ${BSDP_IMAGE_NAME_MAX}`);
      const start = offset + IMAGE_HEADER;
      if (start + nameLength > data.length) {
        fail(`BSDP boot image list: the name of image ${hexId} is ${nameLength} bytes but the list ends ${data.length - start} bytes after its start`);
      }
      images.push({ id, name: decodeUtf8(data.subarray(start, start + nameLength), `BSDP boot image list: the name of image ${hexId}`) });
      offset = start + nameLength;
    }
    return images;
  },
};

const flag: SubOptionCodec<boolean> = {
  tag: 10,
  label: "NetBoot 1.0 firmware",
  encode: () => [new Uint8Array(0)],
  decode: (data, label) => {
    expectLength(data, label, 0);
    return true;
  },
};

const attributesFilter: SubOptionCodec<readonly number[]> = {
  tag: 11,
  label: "image attributes filter list",
  encode: (attributes, label) => {
    if (attributes.length === 0) throw new RangeError(`BSDP ${label}: needs at least one entry`);
    return [Buffer.concat(attributes.map((value) => unsigned(11, label, 2).encode(value, label)[0]!))];
  },
  decode: (data, label) => {
    if (data.length === 0 || data.length % 2 !== 0) fail(`BSDP ${label} is ${data.length} bytes long; expected a non-empty multiple of 2`);
    return Array.from({ length: data.length / 2 }, (_, index) => Buffer.from(data).readUInt16BE(index * 2));
  },
};

const SUB_OPTIONS: { readonly [F in Field]-?: SubOptionCodec<NonNullable<BsdpOptions[F]>> } = {
  messageType,
  version: unsigned(2, "version", 2),
  serverIdentifier,
  serverPriority: unsigned(4, "server priority", 2),
  replyPort: unsigned(5, "reply port", 2),
  bootImageListPath: text(6, "boot image list path"),
  defaultImage: unsigned(7, "default boot image ID", 4),
  selectedImage: unsigned(8, "selected boot image ID", 4),
  bootImages,
  netboot10Firmware: flag,
  attributesFilter,
  maxMessageSize: unsigned(12, "max message size", 2),
  shadowMountPath: text(128, "shadow mount path"),
  shadowFilePath: text(129, "shadow file path"),
  machineName: text(130, "machine name"),
};

/** Fields in tag order: the order Apple's server writes them (ACK[LIST]: 1, 4, 7, 8, 9). */
const FIELDS = (Object.keys(SUB_OPTIONS) as Field[]).sort((a, b) => SUB_OPTIONS[a].tag - SUB_OPTIONS[b].tag);
const FIELD_BY_TAG = new Map(FIELDS.map((field) => [SUB_OPTIONS[field].tag, field]));
const KNOWN_TAGS = FIELDS.map((field) => SUB_OPTIONS[field].tag).join(", ");

/**
 * The sub-options as option-43 instances: each at most 255 bytes and holding whole
 * sub-options, a long image list split into several tag-9 sub-options. Fields left undefined
 * (and a false `netboot10Firmware`) are not sent.
 */
export function encodeBsdpOptions(options: BsdpOptions): DhcpOption[] {
  const subOptions: Buffer[] = [];
  for (const field of FIELDS) {
    const value = options[field];
    if (value === undefined || value === false) continue;
    const codec = SUB_OPTIONS[field] as SubOptionCodec<typeof value>;
    for (const data of codec.encode(value, codec.label)) subOptions.push(Buffer.concat([Uint8Array.of(codec.tag, data.length), data]));
  }
  const instances: Buffer[][] = [];
  let length = MAX_INSTANCE;
  for (const subOption of subOptions) {
    if (length + subOption.length > MAX_INSTANCE) {
      instances.push([]);
      length = 0;
    }
    instances[instances.length - 1]!.push(subOption);
    length += subOption.length;
  }
  const code = optionCode("vendor-encapsulated-options");
  return instances.map((parts) => ({ code, data: Uint8Array.from(Buffer.concat(parts)) }));
}

type MutableOptions = { -readonly [F in Field]?: BsdpOptions[F] };

/**
 * Reads option-43 instances (each instance's payload, in packet order). Tag 0 is padding, 255
 * ends an instance; unknown tags, lengths past the end, wrong sizes and repeated sub-options
 * (other than the boot image list) throw BsdpDecodeError.
 */
export function decodeBsdpOptions(instances: readonly Uint8Array[]): BsdpOptions {
  const options: MutableOptions = {};
  const where = (index: number) => (instances.length > 1 ? ` in option 43 instance ${index + 1} of ${instances.length}` : " in option 43");
  instances.forEach((instance, index) => {
    let offset = 0;
    while (offset < instance.length) {
      const tag = instance[offset]!;
      if (tag === END) break;
      if (tag === PAD) {
        offset += 1;
        continue;
      }
      const field = FIELD_BY_TAG.get(tag);
      if (!field) fail(`BSDP sub-option tag ${tag} at byte ${offset}${where(index)} is not one BSDP defines (${KNOWN_TAGS})`);
      const codec = SUB_OPTIONS[field];
      const length = instance[offset + 1];
      const left = instance.length - offset - 2;
      if (length === undefined || length > left) {
        fail(
          `BSDP ${codec.label} (tag ${tag})${where(index)} ${length === undefined ? "has no length byte" : `says ${length} bytes but ${left} remain`}: it runs past the end`,
        );
      }
      const value = codec.decode(instance.subarray(offset + 2, offset + 2 + length), codec.label);
      if (field === "bootImages") {
        options.bootImages = [...(options.bootImages ?? []), ...(value as readonly BsdpBootImage[])];
      } else {
        if (options[field] !== undefined) fail(`BSDP ${codec.label} (tag ${tag}) appears twice${where(index)}; it may appear once`);
        (options as Record<Field, unknown>)[field] = value;
      }
      offset += 2 + length;
    }
  });
  return options;
}

/** The BSDP sub-options of an encoded DHCP packet; undefined when it carries no option 43. */
export function readBsdpOptions(packetBytes: Uint8Array): BsdpOptions | undefined {
  const instances = optionInstances(packetBytes, optionCode("vendor-encapsulated-options"));
  return instances.length ? decodeBsdpOptions(instances) : undefined;
}

export interface BsdpClientClass {
  /** `i386`, `ppc` or `arm`: what the image's Architectures must list. */
  readonly arch: string;
  /** The Mac model, e.g. `MacPro3,1`: what EnabledSystemIdentifiers lists. */
  readonly systemId: string;
}

/** `AAPLBSDPC/i386/MacPro3,1` → its parts; undefined when option 60 is not a BSDP client's (bsdplib.c bsdp_parse_class_id). */
export function parseBsdpClientClass(vendorClass: string | undefined): BsdpClientClass | undefined {
  const match = /^AAPLBSDPC\/([^/\0\n]+)\/([^/\0\n]+)$/.exec(vendorClass ?? "");
  return match ? { arch: match[1]!, systemId: match[2]! } : undefined;
}

export function bsdpClientClass({ arch, systemId }: BsdpClientClass): string {
  const vendorClass = `${BSDP_VENDOR_CLASS}/${arch}/${systemId}`;
  if (!parseBsdpClientClass(vendorClass)) throw new RangeError(`"${vendorClass}": the architecture and model may not contain '/', NUL or a newline`);
  return vendorClass;
}
