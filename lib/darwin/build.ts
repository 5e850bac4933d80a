/** Building an mkext from folders and kexts, like `kextcache -m`: load, select per architecture, write. */
import { DarwinInputError } from "./errors";
import { mergeByBundleId, stringProperty, type KextSummary } from "./info-dict";
import { loadKexts } from "./kext";
import type { MkextArch } from "./macho";
import { writeMkext, type MkextFormat } from "./mkext";
import { requiredFilter, selectKexts, type Selection } from "./select";

export interface MkextBuildOptions {
  /** Folders (their kexts are filtered) and `.kext` bundles (always included). */
  readonly paths: readonly string[];
  readonly format: MkextFormat;
  /** One architecture gives a thin archive; several give a fat archive with slices in this order. */
  readonly arch: MkextArch | readonly MkextArch[];
  /** Keep folder kexts whose OSBundleRequired is Local-Root (plus Root and Console). */
  readonly localRoot?: boolean;
  /** Keep folder kexts whose OSBundleRequired is Network-Root (plus Root and Console). */
  readonly networkRoot?: boolean;
  /** Keep folder kexts whose OSBundleRequired is Safe Boot (plus Root and Console). */
  readonly safeBoot?: boolean;
}

/** A kext in a built archive. `bundlePath` is where it was found on this machine. */
export interface BuiltKext extends KextSummary {
  /** The path recorded in the archive (`_MKEXTBundlePath`), as on the booted system. */
  readonly archivePath: string;
  /** Why it was included: named, OSBundleRequired …, no OSBundleRequired filter, or library of …. */
  readonly reason: string;
}

export interface MkextBuildResult {
  readonly archive: Buffer;
  readonly kexts: BuiltKext[];
  /** Libraries added by the dependency closure, kexts skipped (invalid, no code for an architecture, older duplicates). */
  readonly notes: string[];
  /** Bundle identifiers left out by the OSBundleRequired filter. */
  readonly filteredOut: string[];
}

/**
 * Builds an archive. Throws a DarwinInputError subclass (KextError, KextDependencyError …)
 * with a message for the user when an input is unusable or a library is missing.
 */
export function buildMkext(options: MkextBuildOptions): MkextBuildResult {
  const arches = [...new Set(typeof options.arch === "string" ? [options.arch] : options.arch)];
  if (arches.length === 0) throw new DarwinInputError("no architecture given; use i386 and/or x86_64");
  const loaded = loadKexts(options.paths);
  const selections = arches.map((arch) => ({ arch, selection: selectKexts(loaded.kexts, { ...options, arch }) }));
  for (const { arch, selection } of selections) {
    if (selection.kexts.length === 0) {
      const filter = [...requiredFilter(options)].join(", ");
      throw new DarwinInputError(`no kexts selected for ${arch}${filter ? `: the OSBundleRequired filter (${filter}) left out all ${selection.filteredOut.length} candidates` : ""}; check the paths, or add filters such as --network-root`);
    }
  }
  const archive = writeMkext(
    options.format,
    selections.map(({ arch, selection }) => ({
      arch,
      kexts: selection.kexts.map(({ kext, executable }) => ({ infoPlist: kext.infoPlist, info: kext.info, bundlePath: kext.archivePath, executable })),
    })),
  );
  return {
    archive,
    kexts: summarizeSelections(selections),
    notes: [...loaded.notes, ...mergeNotes(selections)],
    filteredOut: [...new Set(selections.flatMap(({ selection }) => selection.filteredOut))].sort(),
  };
}

function summarizeSelections(selections: readonly { arch: MkextArch; selection: Selection }[]): BuiltKext[] {
  const slices = selections.map(({ arch, selection }) => ({ arch, kexts: selection.kexts.map((selected) => ({ ...selected, bundleId: selected.kext.bundleId })) }));
  return mergeByBundleId(slices, (selected) => selected.executable?.length ?? null).map(({ first: { kext, reason }, firstArch, executableSizes }) => ({
    bundleId: kext.bundleId,
    version: kext.version,
    required: stringProperty(kext.info, "OSBundleRequired", firstArch as MkextArch) ?? null,
    bundlePath: kext.path,
    archivePath: kext.archivePath,
    reason,
    executableSizes,
  }));
}

/** A note that holds for every architecture is shown once; others name their architectures. */
function mergeNotes(selections: readonly { arch: MkextArch; selection: Selection }[]): string[] {
  const arches = new Map<string, MkextArch[]>();
  for (const { arch, selection } of selections) for (const note of selection.notes) arches.set(note, [...(arches.get(note) ?? []), arch]);
  return [...arches].map(([note, noteArches]) => (noteArches.length === selections.length ? note : `${noteArches.join(", ")}: ${note}`));
}
