/**
 * Does an archive (or a set of kexts about to become one) hold a driver for the NIC a client
 * emulates? Without one a netbooted Mac OS X kernel never finds its network root and stalls.
 */
import type { NicModel } from "../model/schema";
import type { PlistDict } from "./plist-xml";
import type { MkextArchive } from "./mkext";
import { describeNic, type NicDescription } from "../hardware/nics";
import { matchPciPersonality, pciPersonalities, type KeyOutcome } from "./pci";

export interface NicCheckResult {
  readonly ok: boolean;
  readonly nic: NicModel;
  /** The matching driver personalities, e.g. `com.apple.driver.AppleIntel8254XEthernet "Intel8254X" (IOPCIMatch "0x100f8086 …")`. */
  readonly matches: string[];
  /** A sentence or three for the user: what matched, or what is missing and what to do. */
  readonly message: string;
}

/** A kext as the check sees it. */
export interface KextForNicCheck {
  readonly bundleId: string;
  readonly info: PlistDict;
  readonly hasExecutable: boolean;
}

/** Kexts that will be loaded together, e.g. one slice of an archive. */
export interface KextGroup {
  /** Architecture, shown when there are several groups. */
  readonly arch: string;
  readonly kexts: readonly KextForNicCheck[];
}

function describeKeys(keys: readonly KeyOutcome[]): string {
  return keys.map((key) => `${key.key} "${key.value}"${key.invalid ? ` (invalid: ${key.invalid})` : ""}`).join(", ") || "no PCI match keys";
}

interface GroupOutcome {
  readonly matches: string[];
  readonly considered: string[];
}

function checkGroup(group: KextGroup, nic: NicDescription): GroupOutcome {
  const byId = new Map(group.kexts.map((kext) => [kext.bundleId, kext]));
  const matches: string[] = [];
  const considered: string[] = [];
  for (const kext of group.kexts) {
    for (const [name, personality] of pciPersonalities(kext.info)) {
      const outcome = matchPciPersonality(personality, nic);
      const driverId = typeof personality.CFBundleIdentifier === "string" ? personality.CFBundleIdentifier : kext.bundleId;
      const driver = byId.get(driverId);
      const label = `${driverId} "${name}" (${describeKeys(outcome.keys)})`;
      // A personality only loads a driver that is present and has code to run.
      const unusable = !driver ? `its driver ${driverId} is not included` : !driver.hasExecutable ? `its driver ${driverId} has no executable` : undefined;
      if (outcome.matched && !unusable) matches.push(label);
      else considered.push(`${label}: ${outcome.matched ? `matches, but ${unusable}` : "does not match"}`);
    }
  }
  return { matches, considered };
}

function nicLine(nic: NicDescription): string {
  return `${nic.model} — ${nic.label}, PCI ${nic.pciId}, subsystem ${nic.subsystem}, class ${nic.classCode.toString(16).padStart(6, "0")} (IOPCIMatch ${nic.matchString})`;
}

/** Checks every group; the result is ok only when each group has a matching driver. */
export function checkNicDriverInGroups(groups: readonly KextGroup[], nicName: NicModel, subject = "the archive"): NicCheckResult {
  const nic = describeNic(nicName);
  const labelled = groups.length > 1;
  const outcomes = groups.map((group) => ({ group, ...checkGroup(group, nic) }));
  const prefix = (group: KextGroup) => (labelled ? `[${group.arch}] ` : "");
  const matches = outcomes.flatMap(({ group, matches: found }) => found.map((match) => `${prefix(group)}${match}`));
  const failing = outcomes.filter((outcome) => outcome.matches.length === 0);
  if (failing.length === 0) {
    return { ok: true, nic: nicName, matches, message: `NIC ${nicLine(nic)}: driver found in ${subject}:\n  ${matches.join("\n  ")}` };
  }
  const lines = [
    `no driver in ${subject}${labelled ? ` for ${failing.map(({ group }) => group.arch).join(", ")}` : ""} matches NIC ${nicLine(nic)}. A Mac OS X client with this NIC stalls at "finding root" (Still waiting for root device).`,
  ];
  for (const { group, considered } of failing) {
    lines.push(
      considered.length
        ? `${labelled ? `${group.arch}: ` : ""}PCI driver personalities considered:`
        : `${labelled ? `${group.arch}: ` : ""}no kext has a PCI driver personality (IOProviderClass IOPCIDevice).`,
    );
    lines.push(...considered.map((entry) => `  - ${entry}`));
  }
  const anyConsidered = failing.some(({ considered }) => considered.length > 0);
  lines.push(
    "To fix: build the mkext with --network-root (network drivers such as AppleIntel8254XEthernet declare OSBundleRequired Network-Root, which --local-root alone leaves out), " +
      `or name the driver's .kext explicitly (e.g. …/IONetworkingFamily.kext/Contents/PlugIns/AppleIntel8254XEthernet.kext)${anyConsidered ? ", or give the client a NIC model that one of the drivers above supports" : ""}.`,
  );
  return { ok: false, nic: nicName, matches, message: lines.join("\n") };
}

/** Checks an archive: every slice (architecture) must hold a driver for the NIC. */
export function checkNicDriver(archive: MkextArchive, nic: NicModel): NicCheckResult {
  return checkNicDriverInGroups(
    archive.slices.map((slice) => ({
      arch: slice.arch,
      kexts: slice.kexts.map((kext) => ({ bundleId: kext.bundleId, info: kext.info, hasExecutable: kext.executable !== null })),
    })),
    nic,
  );
}
