/**
 * Identity of one test run. Every Docker object and namespace a run creates carries it, so a
 * run cleans up after crashed runs without touching one that is still going on beside it: on
 * another machine sharing the engine, or in another PID namespace (a container) of this one,
 * whose PIDs this run cannot see.
 */
import { createHash } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { execa } from "execa";

/** Label on every Docker object the integration tests create; its value is the run id. */
export const TEST_LABEL = "io.netboot-lab.test";

const RUN_ENV = "NETBOOT_LAB_TEST_RUN";

/**
 * Who started a run: the machine (a hash of its host name), its boot (the kernel's boot id), the
 * PID namespace, and the vitest main process in it, by PID and start time (clock ticks after
 * boot), so a PID reused by another process does not count as the run.
 */
export interface RunIdentity {
  readonly host: string;
  readonly boot: string;
  readonly pidNamespace: string;
  readonly pid: number;
  readonly start: number;
}

/** A run id as names embed it (`nbt-ns-<run id>-…`, `nbt-guests-<run id>-…`). */
export const RUN_ID_PATTERN = "run-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]+-\\d+-[0-9a-z]+";

/** The start time in base 36: guest run folders carry the id, and their QMP socket paths must stay within 107 bytes. */
export function formatRunId(run: RunIdentity): string {
  return `run-${run.host}-${run.boot}-${run.pidNamespace}-${run.pid}-${run.start.toString(36)}`;
}

/** The identity in a run id; undefined for any other text, such as the bare `run-<pid>` of older runs. */
export function parseRunId(runId: string): RunIdentity | undefined {
  const match = /^run-([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]+)-(\d+)-([0-9a-z]+)$/.exec(runId);
  if (!match) return undefined;
  return { host: match[1]!, boot: match[2]!, pidNamespace: match[3]!, pid: Number(match[4]), start: parseInt(match[5]!, 36) };
}

/** What this process can tell about the runs it finds: where it is, and the start time of a PID it can see. */
export interface RunSurroundings {
  readonly host: string;
  readonly boot: string;
  readonly pidNamespace: string;
  /** Start time of the process with this PID in this PID namespace; undefined when there is none. */
  processStart(pid: number): number | undefined;
}

/** Field 22 of /proc/<pid>/stat, counted after the command name, which may hold spaces and parentheses. */
export function processStart(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

export function currentSurroundings(): RunSurroundings {
  return {
    host: createHash("sha256").update(hostname()).digest("hex").slice(0, 8),
    boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8")
      .replace(/[^0-9a-f]/g, "")
      .slice(0, 8),
    pidNamespace: Number(/\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))![1]).toString(16),
    processStart,
  };
}

/** The run id of this vitest run: global setup sets it from the main process before workers start, and they inherit it. */
export function testRunId(): string {
  if (!process.env[RUN_ENV]) {
    const here = currentSurroundings();
    process.env[RUN_ENV] = formatRunId({ ...here, pid: process.pid, start: here.processStart(process.pid)! });
  }
  return process.env[RUN_ENV];
}

/** Labels for Docker objects of this run. */
export function testRunLabels(): Record<string, string> {
  return { [TEST_LABEL]: testRunId() };
}

/**
 * True only when the run that created an object has provably ended: it ran on this machine
 * during an earlier boot, or in this PID namespace, where its process is gone (or its PID now
 * belongs to a process started at another time). A run of another machine or PID namespace, or
 * an id of an older form, cannot be judged from here and is left alone.
 */
export function isRunStale(runId: string, here: RunSurroundings = currentSurroundings()): boolean {
  const run = parseRunId(runId);
  if (!run || run.host !== here.host) return false;
  if (run.boot !== here.boot) return true;
  if (run.pidNamespace !== here.pidNamespace) return false;
  return here.processStart(run.pid) !== run.start;
}

/** Tells one test file's Docker objects from the rest of its run's. */
const CASE_LABEL = "io.netboot-lab.test-case";

/** Labels for the Docker objects of one test file (`caseId` unique within the run). */
export function testCaseLabels(caseId: string): Record<string, string> {
  return { ...testRunLabels(), [CASE_LABEL]: caseId };
}

/** The labels as `docker` command-line flags (`--label key=value` …), for objects a test creates with the CLI. */
export function labelFlags(labels: Record<string, string>): string[] {
  return Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
}

/** Names of the containers, networks and volumes carrying a test file's labels, sorted; empty once it has cleaned up. */
export async function dockerObjectsOf(labels: Record<string, string>): Promise<string[]> {
  return dockerObjectsLabelled(`${CASE_LABEL}=${labels[CASE_LABEL]}`);
}

/** Names of the containers, networks and volumes carrying `label` (`key=value`), sorted. */
export async function dockerObjectsLabelled(label: string): Promise<string[]> {
  const filter = ["--filter", `label=${label}`];
  const lists = await Promise.all(
    [
      ["ps", "-a", "--format", "{{.Names}}"],
      ["network", "ls", "--format", "{{.Name}}"],
      ["volume", "ls", "--format", "{{.Name}}"],
    ].map(async (list) => (await execa("docker", [...list, ...filter])).stdout),
  );
  return lists.flatMap((list) => list.split("\n").filter(Boolean)).sort();
}
