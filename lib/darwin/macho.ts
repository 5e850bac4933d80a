/**
 * Just enough Mach-O to pick architectures: thin headers (either byte order) and the
 * big-endian fat (universal) wrapper that both executables and mkext archives use.
 */
import { DarwinInputError } from "./errors";

export const CPU_TYPE_ANY = 0xffffffff;
export const CPU_SUBTYPE_MULTIPLE = 0xffffffff;
const CPU_ARCH_ABI64 = 0x01000000;

/** Architectures an mkext can be built for, with their Mach-O CPU type and subtype. */
export const ARCHES = {
  i386: { cputype: 7, cpusubtype: 3 },
  x86_64: { cputype: 7 | CPU_ARCH_ABI64, cpusubtype: 3 },
} as const;
export type MkextArch = keyof typeof ARCHES;
export const MKEXT_ARCHES = Object.keys(ARCHES) as MkextArch[];

const CPU_TYPE_NAMES = new Map<number, string>([
  [7, "i386"],
  [7 | CPU_ARCH_ABI64, "x86_64"],
  [18, "ppc"],
  [18 | CPU_ARCH_ABI64, "ppc64"],
  [CPU_TYPE_ANY, "any"],
]);

/** A readable name for a CPU type, or its hex value when unknown. */
export function cpuTypeName(cputype: number): string {
  return CPU_TYPE_NAMES.get(cputype >>> 0) ?? `cputype 0x${(cputype >>> 0).toString(16)}`;
}

export function isKnownCpuType(cputype: number): boolean {
  return CPU_TYPE_NAMES.has(cputype >>> 0);
}

export const FAT_MAGIC = 0xcafebabe;
const FAT_HEADER_SIZE = 8;
const FAT_ARCH_SIZE = 20;
/** Real universal files have a handful of slices; Java class files share the magic and carry a version number here. */
const MAX_FAT_ARCHES = 32;

const MH_MAGIC = 0xfeedface;
const MH_MAGIC_64 = 0xfeedfacf;

export interface FatSlice {
  readonly cputype: number;
  readonly cpusubtype: number;
  readonly offset: number;
  readonly size: number;
}

/** Problems in a fat header, phrased for the file they were found in. */
export class MachOFormatError extends DarwinInputError {
  override readonly name = "MachOFormatError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** `0x…` in lower case, for offsets and magic numbers in messages. */
export function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/**
 * The slices of a fat file, checked to lie inside the file without overlapping each other
 * or the header. Returns undefined when `bytes` does not start with the fat magic.
 */
export function readFatHeader(bytes: Uint8Array): FatSlice[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint32(0) !== FAT_MAGIC) return undefined;
  if (bytes.length < FAT_HEADER_SIZE) throw new MachOFormatError(`fat header is truncated: ${bytes.length} bytes, need ${FAT_HEADER_SIZE}`, 0);
  const count = view.getUint32(4);
  if (count === 0 || count > MAX_FAT_ARCHES) throw new MachOFormatError(`fat header declares ${count} architectures (expected 1…${MAX_FAT_ARCHES})`, 4);
  const tableEnd = FAT_HEADER_SIZE + count * FAT_ARCH_SIZE;
  if (tableEnd > bytes.length)
    throw new MachOFormatError(
      `fat header declares ${count} architectures but the file ends at ${hex(bytes.length)}, inside the architecture table (ends at ${hex(tableEnd)})`,
      4,
    );
  const slices: FatSlice[] = [];
  for (let index = 0; index < count; index++) {
    const at = FAT_HEADER_SIZE + index * FAT_ARCH_SIZE;
    const slice = { cputype: view.getUint32(at), cpusubtype: view.getUint32(at + 4), offset: view.getUint32(at + 8), size: view.getUint32(at + 12) };
    const name = cpuTypeName(slice.cputype);
    if (slice.offset < tableEnd)
      throw new MachOFormatError(
        `fat architecture ${index} (${name}) starts at ${hex(slice.offset)}, inside the fat header (which ends at ${hex(tableEnd)})`,
        at + 8,
      );
    if (slice.offset + slice.size > bytes.length)
      throw new MachOFormatError(
        `fat architecture ${index} (${name}) spans ${hex(slice.offset)}…${hex(slice.offset + slice.size)} but the file is only ${hex(bytes.length)} bytes`,
        at + 12,
      );
    const clash = slices.find((other) => slice.offset < other.offset + other.size && other.offset < slice.offset + slice.size);
    if (clash)
      throw new MachOFormatError(`fat architecture ${index} (${name}) overlaps the ${cpuTypeName(clash.cputype)} slice at ${hex(clash.offset)}`, at + 8);
    if (slices.some((other) => other.cputype === slice.cputype)) throw new MachOFormatError(`fat header lists ${name} twice`, at);
    slices.push(slice);
  }
  return slices;
}

/** CPU type of a thin Mach-O file, or undefined when `bytes` is not one. */
export function thinCpuType(bytes: Uint8Array): number | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const littleEndian of [true, false]) {
    const magic = view.getUint32(0, littleEndian);
    if (magic === MH_MAGIC || magic === MH_MAGIC_64) return view.getUint32(4, littleEndian);
  }
  return undefined;
}

/** What a Mach-O file holds: its architectures, and where each thin image lives. */
export interface MachOImage {
  readonly fat: boolean;
  readonly slices: ReadonlyMap<number, Buffer>;
}

/** Splits an executable into thin images by CPU type; throws when it is not Mach-O. */
export function readMachO(bytes: Buffer): MachOImage {
  const fat = readFatHeader(bytes);
  if (fat) return { fat: true, slices: new Map(fat.map((slice) => [slice.cputype, bytes.subarray(slice.offset, slice.offset + slice.size)])) };
  const cputype = thinCpuType(bytes);
  if (cputype === undefined) {
    const magic = bytes.length >= 4 ? ` (starts with ${bytes.subarray(0, 4).toString("hex")})` : ` (only ${bytes.length} bytes)`;
    throw new MachOFormatError(`not a Mach-O file${magic}; expected a thin header (feedface/feedfacf) or a fat header (cafebabe)`, 0);
  }
  return { fat: false, slices: new Map([[cputype, bytes]]) };
}

/** Names of the architectures in a Mach-O image, for messages. */
export function archNames(image: MachOImage): string[] {
  return [...image.slices.keys()].map(cpuTypeName);
}

/** Wraps thin images in a fat header, packed back to back without alignment as kextcache does for mkexts. */
export function writeFat(slices: readonly { cputype: number; cpusubtype: number; bytes: Uint8Array }[]): Buffer {
  const header = Buffer.alloc(FAT_HEADER_SIZE + slices.length * FAT_ARCH_SIZE);
  header.writeUInt32BE(FAT_MAGIC, 0);
  header.writeUInt32BE(slices.length, 4);
  let offset = header.length;
  slices.forEach((slice, index) => {
    const at = FAT_HEADER_SIZE + index * FAT_ARCH_SIZE;
    header.writeUInt32BE(slice.cputype >>> 0, at);
    header.writeUInt32BE(slice.cpusubtype >>> 0, at + 4);
    header.writeUInt32BE(offset, at + 8);
    header.writeUInt32BE(slice.bytes.length, at + 12);
    header.writeUInt32BE(0, at + 16);
    offset += slice.bytes.length;
  });
  return Buffer.concat([header, ...slices.map((slice) => slice.bytes)]);
}
