/** Building an mkext from folders and kexts, like `kextcache -m`: load, select per architecture, write. */
import { DarwinInputError } from "./errors";
import { mergeByBundleId, stringProperty, type KextSummary } from "./info-dict";
import { loadKexts, type LoadedKexts } from "./kext";
import type { MkextArch } from "./macho";
import { writeMkext, writeMkextParallel, type MkextFormat, type MkextSliceInput } from "./mkext";
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
  const { slices, result } = selectForMkext(options);
  return { archive: writeMkext(options.format, slices), ...result };
}

/** buildMkext with format 2's kexts compressed side by side on libuv's thread pool; the same bytes. */
export async function buildMkextParallel(options: MkextBuildOptions): Promise<MkextBuildResult> {
  const { slices, result } = selectForMkext(options);
  return { archive: await writeMkextParallel(options.format, slices), ...result };
}

function selectForMkext(options: MkextBuildOptions): { slices: MkextSliceInput[]; result: Omit<MkextBuildResult, "archive"> } {
  const arches = [...new Set(typeof options.arch === "string" ? [options.arch] : options.arch)];
  if (arches.length === 0) throw new DarwinInputError("no architecture given; use i386 and/or x86_64");
  const loaded = loadKexts(options.paths);
  const selections = arches.map((arch) => ({ arch, selection: selectKexts(loaded.kexts, { ...options, arch }) }));
  for (const { arch, selection } of selections) {
    if (selection.kexts.length === 0) throw new DarwinInputError(nothingSelected(arch, options, loaded, selection));
  }
  const slices = selections.map(({ arch, selection }) => ({
    arch,
    kexts: selection.kexts.map(({ kext, executable }) => ({ infoPlist: kext.infoPlist, info: kext.info, bundlePath: kext.archivePath, executable })),
  }));
  return {
    slices,
    result: {
      kexts: summarizeSelections(selections),
      notes: [...loaded.notes, ...mergeNotes(selections)],
      filteredOut: [...new Set(selections.flatMap(({ selection }) => selection.filteredOut))].sort(),
    },
  };
}

/** How many skip reasons an error lists before it only counts the rest. */
const REASONS_SHOWN = 3;

/** Lists the first few reasons and counts the others, so a folder of hundreds of broken kexts gives a readable error. */
function someReasons(reasons: readonly string[]): string {
  const shown = reasons
    .slice(0, REASONS_SHOWN)
    .map((reason) => `\n  - ${reason}`)
    .join("");
  const rest = reasons.length - REASONS_SHOWN;
  return rest > 0 ? `${shown}\n  … and ${rest} more` : shown;
}

/** Why an architecture got no kext at all: nothing found, everything invalid or without code for it, or the OSBundleRequired filter. */
function nothingSelected(arch: MkextArch, options: MkextBuildOptions, loaded: LoadedKexts, selection: Selection): string {
  const invalid = loaded.notes.filter((note) => note.startsWith("skipped ")).map((note) => note.slice("skipped ".length));
  const noCode = selection.notes.filter((note) => note.startsWith("skipped ")).map((note) => note.slice("skipped ".length));
  const filter = [...requiredFilter(options)].join(", ");
  const causes: string[] = [];
  if (invalid.length) {
    const which =
      loaded.kexts.length === 0 ? (invalid.length === 1 ? "the only kext found" : `all ${invalid.length} kexts found`) : `${invalid.length} of the kexts found`;
    causes.push(`${which} ${invalid.length === 1 ? "is invalid and was" : "are invalid and were"} skipped:${someReasons(invalid)}`);
  }
  if (noCode.length) causes.push(`${noCode.length} without ${arch} code:${someReasons(noCode)}`);
  if (selection.filteredOut.length) causes.push(`${selection.filteredOut.length} left out by the OSBundleRequired filter (${filter})`);
  if (causes.length === 0)
    return `no kexts selected for ${arch}: ${options.paths.join(", ")} hold${options.paths.length === 1 ? "s" : ""} no .kext bundles; check the paths`;
  const fix = selection.filteredOut.length
    ? "widen the filter (e.g. --network-root, --local-root) or name the kexts you need"
    : "fix or replace those kexts, or check the paths";
  return `no kexts selected for ${arch}: ${causes.join("; ")}\n${fix}`;
}

function summarizeSelections(selections: readonly { arch: MkextArch; selection: Selection }[]): BuiltKext[] {
  const slices = selections.map(({ arch, selection }) => ({
    arch,
    kexts: selection.kexts.map((selected) => ({ ...selected, bundleId: selected.kext.bundleId })),
  }));
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
