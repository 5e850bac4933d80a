import { describe, expect, it } from "vitest";
import { compareKextVersions, parseKextVersion } from "../../lib/darwin/version";

describe("kext versions", () => {
  it("orders development, alpha, beta and candidate stages before the release", () => {
    const ordered = ["1.0d1", "1.0d9", "1.0a1", "1.0b3", "1.0b12", "1.0fc1", "1.0f2", "1.0", "1.0.1", "1.1", "2", "9999.99.99"];
    for (let i = 1; i < ordered.length; i++) expect(compareKextVersions(ordered[i - 1]!, ordered[i]!), `${ordered[i - 1]} < ${ordered[i]}`).toBeLessThan(0);
  });

  it("treats missing components as zero and ignores trailing whitespace", () => {
    expect(compareKextVersions("1", "1.0.0")).toBe(0);
    expect(parseKextVersion("2.1.3  ")).toBe(parseKextVersion("2.1.3"));
  });

  it("rejects what OSKext rejects", () => {
    for (const bad of ["", "a1", "1.0.0.0", "12345", "1.100", "1.0b", "1.0b256", "1.0fc0", "1.0x1", " 1.0", "1.0 b1"])
      expect(parseKextVersion(bad), JSON.stringify(bad)).toBeUndefined();
    expect(() => compareKextVersions("1.0", "one")).toThrow('invalid kext version "one"');
  });
});
