/**
 * Files the program generates for Docker: the mkexts (uploaded with `source` rather than
 * `content`, which the provider would keep in the stack's state) and the builder's build
 * context. Names carry a content hash, so every run writes the same bytes to the same place.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const DEFAULT_CACHE_DIR = join(tmpdir(), "netboot-lab-cache");

function sameContent(path: string, content: Buffer): boolean {
  try {
    return readFileSync(path).equals(content);
  } catch {
    return false;
  }
}

/** Writes the file unless it already holds exactly `content`, so its timestamp only moves when it changes. */
export function writeIfChanged(path: string, content: Buffer): string {
  if (!sameContent(path, content)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return path;
}

/** Writes `content` to `<cacheDir>/<sha256><suffix>`; returns the path. */
export function cacheFile(cacheDir: string, sha256: string, suffix: string, content: Buffer): string {
  return writeIfChanged(join(cacheDir, `${sha256}${suffix}`), content);
}
