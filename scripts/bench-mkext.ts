/**
 * `npm run bench`: how fast mkext building is next to gzip -6 over the same bytes, on this
 * machine. Builds 1,000 synthetic kexts (~30 MB of Mach-O-like executables), then times
 * `buildMkextParallel` for format 2 (zlib, kexts deflated side by side on libuv's thread pool)
 * and format 1 (LZSS) in fresh processes (so each peak RSS is its own), gzip -6 over the
 * concatenated plists and executables, and `netboot-lab --help`. Format 2 is also timed with
 * UV_THREADPOOL_SIZE=1 and =2, for its scaling from one core to two.
 * Targets: format 2 within 1.0x gzip's time, format 1 within 3x, CLI start-up under 0.5 s.
 * Reports only; a slow machine does not fail anything.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { buildMkextParallel } from "../lib/darwin";
import { prng, writeKext } from "../test/darwin/fixtures";

const KEXT_COUNT = 1000;
const TOTAL_EXECUTABLE_BYTES = 30 * 1024 * 1024;
const RUNS = 5;
const root = join(__dirname, "..");

interface Measurement {
  readonly seconds: number;
  readonly peakMiB: number;
  readonly outputBytes: number;
}

/** Kexts with executable sizes spread like a real Extensions folder: many small, a few large. */
function writeTree(dir: string): void {
  const random = prng(2026);
  const weights = Array.from({ length: KEXT_COUNT }, () => 0.2 + random() ** 3 * 6);
  const scale = TOTAL_EXECUTABLE_BYTES / weights.reduce((sum, weight) => sum + weight, 0);
  weights.forEach((weight, index) => {
    const id = `com.example.bench.Kext${String(index).padStart(4, "0")}`;
    writeKext(
      dir,
      {
        id,
        version: `1.${index % 100}.0`,
        required: "Root",
        arches: ["i386"],
        executableSize: Math.round(weight * scale),
        libraries: { "com.apple.kpi.iokit": "10.0" },
      },
      index + 1,
    );
  });
}

/** The bytes an mkext packs, in one file for gzip. */
function concatenatePayloads(dir: string, out: string): number {
  const parts: Buffer[] = [];
  for (const bundle of readdirSync(dir).sort()) {
    const contents = join(dir, bundle, "Contents");
    parts.push(readFileSync(join(contents, "Info.plist")));
    for (const file of readdirSync(join(contents, "MacOS"))) parts.push(readFileSync(join(contents, "MacOS", file)));
  }
  const all = Buffer.concat(parts);
  writeFileSync(out, all);
  return all.length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `command` under /usr/bin/time (Debian package `time`) for wall time and peak RSS. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Measurement & { stdout: string } {
  if (!existsSync("/usr/bin/time")) throw new Error("the benchmark needs /usr/bin/time for peak memory: apt-get install time");
  const started = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], { encoding: "buffer", maxBuffer: 1 << 30, env });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.toString()}`);
  const peakKiB = Number(result.stderr.toString().trim().split("\n").pop());
  return { seconds, peakMiB: peakKiB / 1024, outputBytes: result.stdout.length, stdout: result.stdout.toString() };
}

function measureGzip(payloadFile: string): Measurement {
  const runs = Array.from({ length: RUNS }, () => timed("gzip", ["-6", "-c", payloadFile]));
  return { seconds: median(runs.map((run) => run.seconds)), peakMiB: Math.max(...runs.map((run) => run.peakMiB)), outputBytes: runs[0]!.outputBytes };
}

/**
 * Times buildMkextParallel in a fresh process: start-up excluded, reading the kexts from disk included.
 * `threads` sets UV_THREADPOOL_SIZE, which libuv reads once at start-up; undefined keeps its default (4).
 */
function measureBuild(format: 1 | 2, dir: string, threads?: number): Measurement & { loadAndWrite: string } {
  const env = { ...process.env };
  if (threads === undefined) delete env.UV_THREADPOOL_SIZE;
  else env.UV_THREADPOOL_SIZE = String(threads);
  const runs = Array.from({ length: RUNS }, () => {
    const child = timed(process.execPath, [__filename, "--child", String(format), dir], env);
    return { ...(JSON.parse(child.stdout) as { seconds: number; outputBytes: number }), peakMiB: child.peakMiB };
  });
  return {
    seconds: median(runs.map((run) => run.seconds)),
    peakMiB: Math.max(...runs.map((run) => run.peakMiB)),
    outputBytes: runs[0]!.outputBytes,
    loadAndWrite: runs.map((run) => run.seconds.toFixed(2)).join(" / "),
  };
}

function measureCliStartup(): number {
  execFileSync(process.execPath, [join(root, "scripts", "build-cli.mjs"), "--quiet"]);
  const runs = Array.from({ length: 7 }, () => timed(process.execPath, [join(root, "bin", "netboot-lab.cjs"), "--help"]).seconds);
  return median(runs);
}

async function child(format: 1 | 2, dir: string): Promise<void> {
  const started = process.hrtime.bigint();
  const { archive } = await buildMkextParallel({ paths: [dir], format, arch: "i386" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, outputBytes: archive.length }));
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), "nbl-bench-mkext-"));
  try {
    const extensions = join(work, "Extensions");
    mkdirSync(extensions);
    process.stderr.write(`generating ${KEXT_COUNT} kexts in ${extensions}…\n`);
    writeTree(extensions);
    const payloadBytes = concatenatePayloads(extensions, join(work, "payloads.bin"));

    const gzip = measureGzip(join(work, "payloads.bin"));
    const format2 = measureBuild(2, extensions);
    const oneThread = measureBuild(2, extensions, 1);
    const twoThreads = measureBuild(2, extensions, 2);
    const format1 = measureBuild(1, extensions);
    const startup = measureCliStartup();

    const row = (name: string, m: Measurement, target?: number) => {
      const ratio = m.seconds / gzip.seconds;
      const verdict = target === undefined ? "" : `${ratio.toFixed(2)}x gzip (target ≤ ${target}x: ${ratio <= target ? "met" : "MISSED"})`;
      return `${name.padEnd(22)} ${m.seconds.toFixed(2).padStart(7)} s ${m.peakMiB.toFixed(0).padStart(6)} MiB ${(m.outputBytes / 1048576).toFixed(1).padStart(7)} MiB  ${verdict}`;
    };
    const lines = [
      `mkext benchmark: ${KEXT_COUNT} kexts, ${(payloadBytes / 1048576).toFixed(1)} MiB of plists + executables, median of ${RUNS} runs, node ${process.version}`,
      `${"".padEnd(22)} ${"time".padStart(9)} ${"peak RSS".padStart(10)} ${"output".padStart(11)}`,
      row("gzip -6 (same bytes)", gzip),
      row("mkext format 2 (zlib)", format2, 1.0),
      row("  UV_THREADPOOL_SIZE=1", oneThread),
      row("  UV_THREADPOOL_SIZE=2", twoThreads),
      row("mkext format 1 (LZSS)", format1, 3),
      `format 2 scaling from 1 to 2 thread-pool threads on ${availableParallelism()} cores: ${(oneThread.seconds / twoThreads.seconds).toFixed(2)}x faster`,
      `format 2 runs: ${format2.loadAndWrite} s; format 1 runs: ${format1.loadAndWrite} s`,
      `CLI start-up (netboot-lab --help, median of 7): ${startup.toFixed(3)} s (target < 0.5 s: ${startup < 0.5 ? "met" : "MISSED"})`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") void child(Number(process.argv[3]) as 1 | 2, process.argv[4]!);
else main();
