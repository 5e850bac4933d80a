/**
 * Kext version strings as OSKext reads CFBundleVersion, OSBundleCompatibleVersion and the
 * values of OSBundleLibraries: `MAJOR[.MINOR[.REV]][STAGE LEVEL]`, where STAGE is d, a, b, f or
 * fc (development, alpha, beta, final candidate) and release versions sort after all stages,
 * so 1.0b3 < 1.0fc1 < 1.0.
 */

const STAGE_WEIGHT: Record<string, number> = { d: 1, a: 3, b: 5, f: 7, fc: 7 };
const RELEASE_WEIGHT = 9;

const VERSION_PATTERN = /^(\d{1,4})(?:\.(\d{1,2})(?:\.(\d{1,2}))?)?(?:(d|a|b|fc|f)(\d{1,3}))?\s*$/;

/** The comparable value of a kext version string, or undefined when OSKext would reject it. */
export function parseKextVersion(text: string): number | undefined {
  const match = VERSION_PATTERN.exec(text);
  if (!match) return undefined;
  const [, major, minor = "0", revision = "0", stage, level] = match;
  const stageLevel = stage === undefined ? 0 : Number(level);
  if (stageLevel > 255) return undefined;
  // A final candidate numbered 0 would sort equal to a release of the same number.
  if ((stage === "f" || stage === "fc") && stageLevel === 0) return undefined;
  const stageWeight = stage === undefined ? RELEASE_WEIGHT : STAGE_WEIGHT[stage]!;
  return Number(major) * 1e8 + Number(minor) * 1e6 + Number(revision) * 1e4 + stageWeight * 1e3 + stageLevel;
}

/** Why a version string is invalid, phrased for a user who has to fix the Info.plist. */
export const KEXT_VERSION_FORMAT =
  "expected MAJOR[.MINOR[.REVISION]] with up to 4/2/2 digits, optionally followed by d, a, b or fc and a number up to 255 (e.g. 2.1.3, 1.0b4)";

/** Negative, zero or positive like a comparator; both strings must be valid. */
export function compareKextVersions(a: string, b: string): number {
  const left = parseKextVersion(a);
  const right = parseKextVersion(b);
  if (left === undefined || right === undefined) throw new Error(`invalid kext version "${left === undefined ? a : b}": ${KEXT_VERSION_FORMAT}`);
  return left - right;
}
