/**
 * mkext archives: the kexts' property lists and executables packed into one file that the
 * booter loads and hands to the kernel. Format 1 (10.4/10.5, still read by 10.6): a table of
 * LZSS-compressed plist/executable pairs. Format 2 (10.6): zlib-compressed executables and one
 * IOKit-XML plist describing every kext. Several architectures go in a fat wrapper.
 * All fields are big-endian; the Adler-32 in the header covers bytes [16, length).
 */
import { DarwinInputError } from "./errors";
import { promisify } from "node:util";
import { constants as zlibConstants, deflate, deflateSync, inflateSync, type ZlibOptions } from "node:zlib";
import { adler32 } from "./adler32";
import { archProperty, mergeByBundleId, stringProperty, type KextSummary } from "./info-dict";
import { isDict, newDict, parseInfoPlist, parsePlistXml, serializeIokitXml, type PlistDict, type PlistValue } from "./plist-xml";
import { lzssDecode, lzssEncode } from "./lzss";
import { KEXT_VERSION_FORMAT, parseKextVersion } from "./version";
import {
  ARCHES,
  CPU_SUBTYPE_MULTIPLE,
  CPU_TYPE_ANY,
  cpuTypeName,
  hex,
  isKnownCpuType,
  MachOFormatError,
  readFatHeader,
  readMachO,
  writeFat,
  type MkextArch,
} from "./macho";

export const MKEXT_MAGIC = 0x4d4b5854; // "MKXT"
export const MKEXT_SIGNATURE = 0x4d4f5358; // "MOSX"
export const MKEXT_VERSION_1 = 0x01008000;
export const MKEXT_VERSION_2 = 0x02002001;

export type MkextFormat = 1 | 2;

const CORE_HEADER_SIZE = 32;
/** Bytes before this offset are not covered by the checksum (magic, signature, length, adler32). */
const CHECKSUM_START = 16;
const V1_ENTRY_SIZE = 32;
const V1_FILE_SIZE = 16;
const V2_HEADER_SIZE = 44;
const V2_FILE_HEADER_SIZE = 8;

/** A kext as the writer stores it. */
export interface MkextKextInput {
  /** The Info.plist file's bytes, stored verbatim in format 1. */
  readonly infoPlist: Buffer;
  /** The parsed Info.plist, serialized as IOKit XML in format 2. */
  readonly info: PlistDict;
  /** `_MKEXTBundlePath` (format 2), e.g. /System/Library/Extensions/Foo.kext. */
  readonly bundlePath: string;
  /** Thin executable for the slice's architecture, or null for a codeless kext. */
  readonly executable: Buffer | null;
}

export interface MkextSliceInput {
  readonly arch: MkextArch;
  readonly kexts: readonly MkextKextInput[];
}

/**
 * Writes an archive: thin for one slice, fat (slices in the given order) for several.
 * Output depends only on the input: no timestamps, fixed compression settings.
 */
export function writeMkext(format: MkextFormat, slices: readonly MkextSliceInput[]): Buffer {
  if (slices.length === 0) throw new Error("an mkext needs at least one architecture");
  return joinSlices(
    slices,
    slices.map((slice) => (format === 1 ? writeMkext1(slice) : writeMkext2(slice))),
  );
}

/**
 * The same bytes as writeMkext, but format 2's zlib streams are deflated on libuv's thread pool
 * side by side (UV_THREADPOOL_SIZE threads, 4 by default) instead of one after another on the
 * main thread. Format 1's LZSS is JavaScript and stays on the main thread.
 */
export async function writeMkextParallel(format: MkextFormat, slices: readonly MkextSliceInput[]): Promise<Buffer> {
  if (format === 1) return writeMkext(format, slices);
  if (slices.length === 0) throw new Error("an mkext needs at least one architecture");
  const thin: Buffer[] = [];
  // One slice after another: each has kexts enough to keep the pool busy.
  for (const slice of slices) thin.push(await writeMkext2Parallel(slice));
  return joinSlices(slices, thin);
}

function joinSlices(slices: readonly MkextSliceInput[], thin: readonly Buffer[]): Buffer {
  if (thin.length === 1) return thin[0]!;
  return writeFat(thin.map((bytes, index) => ({ ...ARCHES[slices[index]!.arch], bytes })));
}

function coreHeader(size: number, version: number, kextCount: number, arch: MkextArch): Buffer {
  const header = Buffer.alloc(size);
  header.writeUInt32BE(MKEXT_MAGIC, 0);
  header.writeUInt32BE(MKEXT_SIGNATURE, 4);
  header.writeUInt32BE(version, 16);
  header.writeUInt32BE(kextCount, 20);
  header.writeUInt32BE(ARCHES[arch].cputype, 24);
  header.writeUInt32BE(ARCHES[arch].cpusubtype, 28);
  return header;
}

/** Joins header and payloads, then fills in the length and, last, the checksum over everything after it. */
function sealArchive(parts: readonly Buffer[]): Buffer {
  const archive = Buffer.concat(parts);
  archive.writeUInt32BE(archive.length, 8);
  archive.writeUInt32BE(adler32(archive.subarray(CHECKSUM_START)), 12);
  return archive;
}

interface StoredPayload {
  readonly stored: Buffer;
  /** Size of the compressed form, or 0 when stored raw. */
  readonly compressedSize: number;
}

/** LZSS-compresses a payload, keeping it raw when that is not smaller; checks the round trip as Apple's writers do. */
function packLzss(raw: Buffer): StoredPayload {
  const packed = lzssEncode(raw);
  if (packed.length >= raw.length) return { stored: raw, compressedSize: 0 };
  if (!lzssDecode(packed, raw.length).output.equals(raw)) throw new Error("internal error: LZSS output does not decode back to its input");
  return { stored: packed, compressedSize: packed.length };
}

const ZLIB_OPTIONS: ZlibOptions = {
  level: zlibConstants.Z_DEFAULT_COMPRESSION,
  windowBits: 15,
  memLevel: 8,
  strategy: zlibConstants.Z_DEFAULT_STRATEGY,
};
const deflateOnPool = promisify(deflate);

function zlibPayload(raw: Buffer, packed: Buffer): StoredPayload {
  return packed.length < raw.length ? { stored: packed, compressedSize: packed.length } : { stored: raw, compressedSize: 0 };
}

function packZlib(raw: Buffer): StoredPayload {
  return zlibPayload(raw, deflateSync(raw, ZLIB_OPTIONS));
}

async function packZlibParallel(raw: Buffer): Promise<StoredPayload> {
  return zlibPayload(raw, await deflateOnPool(raw, ZLIB_OPTIONS));
}

function writeMkext1(slice: MkextSliceInput): Buffer {
  const tableEnd = CORE_HEADER_SIZE + slice.kexts.length * V1_ENTRY_SIZE;
  const header = coreHeader(tableEnd, MKEXT_VERSION_1, slice.kexts.length, slice.arch);
  const payloads: Buffer[] = [];
  let offset = tableEnd;
  slice.kexts.forEach((kext, index) => {
    [kext.infoPlist, kext.executable].forEach((file, which) => {
      if (!file) return; // an absent executable keeps its descriptor all zero
      const { stored, compressedSize } = packLzss(file);
      const at = CORE_HEADER_SIZE + index * V1_ENTRY_SIZE + which * V1_FILE_SIZE;
      header.writeUInt32BE(offset, at);
      header.writeUInt32BE(compressedSize, at + 4);
      header.writeUInt32BE(file.length, at + 8);
      header.writeUInt32BE(0, at + 12); // modifiedsecs: 0 keeps the output reproducible
      payloads.push(stored);
      offset += stored.length;
    });
  });
  return sealArchive([header, ...payloads]);
}

function writeMkext2(slice: MkextSliceInput): Buffer {
  const layout = layoutMkext2(slice, (kext) => (kext.executable ? packZlib(kext.executable) : null));
  return sealMkext2(slice, layout, packZlib(layout.plist));
}

/**
 * As many deflates in flight as the pool has threads: each holds ~256 KiB of zlib state from its
 * start, so queueing a thousand kexts at once would cost a quarter of a GiB for no speed.
 */
const DEFLATES_IN_FLIGHT = Number(process.env.UV_THREADPOOL_SIZE) || 4;

/** The executables are deflated side by side; the plist, which records their offsets, after them. */
async function writeMkext2Parallel(slice: MkextSliceInput): Promise<Buffer> {
  const packed: (StoredPayload | null)[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < slice.kexts.length; index = next++) {
      const executable = slice.kexts[index]!.executable;
      packed[index] = executable ? await packZlibParallel(executable) : null;
    }
  };
  await Promise.all(Array.from({ length: DEFLATES_IN_FLIGHT }, worker));
  const layout = layoutMkext2(slice, (_, index) => packed[index]!);
  return sealMkext2(slice, layout, await packZlibParallel(layout.plist));
}

interface Mkext2Layout {
  /** Entry headers and stored executables, in kext order. */
  readonly entries: Buffer[];
  /** Where the plist goes: just after the last entry. */
  readonly plistOffset: number;
  /** The uncompressed plist, NUL included. */
  readonly plist: Buffer;
}

function layoutMkext2(slice: MkextSliceInput, packedExecutable: (kext: MkextKextInput, index: number) => StoredPayload | null): Mkext2Layout {
  const entries: Buffer[] = [];
  let offset = V2_HEADER_SIZE;
  const infoDictionaries = slice.kexts.map((kext, index) => {
    const info: PlistDict = Object.assign(newDict(), kext.info);
    info._MKEXTBundlePath = kext.bundlePath;
    const packed = packedExecutable(kext, index);
    if (kext.executable && packed) {
      const entryHeader = Buffer.alloc(V2_FILE_HEADER_SIZE);
      entryHeader.writeUInt32BE(packed.compressedSize, 0);
      entryHeader.writeUInt32BE(kext.executable.length, 4);
      // The offset of the entry we keep, compressed or raw (Apple's writer can get this wrong).
      info._MKEXTExecutable = BigInt(offset);
      entries.push(entryHeader, packed.stored);
      offset += V2_FILE_HEADER_SIZE + packed.stored.length;
    }
    return info;
  });
  const top = newDict();
  top._MKEXTInfoDictionaries = infoDictionaries;
  // The kernel parses the plist in place and relies on the NUL, which counts in its size.
  return { entries, plistOffset: offset, plist: Buffer.from(`${serializeIokitXml(top)}\0`, "utf8") };
}

function sealMkext2(slice: MkextSliceInput, { entries, plistOffset, plist }: Mkext2Layout, { stored, compressedSize }: StoredPayload): Buffer {
  const header = coreHeader(V2_HEADER_SIZE, MKEXT_VERSION_2, slice.kexts.length, slice.arch);
  header.writeUInt32BE(plistOffset, 32);
  header.writeUInt32BE(compressedSize, 36);
  header.writeUInt32BE(plist.length, 40);
  return sealArchive([header, ...entries, stored]);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** A corrupt or unsupported archive; `offset` is counted from the start of the file. */
export class MkextFormatError extends DarwinInputError {
  override readonly name = "MkextFormatError";
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`mkext is invalid at file offset 0x${offset.toString(16)}: ${reason}`);
  }
}

/** One kext in an archive slice. */
export interface MkextEntry {
  readonly bundleId: string;
  readonly version: string;
  /** The info dictionary as stored (format 2 includes the `_MKEXT…` keys). */
  readonly info: PlistDict;
  readonly bundlePath: string | null;
  readonly executable: Buffer | null;
}

/** One thin archive: the whole file, or one architecture of a fat file. */
export interface MkextSlice {
  readonly format: MkextFormat;
  /** Architecture name (i386, x86_64, ppc, any …). */
  readonly arch: string;
  readonly cputype: number;
  readonly cpusubtype: number;
  /** Where the slice starts in the file (0 when thin). */
  readonly fileOffset: number;
  readonly length: number;
  readonly adler32: number;
  readonly kexts: readonly MkextEntry[];
}

/** A parsed, fully validated archive. */
export interface MkextArchive {
  readonly fat: boolean;
  readonly slices: readonly MkextSlice[];
  /** One line per bundle identifier across all slices, in the order of first appearance. */
  readonly kexts: readonly KextSummary[];
  /** Valid but risky: limits of particular booters the archive exceeds. */
  readonly warnings: readonly string[];
}

/** Validates and reads every slice of an archive; throws MkextFormatError naming what is wrong and where. */
export function readMkext(file: Buffer): MkextArchive {
  let fat;
  try {
    fat = readFatHeader(file);
  } catch (error) {
    if (error instanceof MachOFormatError) throw new MkextFormatError(error.message, error.offset);
    throw error;
  }
  const slices = fat
    ? fat.map((arch) => {
        const slice = new SliceReader(file.subarray(arch.offset, arch.offset + arch.size), arch.offset, `${cpuTypeName(arch.cputype)} slice: `).read();
        if (slice.cputype !== arch.cputype)
          throw new MkextFormatError(
            `the fat header lists this slice as ${cpuTypeName(arch.cputype)} but its mkext header says ${slice.arch}`,
            arch.offset + 24,
          );
        return slice;
      })
    : [new SliceReader(file, 0, "").read()];
  return { fat: fat !== undefined, slices, kexts: summarize(slices), warnings: slices.flatMap(sizeWarnings) };
}

/** boot-132's PXE booter loads at most 24 MiB of mkext (kLoadSize); Chameleon 64 MiB. */
const BOOT132_MKEXT_LIMIT = 0x01800000;

function sizeWarnings(slice: MkextSlice): string[] {
  if (slice.length <= BOOT132_MKEXT_LIMIT) return [];
  return [
    `the ${slice.arch} slice is ${(slice.length / 1048576).toFixed(1)} MiB; boot-132-based PXE booters refuse mkexts over 24 MiB (Chameleon over 64 MiB): build with a narrower filter or fewer kexts`,
  ];
}

function summarize(slices: readonly MkextSlice[]): KextSummary[] {
  return mergeByBundleId(slices, (kext) => kext.executable?.length ?? null).map(({ first, firstArch, executableSizes }) => {
    const required = archProperty(first.info, "OSBundleRequired", firstArch in ARCHES ? (firstArch as MkextArch) : undefined);
    return {
      bundleId: first.bundleId,
      version: first.version,
      required: typeof required === "string" ? required : null,
      bundlePath: first.bundlePath,
      executableSizes,
    };
  });
}

interface Version1Descriptor {
  /** Where the descriptor is, for messages. */
  readonly at: number;
  readonly offset: number;
  readonly compressedSize: number;
  readonly realSize: number;
}

interface Version2Entry {
  readonly at: number;
  readonly compressedSize: number;
  readonly fullSize: number;
}

interface Region {
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

class SliceReader {
  private readonly regions: Region[] = [];
  private readonly view: DataView;

  constructor(
    private readonly bytes: Buffer,
    private readonly base: number,
    private readonly context: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(reason: string, offset: number): never {
    throw new MkextFormatError(`${this.context}${reason}`, this.base + offset);
  }

  private u32(offset: number): number {
    return this.view.getUint32(offset);
  }

  read(): MkextSlice {
    const size = this.bytes.length;
    if (size < CORE_HEADER_SIZE) this.fail(`file is ${size} bytes, shorter than the ${CORE_HEADER_SIZE}-byte mkext header`, 0);
    const magic = this.u32(0);
    if (magic !== MKEXT_MAGIC)
      this.fail(
        `magic is ${hex(magic)} ("${this.bytes
          .subarray(0, 4)
          .toString("latin1")
          .replace(/[^\x20-\x7e]/g, "?")}"), expected ${hex(MKEXT_MAGIC)} ("MKXT"); this is not an mkext`,
        0,
      );
    const signature = this.u32(4);
    if (signature !== MKEXT_SIGNATURE) this.fail(`signature is ${hex(signature)}, expected ${hex(MKEXT_SIGNATURE)} ("MOSX")`, 4);
    const length = this.u32(8);
    if (length !== size)
      this.fail(
        `header length is ${length} bytes but the ${this.base || this.context ? "slice" : "file"} is ${size} bytes (${length > size ? "truncated" : "trailing data"})`,
        8,
      );
    const stored = this.u32(12);
    const actual = adler32(this.bytes.subarray(CHECKSUM_START));
    if (stored !== actual) this.fail(`Adler-32 checksum is ${hex(stored)} but bytes 0x10…${hex(length)} sum to ${hex(actual)}; the archive is corrupt`, 12);
    const version = this.u32(16);
    const kextCount = this.u32(20);
    const cputype = this.u32(24);
    const cpusubtype = this.u32(28);
    if (!isKnownCpuType(cputype)) this.fail(`cputype ${hex(cputype)} is not i386, x86_64, ppc, ppc64 or any`, 24);
    const arch = cpuTypeName(cputype);
    let kexts: MkextEntry[];
    if (version === MKEXT_VERSION_1) {
      if (cputype === CPU_TYPE_ANY && cpusubtype !== CPU_SUBTYPE_MULTIPLE)
        this.fail(`cputype is any but cpusubtype is ${hex(cpusubtype)}, expected ${hex(CPU_SUBTYPE_MULTIPLE)} (multiple)`, 28);
      kexts = this.readVersion1(kextCount, cputype);
    } else if (version === MKEXT_VERSION_2) {
      if (cputype === CPU_TYPE_ANY) this.fail("format 2 archives must name one CPU type; the 10.6 kernel rejects cputype any", 24);
      kexts = this.readVersion2(kextCount, cputype);
    } else {
      this.fail(`version is ${hex(version)}; the kernel accepts only ${hex(MKEXT_VERSION_1)} (format 1) and ${hex(MKEXT_VERSION_2)} (format 2)`, 16);
    }
    return { format: version === MKEXT_VERSION_1 ? 1 : 2, arch, cputype, cpusubtype, fileOffset: this.base, length, adler32: stored, kexts };
  }

  /** Records a payload and checks it lies in the data area; overlaps are checked once all are known. */
  private claim(start: number, byteCount: number, dataStart: number, what: string, fieldOffset: number): void {
    const end = start + byteCount;
    if (start < dataStart)
      this.fail(
        `${what} starts at ${hex(start)}, inside the header${dataStart > CORE_HEADER_SIZE ? "/table" : ""} (data starts at ${hex(dataStart)})`,
        fieldOffset,
      );
    if (end > this.bytes.length)
      this.fail(`${what} spans ${hex(start)}…${hex(end)}, past the end of the archive (${hex(this.bytes.length)}); truncated or bad offset`, fieldOffset);
    this.regions.push({ start, end, what });
  }

  private checkOverlaps(): void {
    const sorted = this.regions.filter((region) => region.end > region.start).sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const [previous, current] = [sorted[i - 1]!, sorted[i]!];
      if (current.start < previous.end)
        this.fail(
          `${current.what} (${hex(current.start)}…${hex(current.end)}) overlaps ${previous.what} (${hex(previous.start)}…${hex(previous.end)})`,
          current.start,
        );
    }
  }

  private readVersion1(kextCount: number, cputype: number): MkextEntry[] {
    const tableEnd = CORE_HEADER_SIZE + kextCount * V1_ENTRY_SIZE;
    if (tableEnd > this.bytes.length)
      this.fail(
        `header declares ${kextCount} kexts but their ${kextCount * V1_ENTRY_SIZE}-byte table would end at ${hex(tableEnd)}, past the end of the archive (${hex(this.bytes.length)})`,
        20,
      );
    // Bounds and overlaps first: a bad offset is reported as such, not as the garbage it points at.
    const files = Array.from({ length: kextCount }, (_, index) => {
      const at = CORE_HEADER_SIZE + index * V1_ENTRY_SIZE;
      const plist = this.version1Descriptor(at, tableEnd, `kext ${index} plist`);
      if (!plist) this.fail(`kext ${index} has no plist (its descriptor is all zero)`, at);
      return { at, plist, executable: this.version1Descriptor(at + V1_FILE_SIZE, tableEnd, `kext ${index} executable`) };
    });
    this.checkOverlaps();
    return files.map(({ at, plist, executable }, index) => {
      const plistBytes = this.version1Payload(plist, `kext ${index} plist`);
      const info = this.parseInfo(() => parseInfoPlist(plistBytes, `kext ${index} plist`), at);
      const executableBytes = executable && this.version1Payload(executable, `kext ${index} (${this.bundleIdOf(info, index, at)}) executable`);
      return this.entry(info, index, at, null, executableBytes, cputype);
    });
  }

  private version1Descriptor(at: number, tableEnd: number, what: string): Version1Descriptor | null {
    const offset = this.u32(at);
    const compressedSize = this.u32(at + 4);
    const realSize = this.u32(at + 8);
    if (offset === 0 && compressedSize === 0 && realSize === 0 && this.u32(at + 12) === 0) return null;
    if (realSize === 0) this.fail(`${what} descriptor has size 0 but is not all zero`, at + 8);
    this.claim(offset, compressedSize || realSize, tableEnd, what, at);
    return { at, offset, compressedSize, realSize };
  }

  private version1Payload({ at, offset, compressedSize, realSize }: Version1Descriptor, what: string): Buffer {
    if (compressedSize === 0) return this.bytes.subarray(offset, offset + realSize);
    const { output, consumed } = lzssDecode(this.bytes.subarray(offset, offset + compressedSize), realSize);
    if (output.length !== realSize)
      this.fail(`${what}: LZSS data at ${hex(offset)} expands to ${output.length} bytes but the descriptor says ${realSize}`, at + 8);
    if (consumed !== compressedSize)
      this.fail(`${what}: LZSS data at ${hex(offset)} has ${compressedSize - consumed} bytes left over after producing all ${realSize} bytes`, at + 4);
    return output;
  }

  private readVersion2(kextCount: number, cputype: number): MkextEntry[] {
    if (this.bytes.length < V2_HEADER_SIZE) this.fail(`format 2 header needs ${V2_HEADER_SIZE} bytes but the archive has ${this.bytes.length}`, 32);
    const plistOffset = this.u32(32);
    const plistCompressed = this.u32(36);
    const plistSize = this.u32(40);
    if (plistSize === 0) this.fail("plist size is 0", 40);
    this.claim(plistOffset, plistCompressed || plistSize, V2_HEADER_SIZE, "plist", 32);
    const plistBytes = this.inflate(plistOffset, plistCompressed, plistSize, "plist", 36);
    const nul = plistBytes.indexOf(0);
    if (nul !== plistSize - 1)
      this.fail(
        nul === -1
          ? "plist is not NUL-terminated; the kernel parses it in place and needs the NUL"
          : `plist has a NUL at byte ${nul} of ${plistSize}; the kernel would stop reading there`,
        40,
      );
    const top = this.parseInfo(() => parsePlistXml(plistBytes.subarray(0, nul).toString("utf8"), "mkext plist"), plistOffset);
    const infos = isDict(top) ? top._MKEXTInfoDictionaries : undefined;
    if (!Array.isArray(infos)) this.fail("plist has no _MKEXTInfoDictionaries array", plistOffset);
    if (infos.length !== kextCount) this.fail(`header counts ${kextCount} kexts but the plist describes ${infos.length}`, 20);
    const kexts = infos.map((info, index) => {
      if (!isDict(info)) this.fail(`_MKEXTInfoDictionaries[${index}] is not a dictionary`, plistOffset);
      const name = `kext ${index} (${this.bundleIdOf(info, index, plistOffset)})`;
      const bundlePath = info._MKEXTBundlePath;
      if (bundlePath !== undefined && typeof bundlePath !== "string") this.fail(`${name}: _MKEXTBundlePath is not a string`, plistOffset);
      return { info, name, bundlePath: bundlePath ?? null, entry: this.version2Entry(info._MKEXTExecutable, name, plistOffset) };
    });
    this.checkOverlaps();
    return kexts.map(({ info, name, bundlePath, entry }, index) => {
      const executable = entry && this.inflate(entry.at + V2_FILE_HEADER_SIZE, entry.compressedSize, entry.fullSize, `${name} executable`, entry.at);
      return this.entry(info, index, plistOffset, bundlePath, executable, cputype);
    });
  }

  private version2Entry(offset: PlistValue | undefined, name: string, plistOffset: number): Version2Entry | null {
    if (offset === undefined) return null;
    if (typeof offset !== "bigint" || offset < 0n || offset > BigInt(this.bytes.length))
      this.fail(`${name}: _MKEXTExecutable (${String(offset)}) is not an offset inside the archive`, plistOffset);
    const at = Number(offset);
    if (at + V2_FILE_HEADER_SIZE > this.bytes.length) this.fail(`${name}: executable entry header at ${hex(at)} runs past the end of the archive`, at);
    const compressedSize = this.u32(at);
    const fullSize = this.u32(at + 4);
    if (fullSize === 0) this.fail(`${name}: executable entry at ${hex(at)} has size 0`, at + 4);
    this.claim(at, V2_FILE_HEADER_SIZE + (compressedSize || fullSize), V2_HEADER_SIZE, `${name} executable entry`, at);
    return { at, compressedSize, fullSize };
  }

  private inflate(offset: number, compressedSize: number, fullSize: number, what: string, fieldOffset: number): Buffer {
    if (compressedSize === 0) return this.bytes.subarray(offset, offset + fullSize);
    let result;
    try {
      result = inflateSync(this.bytes.subarray(offset, offset + compressedSize), { maxOutputLength: fullSize, info: true }) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
    } catch (error) {
      const code = (error as { code?: string }).code;
      this.fail(
        code === "ERR_BUFFER_TOO_LARGE"
          ? `${what}: zlib data at ${hex(offset)} inflates to more than the ${fullSize} bytes its header states`
          : `${what}: zlib data at ${hex(offset)} is corrupt (${(error as Error).message})`,
        fieldOffset,
      );
    }
    if (result.buffer.length !== fullSize)
      this.fail(`${what}: zlib data at ${hex(offset)} inflates to ${result.buffer.length} bytes but its header says ${fullSize}`, fieldOffset);
    if (result.engine.bytesWritten !== compressedSize)
      this.fail(`${what}: ${compressedSize - result.engine.bytesWritten} bytes follow the end of the zlib stream at ${hex(offset)}`, fieldOffset);
    return result.buffer;
  }

  private parseInfo<T>(parse: () => T, offset: number): T {
    try {
      return parse();
    } catch (error) {
      return this.fail((error as Error).message, offset);
    }
  }

  private bundleIdOf(info: PlistDict, index: number, offset: number): string {
    const bundleId = info.CFBundleIdentifier;
    if (typeof bundleId !== "string" || bundleId === "") this.fail(`kext ${index} has no CFBundleIdentifier string in its plist`, offset);
    return bundleId;
  }

  private entry(info: PlistDict, index: number, offset: number, bundlePath: string | null, executable: Buffer | null, cputype: number): MkextEntry {
    const bundleId = this.bundleIdOf(info, index, offset);
    const version = stringProperty(info, "CFBundleVersion");
    if (version === undefined || parseKextVersion(version) === undefined)
      this.fail(
        `kext ${index} (${bundleId}) has ${version === undefined ? "no CFBundleVersion string" : `CFBundleVersion "${version}", which the kernel cannot parse (${KEXT_VERSION_FORMAT})`}`,
        offset,
      );
    if (executable) this.checkExecutable(executable, cputype, `kext ${index} (${bundleId}) executable`, offset);
    return { bundleId, version, info, bundlePath, executable };
  }

  /** Thin archives hold thin executables of their own architecture; `any` archives may hold anything Mach-O. */
  private checkExecutable(executable: Buffer, cputype: number, what: string, offset: number): void {
    let image;
    try {
      image = readMachO(executable);
    } catch (error) {
      this.fail(`${what} is ${(error as Error).message}`, offset);
    }
    if (cputype === CPU_TYPE_ANY) return;
    if (image.fat) this.fail(`${what} is a fat file; an archive for ${cpuTypeName(cputype)} must hold thin ${cpuTypeName(cputype)} executables`, offset);
    const [executableType] = image.slices.keys();
    if (executableType !== cputype) this.fail(`${what} is ${cpuTypeName(executableType!)} code in an archive for ${cpuTypeName(cputype)}`, offset);
  }
}
