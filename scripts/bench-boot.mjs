#!/usr/bin/env node
// npm run bench:boot [-- test/e2e/<file> ...]: boots the guests of every e2e file that records
// boot timings (test/support/boot-timeline.ts recordBootTimings) BENCH_BOOT_RUNS times (3)
// under software emulation, and prints per guest the median and the min-max spread of each boot
// phase and of its marker against the targets, with the machine's load during each run (the mean
// of its 1-minute load average). A benchmark, not a test: a missed target is reported, never
// failed. Every sample lands in test-results/e2e/bench-boot.json. The CPU seconds QEMU used up to
// the kernel and up to the marker are printed too: on a shared machine they compare runs better.
import { spawn } from "node:child_process";
import { clearInterval, setInterval } from "node:timers";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const resultsDir = join(root, "test-results", "e2e");
const runs = Number(process.env.BENCH_BOOT_RUNS ?? 3);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench:boot: BENCH_BOOT_RUNS=${process.env.BENCH_BOOT_RUNS} is not a whole number of runs of at least 1`);
  process.exit(2);
}

// Seconds to the guest's marker under TCG on a 2-core machine, by guest: the kvm stack's (issue 18) and the uefi stack's.
const TARGETS = { "bios-ipxe": 8, "efi-grub": 14, "bios-pxelinux": 10, "http-x64": 20, arm64: 30 };
const PHASES = [
  ["firmware", "firmware"],
  ["firmwareDhcp", "fw DHCP"],
  ["loader", "loader"],
  ["transfer", "transfer"],
  ["decompression", "decompress"],
  ["kernel", "kernel"],
  ["initramfs", "initramfs"],
  ["initDhcp", "init DHCP"],
  ["nfsMount", "NFS mount"],
];

/** The e2e files that boot guests and record their timings: named on the command line, or every one that calls the recorder (directly or through the shared runner). */
function benchFiles() {
  const named = process.argv.slice(2);
  if (named.length) return named;
  const e2eDir = join(root, "test", "e2e");
  return readdirSync(e2eDir)
    .filter((name) => name.endsWith(".test.ts"))
    .filter((name) => /recordBootTimings|stack-e2e/.test(readFileSync(join(e2eDir, name), "utf8")))
    .map((name) => relative(root, join(e2eDir, name)));
}

function recordedRuns() {
  try {
    return JSON.parse(readFileSync(join(resultsDir, "timings.json"), "utf8")).runs ?? {};
  } catch {
    return {};
  }
}

const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

/** Runs one e2e file; resolves to its exit status and the mean 1-minute load average sampled every 5 s while it ran. */
function runE2e(file) {
  const loads = [loadAverage()];
  const sampler = setInterval(() => loads.push(loadAverage()), 5_000);
  return new Promise((resolveRun) => {
    const child = spawn("npx", ["vitest", "run", "--config", "vitest.e2e.config.mts", file], { cwd: root, stdio: "inherit" });
    child.on("close", (status) => {
      clearInterval(sampler);
      resolveRun({ status, load: loads.reduce((sum, value) => sum + value, 0) / loads.length });
    });
  });
}

/** samples[run][client] = [{phases, marker, load}] */
const samples = {};
const failures = [];
const files = benchFiles();
if (!files.length) {
  console.error("bench:boot: no e2e file under test/e2e records boot timings");
  process.exit(1);
}
for (let attempt = 1; attempt <= runs; attempt++) {
  for (const file of files) {
    const startedMs = Date.now();
    console.log(`\nbench:boot: ${file}, run ${attempt} of ${runs} (load ${loadAverage().toFixed(2)})`);
    const { status, load } = await runE2e(file);
    if (status !== 0) failures.push(`${file} run ${attempt}: vitest exited with ${status}`);
    const fresh = Object.entries(recordedRuns()).filter(([, recorded]) => (recorded.recordedAtMs ?? 0) >= startedMs);
    if (!fresh.length) failures.push(`${file} run ${attempt}: recorded no boot timings`);
    for (const [run, { accel, clients }] of fresh) {
      for (const [client, timeline] of Object.entries(clients)) {
        ((samples[`${run} (${accel})`] ??= {})[client] ??= []).push({
          phases: timeline.phases ?? {},
          marker: timeline.stages.marker,
          cpu: timeline.cpuSeconds ?? {},
          load,
        });
      }
    }
  }
}
writeFileSync(join(resultsDir, "bench-boot.json"), `${JSON.stringify({ runs, samples }, null, 2)}\n`);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
/** "4.2 (3.9-4.8)": median and spread of the boots that reached this phase; "-" when none did. */
function cell(values, width) {
  const seen = values.filter((value) => typeof value === "number");
  if (!seen.length) return "-".padStart(width);
  const text = seen.length === 1 ? seen[0].toFixed(1) : `${median(seen).toFixed(1)} (${Math.min(...seen).toFixed(1)}-${Math.max(...seen).toFixed(1)})`;
  return `${text}${seen.length < values.length ? "*" : ""}`.padStart(width);
}

const WIDTH = 16;
for (const [run, clients] of Object.entries(samples)) {
  console.log(`\n${run}: seconds after QEMU started, median (min-max) of ${runs} boot(s); * = some boots never reached it`);
  console.log("CPU to kernel/marker: CPU seconds QEMU had used by then, which moves far less with the load than the wall clock");
  console.log(
    [
      "guest".padEnd(14),
      ...PHASES.map(([, label]) => label.padStart(WIDTH)),
      "marker".padStart(WIDTH),
      "target".padStart(12),
      "CPU to kernel".padStart(WIDTH),
      "CPU to marker".padStart(WIDTH),
      "  load per run",
    ].join(" "),
  );
  for (const [client, boots] of Object.entries(clients)) {
    const markers = boots.map((boot) => boot.marker);
    const target = TARGETS[client];
    const reached = markers.filter((value) => typeof value === "number");
    const verdict = target === undefined ? "" : reached.length === markers.length && median(reached) <= target ? `<= ${target} ok` : `> ${target} MISS`;
    console.log(
      [
        client.padEnd(14),
        ...PHASES.map(([key]) =>
          cell(
            boots.map((boot) => boot.phases[key]),
            WIDTH,
          ),
        ),
        cell(markers, WIDTH),
        verdict.padStart(12),
        cell(
          boots.map((boot) => boot.cpu.kernelStarted),
          WIDTH,
        ),
        cell(
          boots.map((boot) => boot.cpu.marker),
          WIDTH,
        ),
        `  ${boots.map((boot) => boot.load.toFixed(2)).join(" ")}`,
      ].join(" "),
    );
  }
}
for (const failure of failures) console.error(`bench:boot: ${failure}`);
process.exit(failures.length ? 1 : 0);
