/** File placement shared by the payload builder and the NetBoot image writer, and where the CLI may write. */
import { copyFileSync, linkSync, mkdirSync, statfsSync, statSync, unlinkSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";

/** Errors of link(2) that mean "not possible here", not "something is wrong". */
const CANNOT_LINK = new Set(["EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP"]);

/**
 * Puts `source` at `target` as a hard link when both are on one file system, otherwise as a
 * copy. In the builder container the user's media and the boot tree share the boot-tree
 * volume, so a multi-gigabyte root image lands in the image folder without being read or
 * written again. Served files are never modified in place, so sharing the inode is safe.
 */
export function linkOrCopy(source: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  try {
    linkSync(source, target);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") {
      unlinkSync(target);
      return linkOrCopy(source, target);
    }
    if (!CANNOT_LINK.has(code)) throw error;
  }
  copyFileSync(source, target);
}

/**
 * Kernel file systems, by statfs type: they hold no files of the user's, and writing there
 * changes kernel settings, fails oddly, or hangs (Node's recursive mkdir retries forever under /proc).
 */
const KERNEL_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0xde5e81e4, "efivarfs"],
]);

/**
 * Why `dir` cannot be a folder of output files, or undefined when it can: a part of the path
 * is a file, or it lies on a kernel file system. Asked before anything is written, so a bad
 * `--out` writes nothing.
 */
export function outputFolderProblem(dir: string): string | undefined {
  const absolute = resolve(dir);
  let existing = absolute;
  for (;;) {
    const stats = existingStats(existing);
    if (stats && !stats.isDirectory()) return `${existing} is a file, not a folder`;
    if (stats || existing === dirname(existing)) break;
    existing = dirname(existing);
  }
  const kernel = KERNEL_FILE_SYSTEMS.get(statfsSync(existing).type);
  if (kernel) return `${existing} is on the kernel's ${kernel} file system, which holds no files of yours`;
  return undefined;
}

/** Why a file cannot be written at `path`, or undefined: its folder cannot hold output (outputFolderProblem), or a folder is in its place. */
export function outputFileProblem(path: string): string | undefined {
  const absolute = resolve(path);
  if (existingStats(absolute)?.isDirectory()) return `${absolute} is a folder, not a file`;
  return outputFolderProblem(dirname(absolute));
}

/** The path's stats; undefined when it does not exist, or a part of it is not a folder (the walk up finds that part). */
function existingStats(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if (["ENOENT", "ENOTDIR"].includes((error as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw error;
  }
}
