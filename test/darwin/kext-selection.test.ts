import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KextError, loadKexts } from "../../lib/darwin/kext";
import { KextDependencyError, selectKexts, type SelectionOptions } from "../../lib/darwin/select";
import { buildMkext } from "../../lib/darwin/build";
import { DarwinInputError } from "../../lib/darwin/errors";
import { scratchDir, writeKext, writeSnowLeopardExtensions, type FakeKext } from "./fixtures";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

function scratch(): string {
  const { dir, cleanup } = scratchDir("select");
  cleanups.push(cleanup);
  return dir;
}

/** A folder holding the given kexts. */
function folder(kexts: readonly FakeKext[]): string {
  const dir = join(scratch(), "Extensions");
  mkdirSync(dir);
  kexts.forEach((kext, index) => writeKext(dir, kext, index + 1));
  return dir;
}

function select(paths: string[], options: Partial<SelectionOptions> = {}) {
  return selectKexts(loadKexts(paths).kexts, { arch: "i386", ...options });
}

const ids = (selection: ReturnType<typeof select>) => selection.kexts.map(({ kext }) => kext.bundleId).sort();

describe("kext scanning", () => {
  it("finds folder kexts and one level of plug-ins, ignoring plug-ins of plug-ins", () => {
    const dir = folder([
      { id: "com.example.parent", plugIns: [{ id: "com.example.child", plugIns: [{ id: "com.example.grandchild" }] }] },
      { id: "com.example.other" },
    ]);
    const { kexts } = loadKexts([dir]);
    expect(kexts.map((kext) => [kext.bundleId, kext.archivePath, kext.plugInOf])).toEqual([
      ["com.example.other", "/System/Library/Extensions/other.kext", undefined],
      ["com.example.parent", "/System/Library/Extensions/parent.kext", undefined],
      ["com.example.child", "/System/Library/Extensions/parent.kext/Contents/PlugIns/child.kext", "com.example.parent"],
    ]);
  });

  it("records bundle paths relative to the volume when the folder is a System/Library/Extensions", () => {
    const extensions = writeSnowLeopardExtensions(scratch());
    const intel = loadKexts([extensions]).kexts.find((kext) => kext.bundleId === "com.apple.driver.AppleIntel8254XEthernet")!;
    expect(intel.archivePath).toBe("/System/Library/Extensions/IONetworkingFamily.kext/Contents/PlugIns/AppleIntel8254XEthernet.kext");
  });

  it("reads flat bundles (Info.plist and executable at the top)", () => {
    const dir = folder([]);
    const bundle = join(dir, "Flat.kext");
    mkdirSync(join(bundle, "PlugIns", "Inner.kext"), { recursive: true });
    writeFileSync(
      join(bundle, "Info.plist"),
      `<plist><dict><key>CFBundleIdentifier</key><string>com.example.flat</string><key>CFBundlePackageType</key><string>KEXT</string><key>CFBundleVersion</key><string>1.0</string></dict></plist>`,
    );
    writeFileSync(
      join(bundle, "PlugIns", "Inner.kext", "Info.plist"),
      `<plist><dict><key>CFBundleIdentifier</key><string>com.example.inner</string><key>CFBundlePackageType</key><string>KEXT</string><key>CFBundleVersion</key><string>1.0</string></dict></plist>`,
    );
    expect(loadKexts([dir]).kexts.map((kext) => kext.archivePath)).toEqual([
      "/System/Library/Extensions/Flat.kext",
      "/System/Library/Extensions/Flat.kext/PlugIns/Inner.kext",
    ]);
  });

  it("skips an invalid folder kext with a note saying what is wrong, and its plug-ins with it", () => {
    const dir = folder([
      { id: "com.example.good" },
      { id: "com.example.badversion", version: "one", plugIns: [{ id: "com.example.orphan" }] },
      { id: "com.example.nolibs", arches: ["i386"] },
      { id: "com.example.badxml", infoPlistText: "<plist><dict><key>CFBundleIdentifier</key><string>x</dict></plist>" },
      { id: "com.example.badrequired", required: "Network" },
    ]);
    const { kexts, notes } = loadKexts([dir]);
    expect(kexts.map((kext) => kext.bundleId)).toEqual(["com.example.good"]);
    expect(notes).toEqual([
      expect.stringMatching(
        /^skipped .*\/badrequired\.kext: OSBundleRequired is "Network", expected one of "Root", "Local-Root", "Network-Root", "Safe Boot", "Console"$/,
      ),
      expect.stringMatching(/^skipped .*\/badversion\.kext: CFBundleVersion "one" is not a kext version \(expected MAJOR/),
      expect.stringMatching(/^skipped .*\/badxml\.kext: Contents\/Info\.plist: line 1, column \d+: expected <\/string> but found <\/dict/),
      expect.stringMatching(/^skipped .*\/nolibs\.kext: has an executable but no OSBundleLibraries; the kernel cannot link it$/),
    ]);
  });

  it("refuses an invalid named kext, a missing path and a plain file", () => {
    const dir = folder([{ id: "com.example.broken", arches: ["i386"], libraries: {} }]);
    const bundle = join(dir, "broken.kext");
    writeFileSync(join(bundle, "Contents", "MacOS", "broken"), "#!/bin/sh\n");
    expect(() => loadKexts([bundle])).toThrow(KextError);
    expect(() => loadKexts([bundle])).toThrow(/broken\.kext: Contents\/MacOS\/broken is not a Mach-O file \(starts with 23212f62\)/);
    expect(() => loadKexts([join(dir, "missing.kext")])).toThrow(/missing\.kext does not exist; give a folder of kexts/);
    expect(() => loadKexts([join(bundle, "Contents", "Info.plist")])).toThrow(/Info\.plist is a file; give a folder of kexts or a \.kext bundle/);
    declareMissingExecutable(bundle);
    expect(() => loadKexts([bundle])).toThrow(/CFBundleExecutable is "broken" but Contents\/MacOS\/broken does not exist/);
  });

  it("loads a named plug-in once, as named, even when its parent's folder is scanned too", () => {
    const extensions = writeSnowLeopardExtensions(scratch());
    const intel = join(extensions, "IONetworkingFamily.kext", "Contents", "PlugIns", "AppleIntel8254XEthernet.kext");
    const matching = loadKexts([extensions, intel]).kexts.filter((kext) => kext.bundleId === "com.apple.driver.AppleIntel8254XEthernet");
    expect(matching).toHaveLength(1);
    expect(matching[0]!.named).toBe(true);
  });
});

/** Rewrites the broken kext's Info.plist to declare an executable, and removes the executable. */
function declareMissingExecutable(bundle: string): void {
  writeFileSync(
    join(bundle, "Contents", "Info.plist"),
    `<plist><dict><key>CFBundleIdentifier</key><string>com.example.broken</string><key>CFBundlePackageType</key><string>KEXT</string><key>CFBundleVersion</key><string>1.0</string><key>CFBundleExecutable</key><string>broken</string><key>OSBundleLibraries</key><dict/></dict></plist>`,
  );
  rmSync(join(bundle, "Contents", "MacOS", "broken"));
}

describe("OSBundleRequired filter", () => {
  const requiredValues = [undefined, "Root", "Console", "Local-Root", "Network-Root", "Safe Boot"] as const;
  const kexts = requiredValues.map((required) => ({ id: `com.example.${(required ?? "none").replace(" ", "")}`, required }));
  // The inclusion table of docs/darwin-netboot.md, "Which kexts an mkext takes".
  const table: [string, Partial<SelectionOptions>, string[]][] = [
    ["no filter", {}, ["none", "Root", "Console", "Local-Root", "Network-Root", "SafeBoot"]],
    ["local-root", { localRoot: true }, ["Root", "Console", "Local-Root"]],
    ["network-root", { networkRoot: true }, ["Root", "Console", "Network-Root"]],
    ["safe-boot", { safeBoot: true }, ["Root", "Console", "SafeBoot"]],
    ["local-root + network-root", { localRoot: true, networkRoot: true }, ["Root", "Console", "Local-Root", "Network-Root"]],
  ];
  for (const [name, options, expected] of table) {
    it(`with ${name} keeps ${expected.join(", ")}`, () => {
      expect(ids(select([folder(kexts)], options))).toEqual(expected.map((suffix) => `com.example.${suffix}`).sort());
    });
  }

  it("always keeps named kexts", () => {
    const dir = folder(kexts);
    const selection = select([dir, join(dir, "none.kext"), join(dir, "Network-Root.kext")], { localRoot: true });
    expect(ids(selection)).toEqual(["com.example.Console", "com.example.Local-Root", "com.example.Network-Root", "com.example.Root", "com.example.none"]);
    expect(selection.kexts.find(({ kext }) => kext.bundleId === "com.example.none")!.reason).toBe("named");
  });

  it("honours OSBundleRequired_<arch> over the plain key", () => {
    const dir = folder([{ id: "com.example.split", required: "Local-Root", extraXml: "<key>OSBundleRequired_x86_64</key><string>Network-Root</string>" }]);
    expect(ids(select([dir], { arch: "i386", networkRoot: true }))).toEqual([]);
    expect(ids(select([dir], { arch: "x86_64", networkRoot: true }))).toEqual(["com.example.split"]);
  });

  it("keeps the highest CFBundleVersion of a bundle identifier and notes the other", () => {
    const older = folder([{ id: "com.example.dup", name: "Old", version: "1.0b2" }]);
    const newer = folder([{ id: "com.example.dup", name: "New", version: "1.0" }]);
    const selection = select([older, newer]);
    expect(selection.kexts.map(({ kext }) => kext.version)).toEqual(["1.0"]);
    expect(selection.notes).toEqual([expect.stringMatching(/^ignored com\.example\.dup 1\.0b2 \(.*Old\.kext\): .*New\.kext has newer version 1\.0$/)]);
  });
});

describe("dependency closure", () => {
  const library = {
    id: "com.example.Library",
    version: "2.5",
    compatibleVersion: "2.0",
    arches: ["i386"] as const,
    libraries: { "com.apple.kpi.libkern": "9.0" },
  };

  it("pulls in a library whatever its OSBundleRequired, and says so", () => {
    const dir = folder([library, { id: "com.example.Driver", required: "Network-Root", arches: ["i386"], libraries: { "com.example.Library": "2.1" } }]);
    const selection = select([dir], { networkRoot: true });
    expect(ids(selection)).toEqual(["com.example.Driver", "com.example.Library"]);
    expect(selection.kexts.find(({ kext }) => kext.bundleId === "com.example.Library")!.reason).toBe("library of com.example.Driver");
    expect(selection.notes).toEqual([
      expect.stringMatching(
        /^added com\.example\.Library 2\.5 \(.*Library\.kext\): library of com\.example\.Driver \(its OSBundleRequired, none, would have left it out\)$/,
      ),
    ]);
  });

  it("follows libraries of libraries", () => {
    const dir = folder([
      { id: "com.example.A", required: "Root", arches: ["i386"], libraries: { "com.example.B": "1.0" } },
      { id: "com.example.B", compatibleVersion: "1.0", arches: ["i386"], libraries: { "com.example.C": "1.0" } },
      { id: "com.example.C", compatibleVersion: "1.0" },
    ]);
    expect(ids(select([dir], { localRoot: true }))).toEqual(["com.example.A", "com.example.B", "com.example.C"]);
  });

  it("treats KPIs as provided by the kernel when System.kext is absent, and includes System.kext's plug-ins when present", () => {
    const driver = {
      id: "com.example.Driver",
      required: "Root",
      arches: ["i386"] as const,
      libraries: { "com.apple.kpi.bsd": "9.0", "com.apple.kernel.6.0": "7.9.9" },
    };
    expect(ids(select([folder([driver])], { localRoot: true }))).toEqual(["com.example.Driver"]);
    const extensions = writeSnowLeopardExtensions(scratch());
    const withSystem = select([extensions, folder([{ ...driver, libraries: { "com.apple.kpi.bsd": "9.0" } }])], { safeBoot: true });
    expect(ids(withSystem)).toContain("com.apple.kpi.bsd");
  });

  it("fails naming both kexts when a library is missing", () => {
    const dir = folder([{ id: "com.example.Driver", required: "Root", version: "3.0", arches: ["i386"], libraries: { "com.example.Absent": "1.0" } }]);
    expect(() => select([dir])).toThrow(KextDependencyError);
    expect(() => select([dir])).toThrow(
      /com\.example\.Driver 3\.0 \(.*Driver\.kext\) needs library com\.example\.Absent 1\.0, which is in none of the folders and kexts given; add the folder or \.kext that provides it/,
    );
  });

  it("fails when the library is too old, too new, or declares no compatible version", () => {
    const cases: [FakeKext, string][] = [
      [{ ...library, version: "2.0" }, "but com.example.Library 2.0 (PATH) is older than 2.1"],
      [
        { ...library, compatibleVersion: "2.2" },
        "but com.example.Library 2.5 (PATH) is only compatible back to 2.2 (OSBundleCompatibleVersion), newer than the 2.1 required",
      ],
      [{ ...library, compatibleVersion: undefined }, "but com.example.Library 2.5 (PATH) has no OSBundleCompatibleVersion, so nothing can link against it"],
    ];
    for (const [variant, message] of cases) {
      const dir = folder([variant, { id: "com.example.Driver", required: "Root", arches: ["i386"], libraries: { "com.example.Library": "2.1" } }]);
      const expected = `com.example.Driver 1.0.0 (${join(dir, "Driver.kext")}) needs library com.example.Library 2.1, ${message.replace("PATH", join(dir, "Library.kext"))}`;
      expect(() => select([dir])).toThrow(expected);
    }
  });

  it("reports a library that exists but lacks code for the architecture", () => {
    const dir = folder([
      { ...library, arches: ["x86_64"] },
      { id: "com.example.Driver", required: "Root", arches: ["i386"], libraries: { "com.example.Library": "2.1" } },
    ]);
    expect(() => select([dir])).toThrow(/needs library com\.example\.Library 2\.1, but .*Library\.kext has no i386 code \(its executable holds x86_64\)/);
  });
});

describe("architectures", () => {
  it("takes the slice of a fat executable and skips kexts without code for the architecture, keeping codeless ones", () => {
    const dir = folder([
      { id: "com.example.fat", arches: ["ppc", "i386", "x86_64"], libraries: {}, executableSize: 5000 },
      { id: "com.example.ppconly", arches: ["ppc"], libraries: {} },
      { id: "com.example.codeless" },
    ]);
    const i386 = select([dir], { arch: "i386" });
    expect(ids(i386)).toEqual(["com.example.codeless", "com.example.fat"]);
    const fat = i386.kexts.find(({ kext }) => kext.bundleId === "com.example.fat")!;
    expect(fat.executable!.readUInt32LE(0)).toBe(0xfeedface);
    expect(fat.executable!.readUInt32LE(4)).toBe(7);
    expect(fat.executable!.length).toBe(5016);
    expect(i386.notes).toEqual([expect.stringMatching(/^skipped com\.example\.ppconly 1\.0\.0 \(.*\): has no i386 code \(its executable holds ppc\)$/)]);
    const x64 = select([dir], { arch: "x86_64" }).kexts.find(({ kext }) => kext.bundleId === "com.example.fat")!;
    expect(x64.executable!.readUInt32LE(0)).toBe(0xfeedfacf);
    expect(x64.executable!.length).toBe(5032);
  });
});

describe("mkext build with nothing usable", () => {
  it("lists why every kext of the folder was skipped, the first few with a count of the rest", () => {
    const dir = folder([
      { id: "com.example.a", version: "one" },
      { id: "com.example.b", version: "two" },
      { id: "com.example.c", required: "Network" },
      { id: "com.example.d", arches: ["i386"] },
      { id: "com.example.e", version: "five" },
    ]);
    let message = "";
    try {
      buildMkext({ paths: [dir], format: 2, arch: "i386", networkRoot: true });
    } catch (error) {
      expect(error).toBeInstanceOf(DarwinInputError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^no kexts selected for i386: all 5 kexts found are invalid and were skipped:\n/);
    expect(message).toMatch(/\n {2}- .*\/a\.kext: CFBundleVersion "one" is not a kext version/);
    expect(message).toMatch(/\n {2}- .*\/b\.kext: CFBundleVersion "two"/);
    expect(message).toMatch(/\n {2}- .*\/c\.kext: OSBundleRequired is "Network"/);
    expect(message).toContain("\n  … and 2 more");
    expect(message).not.toContain("left out all 0");
    expect(message).toMatch(/fix or replace those kexts, or check the paths$/);
  });

  it("names the folder when it holds no kexts at all", () => {
    const dir = folder([]);
    expect(() => buildMkext({ paths: [dir], format: 2, arch: "i386" })).toThrow(`no kexts selected for i386: ${dir} holds no .kext bundles; check the paths`);
  });

  it("counts the kexts the OSBundleRequired filter left out beside the invalid ones", () => {
    const dir = folder([{ id: "com.example.plain" }, { id: "com.example.broken", version: "x" }]);
    expect(() => buildMkext({ paths: [dir], format: 2, arch: "i386", networkRoot: true })).toThrow(
      /^no kexts selected for i386: 1 of the kexts found is invalid and was skipped:\n {2}- .*broken\.kext: .*; 1 left out by the OSBundleRequired filter \(Network-Root, Root, Console\)\nwiden the filter/,
    );
  });
});
