/**
 * Files the program generates for the builder (the mkexts) are uploaded with `source` rather
 * than `content`: the provider keeps `content` in the stack's state, and an mkext is megabytes.
 * The cache file is named by its hash, so every run writes the same bytes to the same place.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const DEFAULT_CACHE_DIR = join(tmpdir(), "netboot-lab-uploads");

function sameContent(path: string, content: Buffer): boolean {
  try {
    return readFileSync(path).equals(content);
  } catch {
    return false;
  }
}

/** Writes `content` to `<cacheDir>/<sha256><suffix>` unless it is already there; returns the path. */
export function cacheFile(cacheDir: string, sha256: string, suffix: string, content: Buffer): string {
  const path = join(cacheDir, `${sha256}${suffix}`);
  if (!sameContent(path, content)) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(path, content);
  }
  return path;
}
