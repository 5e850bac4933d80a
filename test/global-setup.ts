/**
 * Runs once around the whole suite: bundles the CLI so CLI tests exercise the current code,
 * and removes whatever crashed earlier runs left behind (Docker objects and namespaces whose
 * run has ended), never what a run still going on beside this one is using.
 */
import { execa } from "execa";
import { removeLeftoverTestHosts } from "./support/netns";
import { removeLeftoverGuests } from "./support/qemu";
import { isRunFinished, TEST_LABEL, testRunId } from "./support/test-run";

export { TEST_LABEL } from "./support/test-run";

async function dockerLines(...args: string[]): Promise<string[]> {
  return (await execa("docker", args, { reject: false })).stdout.split("\n").filter(Boolean);
}

/** Objects of one kind with the test label, as `id runId` pairs, whose run has ended (or, with `all`, every one). */
async function finishedObjects(list: string[], all: boolean): Promise<string[]> {
  const rows = await dockerLines(...list, "--filter", `label=${TEST_LABEL}`, "--format", `{{.ID}} {{.Label "${TEST_LABEL}"}}`);
  return rows
    .map((row) => row.split(" "))
    .filter(([, runId]) => all || isRunFinished(runId ?? ""))
    .map(([id]) => id!);
}

async function removeLeftoverDockerObjects(all: boolean): Promise<void> {
  const containers = await finishedObjects(["ps", "-a"], all);
  if (containers.length) await dockerLines("rm", "-f", "-v", ...containers);
  const networks = await finishedObjects(["network", "ls"], all);
  if (networks.length) await dockerLines("network", "rm", ...networks);
  const volumes = await finishedObjects(["volume", "ls"], all);
  if (volumes.length) await dockerLines("volume", "rm", "-f", ...volumes);
}

export async function setup(): Promise<void> {
  testRunId();
  await execa("node", ["scripts/build-cli.mjs", "--quiet"], { stdio: "inherit" });
  await removeLeftoverGuests((runId) => isRunFinished(runId));
  await removeLeftoverDockerObjects(false);
  await removeLeftoverTestHosts((runId) => isRunFinished(runId));
}

export async function teardown(): Promise<void> {
  const mine = (runId: string) => runId === testRunId() || isRunFinished(runId);
  await removeLeftoverGuests(mine);
  await removeLeftoverDockerObjects(false);
  const rows = await dockerLines("ps", "-a", "--filter", `label=${TEST_LABEL}=${testRunId()}`, "-q");
  if (rows.length) await dockerLines("rm", "-f", "-v", ...rows);
  await removeLeftoverTestHosts(mine);
}
