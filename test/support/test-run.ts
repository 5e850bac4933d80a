/**
 * Identity of one test run. Every Docker object and namespace a run creates carries it, so a
 * run cleans up after crashed runs without touching one that is still going on beside it.
 */
import { execa } from "execa";

/** Label on every Docker object the integration tests create; its value is the run id. */
export const TEST_LABEL = "io.netboot-lab.test";

const RUN_ENV = "NETBOOT_LAB_TEST_RUN";

/** `run-<pid of the vitest main process>`; global setup sets it before workers start. */
export function testRunId(): string {
  return (process.env[RUN_ENV] ??= `run-${process.pid}`);
}

/** Labels for Docker objects of this run. */
export function testRunLabels(): Record<string, string> {
  return { [TEST_LABEL]: testRunId() };
}

/** True when the run that created an object has ended (its vitest process is gone). */
export function isRunFinished(runId: string): boolean {
  const pid = Number(/^run-(\d+)$/.exec(runId)?.[1]);
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
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
  const filter = ["--filter", `label=${CASE_LABEL}=${labels[CASE_LABEL]}`];
  const lists = await Promise.all(
    [
      ["ps", "-a", "--format", "{{.Names}}"],
      ["network", "ls", "--format", "{{.Name}}"],
      ["volume", "ls", "--format", "{{.Name}}"],
    ].map(async (list) => (await execa("docker", [...list, ...filter])).stdout),
  );
  return lists.flatMap((list) => list.split("\n").filter(Boolean)).sort();
}
