import { join } from "node:path";
import { cachedFileHasher, planLabPayloads as planLab, type PayloadPlan } from "../../lib/boot-image";
import type { LabModel } from "../../lib/model";
import { DEFAULT_CACHE_DIR } from "../../lib/boot-image/upload-cache";

export * from "./boot-image";
export * from "./build-resource";
export * from "./builder";
export { BootImagePlanError, NicDriverMissingError, type ImageClient, type NicCheckReport, type PayloadPlan } from "../../lib/boot-image";

/**
 * Plans every boot image of the lab (lib/boot-image's planLabPayloads), with file hashes
 * remembered in `<cacheDir>/file-hashes.json`: a preview of an unchanged stack reads no media.
 */
export function planLabPayloads(lab: LabModel, baseDir?: string, cacheDir = DEFAULT_CACHE_DIR): Record<string, PayloadPlan> {
  return planLab(lab, baseDir, cachedFileHasher(join(cacheDir, "file-hashes.json")));
}
