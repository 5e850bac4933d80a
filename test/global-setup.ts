/**
 * Runs once around the whole suite: bundles the CLI so CLI tests exercise the current code,
 * and removes whatever crashed earlier runs left behind (Docker objects, namespaces and guests
 * of runs that have provably ended: test/support/test-run.ts), never what a run still going on
 * beside this one is using, on this machine or another sharing the engine.
 */
import { execa } from "execa";
import { removeLeftoverTestHosts } from "./support/netns";
import { removeLeftoverGuests } from "./support/qemu";
import { isRunStale, TEST_LABEL, testRunId } from "./support/test-run";

export { TEST_LABEL } from "./support/test-run";

async function dockerLines(...args: string[]): Promise<string[]> {
  return (await execa("docker", args, { reject: false })).stdout.split("\n").filter(Boolean);
}

/** Ids (volumes: names, which is all they have) of the objects of one kind with the test label whose run `isGone` says is over. */
async function objectsOf(list: string[], isGone: (runId: string) => boolean): Promise<string[]> {
  const id = list[0] === "volume" ? "{{.Name}}" : "{{.ID}}";
  const rows = await dockerLines(...list, "--filter", `label=${TEST_LABEL}`, "--format", `${id} {{.Label "${TEST_LABEL}"}}`);
  return rows
    .map((row) => row.split(" "))
    .filter(([, runId]) => isGone(runId ?? ""))
    .map(([id]) => id!);
}

/** Removes the test containers, networks and volumes of every run `isGone` says is over. */
export async function removeDockerObjectsOf(isGone: (runId: string) => boolean): Promise<void> {
  const containers = await objectsOf(["ps", "-a"], isGone);
  if (containers.length) await dockerLines("rm", "-f", "-v", ...containers);
  const networks = await objectsOf(["network", "ls"], isGone);
  if (networks.length) await dockerLines("network", "rm", ...networks);
  const volumes = await objectsOf(["volume", "ls"], isGone);
  if (volumes.length) await dockerLines("volume", "rm", "-f", ...volumes);
}

export async function setup(): Promise<void> {
  testRunId();
  await execa("node", ["scripts/build-cli.mjs", "--quiet"], { stdio: "inherit" });
  const stale = (runId: string) => isRunStale(runId);
  await removeLeftoverGuests(stale);
  await removeDockerObjectsOf(stale);
  await removeLeftoverTestHosts(stale);
}

export async function teardown(): Promise<void> {
  const mine = (runId: string) => runId === testRunId() || isRunStale(runId);
  await removeLeftoverGuests(mine);
  await removeDockerObjectsOf(mine);
  await removeLeftoverTestHosts(mine);
}
