/**
 * Which kexts go into an mkext for one architecture, with kextcache's semantics plus the
 * dependency closure kextcache leaves to chance:
 *  1. kexts without code for the architecture are skipped (codeless kexts suit every one);
 *  2. one kext per bundle identifier, the highest CFBundleVersion;
 *  3. the OSBundleRequired filter: with any of local-root / network-root / safe-boot set, a
 *     folder kext is kept only if its OSBundleRequired (or OSBundleRequired_<arch>) is one of
 *     the chosen values, Root or Console; named kexts are always kept; no filter keeps all;
 *  4. every OSBundleLibraries entry of a kept kext must be satisfied by a candidate whose
 *     OSBundleCompatibleVersion ≤ required ≤ CFBundleVersion; that library is kept too, whatever
 *     its OSBundleRequired. com.apple.kpi.* and com.apple.kernel* come from System.kext's
 *     plug-ins when they are among the candidates, otherwise from the kernel itself.
 */
import { DarwinInputError } from "./errors";
import { stringProperty } from "./info-dict";
import { librariesOf, type KextBundle } from "./kext";
import { ARCHES, archNames, type MkextArch } from "./macho";
import { parseKextVersion } from "./version";

/** A missing or incompatible library; lists every such problem of the selection at once. */
export class KextDependencyError extends DarwinInputError {
  override readonly name = "KextDependencyError";
}

export interface SelectionOptions {
  readonly arch: MkextArch;
  readonly localRoot?: boolean;
  readonly networkRoot?: boolean;
  readonly safeBoot?: boolean;
}

export interface SelectedKext {
  readonly kext: KextBundle;
  /** The thin executable for the architecture, or null when codeless. */
  readonly executable: Buffer | null;
  /** Why it is in: named, its OSBundleRequired, no filter, or the kext that needs it as a library. */
  readonly reason: string;
}

export interface Selection {
  /** Sorted by bundle path, which gives archives a stable order. */
  readonly kexts: readonly SelectedKext[];
  /** Kexts skipped for the architecture, duplicates dropped, libraries added by the closure. */
  readonly notes: readonly string[];
  /** Bundle identifiers the OSBundleRequired filter left out. */
  readonly filteredOut: readonly string[];
}

/** Locale-independent order, so archives are identical whatever the machine's locale. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Identifiers the kernel itself provides when System.kext is not among the candidates. */
function isKernelProvided(bundleId: string): boolean {
  return bundleId.startsWith("com.apple.kpi.") || bundleId.startsWith("com.apple.kernel");
}

function describeKext(kext: KextBundle): string {
  return `${kext.bundleId} ${kext.version} (${kext.path})`;
}

/** The OSBundleRequired values a build accepts; empty means no filtering. */
export function requiredFilter(options: Omit<SelectionOptions, "arch">): Set<string> {
  const accepted = new Set<string>();
  if (options.localRoot) accepted.add("Local-Root");
  if (options.networkRoot) accepted.add("Network-Root");
  if (options.safeBoot) accepted.add("Safe Boot");
  if (accepted.size) {
    accepted.add("Root");
    accepted.add("Console");
  }
  return accepted;
}

export function selectKexts(candidates: readonly KextBundle[], options: SelectionOptions): Selection {
  const { arch } = options;
  const notes: string[] = [];
  const unusable = new Map<string, string>();
  const usable = new Map<string, { kext: KextBundle; executable: Buffer | null }>();

  for (const kext of candidates) {
    let executable: Buffer | null = null;
    if (kext.executable) {
      const slice = kext.executable.slices.get(ARCHES[arch].cputype);
      if (!slice) {
        const reason = `has no ${arch} code (its executable holds ${archNames(kext.executable).join(", ")})`;
        notes.push(`skipped ${describeKext(kext)}: ${reason}`);
        if (!usable.has(kext.bundleId)) unusable.set(kext.bundleId, `${kext.path} ${reason}`);
        continue;
      }
      executable = slice;
    }
    const existing = usable.get(kext.bundleId);
    if (existing) {
      const newer =
        parseKextVersion(kext.version)! > parseKextVersion(existing.kext.version)! ||
        (kext.version === existing.kext.version && kext.named && !existing.kext.named);
      const [kept, dropped] = newer ? [kext, existing.kext] : [existing.kext, kext];
      notes.push(
        `ignored ${describeKext(dropped)}: ${kept.path} has ${kept.version === dropped.version ? "the same version and is named" : `newer version ${kept.version}`}`,
      );
      if (!newer) continue;
    }
    unusable.delete(kext.bundleId);
    usable.set(kext.bundleId, { kext, executable });
  }

  const accepted = requiredFilter(options);
  const included = new Map<string, SelectedKext>();
  const filteredOut: string[] = [];
  for (const { kext, executable } of usable.values()) {
    const required = stringProperty(kext.info, "OSBundleRequired", arch);
    if (kext.named) included.set(kext.bundleId, { kext, executable, reason: "named" });
    else if (accepted.size === 0) included.set(kext.bundleId, { kext, executable, reason: "no OSBundleRequired filter" });
    else if (required !== undefined && accepted.has(required)) included.set(kext.bundleId, { kext, executable, reason: `OSBundleRequired ${required}` });
    else filteredOut.push(kext.bundleId);
  }

  const problems: string[] = [];
  const queue = [...included.values()];
  while (queue.length) {
    const { kext } = queue.shift()!;
    for (const [library, wanted] of Object.entries(librariesOf(kext, arch)).sort(([a], [b]) => compareCodeUnits(a, b))) {
      const provider = usable.get(library);
      if (!provider) {
        if (isKernelProvided(library)) continue;
        const why = unusable.get(library);
        problems.push(
          `${describeKext(kext)} needs library ${library} ${wanted}, ${why ? `but ${why}` : "which is in none of the folders and kexts given"}; add the folder or .kext that provides it`,
        );
        continue;
      }
      const incompatibility = compatibilityProblem(provider.kext, wanted);
      if (incompatibility) {
        problems.push(`${describeKext(kext)} needs library ${library} ${wanted}, but ${describeKext(provider.kext)} ${incompatibility}`);
        continue;
      }
      if (!included.has(library)) {
        const required = stringProperty(provider.kext.info, "OSBundleRequired", arch);
        const selected = { ...provider, reason: `library of ${kext.bundleId}` };
        included.set(library, selected);
        queue.push(selected);
        notes.push(
          `added ${describeKext(provider.kext)}: library of ${kext.bundleId}${accepted.size && !(required && accepted.has(required)) ? ` (its OSBundleRequired, ${required ?? "none"}, would have left it out)` : ""}`,
        );
      }
    }
  }
  if (problems.length) throw new KextDependencyError(`missing or incompatible libraries for ${arch}:\n  - ${problems.join("\n  - ")}`);

  const kexts = [...included.values()].sort((a, b) => compareCodeUnits(a.kext.archivePath, b.kext.archivePath));
  return { kexts, notes, filteredOut: filteredOut.filter((id) => !included.has(id)) };
}

/** Why `library` cannot satisfy a dependency on version `wanted`, or undefined when it can. */
function compatibilityProblem(library: KextBundle, wanted: string): string | undefined {
  const compatibleText = library.info.OSBundleCompatibleVersion;
  if (typeof compatibleText !== "string") return "has no OSBundleCompatibleVersion, so nothing can link against it";
  const compatible = parseKextVersion(compatibleText)!;
  const version = parseKextVersion(library.version)!;
  const required = parseKextVersion(wanted)!;
  if (required > version) return `is older than ${wanted}`;
  if (required < compatible) return `is only compatible back to ${compatibleText} (OSBundleCompatibleVersion), newer than the ${wanted} required`;
  return undefined;
}
