import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildMkextParallel, checkNicDriver, MKEXT_ARCHES, readMkext, type MkextArch, type MkextArchive } from "../../lib/darwin";
import { nicModel } from "../../lib/hardware/nics";
import { checkOutputPath, CliError, inContext, type Command } from "../cli-error";

const BUILD_USAGE = "mkext build --out FILE [--local-root] [--network-root] [--safe-boot] [--format 1|2] [--arch i386|x86_64]... PATH...";
const INSPECT_USAGE = "mkext inspect FILE [--json]";
const CHECK_USAGE = "mkext check FILE --nic MODEL";

function readArchiveFile(path: string, action: string): { path: string; archive: MkextArchive; size: number } {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    throw new CliError(
      `mkext ${action}: cannot read ${absolute}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
    );
  }
  return { path: absolute, archive: readMkext(bytes), size: bytes.length };
}

function parseFormat(text: string): 1 | 2 {
  if (text === "1" || text === "2") return Number(text) as 1 | 2;
  throw new CliError(`mkext build: --format must be 1 (Mac OS X 10.4/10.5) or 2 (10.6), not "${text}"`, 2);
}

function parseArches(values: readonly string[] | undefined): MkextArch[] {
  if (!values?.length) return ["i386"];
  for (const value of values) {
    if (!(MKEXT_ARCHES as readonly string[]).includes(value)) throw new CliError(`mkext build: --arch must be ${MKEXT_ARCHES.join(" or ")}, not "${value}"`, 2);
  }
  return [...new Set(values as MkextArch[])];
}

function formatSizes(sizes: Readonly<Partial<Record<string, number>>> | null): string {
  return sizes
    ? Object.entries(sizes)
        .map(([arch, size]) => `${arch} ${size}`)
        .join(", ")
    : "(codeless)";
}

/** Aligned columns, for kext lists. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  "));
}

async function build(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: "string" },
      format: { type: "string", default: "2" },
      arch: { type: "string", multiple: true },
      "local-root": { type: "boolean", default: false },
      "network-root": { type: "boolean", default: false },
      "safe-boot": { type: "boolean", default: false },
    },
  });
  if (!values.out) throw new CliError(`mkext build: --out FILE is required; usage: netboot-lab ${BUILD_USAGE}`, 2);
  if (positionals.length === 0) throw new CliError(`mkext build: give at least one folder of kexts or .kext bundle; usage: netboot-lab ${BUILD_USAGE}`, 2);
  const format = parseFormat(values.format);
  const arches = parseArches(values.arch);
  const out = resolve(values.out);
  checkOutputPath("mkext build", "--out", out, "file");
  const result = await buildMkextParallel({
    paths: positionals,
    format,
    arch: arches,
    localRoot: values["local-root"],
    networkRoot: values["network-root"],
    safeBoot: values["safe-boot"],
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, result.archive);

  const lines = [
    `wrote ${out}: format ${format}, ${arches.length > 1 ? `fat ${arches.join(" + ")}` : arches[0]}, ${result.kexts.length} kexts, ${result.archive.length} bytes`,
  ];
  lines.push(
    ...table([
      ["BUNDLE ID", "VERSION", "OSBundleRequired", "EXECUTABLE", "INCLUDED BECAUSE"],
      ...result.kexts.map((kext) => [kext.bundleId, kext.version, kext.required ?? "-", formatSizes(kext.executableSizes), kext.reason]),
    ]).map((line) => `  ${line}`),
  );
  if (result.notes.length) lines.push("notes:", ...result.notes.map((note) => `  ${note}`));
  if (result.filteredOut.length) lines.push(`left out by the OSBundleRequired filter (${result.filteredOut.length}): ${result.filteredOut.join(", ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

function inspect(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: "boolean", default: false } } });
  if (positionals.length !== 1) throw new CliError(`mkext inspect: give exactly one archive; usage: netboot-lab ${INSPECT_USAGE}`, 2);
  const { path, archive, size } = readArchiveFile(positionals[0]!, "inspect");
  const slices = archive.slices.map((slice) => ({
    arch: slice.arch,
    format: slice.format,
    fileOffset: slice.fileOffset,
    length: slice.length,
    adler32: `0x${slice.adler32.toString(16).padStart(8, "0")}`,
    kextCount: slice.kexts.length,
  }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ file: path, size, fat: archive.fat, slices, kexts: archive.kexts, warnings: archive.warnings }, null, 2)}\n`);
    return 0;
  }
  const describeSlice = (slice: (typeof slices)[number]) =>
    `${slice.arch}: format ${slice.format}, ${slice.kextCount} kexts, ${slice.length} bytes, adler32 ${slice.adler32}`;
  const lines = [
    `${path}: ${size} bytes, ${archive.fat ? `fat with ${slices.length} slices` : "thin"}`,
    ...slices.map((slice) => `  ${describeSlice(slice)}${archive.fat ? ` at offset ${slice.fileOffset}` : ""}`),
  ];
  lines.push(
    ...table([
      ["BUNDLE ID", "VERSION", "OSBundleRequired", "EXECUTABLE"],
      ...archive.kexts.map((kext) => [kext.bundleId, kext.version, kext.required ?? "-", formatSizes(kext.executableSizes)]),
    ]),
  );
  lines.push(...archive.warnings.map((warning) => `warning: ${warning}`));
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

function check(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { nic: { type: "string" } } });
  if (positionals.length !== 1) throw new CliError(`mkext check: give exactly one archive; usage: netboot-lab ${CHECK_USAGE}`, 2);
  if (!values.nic) throw new CliError(`mkext check: --nic MODEL is required; usage: netboot-lab ${CHECK_USAGE}`, 2);
  const nic = nicModel(values.nic);
  const { archive } = readArchiveFile(positionals[0]!, "check");
  const result = checkNicDriver(archive, nic);
  if (!result.ok) throw new CliError(`mkext check: ${result.message}`);
  process.stdout.write(`${result.message}\n`);
  return 0;
}

const ACTIONS: Record<string, (args: string[]) => number | Promise<number>> = { build, inspect, check };

/** `netboot-lab mkext build|inspect|check`: kextcache -m off a Mac, an archive lister, and the NIC-driver check. */
export const mkextCommand: Command = {
  usage: `${BUILD_USAGE}\n  ${INSPECT_USAGE}\n  ${CHECK_USAGE}`,
  actions: { build: BUILD_USAGE, inspect: INSPECT_USAGE, check: CHECK_USAGE },
  summary: "build an mkext from kext folders and bundles (like kextcache -m), list an archive's kexts, or check it has a driver for a NIC model",
  async run(args) {
    const [action, ...rest] = args;
    try {
      return await ACTIONS[action!]!(rest);
    } catch (error) {
      throw inContext(`mkext ${action}`, error);
    }
  },
};
