/**
 * Property: damaged inputs from the outside world give typed errors, never a crash or a hang.
 * mkext archives (both formats, thin and fat) are built from fixture kexts and then damaged:
 * bytes flipped, runs overwritten with random or extreme values (length fields), the file cut
 * short or extended. DHCP/BOOTP packets as the probe encodes them get the same treatment and
 * are decoded and summarised the way `probe dhcp` reads a reply.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { buildMkext, MkextFormatError, readMkext, type MkextFormat } from "../../lib/darwin";
import { clientRequest, decodeDhcpPacket, DhcpDecodeError, encodeDhcpPacket, summarizePacket, type DhcpPacket } from "../../lib/net/dhcp";
import { scratchDir, writeSnowLeopardExtensions } from "../darwin/fixtures";

const SEED = 0x6d6b78;
const RUNS = 300;

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      fc.constantFrom(Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x7f, 0xff, 0xff, 0xff), Uint8Array.of(0, 0, 0, 0), Uint8Array.of(0x80, 0, 0, 0)),
    ),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("append" as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

type Damage =
  | { kind: "flip"; at: number; bits: number }
  | { kind: "overwrite"; at: number; bytes: Uint8Array }
  | { kind: "truncate"; at: number }
  | { kind: "append"; bytes: Uint8Array };

function damaged(original: Uint8Array, steps: readonly Damage[]): Buffer {
  let bytes = Buffer.from(original);
  for (const step of steps) {
    const at = bytes.length && "at" in step ? step.at % bytes.length : 0;
    if (step.kind === "flip" && bytes.length) bytes[at] = bytes[at]! ^ step.bits;
    else if (step.kind === "overwrite") Buffer.from(step.bytes).copy(bytes, at);
    else if (step.kind === "truncate") bytes = bytes.subarray(0, at);
    else if (step.kind === "append") bytes = Buffer.concat([bytes, step.bytes]);
  }
  return bytes;
}

/** Runs `read`; returns "ok" or "rejected" when it throws one of `typed`, rethrows anything else. */
function outcome(read: () => unknown, typed: (error: unknown) => boolean): "ok" | "rejected" {
  try {
    read();
    return "ok";
  } catch (error) {
    if (typed(error)) return "rejected";
    throw error;
  }
}

describe("damaged mkext archives", () => {
  const { dir, cleanup } = scratchDir("fuzz-mkext");
  afterAll(cleanup);
  const extensions = writeSnowLeopardExtensions(dir);
  const archives: [string, Buffer][] = ([1, 2] as MkextFormat[]).flatMap((format) => [
    [`format ${format} thin`, buildMkext({ paths: [extensions], format, arch: "i386", networkRoot: true }).archive],
    [`format ${format} fat`, buildMkext({ paths: [extensions], format, arch: ["i386", "x86_64"], networkRoot: true }).archive],
  ]);

  it.each(archives)("%s: read back intact, or a MkextFormatError for every damage", (_label, archive) => {
    expect(readMkext(archive).slices.length).toBeGreaterThan(0);
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.array(damage, { minLength: 1, maxLength: 3 }), (steps) => {
        seen[
          outcome(
            () => readMkext(damaged(archive, steps)),
            (error) => error instanceof MkextFormatError,
          )
        ] += 1;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(seen.rejected).toBeGreaterThan(RUNS / 4);
  });
});

describe("damaged DHCP/BOOTP packets", () => {
  const identity = { mac: "52:54:00:77:00:10", clientArch: 7, userClass: "iPXE", parameterRequestList: [1, 3, 6, 17, 43, 60, 66, 67] };
  const packets: [string, DhcpPacket][] = [
    ["DHCPDISCOVER", clientRequest(identity, { type: "DHCPDISCOVER" }, 0x1234)],
    ["DHCPREQUEST", clientRequest(identity, { type: "DHCPREQUEST", requestedAddress: "10.77.0.10", serverIdentifier: "10.77.0.2" }, 0x1234)],
    ["BOOTP", clientRequest(identity, { type: "BOOTREQUEST", vendorExtensions: true }, 0x1234)],
  ];

  it.each(packets)("%s: decoded and summarised, or a DhcpDecodeError, for every damage", (_label, packet) => {
    const wire = encodeDhcpPacket(packet);
    expect(summarizePacket(decodeDhcpPacket(wire))).toBeDefined();
    fc.assert(
      fc.property(fc.array(damage, { minLength: 1, maxLength: 3 }), (steps) => {
        outcome(
          () => summarizePacket(decodeDhcpPacket(damaged(wire, steps))),
          (error) => error instanceof DhcpDecodeError,
        );
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });

  it("random bytes of any length are a DhcpDecodeError or a packet, never another error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        outcome(
          () => summarizePacket(decodeDhcpPacket(bytes)),
          (error) => error instanceof DhcpDecodeError,
        );
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });
});
