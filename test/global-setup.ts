/**
 * Runs once around the whole suite: bundles the CLI so CLI tests exercise the current code,
 * and removes whatever a crashed earlier run left behind (namespaces, links, and Docker
 * objects carrying the test label).
 */
import { execa } from "execa";
import { removeLeftoverTestHosts } from "./support/netns";

/** Label on every Docker object the integration tests create. */
export const TEST_LABEL = "io.netboot-lab.test";

async function removeLeftoverDockerObjects(): Promise<void> {
  const docker = async (...args: string[]) => (await execa("docker", args, { reject: false })).stdout.split("\n").filter(Boolean);
  const filter = ["--filter", `label=${TEST_LABEL}`];
  const containers = await docker("ps", "-aq", ...filter);
  if (containers.length) await docker("rm", "-f", "-v", ...containers);
  const networks = await docker("network", "ls", "-q", ...filter);
  if (networks.length) await docker("network", "rm", ...networks);
  const volumes = await docker("volume", "ls", "-q", ...filter);
  if (volumes.length) await docker("volume", "rm", "-f", ...volumes);
}

async function removeLeftovers(): Promise<void> {
  await removeLeftoverDockerObjects();
  await removeLeftoverTestHosts();
}

export async function setup(): Promise<void> {
  await execa("node", ["scripts/build-cli.mjs", "--quiet"], { stdio: "inherit" });
  await removeLeftovers();
}

export async function teardown(): Promise<void> {
  await removeLeftovers();
}
