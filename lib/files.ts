/** File placement shared by the payload builder and the NetBoot image writer. */
import { copyFileSync, linkSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

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
