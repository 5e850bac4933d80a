import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BSDP_IMAGE_NAME_MAX,
  BsdpDecodeError,
  bsdpClientClass,
  decodeBsdpOptions,
  encodeBsdpOptions,
  parseBsdpClientClass,
  readBsdpOptions,
  type BsdpOptions,
} from "../../lib/bsdp/codec";
import { bsdpImageAttributes, bsdpImageId, bsdpImageIdentity, defaultImageIndex, formatImageId } from "../../lib/bsdp/image-id";
import { clientRequest, encodeDhcpPacket, type DhcpOption } from "../../lib/net/dhcp";
import { bytes } from "../support/bytes";

const payloads = (instances: readonly DhcpOption[]) => instances.map((instance) => Buffer.from(instance.data));

/** darwin-netboot-formats.md §4.8: two images, priority 0x8000, default and selected set. */
const TWO_IMAGE_LIST: BsdpOptions = {
  messageType: "LIST",
  serverPriority: 0x8000,
  defaultImage: 0x81001001,
  selectedImage: 0x01000002,
  bootImages: [
    { id: 0x81001001, name: "Leopard NetInstall" },
    { id: 0x01000002, name: "Darwin 10" },
  ],
};
const TWO_IMAGE_BYTES = bytes(
  "01 01 01",
  "04 02 80 00",
  "07 04 81 00 10 01",
  "08 04 01 00 00 02",
  '09 25 81 00 10 01 12 "Leopard NetInstall"',
  '01 00 00 02 09 "Darwin 10"',
);

describe("BSDP sub-options: known byte vectors", () => {
  it("writes the formats doc's two-image ACK[LIST] byte for byte, in one option-43 instance", () => {
    const instances = encodeBsdpOptions(TWO_IMAGE_LIST);
    expect(instances.map((instance) => instance.code)).toEqual([43]);
    expect(payloads(instances)).toEqual([TWO_IMAGE_BYTES]);
  });

  it("reads the formats doc's two-image ACK[LIST]", () => {
    expect(decodeBsdpOptions([TWO_IMAGE_BYTES])).toEqual(TWO_IMAGE_LIST);
  });

  it("writes a Startup Disk INFORM[LIST]: version 1.1, reply port 892, max message size 8192", () => {
    const instances = encodeBsdpOptions({ messageType: "LIST", version: 0x0101, replyPort: 892, maxMessageSize: 8192 });
    expect(payloads(instances)).toEqual([bytes("01 01 01", "02 02 01 01", "05 02 03 7c", "0c 02 20 00")]);
  });

  it("writes an INFORM[SELECT] naming the server and the image, and an ACK[SELECT] with the machine name", () => {
    expect(payloads(encodeBsdpOptions({ messageType: "SELECT", version: 0x0101, serverIdentifier: "10.0.0.28", selectedImage: 0x81001001 }))).toEqual([
      bytes("01 01 02", "02 02 01 01", "03 04 0a 00 00 1c", "08 04 81 00 10 01"),
    ]);
    expect(payloads(encodeBsdpOptions({ messageType: "SELECT", selectedImage: 0x01000002, machineName: "mac1" }))).toEqual([
      bytes("01 01 02", "08 04 01 00 00 02", '82 04 "mac1"'),
    ]);
  });

  it("writes FAILED as the message type alone", () => {
    expect(payloads(encodeBsdpOptions({ messageType: "FAILED" }))).toEqual([bytes("01 01 03")]);
  });

  it("reads padding, stops an instance at 255, and reads the flag, filter and shadow sub-options", () => {
    const decoded = decodeBsdpOptions([
      bytes("00 00 01 01 01 0a 00 0b 04 81 00 01 00 ff 07 04 de ad be ef"),
      bytes('80 0d "afp://x@s/vol" 81 0b "mac1/Shadow"'),
    ]);
    expect(decoded).toEqual({
      messageType: "LIST",
      netboot10Firmware: true,
      attributesFilter: [0x8100, 0x0100],
      shadowMountPath: "afp://x@s/vol",
      shadowFilePath: "mac1/Shadow",
    });
  });
});

describe("BSDP sub-options: long image lists", () => {
  const images = Array.from({ length: 20 }, (_, index) => ({ id: 0x01000000 + index + 1, name: `Image ${index + 1} `.padEnd(40, "x") }));

  it("splits the list into several tag-9 sub-options in several option-43 instances, each holding whole descriptions", () => {
    const instances = encodeBsdpOptions({ messageType: "LIST", serverPriority: 1, bootImages: images });
    expect(instances.length).toBeGreaterThan(3);
    for (const instance of payloads(instances)) {
      expect(instance.length).toBeLessThanOrEqual(255);
      // Each instance is read on its own by the client: it must decode alone.
      expect(() => decodeBsdpOptions([instance])).not.toThrow();
    }
    expect(decodeBsdpOptions(payloads(instances)).bootImages).toEqual(images);
  });

  it("keeps the instances apart in the DHCP packet, and reads them back from its bytes", () => {
    const packet = encodeDhcpPacket({
      ...clientRequest({ mac: "00:50:56:00:00:28", parameterRequestList: [43, 60] }, { type: "DHCPDISCOVER" }, 1),
      options: encodeBsdpOptions({ messageType: "LIST", bootImages: images }),
    });
    expect(readBsdpOptions(packet)).toEqual({ messageType: "LIST", bootImages: images });
  });

  it("reads each instance on its own: an end tag in the first does not hide the second", () => {
    const packet = encodeDhcpPacket({
      ...clientRequest({ mac: "00:50:56:00:00:28", parameterRequestList: [] }, { type: "DHCPDISCOVER" }, 1),
      options: [
        { code: 43, data: bytes("01 01 01 ff") },
        { code: 43, data: bytes("04 02 00 07") },
      ],
    });
    expect(readBsdpOptions(packet)).toEqual({ messageType: "LIST", serverPriority: 7 });
  });

  it("returns undefined for a packet without option 43", () => {
    expect(
      readBsdpOptions(encodeDhcpPacket(clientRequest({ mac: "00:50:56:00:00:28", parameterRequestList: [] }, { type: "DHCPDISCOVER" }, 1))),
    ).toBeUndefined();
  });
});

describe("BSDP sub-options: malformed input is rejected with what is wrong", () => {
  const cases: [string, Buffer[], string][] = [
    [
      "a length past the end",
      [bytes("01 01 01 07 04 81 00")],
      "BSDP default boot image ID (tag 7) in option 43 says 4 bytes but 2 remain: it runs past the end",
    ],
    ["a tag without its length byte", [bytes("01 01 01 08")], "BSDP selected boot image ID (tag 8) in option 43 has no length byte: it runs past the end"],
    [
      "a tag BSDP does not define",
      [bytes("01 01 01"), bytes("2a 01 00")],
      "BSDP sub-option tag 42 at byte 0 in option 43 instance 2 of 2 is not one BSDP defines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 128, 129, 130)",
    ],
    [
      "an image name over 246 bytes",
      [Buffer.concat([bytes("09 fc 01 00 00 02 f7"), Buffer.alloc(247, 0x41)])],
      "BSDP boot image list: image 0x01000002 has a 247-byte name; BSDP allows at most 246",
    ],
    [
      "an image name past the end of the list",
      [bytes('09 09 01 00 00 02 09 "Darw"')],
      "BSDP boot image list: the name of image 0x01000002 is 9 bytes but the list ends 4 bytes after its start",
    ],
    ["a cut-short image entry", [bytes("09 03 01 00 00")], "BSDP boot image list: the entry at byte 0 needs 5 bytes (ID and name length) but 3 remain"],
    ["an image name that is not UTF-8", [bytes("09 07 01 00 00 02 02 c3 28")], "BSDP boot image list: the name of image 0x01000002 is not UTF-8 text (c328)"],
    ["an unknown message type", [bytes("01 01 04")], "BSDP message type is 4; expected 1 (LIST), 2 (SELECT) or 3 (FAILED)"],
    ["a wrong-sized integer", [bytes("05 01 44")], "BSDP reply port is 1 bytes long; expected 2"],
    ["a value on the NetBoot 1.0 flag", [bytes("0a 01 00")], "BSDP NetBoot 1.0 firmware is 1 bytes long; expected 0"],
    ["an odd-length attribute filter", [bytes("0b 03 81 00 01")], "BSDP image attributes filter list is 3 bytes long; expected a non-empty multiple of 2"],
    [
      "a sub-option sent twice",
      [bytes("01 01 01"), bytes("01 01 02")],
      "BSDP message type (tag 1) appears twice in option 43 instance 2 of 2; it may appear once",
    ],
  ];
  for (const [what, instances, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => decodeBsdpOptions(instances)).toThrow(new BsdpDecodeError(message));
    });
  }

  it("refuses to write an image name over 246 bytes or a machine name that does not fit a sub-option", () => {
    expect(() => encodeBsdpOptions({ bootImages: [{ id: 1, name: "é".repeat(124) }] })).toThrow(/is 248 bytes; BSDP allows at most 246/);
    expect(() => encodeBsdpOptions({ machineName: "m".repeat(254) })).toThrow(/machine name: "m+" is 254 bytes; a sub-option holds at most 253/);
    expect(() => encodeBsdpOptions({ replyPort: 70000 })).toThrow(/reply port: 70000 does not fit 2 byte\(s\)/);
  });
});

const uint = (bits: 16 | 32) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const nameOf = (maxBytes: number) => fc.string({ unit: "grapheme", maxLength: maxBytes }).filter((name) => Buffer.byteLength(name) <= maxBytes);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join("."));

const bsdpOptions: fc.Arbitrary<BsdpOptions> = fc.record(
  {
    messageType: fc.constantFrom("LIST", "SELECT", "FAILED" as const),
    version: uint(16),
    serverIdentifier: ipv4,
    serverPriority: uint(16),
    replyPort: uint(16),
    bootImageListPath: nameOf(253),
    defaultImage: uint(32),
    selectedImage: uint(32),
    bootImages: fc.array(fc.record({ id: uint(32), name: nameOf(BSDP_IMAGE_NAME_MAX) }), { maxLength: 30 }),
    netboot10Firmware: fc.constant(true),
    attributesFilter: fc.array(uint(16), { minLength: 1, maxLength: 40 }),
    maxMessageSize: uint(16),
    shadowMountPath: nameOf(253),
    shadowFilePath: nameOf(253),
    machineName: nameOf(253),
  },
  { requiredKeys: [] },
);

describe("BSDP sub-options: property-based round trips", () => {
  it("decodes what it encodes, in instances of at most 255 bytes that each decode alone", () => {
    fc.assert(
      fc.property(bsdpOptions, (options) => {
        const instances = payloads(encodeBsdpOptions(options));
        for (const instance of instances) {
          expect(instance.length).toBeLessThanOrEqual(255);
          decodeBsdpOptions([instance]);
        }
        const decoded = decodeBsdpOptions(instances);
        // An empty image list is sent as an empty tag-9 sub-option and reads back as such.
        expect(decoded).toEqual(options);
      }),
      { numRuns: 300, seed: 0x5eed },
    );
  });

  it("never throws anything but BsdpDecodeError on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 255 }), { maxLength: 3 }), (instances) => {
        try {
          decodeBsdpOptions(instances);
        } catch (error) {
          expect(error).toBeInstanceOf(BsdpDecodeError);
        }
      }),
      { numRuns: 2000, seed: 0x5eed },
    );
  });
});

describe("boot image IDs", () => {
  it("puts install and kind in the attributes and the index below them (§4.5 example 0x81001001)", () => {
    const id = bsdpImageId({ install: true, kind: 1, index: 0x1001 });
    expect(formatImageId(id)).toBe("0x81001001");
    expect(bsdpImageAttributes(id)).toBe(0x8100);
    expect(bsdpImageIdentity(0x03000007)).toEqual({ install: false, kind: 3, index: 7 });
  });

  it("round-trips every identity", () => {
    fc.assert(
      fc.property(fc.record({ install: fc.boolean(), kind: fc.integer({ min: 0, max: 127 }), index: fc.integer({ min: 1, max: 0xffff }) }), (identity) => {
        expect(bsdpImageIdentity(bsdpImageId(identity))).toEqual(identity);
      }),
      { seed: 0x5eed },
    );
  });

  it("derives a stable server-local index from the image name", () => {
    expect(defaultImageIndex("snow")).toBe(defaultImageIndex("snow"));
    expect(defaultImageIndex("snow")).toBeGreaterThanOrEqual(1);
    expect(defaultImageIndex("snow")).toBeLessThan(0x1000);
  });

  it("refuses an index of 0 (the null image) and a kind over 127", () => {
    expect(() => bsdpImageId({ install: false, kind: 1, index: 0 })).toThrow("BSDP image index 0 is not 1-65535");
    expect(() => bsdpImageId({ install: false, kind: 128, index: 1 })).toThrow("BSDP image kind 128 is not 0-127");
  });
});

describe("BSDP client class (option 60)", () => {
  it("splits AAPLBSDPC/<arch>/<model> and refuses anything else", () => {
    expect(parseBsdpClientClass("AAPLBSDPC/i386/MacPro3,1")).toEqual({ arch: "i386", systemId: "MacPro3,1" });
    expect(parseBsdpClientClass("AAPLBSDPC")).toBeUndefined();
    expect(parseBsdpClientClass("AAPLBSDPC/i386/Mac/Pro")).toBeUndefined();
    expect(parseBsdpClientClass("PXEClient:Arch:00007:UNDI:002001")).toBeUndefined();
    expect(bsdpClientClass({ arch: "i386", systemId: "iMac7,1" })).toBe("AAPLBSDPC/i386/iMac7,1");
    expect(() => bsdpClientClass({ arch: "i386", systemId: "a/b" })).toThrow(/may not contain/);
  });
});
