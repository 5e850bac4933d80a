/**
 * Finding and loading kext bundles like kextcache: folder arguments are repositories (their
 * `*.kext` children and each child's `Contents/PlugIns/*.kext`, one level only); `.kext`
 * arguments are named kexts. Invalid repository kexts are skipped with a note; an invalid
 * named kext is an error, since the user asked for it.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { DarwinInputError } from "./errors";
import { archProperty, OS_BUNDLE_REQUIRED_VALUES, type OSBundleRequired } from "./info-dict";
import { findKernelUnparseable, isDict, parseInfoPlist, type PlistDict } from "./plist-xml";
import { MKEXT_ARCHES, readMachO, type MachOImage } from "./macho";
import { KEXT_VERSION_FORMAT, parseKextVersion } from "./version";

/** A kext that cannot be used, or a path that is not a kext or folder. */
export class KextError extends DarwinInputError {
  override readonly name = "KextError";
}

/** A loaded, valid kext bundle. */
export interface KextBundle {
  /** Where the bundle is on this machine. */
  readonly path: string;
  /** Where the bundle lives on the booted system; recorded as `_MKEXTBundlePath`. */
  readonly archivePath: string;
  /** Given as a `.kext` argument (always included) rather than found in a folder. */
  readonly named: boolean;
  /** Bundle identifier of the kext whose Contents/PlugIns holds this one. */
  readonly plugInOf?: string;
  readonly infoPlist: Buffer;
  readonly info: PlistDict;
  readonly bundleId: string;
  readonly version: string;
  /** The executable split by architecture, or null for a codeless kext. */
  readonly executable: MachOImage | null;
}

export interface LoadedKexts {
  readonly kexts: readonly KextBundle[];
  /** Repository kexts skipped as invalid, with the reason. */
  readonly notes: readonly string[];
}

/** Identifiers longer than this do not fit the kernel's kmod name field (KMOD_MAX_NAME 64, NUL included). */
const MAX_BUNDLE_ID_LENGTH = 63;
const SYSTEM_EXTENSIONS = "/System/Library/Extensions";

/**
 * Loads every kext the arguments denote, in a stable order (arguments in order, folder
 * entries sorted by name, each kext followed by its plug-ins). A kext reachable twice is
 * loaded once; being named wins.
 */
export function loadKexts(paths: readonly string[]): LoadedKexts {
  if (paths.length === 0) throw new KextError("no kext folders or .kext bundles given; pass e.g. …/System/Library/Extensions or Foo.kext");
  const found: { path: string; named: boolean; archivePath: string; parent?: string }[] = [];
  for (const argument of paths) {
    const path = resolve(argument);
    if (!existsSync(path)) throw new KextError(`${argument} does not exist; give a folder of kexts (such as …/System/Library/Extensions) or a .kext bundle`);
    if (!statSync(path).isDirectory())
      throw new KextError(`${argument} is a file; give a folder of kexts or a .kext bundle (a folder whose name ends in .kext)`);
    if (path.endsWith(".kext")) found.push({ path, named: true, archivePath: archivePathFor(path) });
    else for (const child of kextChildren(path)) found.push({ path: child, named: false, archivePath: archivePathFor(child) });
  }

  const byRealPath = new Map<string, (typeof found)[number]>();
  for (const item of found) {
    const real = realpathSync(item.path);
    const previous = byRealPath.get(real);
    if (!previous || (item.named && !previous.named)) byRealPath.set(real, item);
  }
  const namedRealPaths = new Set([...byRealPath].filter(([, item]) => item.named).map(([real]) => real));
  const loaded = new Set<string>();

  const kexts: KextBundle[] = [];
  const notes: string[] = [];
  const load = (item: { path: string; named: boolean; archivePath: string }, plugInOf?: string): KextBundle | undefined => {
    loaded.add(realpathSync(item.path));
    try {
      const kext = loadBundle(item.path, item.named, item.archivePath, plugInOf);
      kexts.push(kext);
      return kext;
    } catch (error) {
      if (item.named || !(error instanceof KextError)) throw error;
      notes.push(`skipped ${item.path}: ${error.message.replace(`${item.path}: `, "")}`);
      return undefined;
    }
  };
  for (const item of byRealPath.values()) {
    const parent = load(item);
    // An invalid parent takes its plug-ins with it (kextcache does the same).
    if (!parent) continue;
    const folder = plugInsFolder(item.path);
    for (const plugIn of kextChildren(folder)) {
      const real = realpathSync(plugIn);
      // A plug-in also named on the command line is loaded as a named kext instead.
      if (namedRealPaths.has(real) || loaded.has(real)) continue;
      load({ path: plugIn, named: false, archivePath: `${item.archivePath}/${folder.slice(item.path.length + 1)}/${basename(plugIn)}` }, parent.bundleId);
    }
  }
  return { kexts, notes };
}

/** `Contents/PlugIns`, or `PlugIns` in a flat bundle. */
function plugInsFolder(bundle: string): string {
  return isFlatBundle(bundle) ? join(bundle, "PlugIns") : join(bundle, "Contents", "PlugIns");
}

function isFlatBundle(bundle: string): boolean {
  return !existsSync(join(bundle, "Contents")) && existsSync(join(bundle, "Info.plist"));
}

function kextChildren(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.endsWith(".kext"))
    .sort()
    .map((name) => join(folder, name))
    .filter((path) => statSync(path).isDirectory());
}

/** Keeps the part from /System/Library/Extensions or /Library/Extensions on; other kexts are recorded where kextcache's users put them. */
function archivePathFor(path: string): string {
  const marker = ["/System/Library/Extensions/", "/Library/Extensions/"].map((m) => path.lastIndexOf(m)).find((index) => index !== -1);
  return marker === undefined ? `${SYSTEM_EXTENSIONS}/${basename(path)}` : path.slice(marker);
}

function loadBundle(path: string, named: boolean, archivePath: string, plugInOf?: string): KextBundle {
  const flat = isFlatBundle(path);
  const infoPath = flat ? join(path, "Info.plist") : join(path, "Contents", "Info.plist");
  const relativeInfo = flat ? "Info.plist" : "Contents/Info.plist";
  if (!existsSync(infoPath)) throw new KextError(`${path}: ${relativeInfo} does not exist; a kext bundle needs Contents/Info.plist`);
  const infoPlist = readFileSync(infoPath);
  let info: PlistDict;
  try {
    info = parseInfoPlist(infoPlist, `${path}/${relativeInfo}`);
  } catch (error) {
    if (error instanceof DarwinInputError) throw new KextError(`${path}: ${error.message.replace(`${path}/`, "")}`);
    throw error;
  }
  const problems = infoProblems(info);
  const executableName = info.CFBundleExecutable;
  let executable: MachOImage | null = null;
  if (executableName !== undefined) {
    if (typeof executableName !== "string" || executableName === "" || executableName.includes("/")) problems.push("CFBundleExecutable must be a file name");
    else {
      const relative = flat ? executableName : `Contents/MacOS/${executableName}`;
      const executablePath = join(path, relative);
      if (!existsSync(executablePath)) problems.push(`CFBundleExecutable is "${executableName}" but ${relative} does not exist`);
      else {
        try {
          executable = readMachO(readFileSync(executablePath));
        } catch (error) {
          problems.push(`${relative} is ${(error as Error).message}`);
        }
        if (executable && !hasLibraries(info) && info.OSKernelResource !== true)
          problems.push("has an executable but no OSBundleLibraries; the kernel cannot link it");
      }
    }
  }
  if (problems.length) throw new KextError(`${path}: ${problems.join("; ")}`);
  return {
    path,
    archivePath,
    named,
    plugInOf,
    infoPlist,
    info,
    bundleId: info.CFBundleIdentifier as string,
    version: info.CFBundleVersion as string,
    executable,
  };
}

function hasLibraries(info: PlistDict): boolean {
  return ["OSBundleLibraries", ...MKEXT_ARCHES.map((arch) => `OSBundleLibraries_${arch}`)].some((key) => isDict(info[key]));
}

/** The checks the kernel applies to an info dictionary before it accepts a kext (and a few more). */
function infoProblems(info: PlistDict): string[] {
  const problems: string[] = [];
  const bundleId = info.CFBundleIdentifier;
  if (typeof bundleId !== "string" || bundleId === "") problems.push("Info.plist has no CFBundleIdentifier string");
  else if (bundleId.length > MAX_BUNDLE_ID_LENGTH) problems.push(`CFBundleIdentifier "${bundleId}" is longer than ${MAX_BUNDLE_ID_LENGTH} characters`);
  if (info.CFBundlePackageType !== "KEXT")
    problems.push(
      `CFBundlePackageType is ${JSON.stringify(typeof info.CFBundlePackageType === "string" ? info.CFBundlePackageType : "missing")}, expected "KEXT"`,
    );
  const version = versionProblem(info, "CFBundleVersion", true, problems);
  const compatible = versionProblem(info, "OSBundleCompatibleVersion", false, problems);
  if (version !== undefined && compatible !== undefined && compatible > version)
    problems.push(`OSBundleCompatibleVersion ${String(info.OSBundleCompatibleVersion)} is newer than CFBundleVersion ${String(info.CFBundleVersion)}`);
  for (const arch of [undefined, ...MKEXT_ARCHES]) {
    const suffix = arch ? `_${arch}` : "";
    const required = info[`OSBundleRequired${suffix}`];
    if (required !== undefined && !OS_BUNDLE_REQUIRED_VALUES.includes(required as OSBundleRequired)) {
      problems.push(
        `OSBundleRequired${suffix} is ${JSON.stringify(typeof required === "string" ? required : typeof required)}, expected one of ${OS_BUNDLE_REQUIRED_VALUES.map((value) => `"${value}"`).join(", ")}`,
      );
    }
    const libraries = info[`OSBundleLibraries${suffix}`];
    if (libraries === undefined) continue;
    if (!isDict(libraries)) {
      problems.push(`OSBundleLibraries${suffix} must be a dictionary of bundle identifier → version`);
      continue;
    }
    for (const [library, wanted] of Object.entries(libraries)) {
      if (typeof wanted !== "string" || parseKextVersion(wanted) === undefined)
        problems.push(
          `OSBundleLibraries${suffix} → ${library} is ${JSON.stringify(typeof wanted === "string" ? wanted : typeof wanted)}, not a version (${KEXT_VERSION_FORMAT})`,
        );
    }
  }
  const unparseable = findKernelUnparseable(info);
  if (unparseable) problems.push(`Info.plist uses a type the kernel's XML parser lacks at ${unparseable}; store it as <string> or <integer>`);
  return problems;
}

function versionProblem(info: PlistDict, key: string, required: boolean, problems: string[]): number | undefined {
  const value = info[key];
  if (value === undefined) {
    if (required) problems.push(`Info.plist has no ${key}`);
    return undefined;
  }
  const parsed = typeof value === "string" ? parseKextVersion(value) : undefined;
  if (parsed === undefined)
    problems.push(`${key} ${JSON.stringify(typeof value === "string" ? value : typeof value)} is not a kext version (${KEXT_VERSION_FORMAT})`);
  return parsed;
}

/** OSBundleLibraries for an architecture: bundle identifier → minimum version. */
export function librariesOf(kext: KextBundle, arch: (typeof MKEXT_ARCHES)[number]): Record<string, string> {
  const libraries = archProperty(kext.info, "OSBundleLibraries", arch);
  return isDict(libraries) ? (Object.fromEntries(Object.entries(libraries)) as Record<string, string>) : {};
}
