import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cachedFileHasher } from "../../lib/boot-image";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nbl-hashes-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("cached file hashes (what a preview of an unchanged stack reads)", () => {
  it("reads a file once, and not again in the next run of the program while it is unchanged", () => {
    const file = join(dir, "NetInstall.dmg");
    writeFileSync(file, "root image v1");
    const cache = join(dir, "cache", "file-hashes.json");

    const firstRun = cachedFileHasher(cache);
    expect(firstRun(file)).toBe(sha256("root image v1"));
    expect(firstRun.filesRead()).toBe(1);

    const nextRun = cachedFileHasher(cache);
    expect(nextRun(file)).toBe(sha256("root image v1"));
    expect(nextRun.filesRead()).toBe(0);
  });

  it("reads it again when its content, size or timestamps change, even to the same size", () => {
    const file = join(dir, "kernel");
    const cache = join(dir, "file-hashes.json");
    writeFileSync(file, "kernel A");
    cachedFileHasher(cache)(file);

    writeFileSync(file, "kernel B");
    const afterEdit = cachedFileHasher(cache);
    expect(afterEdit(file)).toBe(sha256("kernel B"));
    expect(afterEdit.filesRead()).toBe(1);

    utimesSync(file, new Date(2001, 0, 1), new Date(2001, 0, 1));
    const afterTouch = cachedFileHasher(cache);
    afterTouch(file);
    expect(afterTouch.filesRead()).toBe(1);
  });

  it("treats a damaged cache file as empty", () => {
    const file = join(dir, "booter");
    const cache = join(dir, "file-hashes.json");
    writeFileSync(file, "booter");
    writeFileSync(cache, "{ not json");

    expect(cachedFileHasher(cache)(file)).toBe(sha256("booter"));
  });
});
