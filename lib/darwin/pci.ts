/**
 * IOKit's PCI matching, as IOPCIBridge applies a driver personality to a PCI device:
 *  - IOPCIMatch compares config dword 0x00 (device << 16 | vendor), and if that fails dword
 *    0x2C (subsystem << 16 | subsystem vendor); IOPCIPrimaryMatch only 0x00;
 *    IOPCISecondaryMatch only 0x2C; IOPCIClassMatch dword 0x08 (class << 8 | revision) with a
 *    default mask that ignores the revision.
 *  - A value is a space-separated list of hex items, each optionally `&mask`; an item matches
 *    when (item & mask) == (register & mask); any item matching makes the key match.
 *  - Every key present must match. IONameMatch, handled by IOService, is checked against the
 *    names a PCI device is known by: pciVVVV,DDDD, pciSSSS,ssss (subsystem) and pciclass,CCCCCC.
 */
import { classDword, primaryDword, secondaryDword, type PciDevice } from "../hardware/pci-device";
import { isDict, type PlistDict, type PlistValue } from "./plist-xml";

interface MatchItem {
  readonly value: number;
  readonly mask: number;
}

const FULL_MASK = 0xffffffff;
const CLASS_MASK = 0xffffff00;

const PCI_MATCH_KEYS = {
  IOPCIMatch: { registers: (d: PciDevice) => [primaryDword(d), secondaryDword(d)], defaultMask: FULL_MASK },
  IOPCIPrimaryMatch: { registers: (d: PciDevice) => [primaryDword(d)], defaultMask: FULL_MASK },
  IOPCISecondaryMatch: { registers: (d: PciDevice) => [secondaryDword(d)], defaultMask: FULL_MASK },
  IOPCIClassMatch: { registers: (d: PciDevice) => [classDword(d)], defaultMask: CLASS_MASK },
} as const;
type PciMatchKey = keyof typeof PCI_MATCH_KEYS;
export const PCI_MATCH_KEY_NAMES = Object.keys(PCI_MATCH_KEYS) as PciMatchKey[];

/** The names IOPCIBridge gives a device, for IONameMatch. */
export function pciDeviceNames(device: PciDevice): string[] {
  const names = [`pci${device.vendorId.toString(16)},${device.deviceId.toString(16)}`, `pciclass,${device.classCode.toString(16).padStart(6, "0")}`];
  if (device.subsystemVendorId || device.subsystemId) names.unshift(`pci${device.subsystemVendorId.toString(16)},${device.subsystemId.toString(16)}`);
  return names;
}

/** Parses a match string; returns undefined when it is not a list of `hex[&hex]` items. */
export function parseMatchItems(text: string, defaultMask: number): MatchItem[] | undefined {
  const items: MatchItem[] = [];
  const pattern = /\s*(?:0x)?([0-9a-f]{1,8})(?:\s*&\s*(?:0x)?([0-9a-f]{1,8}))?(?=\s|$)/iy;
  let end = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    items.push({ value: parseInt(match[1]!, 16) >>> 0, mask: match[2] === undefined ? defaultMask : parseInt(match[2], 16) >>> 0 });
    end = pattern.lastIndex;
  }
  if (text.slice(end).trim() !== "" || items.length === 0) return undefined;
  return items;
}

function itemsMatch(items: readonly MatchItem[], register: number): boolean {
  return items.some(({ value, mask }) => (value & mask) >>> 0 === (register & mask) >>> 0);
}

/** One match key of a personality and how it fared. */
export interface KeyOutcome {
  readonly key: string;
  readonly value: string;
  readonly matched: boolean;
  /** Set when the value could not be parsed (such a key never matches). */
  readonly invalid?: string;
}

export interface PersonalityOutcome {
  readonly matched: boolean;
  readonly keys: readonly KeyOutcome[];
}

function nameList(value: PlistValue): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  return undefined;
}

/**
 * Applies a personality's PCI match keys (and IONameMatch) to a device. A personality with
 * none of them is reported as not matching: IOKit would offer it every PCI device and leave
 * the decision to the driver's probe, which we cannot predict.
 */
export function matchPciPersonality(personality: PlistDict, device: PciDevice): PersonalityOutcome {
  const keys: KeyOutcome[] = [];
  for (const key of PCI_MATCH_KEY_NAMES) {
    const value = personality[key];
    if (value === undefined) continue;
    const { registers, defaultMask } = PCI_MATCH_KEYS[key];
    const items = typeof value === "string" ? parseMatchItems(value, defaultMask) : undefined;
    const shown = typeof value === "string" ? value : `(${typeof value})`;
    if (!items) keys.push({ key, value: shown, matched: false, invalid: "not a list of hex values with optional &mask" });
    else keys.push({ key, value: shown, matched: registers(device).some((register) => itemsMatch(items, register)) });
  }
  const nameMatch = personality.IONameMatch;
  if (nameMatch !== undefined) {
    const wanted = nameList(nameMatch);
    const names = pciDeviceNames(device);
    keys.push(
      wanted
        ? { key: "IONameMatch", value: wanted.join(" "), matched: wanted.some((name) => names.includes(name)) }
        : { key: "IONameMatch", value: `(${typeof nameMatch})`, matched: false, invalid: "not a string or array of strings" },
    );
  }
  return { matched: keys.length > 0 && keys.every((outcome) => outcome.matched), keys };
}

/** The personalities of an info dictionary that attach to PCI devices, by personality name. */
export function pciPersonalities(info: PlistDict): [string, PlistDict][] {
  const personalities = info.IOKitPersonalities;
  if (!isDict(personalities)) return [];
  return Object.entries(personalities).filter((entry): entry is [string, PlistDict] => isDict(entry[1]) && entry[1].IOProviderClass === "IOPCIDevice");
}
