#!/usr/bin/env node
// npm run bench:boot: boots the kvm stack's guests end to end (npm run test:e2e) under software
// emulation and prints each guest's boot stages, in seconds after its QEMU started, against
// the targets. A benchmark, not a test: missing a target is reported, not failed.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const TARGETS = { "bios-ipxe": 12, "efi-grub": 20, "http-x64": 20, arm64: 30 };
const STAGES = [
  ["dhcpAnswered", "DHCP answered"],
  ["firstBootFileRequest", "first boot file"],
  ["kernelStarted", "kernel started"],
  ["rootMounted", "root mounted"],
  ["marker", "marker"],
];

let status = 0;
try {
  execFileSync("npx", ["vitest", "run", "--config", "vitest.e2e.config.mts"], { cwd: root, stdio: "inherit" });
} catch (error) {
  status = error.status ?? 1;
}

let timings;
try {
  timings = JSON.parse(readFileSync(join(root, "test-results", "e2e", "timings.json"), "utf8"));
} catch {
  console.error("bench:boot: no test-results/e2e/timings.json was written");
  process.exit(status || 1);
}
const cell = (value) => (value === null || value === undefined ? "-" : `${value.toFixed(1)} s`).padStart(16);
for (const [run, { accel, clients }] of Object.entries(timings.runs)) {
  console.log(`\n${run}: boot stages under ${accel}, seconds after QEMU started (test-results/e2e/timings.json)\n`);
  console.log(["client".padEnd(14), ...STAGES.map(([, label]) => label.padStart(16)), "IPv6 RS/RA".padStart(12), "target".padStart(14)].join(""));
  for (const [name, timeline] of Object.entries(clients)) {
    const target = TARGETS[name];
    const marker = timeline.stages.marker;
    const verdict = target === undefined ? "" : marker !== null && marker <= target ? `<= ${target} s ok` : `> ${target} s`;
    console.log(
      [
        name.padEnd(14),
        ...STAGES.map(([key]) => cell(timeline.stages[key])),
        `${timeline.routerSolicitations}/${timeline.routerAdvertisements}`.padStart(12),
        verdict.padStart(14),
      ].join(""),
    );
  }
}
process.exit(status);
