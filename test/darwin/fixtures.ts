/**
 * Synthetic kext bundles for the Darwin tests: real folder layouts with Info.plist files and
 * fake Mach-O executables (thin or fat, with believable, compressible contents).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type FakeArch = "i386" | "x86_64" | "ppc";

const CPU_TYPES: Record<FakeArch, { cputype: number; magic: number; littleEndian: boolean }> = {
  i386: { cputype: 7, magic: 0xfeedface, littleEndian: true },
  x86_64: { cputype: 0x01000007, magic: 0xfeedfacf, littleEndian: true },
  ppc: { cputype: 18, magic: 0xfeedface, littleEndian: false },
};

/** Deterministic pseudo-random numbers, so fixtures are identical run to run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/**
 * A thin Mach-O image: a header with the arch's magic and cputype, then code-like bytes: a
 * small vocabulary of instruction sequences, symbol-ish strings and zero padding, so it
 * compresses about as well as a real kext binary.
 */
export function fakeThinMachO(arch: FakeArch, size: number, seed = 1): Buffer {
  const { cputype, magic, littleEndian } = CPU_TYPES[arch];
  const bytes = Buffer.alloc(Math.max(size, 32));
  const write = (value: number, at: number) => (littleEndian ? bytes.writeUInt32LE(value >>> 0, at) : bytes.writeUInt32BE(value >>> 0, at));
  write(magic, 0);
  write(cputype, 4);
  write(3, 8);
  write(11, 12); // MH_KEXT_BUNDLE
  const random = prng(seed);
  // A vocabulary of instruction-like sequences; its size sets the ratio (real kexts gzip to ~35-45%).
  const phrases = Array.from({ length: 1024 }, () => Buffer.from(Array.from({ length: 3 + Math.floor(random() * 10) }, () => Math.floor(random() * 256))));
  const symbols = ["__ZN9IOService5startEPS_", "__ZN18IONetworkInterface", "_IOLog", "__ZNK11OSMetaClass19instanceConstructedEv", "com.apple.driver."].map(
    (s) => Buffer.from(`${s}\0`),
  );
  let at = 32;
  while (at < bytes.length) {
    const pick = random();
    const chunk =
      pick < 0.65
        ? phrases[Math.floor(random() * phrases.length)]!
        : pick < 0.7
          ? symbols[Math.floor(random() * symbols.length)]!
          : pick < 0.76
            ? Buffer.alloc(1 + Math.floor(random() * 16))
            : Buffer.from(Array.from({ length: 2 + Math.floor(random() * 6) }, () => Math.floor(random() * 256)));
    chunk.copy(bytes, at);
    at += chunk.length;
  }
  return bytes;
}

/** A fat file holding one fake thin image per architecture, as lipo lays it out (page-aligned slices). */
export function fakeFatMachO(arches: readonly FakeArch[], size: number, seed = 1): Buffer {
  const slices = arches.map((arch, index) => ({ arch, bytes: fakeThinMachO(arch, size + index * 16, seed + index) }));
  const header = Buffer.alloc(8 + 20 * slices.length);
  header.writeUInt32BE(0xcafebabe, 0);
  header.writeUInt32BE(slices.length, 4);
  const parts: Buffer[] = [header];
  let offset = header.length;
  slices.forEach((slice, index) => {
    const aligned = Math.ceil(offset / 4096) * 4096;
    parts.push(Buffer.alloc(aligned - offset));
    const at = 8 + index * 20;
    header.writeUInt32BE(CPU_TYPES[slice.arch].cputype, at);
    header.writeUInt32BE(3, at + 4);
    header.writeUInt32BE(aligned, at + 8);
    header.writeUInt32BE(slice.bytes.length, at + 12);
    header.writeUInt32BE(12, at + 16);
    parts.push(slice.bytes);
    offset = aligned + slice.bytes.length;
  });
  return Buffer.concat(parts);
}

/** A driver personality: IOKit matching keys (strings) and anything else. */
export type Personality = Record<string, string | number>;

export interface FakeKext {
  readonly id: string;
  /** Bundle folder name without .kext; defaults to the last component of the id. */
  readonly name?: string;
  readonly version?: string;
  readonly compatibleVersion?: string;
  readonly required?: string;
  readonly libraries?: Record<string, string>;
  /** Architectures of the executable (one: thin, several: fat); omitted or empty: codeless. */
  readonly arches?: readonly FakeArch[];
  readonly executableSize?: number;
  readonly personalities?: Record<string, Personality>;
  readonly plugIns?: readonly FakeKext[];
  /** Raw XML placed inside the top-level <dict>, for plist corner cases. */
  readonly extraXml?: string;
  /** Replaces the whole Info.plist text. */
  readonly infoPlistText?: string;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function xmlValue(value: string | number | Record<string, unknown>): string {
  if (typeof value === "number") return `<integer>${value}</integer>`;
  if (typeof value === "string") return `<string>${escapeXml(value)}</string>`;
  return `<dict>${Object.entries(value)
    .map(([key, item]) => `\n\t\t<key>${escapeXml(key)}</key>${xmlValue(item as string | number | Record<string, unknown>)}`)
    .join("")}\n\t</dict>`;
}

export function infoPlistText(kext: FakeKext, executableName?: string): string {
  const entries: [string, string | number | Record<string, unknown>][] = [
    ["CFBundleIdentifier", kext.id],
    ["CFBundleName", kext.name ?? kext.id.split(".").pop()!],
    ["CFBundlePackageType", "KEXT"],
    ["CFBundleVersion", kext.version ?? "1.0.0"],
  ];
  if (executableName) entries.push(["CFBundleExecutable", executableName]);
  if (kext.compatibleVersion) entries.push(["OSBundleCompatibleVersion", kext.compatibleVersion]);
  if (kext.required) entries.push(["OSBundleRequired", kext.required]);
  if (kext.libraries) entries.push(["OSBundleLibraries", kext.libraries]);
  if (kext.personalities) entries.push(["IOKitPersonalities", kext.personalities]);
  const body = entries.map(([key, value]) => `\t<key>${key}</key>\n\t${xmlValue(value)}`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
${body}
${kext.extraXml ?? ""}
</dict>
</plist>
`;
}

/** Writes `<parent>/<name>.kext` with Contents/Info.plist, Contents/MacOS/<name> and Contents/PlugIns; returns the bundle path. */
export function writeKext(parent: string, kext: FakeKext, seed = 1): string {
  const name = kext.name ?? kext.id.split(".").pop()!;
  const bundle = join(parent, `${name}.kext`);
  const contents = join(bundle, "Contents");
  mkdirSync(contents, { recursive: true });
  const arches = kext.arches ?? [];
  const executableName = arches.length ? name : undefined;
  writeFileSync(join(contents, "Info.plist"), kext.infoPlistText ?? infoPlistText(kext, executableName));
  if (executableName) {
    mkdirSync(join(contents, "MacOS"), { recursive: true });
    const size = kext.executableSize ?? 4096;
    writeFileSync(join(contents, "MacOS", executableName), arches.length === 1 ? fakeThinMachO(arches[0]!, size, seed) : fakeFatMachO(arches, size, seed));
  }
  (kext.plugIns ?? []).forEach((plugIn, index) => writeKext(join(contents, "PlugIns"), plugIn, seed * 31 + index + 1));
  return bundle;
}

/** A scratch folder removed by the returned cleanup function. */
export function scratchDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nbl-darwin-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const KPI = { "com.apple.kpi.iokit": "10.0.0", "com.apple.kpi.libkern": "10.0.0", "com.apple.kpi.mach": "10.0.0" };

/** IOPCIMatch of AppleIntel8254XEthernet in 10.6: Intel 8254x parts including VMware's 82545EM (100F) and QEMU's 82540EM (100E). */
export const INTEL_8254X_MATCH =
  "0x10008086 0x10018086 0x10048086 0x10088086 0x100c8086 0x100d8086 0x100e8086 0x100f8086 0x10108086 0x10118086 0x10128086 0x10138086 0x10158086 0x10168086 0x10178086 0x10198086 0x101a8086 0x101d8086 0x101e8086 0x10268086 0x10278086 0x10288086";

/**
 * The Mac OS X 10.6 situation from issue 3, in miniature: System.kext with KPI plug-ins,
 * IOPCIFamily, IONetworkingFamily with its AppleIntel8254XEthernet plug-in (Network-Root),
 * a Local-Root storage driver, a Network-Root Realtek driver, and a kext with no OSBundleRequired.
 */
export const SNOW_LEOPARD_EXTENSIONS: readonly FakeKext[] = [
  {
    id: "com.apple.kernel",
    name: "System",
    version: "10.0.0",
    compatibleVersion: "10.0.0",
    required: "Root",
    plugIns: ["bsd", "iokit", "libkern", "mach"].map((kpi) => ({
      id: `com.apple.kpi.${kpi}`,
      name: kpi.toUpperCase(),
      version: "10.0.0",
      compatibleVersion: "8.0.0",
      required: "Root",
    })),
  },
  { id: "com.apple.iokit.IOPCIFamily", version: "2.6", compatibleVersion: "1.0.0b1", required: "Root", arches: ["i386", "x86_64"], libraries: KPI },
  {
    id: "com.apple.iokit.IONetworkingFamily",
    version: "1.9",
    compatibleVersion: "1.0.0b1",
    required: "Root",
    arches: ["i386", "x86_64"],
    libraries: KPI,
    plugIns: [
      {
        id: "com.apple.driver.AppleIntel8254XEthernet",
        version: "2.1.2b1",
        required: "Network-Root",
        arches: ["i386", "x86_64"],
        libraries: { ...KPI, "com.apple.iokit.IONetworkingFamily": "1.5.0", "com.apple.iokit.IOPCIFamily": "2.0" },
        personalities: {
          Intel8254X: {
            CFBundleIdentifier: "com.apple.driver.AppleIntel8254XEthernet",
            IOClass: "AppleIntel8254XEthernet",
            IOProviderClass: "IOPCIDevice",
            IOPCIMatch: INTEL_8254X_MATCH,
            IOProbeScore: 1000,
          },
        },
      },
    ],
  },
  {
    id: "com.apple.driver.AppleRTL8139Ethernet",
    version: "1.0.0",
    required: "Network-Root",
    arches: ["i386"],
    libraries: { ...KPI, "com.apple.iokit.IONetworkingFamily": "1.5.0", "com.apple.iokit.IOPCIFamily": "2.0" },
    personalities: { RTL8139: { IOClass: "AppleRTL8139Ethernet", IOProviderClass: "IOPCIDevice", IOPCIMatch: "0x813910ec" } },
  },
  {
    id: "com.apple.iokit.IOAHCIFamily",
    version: "2.0.4",
    compatibleVersion: "1.0.0",
    required: "Local-Root",
    arches: ["i386", "x86_64"],
    libraries: { ...KPI, "com.apple.iokit.IOPCIFamily": "2.0" },
  },
  { id: "com.apple.driver.AppleHDA", version: "1.8.7", arches: ["i386", "x86_64"], libraries: KPI },
];

/** Writes the extensions above into `<dir>/System/Library/Extensions` and returns that folder. */
export function writeSnowLeopardExtensions(dir: string, extra: readonly FakeKext[] = []): string {
  const extensions = join(dir, "System", "Library", "Extensions");
  mkdirSync(extensions, { recursive: true });
  [...SNOW_LEOPARD_EXTENSIONS, ...extra].forEach((kext, index) => writeKext(extensions, kext, index + 1));
  return extensions;
}
