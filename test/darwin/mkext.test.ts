import { cpSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { adler32 } from "../../lib/darwin/adler32";
import { buildMkext, buildMkextParallel } from "../../lib/darwin/build";
import { parseInfoPlist, parsePlistXml } from "../../lib/darwin/plist-xml";
import {
  MKEXT_VERSION_1,
  MKEXT_VERSION_2,
  MkextFormatError,
  readMkext,
  writeMkext,
  writeMkextParallel,
  type MkextFormat,
  type MkextKextInput,
} from "../../lib/darwin/mkext";
import { fakeThinMachO, infoPlistText, prng, scratchDir, writeKext, writeSnowLeopardExtensions, type FakeArch, type FakeKext } from "./fixtures";

const scratch = scratchDir("mkext");
afterAll(scratch.cleanup);

function kextInput(kext: FakeKext, executable: Buffer | null): MkextKextInput {
  const infoPlist = Buffer.from(infoPlistText(kext, executable ? "exe" : undefined));
  return { infoPlist, info: parseInfoPlist(infoPlist, kext.id), bundlePath: `/System/Library/Extensions/${kext.id}.kext`, executable };
}

function sampleKexts(arch: FakeArch): MkextKextInput[] {
  return [
    kextInput({ id: "com.example.first", version: "1.2", required: "Root", libraries: { "com.apple.kpi.iokit": "9.0" } }, fakeThinMachO(arch, 20_000, 1)),
    kextInput({ id: "com.example.codeless", required: "Root" }, null),
    kextInput({ id: "com.example.second", extraXml: "<key>Escapes</key><string>a &lt; b &amp;&amp; c</string>" }, fakeThinMachO(arch, 9_000, 2)),
  ];
}

/** Recomputes the checksum after a deliberate edit, so the reader gets past it to the check under test. */
function reseal(archive: Buffer, sliceOffset = 0): Buffer {
  const length = archive.readUInt32BE(sliceOffset + 8);
  archive.writeUInt32BE(adler32(archive.subarray(sliceOffset + 16, sliceOffset + length)), sliceOffset + 12);
  return archive;
}

function readError(archive: Buffer): MkextFormatError {
  try {
    readMkext(archive);
  } catch (error) {
    if (error instanceof MkextFormatError) return error;
    throw error;
  }
  throw new Error("expected the archive to be rejected");
}

describe.each([1, 2] as MkextFormat[])("format %i round trip", (format) => {
  const input = sampleKexts("i386");
  const archive = writeMkext(format, [{ arch: "i386", kexts: input }]);

  it("writes the core header", () => {
    expect(archive.subarray(0, 8).toString("latin1")).toBe("MKXTMOSX");
    expect(archive.readUInt32BE(8)).toBe(archive.length);
    expect(archive.readUInt32BE(12)).toBe(adler32(archive.subarray(16)));
    expect(archive.readUInt32BE(16)).toBe(format === 1 ? MKEXT_VERSION_1 : MKEXT_VERSION_2);
    expect(archive.readUInt32BE(20)).toBe(3);
    expect([archive.readUInt32BE(24), archive.readUInt32BE(28)]).toEqual([7, 3]);
  });

  it("reads back every kext's plist and executable", () => {
    const read = readMkext(archive);
    expect(read.fat).toBe(false);
    expect(read.slices).toHaveLength(1);
    const [slice] = read.slices;
    expect(slice).toMatchObject({ format, arch: "i386", cputype: 7, length: archive.length, fileOffset: 0 });
    slice!.kexts.forEach((kext, index) => {
      expect(kext.bundleId).toBe(input[index]!.info.CFBundleIdentifier);
      expect(kext.executable?.equals(input[index]!.executable!) ?? null).toBe(input[index]!.executable ? true : null);
      const { _MKEXTBundlePath, _MKEXTExecutable, ...rest } = kext.info;
      expect(rest).toEqual(input[index]!.info);
      expect(kext.bundlePath).toBe(format === 2 ? input[index]!.bundlePath : null);
      expect(_MKEXTBundlePath).toBe(format === 2 ? input[index]!.bundlePath : undefined);
      expect(typeof _MKEXTExecutable).toBe(format === 2 && input[index]!.executable ? "bigint" : "undefined");
    });
    expect(read.kexts).toEqual([
      {
        bundleId: "com.example.first",
        version: "1.2",
        required: "Root",
        bundlePath: format === 2 ? "/System/Library/Extensions/com.example.first.kext" : null,
        executableSizes: { i386: 20_000 },
      },
      {
        bundleId: "com.example.codeless",
        version: "1.0.0",
        required: "Root",
        bundlePath: format === 2 ? "/System/Library/Extensions/com.example.codeless.kext" : null,
        executableSizes: null,
      },
      {
        bundleId: "com.example.second",
        version: "1.0.0",
        required: null,
        bundlePath: format === 2 ? "/System/Library/Extensions/com.example.second.kext" : null,
        executableSizes: { i386: 9_000 },
      },
    ]);
  });

  it("stores an incompressible executable raw and still reads it", () => {
    const random = prng(5);
    const noise = fakeThinMachO("i386", 32);
    const executable = Buffer.concat([noise, Buffer.from(Array.from({ length: 30_000 }, () => Math.floor(random() * 256)))]);
    const raw = writeMkext(format, [{ arch: "i386", kexts: [kextInput({ id: "com.example.noise" }, executable)] }]);
    expect(readMkext(raw).slices[0]!.kexts[0]!.executable!.equals(executable)).toBe(true);
    if (format === 1)
      expect(raw.readUInt32BE(32 + 16 + 4)).toBe(0); // compsize 0 = stored
    else {
      const entry = Number(readMkext(raw).slices[0]!.kexts[0]!.info._MKEXTExecutable);
      expect([raw.readUInt32BE(entry), raw.readUInt32BE(entry + 4)]).toEqual([0, executable.length]);
      expect(raw.subarray(entry + 8, entry + 8 + executable.length).equals(executable)).toBe(true);
    }
  });
});

describe("format 1 layout", () => {
  const archive = writeMkext(1, [{ arch: "i386", kexts: sampleKexts("i386") }]);

  it("places data right after the table, zeroes the codeless kext's executable descriptor and every modifiedsecs", () => {
    expect(archive.readUInt32BE(32)).toBe(32 + 3 * 32);
    expect(archive.subarray(32 + 32 + 16, 32 + 64).equals(Buffer.alloc(16))).toBe(true);
    for (const at of [32, 48, 64, 96, 112]) expect(archive.readUInt32BE(at + 12)).toBe(0);
  });

  it("reads the 10.6 kextcache layout with a spare zero slot between table and data", () => {
    const tableEnd = 32 + 3 * 32;
    const shifted = Buffer.concat([archive.subarray(0, tableEnd), Buffer.alloc(32), archive.subarray(tableEnd)]);
    for (let at = 32; at < tableEnd; at += 16) if (shifted.readUInt32BE(at)) shifted.writeUInt32BE(shifted.readUInt32BE(at) + 32, at);
    shifted.writeUInt32BE(shifted.length, 8);
    expect(readMkext(reseal(shifted)).kexts.map((kext) => kext.bundleId)).toEqual(["com.example.first", "com.example.codeless", "com.example.second"]);
  });
});

describe("format 2 layout", () => {
  const archive = writeMkext(2, [{ arch: "x86_64", kexts: sampleKexts("x86_64") }]);

  it("writes an IOKit XML plist with a NUL, after the executables", () => {
    const plistOffset = archive.readUInt32BE(32);
    const plist = inflateSync(archive.subarray(plistOffset, plistOffset + archive.readUInt32BE(36)));
    expect(plist.length).toBe(archive.readUInt32BE(40));
    expect(plist[plist.length - 1]).toBe(0);
    const text = plist.subarray(0, -1).toString("utf8");
    expect(text.startsWith("<dict><key>_MKEXTInfoDictionaries</key><array>")).toBe(true);
    expect(text).toContain('<key>_MKEXTExecutable</key><integer size="64">0x2c</integer>');
    expect(text).toContain("<string>a &lt; b &amp;&amp; c</string>");
    expect(plistOffset + archive.readUInt32BE(36)).toBe(archive.length);
  });
});

describe("fat archives", () => {
  const archive = writeMkext(2, [
    { arch: "i386", kexts: sampleKexts("i386") },
    { arch: "x86_64", kexts: sampleKexts("x86_64").slice(0, 2) },
  ]);

  it("wraps thin slices in a fat header whose cputypes match the slices", () => {
    expect(archive.readUInt32BE(0)).toBe(0xcafebabe);
    expect(archive.readUInt32BE(4)).toBe(2);
    const read = readMkext(archive);
    expect(read.fat).toBe(true);
    expect(read.slices.map((slice) => [slice.arch, slice.fileOffset, slice.kexts.length])).toEqual([
      ["i386", 48, 3],
      ["x86_64", 48 + archive.readUInt32BE(8 + 12), 2],
    ]);
    expect(read.kexts.find((kext) => kext.bundleId === "com.example.first")!.executableSizes).toEqual({ i386: 20_000, x86_64: 20_000 });
    expect(read.kexts.find((kext) => kext.bundleId === "com.example.second")!.executableSizes).toEqual({ i386: 9_000 });
  });

  it("rejects a slice outside the file and a slice whose header disagrees with the fat header", () => {
    const truncated = archive.subarray(0, archive.length - 10);
    expect(readError(truncated).message).toMatch(
      /^mkext is invalid at file offset 0x28: fat architecture 1 \(x86_64\) spans 0x[0-9a-f]+…0x[0-9a-f]+ but the file is only 0x[0-9a-f]+ bytes$/,
    );
    const swapped = Buffer.from(archive);
    swapped.writeUInt32BE(0x01000007, 8);
    swapped.writeUInt32BE(7, 28);
    expect(readError(swapped).message).toBe("mkext is invalid at file offset 0x48: the fat header lists this slice as x86_64 but its mkext header says i386");
  });
});

describe("determinism", () => {
  it("builds identical bytes twice, and from a copy of the tree elsewhere", () => {
    const extensions = writeSnowLeopardExtensions(join(scratch.dir, "a"));
    const copy = join(scratch.dir, "b", "System", "Library", "Extensions");
    cpSync(extensions, copy, { recursive: true });
    for (const format of [1, 2] as const) {
      const options = { format, arch: ["i386", "x86_64"] as const, networkRoot: true };
      const first = buildMkext({ ...options, paths: [extensions] }).archive;
      expect(buildMkext({ ...options, paths: [extensions] }).archive.equals(first)).toBe(true);
      expect(buildMkext({ ...options, paths: [copy] }).archive.equals(first)).toBe(true);
    }
  });

  // The sequential writer is the reference: compressing on the thread pool must not change a byte.
  it.each([
    ["thin", "i386"],
    ["fat", ["i386", "x86_64"]],
  ] as const)("writes the same %s archives when kexts are compressed side by side", async (_, arch) => {
    const extensions = writeSnowLeopardExtensions(join(scratch.dir, `parallel-${typeof arch === "string" ? arch : arch.join("-")}`));
    for (const format of [1, 2] as const) {
      for (const filter of [{ networkRoot: true }, { localRoot: true }, {}]) {
        const options = { paths: [extensions], format, arch, ...filter };
        const parallel = await buildMkextParallel(options);
        expect(parallel).toEqual(buildMkext(options));
      }
    }
  });

  it("keeps large and incompressible executables identical when compressed side by side", async () => {
    const slices = (["i386", "x86_64"] as const).map((arch) => ({
      arch,
      kexts: [
        ...sampleKexts(arch),
        kextInput({ id: "com.example.large" }, fakeThinMachO(arch, 3_000_000, 7)),
        kextInput({ id: "com.example.noise" }, Buffer.concat([fakeThinMachO(arch, 32), randomBytes(200_000)])),
      ],
    }));
    const parallel = await writeMkextParallel(2, slices);
    expect(parallel.equals(writeMkext(2, slices))).toBe(true);
    expect(readMkext(parallel).slices.map((slice) => slice.kexts.length)).toEqual([5, 5]);
  });
});

describe("Info.plist corner cases through an archive", () => {
  const extraXml = `
    <!-- a comment between entries -->
    <key>Quoted &amp; &lt;escaped&gt; &#x263A;</key><string>it&apos;s <![CDATA[<raw>]]> &quot;fine&quot;</string>
    <key>HexScore</key><integer>0x3e8</integer>
    <key>Negative</key><integer>-2</integer>
    <key>Wide</key><integer>0xfffffffffffffff0</integer>
    <key>Blob</key><data>3q2+7w==</data>
    <key>Empty</key><string/>`;

  it("keeps the exact values in format 2 and the exact bytes in format 1", () => {
    const dir = join(scratch.dir, "corner");
    const bundle = writeKext(dir, { id: "com.example.corner", required: "Root", arches: ["i386"], libraries: {}, extraXml });
    for (const format of [1, 2] as const) {
      const [kext] = readMkext(buildMkext({ paths: [dir], format, arch: "i386" }).archive).slices[0]!.kexts;
      expect(kext!.info).toMatchObject({
        "Quoted & <escaped> \u263a": `it's <raw> "fine"`,
        HexScore: 1000n,
        // IOKit XML writes integers as 64-bit hex, which the kernel (and our reader) reads unsigned.
        Negative: format === 1 ? -2n : 2n ** 64n - 2n,
        Wide: 0xfffffffffffffff0n,
        Blob: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
        Empty: "",
      });
      if (format === 1)
        expect(readMkext(buildMkext({ paths: [dir], format, arch: "i386" }).archive).slices[0]!.kexts[0]!.info).toEqual(
          parseInfoPlist(readFileSync(join(bundle, "Contents", "Info.plist")), "x"),
        );
    }
  });
});

describe("booter limits", () => {
  it("warns about an archive larger than boot-132's 24 MiB", () => {
    const executable = Buffer.concat([fakeThinMachO("i386", 32), randomBytes(24 * 1024 * 1024)]);
    const archive = writeMkext(1, [{ arch: "i386", kexts: [kextInput({ id: "com.example.huge" }, executable)] }]);
    expect(readMkext(archive).warnings).toEqual([
      "the i386 slice is 24.0 MiB; boot-132-based PXE booters refuse mkexts over 24 MiB (Chameleon over 64 MiB): build with a narrower filter or fewer kexts",
    ]);
    expect(readMkext(writeMkext(1, [{ arch: "i386", kexts: sampleKexts("i386") }])).warnings).toEqual([]);
  });
});

describe("corrupt archives", () => {
  const v1 = () => writeMkext(1, [{ arch: "i386", kexts: sampleKexts("i386") }]);
  const v2 = () => writeMkext(2, [{ arch: "i386", kexts: sampleKexts("i386") }]);

  /** Rebuilds a format 2 archive around an edited, uncompressed plist. */
  function withPlist(edit: (text: string) => string): Buffer {
    const archive = v2();
    const plistOffset = archive.readUInt32BE(32);
    const text = inflateSync(archive.subarray(plistOffset)).toString("utf8");
    const plist = Buffer.from(edit(text), "utf8");
    const rebuilt = Buffer.concat([archive.subarray(0, plistOffset), plist]);
    rebuilt.writeUInt32BE(rebuilt.length, 8);
    rebuilt.writeUInt32BE(0, 36);
    rebuilt.writeUInt32BE(plist.length, 40);
    return reseal(rebuilt);
  }

  const cases: [string, () => Buffer, string | RegExp][] = [
    ["a file shorter than the header", () => v1().subarray(0, 20), "at file offset 0x0: file is 20 bytes, shorter than the 32-byte mkext header"],
    [
      "a bad magic",
      () => Buffer.concat([Buffer.from("XXXX"), v1().subarray(4)]),
      'at file offset 0x0: magic is 0x58585858 ("XXXX"), expected 0x4d4b5854 ("MKXT"); this is not an mkext',
    ],
    [
      "a bad signature",
      () => Buffer.concat([Buffer.from("MKXTMOSY"), v1().subarray(8)]),
      'at file offset 0x4: signature is 0x4d4f5359, expected 0x4d4f5358 ("MOSX")',
    ],
    ["a truncated file", () => v1().subarray(0, 500), /at file offset 0x8: header length is \d+ bytes but the file is 500 bytes \(truncated\)/],
    [
      "trailing data",
      () => Buffer.concat([v2(), Buffer.alloc(3)]),
      /at file offset 0x8: header length is \d+ bytes but the file is \d+ bytes \(trailing data\)/,
    ],
    [
      "a flipped data byte",
      () => {
        const a = v1();
        a[a.length - 100] ^= 1;
        return a;
      },
      /at file offset 0xc: Adler-32 checksum is 0x[0-9a-f]+ but bytes 0x10…0x[0-9a-f]+ sum to 0x[0-9a-f]+; the archive is corrupt/,
    ],
    [
      "an unknown version",
      () => {
        const a = v1();
        a.writeUInt32BE(0x02008000, 16);
        return reseal(a);
      },
      "at file offset 0x10: version is 0x2008000; the kernel accepts only 0x1008000 (format 1) and 0x2002001 (format 2)",
    ],
    [
      "an unknown cputype",
      () => {
        const a = v1();
        a.writeUInt32BE(12, 24);
        return reseal(a);
      },
      "at file offset 0x18: cputype 0xc is not i386, x86_64, ppc, ppc64 or any",
    ],
    [
      "format 2 with cputype any",
      () => {
        const a = v2();
        a.writeUInt32BE(0xffffffff, 24);
        return reseal(a);
      },
      "at file offset 0x18: format 2 archives must name one CPU type; the 10.6 kernel rejects cputype any",
    ],
    [
      "a table running past the end",
      () => {
        const a = v1();
        a.writeUInt32BE(100_000, 20);
        return reseal(a);
      },
      /at file offset 0x14: header declares 100000 kexts but their 3200000-byte table would end at 0x30d420, past the end of the archive/,
    ],
    [
      "an entry offset inside the table",
      () => {
        const a = v1();
        a.writeUInt32BE(40, 32);
        return reseal(a);
      },
      "at file offset 0x20: kext 0 plist starts at 0x28, inside the header/table (data starts at 0x80)",
    ],
    [
      "an entry past the end",
      () => {
        const a = v1();
        a.writeUInt32BE(a.length - 10, 48);
        return reseal(a);
      },
      /at file offset 0x30: kext 0 executable spans 0x[0-9a-f]+…0x[0-9a-f]+, past the end of the archive \(0x[0-9a-f]+\); truncated or bad offset/,
    ],
    [
      "overlapping entries",
      () => {
        const a = v1();
        a.writeUInt32BE(a.readUInt32BE(32) + 4, 96);
        return reseal(a);
      },
      /kext 2 plist \(0x84…0x[0-9a-f]+\) overlaps kext 0 plist \(0x80…0x[0-9a-f]+\)/,
    ],
    [
      "a wrong decompressed size",
      () => {
        const a = v1();
        a.writeUInt32BE(a.readUInt32BE(56) + 1, 56);
        return reseal(a);
      },
      /at file offset 0x38: kext 0 \(com\.example\.first\) executable: LZSS data at 0x[0-9a-f]+ expands to 20000 bytes but the descriptor says 20001/,
    ],
    [
      "an executable of another architecture",
      () => writeMkext(1, [{ arch: "i386", kexts: [kextInput({ id: "com.example.x" }, fakeThinMachO("x86_64", 100))] }]),
      "kext 0 (com.example.x) executable is x86_64 code in an archive for i386",
    ],
    [
      "an executable that is not Mach-O",
      () => writeMkext(2, [{ arch: "i386", kexts: [kextInput({ id: "com.example.x" }, Buffer.from("#!/bin/sh\necho hi\n"))] }]),
      "kext 0 (com.example.x) executable is not a Mach-O file (starts with 23212f62)",
    ],
    [
      "an unparseable format 1 plist",
      () =>
        writeMkext(1, [
          { arch: "i386", kexts: [{ ...kextInput({ id: "com.example.x" }, null), infoPlist: Buffer.from("<plist><dict><key>a</key></dict></plist>") }] },
        ]),
      "at file offset 0x20: kext 0 plist: line 1, column 26: <key>a</key> has no value",
    ],
    [
      "a format 2 plist without its NUL",
      () => withPlist((text) => text.slice(0, -1)),
      "at file offset 0x28: plist is not NUL-terminated; the kernel parses it in place and needs the NUL",
    ],
    ["a format 2 plist without _MKEXTInfoDictionaries", () => withPlist(() => "<dict></dict>\0"), "plist has no _MKEXTInfoDictionaries array"],
    [
      "a format 2 plist with bad XML",
      () => withPlist((text) => text.replace("<array>", "<arrray>")),
      /mkext plist: line 1, column \d+: unknown element <arrray>/,
    ],
    [
      "an executable offset outside the archive",
      () => withPlist((text) => text.replace('<integer size="64">0x2c</integer>', '<integer size="64">0x7fffffff</integer>')),
      /kext 0 \(com\.example\.first\): _MKEXTExecutable \(2147483647\) is not an offset inside the archive/,
    ],
    [
      "two kexts sharing one executable entry",
      () =>
        withPlist((text) => text.replace(/(<key>_MKEXTExecutable<\/key><integer size="64">)0x[0-9a-f]+(<\/integer>)(?![\s\S]*_MKEXTExecutable)/, "$10x2c$2")),
      /kext 2 \(com\.example\.second\) executable entry \(0x2c…0x[0-9a-f]+\) overlaps kext 0 \(com\.example\.first\) executable entry \(0x2c…0x[0-9a-f]+\)/,
    ],
    [
      "a corrupt zlib stream",
      () => {
        const a = v2();
        a.fill(0x55, 44 + 8 + 20, 44 + 8 + 40);
        return reseal(a);
      },
      /at file offset 0x2c: kext 0 \(com\.example\.first\) executable: zlib data at 0x34 is corrupt \(/,
    ],
    [
      "an executable bigger than its header says",
      () => {
        const a = v2();
        a.writeUInt32BE(19_000, 48);
        return reseal(a);
      },
      "at file offset 0x2c: kext 0 (com.example.first) executable: zlib data at 0x34 inflates to more than the 19000 bytes its header states",
    ],
    [
      "a kext count that disagrees with the plist",
      () => {
        const a = v2();
        a.writeUInt32BE(2, 20);
        return reseal(a);
      },
      "at file offset 0x14: header counts 2 kexts but the plist describes 3",
    ],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what}`, () => {
      const error = readError(make());
      if (typeof message === "string") expect(error.message).toContain(message);
      else expect(error.message).toMatch(message);
    });
  }

  it("accepts what the corruption cases start from", () => {
    expect(() => readMkext(v1())).not.toThrow();
    expect(() => readMkext(v2())).not.toThrow();
    expect(
      parsePlistXml(
        inflateSync(v2().subarray(v2().readUInt32BE(32)))
          .toString("utf8")
          .slice(0, -1),
        "p",
      ),
    ).toBeTruthy();
    expect(deflateSync(Buffer.from("x")).length).toBeGreaterThan(0);
  });
});
