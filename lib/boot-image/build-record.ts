/**
 * The build record: what a BootImage build wrote into the boot tree, with each file's size and
 * sha256. The builder writes it as the last file of the image's folder, so it is swapped into
 * place with the files it describes; `netboot-lab check` compares what the servers hand out
 * with it.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** File name inside `<image name>/`; served like the rest of the tree, which does no harm. */
export const BUILD_RECORD_FILE = ".netboot-lab-build.json";
export const BUILD_RECORD_VERSION = 1;

export interface BuiltFile {
  /** Relative to the boot tree, e.g. `linux-ipxe/undionly.kpxe`. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface BuildRecord {
  readonly version: typeof BUILD_RECORD_VERSION;
  readonly image: string;
  /** Every file of the image except the record itself, sorted by path. */
  readonly files: readonly BuiltFile[];
}

export function buildRecordPath(imageName: string): string {
  return `${imageName}/${BUILD_RECORD_FILE}`;
}

export function sha256OfFile(path: string): string {
  const hash = createHash("sha256");
  const buffer = Buffer.alloc(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Hashes `files` (relative to `treeDir`) and writes the record into `treeDir/<image>/`. */
export function writeBuildRecord(treeDir: string, image: string, files: readonly string[]): BuildRecord {
  const record: BuildRecord = {
    version: BUILD_RECORD_VERSION,
    image,
    files: [...files].sort().map((path) => ({ path, size: statSync(join(treeDir, path)).size, sha256: sha256OfFile(join(treeDir, path)) })),
  };
  writeFileSync(join(treeDir, buildRecordPath(image)), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** The image's record in a boot tree, or undefined when the image was never built there. */
export function readBuildRecord(treeDir: string, image: string): BuildRecord | undefined {
  let text: string;
  try {
    text = readFileSync(join(treeDir, buildRecordPath(image)), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const record = JSON.parse(text) as BuildRecord;
  if (record.version !== BUILD_RECORD_VERSION)
    throw new Error(`${buildRecordPath(image)} has version ${String(record.version)}; this netboot-lab reads version ${BUILD_RECORD_VERSION}`);
  return record;
}
