/**
 * Content hashes of the user's media, remembered by path, size, inode and timestamps, so a
 * `pulumi preview` of an unchanged stack does not read gigabytes of root images on every run.
 * A file is hashed again as soon as any of those change (a copy, an edit, `touch`, a file
 * replaced by another of the same size), which is the same test rsync and make rely on.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { sha256OfFile } from "./build-record";

interface CachedHash {
  /** `size:ino:dev:mtimeNs:ctimeNs` when the hash was taken. */
  readonly stamp: string;
  readonly sha256: string;
}

const CACHE_VERSION = 1;

function stampOf(path: string): string {
  const stat = statSync(path, { bigint: true });
  return [stat.size, stat.ino, stat.dev, stat.mtimeNs, stat.ctimeNs].join(":");
}

function readCache(cacheFile: string): Map<string, CachedHash> {
  try {
    const document = JSON.parse(readFileSync(cacheFile, "utf8")) as { version?: number; files?: Record<string, CachedHash> };
    if (document.version === CACHE_VERSION && document.files) return new Map(Object.entries(document.files));
  } catch {
    // A missing or damaged cache only costs a rehash.
  }
  return new Map();
}

export interface FileHasher {
  /** sha256 of the file's content, from the cache when the file is unchanged. */
  (path: string): string;
  /** How many files were read in full, for the plan's log and the tests. */
  readonly filesRead: () => number;
}

/** A hasher that keeps its hashes in `cacheFile` (JSON, rewritten atomically after each new hash). */
export function cachedFileHasher(cacheFile: string): FileHasher {
  let entries: Map<string, CachedHash> | undefined;
  let read = 0;
  const hasher = (path: string): string => {
    entries ??= readCache(cacheFile);
    const stamp = stampOf(path);
    const cached = entries.get(path);
    if (cached?.stamp === stamp) return cached.sha256;
    const sha256 = sha256OfFile(path);
    read += 1;
    // Taken again after reading: a file that changed while it was read is not remembered as unchanged.
    if (stampOf(path) === stamp) {
      entries.set(path, { stamp, sha256 });
      mkdirSync(dirname(cacheFile), { recursive: true });
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify({ version: CACHE_VERSION, files: Object.fromEntries(entries) }));
      renameSync(temporary, cacheFile);
    }
    return sha256;
  };
  return Object.assign(hasher, { filesRead: () => read });
}
