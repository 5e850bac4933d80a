/**
 * Darwin boot payloads: mkext archives, kext selection with kextcache's semantics, and the
 * check that an archive drives a client's emulated NIC. Pure logic; no Pulumi.
 */
export { buildMkext, buildMkextParallel, type BuiltKext, type MkextBuildOptions, type MkextBuildResult } from "./build";
export { DarwinInputError } from "./errors";
export type { KextSummary } from "./info-dict";
export { KextError, loadKexts, type KextBundle } from "./kext";
export { MKEXT_ARCHES, type MkextArch } from "./macho";
export { MkextFormatError, readMkext, writeMkext, type MkextArchive, type MkextEntry, type MkextFormat, type MkextSlice } from "./mkext";
export { checkNicDriver, checkNicDriverInGroups, type KextGroup, type NicCheckResult } from "./nic-check";

export { KextDependencyError, selectKexts } from "./select";
