/** `watch --since` as users write it (docker logs' forms), turned into the engine's `<seconds>.<nanoseconds>`. */
import { describe, expect, it } from "vitest";
import { sinceSeconds } from "../../cli/commands/watch";

const NOW = new Date("2026-12-02T07:34:12.976Z");

describe("watch --since", () => {
  it("is now without the option, to the millisecond, as nine digits of nanoseconds", () => {
    expect(sinceSeconds(undefined, NOW)).toBe("1796196852.976000000");
  });

  it("takes a duration back from now, in hours, minutes and seconds, alone or together", () => {
    expect(sinceSeconds("10m", NOW)).toBe("1796196252.976000000");
    expect(sinceSeconds("1h30m", NOW)).toBe("1796191452.976000000");
    expect(sinceSeconds("45s", NOW)).toBe("1796196807.976000000");
  });

  it("takes an RFC 3339 time, with or without fractions and offset", () => {
    expect(sinceSeconds("2026-12-02T07:30:00Z", NOW)).toBe("1796196600.000000000");
    expect(sinceSeconds("2026-12-02T08:30:00.5+01:00", NOW)).toBe("1796196600.500000000");
  });

  it("refuses anything else, naming the option and both forms (exit 2)", () => {
    for (const text of ["yesterday", "10", "10 m", "1d"]) {
      expect(() => sinceSeconds(text, NOW)).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: `watch: --since "${text}" is neither a duration (10m, 1h30m) nor an RFC 3339 time (2026-12-02T07:30:00Z)`,
        }),
      );
    }
  });
});
