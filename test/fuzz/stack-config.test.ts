/**
 * Property: whatever a user writes into the stack file, validation gives a model the renderers
 * accept, or a LabConfigError whose every problem names a field; never another exception.
 * Inputs are valid labs with random mutations (values replaced by anything JSON can hold, keys
 * dropped or added), plus keys set as text the way `pulumi config set` stores them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, LabConfigError, labConfigFromEngine, validateLab } from "../../lib/model";
import { renderLabFiles } from "../../lib/render-lab";

const SEED = 0x6e626c;
const RUNS = 400;

/** A lab that validates: the kvm stack's shape with every image kind. */
const BASE: Record<string, unknown> = {
  network: { subnet: "10.77.0.0/24", serverAddress: "10.77.0.2", pools: [{ start: "10.77.0.100", end: "10.77.0.200" }] },
  docker: { baseImage: "local/debian:bookworm" },
  servers: { tftp: { enabled: true, maxBlockSize: 1468 }, nfs: { enabled: true }, http: { enabled: true, port: 80 } },
  bootImages: [
    { name: "linux", kind: "ipxe", nfsRoot: true },
    { name: "grub", kind: "grub" },
    { name: "bsd", kind: "netbsd", pxeboot: "pxeboot_ia32.bin", kernel: "netbsd" },
    { name: "mac", kind: "darwin-nbi", booter: "booter", kernel: "mach_kernel", extensions: ["Extensions"], rootImage: "NetInstall.dmg" },
  ],
  clients: [
    { name: "vm1", mac: "52:54:00:77:00:10", ipv4: "10.77.0.10", bootImage: "linux" },
    { name: "mac1", mac: "00:50:56:00:00:01", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "mac" },
  ],
};

type Json = unknown;
const json: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("", "10.77.0.300", "52:54:00:77:00:1", "ipxe", "darwin-nbi", "/etc/passwd", -1, 0, 65536, 1.5, null, "true"),
);

/** A path into a value and what to do there. */
const mutation = fc.record({
  path: fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 4 }),
  action: fc.constantFrom("replace", "delete", "add"),
  value: json,
  key: fc.constantFrom("extra", "name", "kind", "mac", "ipv4", "subnet", "bootImage"),
});

function mutate(value: Json, path: readonly number[], action: string, replacement: Json, key: string): Json {
  if (typeof value !== "object" || value === null) return action === "delete" ? undefined : replacement;
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  if (entries.length === 0 || path.length === 0) return action === "add" && !Array.isArray(value) ? { ...value, [key]: replacement } : replacement;
  const [childKey, child] = entries[path[0]! % entries.length]!;
  const next =
    path.length === 1
      ? action === "delete"
        ? undefined
        : action === "add" && typeof child === "object" && child !== null && !Array.isArray(child)
          ? { ...child, [key]: replacement }
          : replacement
      : mutate(child, path.slice(1), action, replacement, key);
  if (Array.isArray(value)) return value.flatMap((item, index) => (index === childKey ? (next === undefined ? [] : [next]) : [item]));
  const copy: Record<string, Json> = { ...value };
  if (next === undefined) delete copy[childKey as string];
  else copy[childKey as string] = next;
  return copy;
}

/** Validates; a LabConfigError must name a field for each problem; anything else thrown fails the property. */
function checkOutcome(raw: Record<string, unknown>): "valid" | "invalid" {
  let model;
  try {
    model = validateLab(raw);
  } catch (error) {
    if (!(error instanceof LabConfigError)) throw error;
    expect(error.problems.length).toBeGreaterThan(0);
    for (const problem of error.problems) {
      expect(problem.field).toMatch(/\S/);
      expect(problem.message).toMatch(/\S/);
    }
    return "invalid";
  }
  expect(renderLabFiles(model).length).toBeGreaterThan(0);
  return "valid";
}

describe("generated stack configs", () => {
  it("the base lab is valid", () => {
    expect(() => validateLab(BASE)).not.toThrow();
  });

  it("mutated labs give a model or a LabConfigError naming fields", () => {
    const outcomes = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const raw = mutations.reduce<Json>((value, step) => mutate(value, step.path, step.action, step.value, step.key), BASE);
        outcomes[checkOutcome(typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : { network: raw })] += 1;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Both sides were exercised: mutations that keep the lab valid, and ones that break it.
    expect(outcomes.valid).toBeGreaterThan(RUNS / 20);
    expect(outcomes.invalid).toBeGreaterThan(RUNS / 4);
  });

  it("any JSON as a top-level key's value gives a model or a LabConfigError naming fields", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CONFIG_KEYS), json, (key, value) => {
        checkOutcome({ ...BASE, [key]: value });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("keys as Pulumi hands them over (text, JSON or not) give a model or a LabConfigError naming fields", () => {
    const text = fc.oneof(
      json.map((value) => JSON.stringify(value) ?? ""),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...CONFIG_KEYS), text, (key, value) => {
        const engine = (name: string) => (name === key ? value : BASE[name] === undefined ? undefined : JSON.stringify(BASE[name]));
        let raw: Record<string, unknown>;
        try {
          raw = labConfigFromEngine(engine);
        } catch (error) {
          if (!(error instanceof LabConfigError)) throw error;
          expect(error.problems.map((problem) => problem.field)).toEqual([key]);
          return;
        }
        checkOutcome(raw);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
