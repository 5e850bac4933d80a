import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { adler32 } from "../../lib/darwin/adler32";
import { lzssDecode, lzssEncode } from "../../lib/darwin/lzss";
import { fakeThinMachO, prng } from "./fixtures";

/** Adler-32 straight from RFC 1950, reducing after every byte: slow but obviously right. */
function referenceAdler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function randomBytes(length: number, seed: number): Buffer {
  const random = prng(seed);
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

describe("adler32", () => {
  it("matches published values", () => {
    expect(adler32(Buffer.alloc(0))).toBe(1);
    expect(adler32(Buffer.from("a"))).toBe(0x00620062);
    expect(adler32(Buffer.from("abc"))).toBe(0x024d0127);
    expect(adler32(Buffer.from("Wikipedia"))).toBe(0x11e60398);
  });

  it("agrees with the RFC definition and with zlib's trailer across block and unroll boundaries", () => {
    for (const length of [1, 7, 8, 9, 5551, 5552, 5553, 100_000]) {
      const allOnes = Buffer.alloc(length, 0xff); // largest sums: the overflow case
      const random = randomBytes(length, length);
      for (const bytes of [allOnes, random]) {
        const zlibTrailer = deflateSync(bytes).readUInt32BE(deflateSync(bytes).length - 4);
        expect(adler32(bytes), `length ${length}`).toBe(referenceAdler32(bytes));
        expect(adler32(bytes)).toBe(zlibTrailer);
      }
    }
  });

  it("continues a running checksum from a seed", () => {
    const bytes = randomBytes(20_000, 3);
    expect(adler32(bytes.subarray(12_345), adler32(bytes.subarray(0, 12_345)))).toBe(adler32(bytes));
  });
});

describe("LZSS", () => {
  it("decodes the worked vector: literal, overlapping run, reference into the space fill, literals", () => {
    const stream = Buffer.from("7941eef10002424344 45".replace(/ /g, ""), "hex");
    const { output, consumed } = lzssDecode(stream, 14);
    expect(output.toString("latin1")).toBe("AAAAA     BCDE");
    expect(consumed).toBe(stream.length);
  });

  it("stops at the expected size and reports how much of the stream it used", () => {
    const stream = Buffer.from("7941eef10002424344 45".replace(/ /g, ""), "hex");
    const { output, consumed } = lzssDecode(stream, 6);
    expect(output.toString("latin1")).toBe("AAAAA ");
    expect(consumed).toBeLessThan(stream.length);
  });

  it("produces less than expected from a truncated stream, including a reference cut in half", () => {
    const encoded = lzssEncode(Buffer.from("abcabcabcabcabcabc-abcabcabcabc"));
    const { output } = lzssDecode(encoded.subarray(0, encoded.length - 1), 31);
    expect(output.length).toBeLessThan(31);
  });

  it("encodes a run as a literal plus one self-overlapping reference", () => {
    const encoded = lzssEncode(Buffer.from("AAAAAAAAAA"));
    // flag 0b01 (literal, reference), 'A', ring 4078 = 0xFEE, length 9 → b1 = 0xF0 | 6
    expect(encoded.toString("hex")).toBe("0141eef6");
  });

  it("writes every byte as a literal when nothing repeats, with zero bits for unused tokens", () => {
    const encoded = lzssEncode(Buffer.from("abc"));
    expect(encoded.toString("hex")).toBe("07616263");
  });

  const cases: [string, Buffer][] = [
    ["empty", Buffer.alloc(0)],
    ["one byte", Buffer.from([0x42])],
    ["random (incompressible)", randomBytes(50_000, 7)],
    ["zeros", Buffer.alloc(100_000)],
    ["spaces (the ring's preset value)", Buffer.alloc(10_000, 0x20)],
    ["text", Buffer.from("The quick brown fox jumps over the lazy dog. ".repeat(500))],
    ["Mach-O-like", fakeThinMachO("i386", 300_000, 9)],
    [
      "repeats just inside and beyond the 4 KiB window",
      Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.concat([randomBytes(4070 + (i % 20), i), Buffer.from("marker-string-repeated")]))),
    ],
  ];
  for (const [name, input] of cases) {
    it(`round-trips ${name}`, () => {
      const encoded = lzssEncode(input);
      const { output, consumed } = lzssDecode(encoded, input.length);
      expect(output.equals(input)).toBe(true);
      expect(consumed).toBe(encoded.length);
      // Worst case is one flag byte per 8 literals.
      expect(encoded.length).toBeLessThanOrEqual(input.length + Math.ceil(input.length / 8));
    });
  }

  it("compresses repetitive data well and is deterministic", () => {
    const text = Buffer.from("IOKitPersonalities IOPCIMatch IOProviderClass IOPCIDevice ".repeat(2000));
    expect(lzssEncode(text).length).toBeLessThan(text.length * 0.15);
    const machO = fakeThinMachO("x86_64", 200_000, 4);
    const first = lzssEncode(machO);
    expect(first.length).toBeLessThan(machO.length * 0.9);
    expect(lzssEncode(machO).equals(first)).toBe(true);
  });
});
