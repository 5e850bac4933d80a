/** Reading a kext's info dictionary the way OSKext does, and the summary we report per kext. */
import { isDict, type PlistDict, type PlistValue } from "./plist-xml";
import type { MkextArch } from "./macho";

/** Values of OSBundleRequired that OSKext accepts. */
export const OS_BUNDLE_REQUIRED_VALUES = ["Root", "Local-Root", "Network-Root", "Safe Boot", "Console"] as const;
export type OSBundleRequired = (typeof OS_BUNDLE_REQUIRED_VALUES)[number];

/**
 * A property as the kernel sees it for `arch`: keys starting with OS or IO are looked up as
 * `<key>_<arch>` first (e.g. OSBundleRequired_x86_64), then under the plain key.
 */
export function archProperty(info: PlistDict, key: string, arch: MkextArch | undefined): PlistValue | undefined {
  if (arch && (key.startsWith("OS") || key.startsWith("IO"))) {
    const specific = info[`${key}_${arch}`];
    if (specific !== undefined) return specific;
  }
  return info[key];
}

export function stringProperty(info: PlistDict, key: string, arch?: MkextArch): string | undefined {
  const value = archProperty(info, key, arch);
  return typeof value === "string" ? value : undefined;
}

export function dictProperty(info: PlistDict, key: string, arch?: MkextArch): PlistDict | undefined {
  const value = archProperty(info, key, arch);
  return isDict(value) ? value : undefined;
}

/** What we report about a kext in an archive or a build. */
export interface KextSummary {
  readonly bundleId: string;
  readonly version: string;
  /** OSBundleRequired for the archive's architecture, or null when the kext has none. */
  readonly required: string | null;
  /** Path of the bundle: `_MKEXTBundlePath` in the archive; null in format 1 archives, which do not record it. */
  readonly bundlePath: string | null;
  /** Executable size in bytes per architecture, or null for a codeless kext. */
  readonly executableSizes: Readonly<Partial<Record<string, number>>> | null;
}

/** One bundle identifier across the architectures of an archive or build. */
export interface MergedKext<T> {
  /** The kext as first seen, and the architecture it was seen in. */
  readonly first: T;
  readonly firstArch: string;
  /** Executable size per architecture, or null when codeless everywhere. */
  readonly executableSizes: Record<string, number> | null;
}

/** Merges per-architecture kext lists into one entry per bundle identifier, in order of first appearance. */
export function mergeByBundleId<T extends { readonly bundleId: string }>(
  slices: readonly { arch: string; kexts: readonly T[] }[],
  executableSize: (kext: T) => number | null,
): MergedKext<T>[] {
  const byId = new Map<string, { first: T; firstArch: string; sizes: Record<string, number> }>();
  for (const { arch, kexts } of slices) {
    for (const kext of kexts) {
      let seen = byId.get(kext.bundleId);
      if (!seen) {
        seen = { first: kext, firstArch: arch, sizes: {} };
        byId.set(kext.bundleId, seen);
      }
      const size = executableSize(kext);
      if (size !== null) seen.sizes[arch] = size;
    }
  }
  return [...byId.values()].map(({ first, firstArch, sizes }) => ({ first, firstArch, executableSizes: Object.keys(sizes).length ? sizes : null }));
}
