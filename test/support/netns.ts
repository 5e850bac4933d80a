/**
 * Test hosts on links the tests create: a network namespace joined to a lab bridge by a veth
 * pair. Every real client in the integration tests runs inside one of these, so nothing a
 * test sends ever leaves the lab bridge.
 */
import { randomBytes } from "node:crypto";
import { execa, type Options, type ResultPromise } from "execa";
import { RUN_ID_PATTERN, testRunId } from "./test-run";

/** Prefix of every namespace and link the tests create; global teardown removes leftovers by it. */
export const TEST_PREFIX = "nbt";

export interface TestHost {
  /** Network namespace name. */
  readonly namespace: string;
  /** The interface inside the namespace (always `eth0`). */
  readonly interfaceName: string;
  /** The veth end left in the host namespace, enslaved to the bridge. */
  readonly hostLink: string;
  readonly mac: string;
  /** Runs a command inside the namespace and waits for it. */
  run(command: string, args: readonly string[], options?: Options): ResultPromise<Options>;
  /** Removes the namespace and its link; safe to call twice. */
  destroy(): Promise<void>;
}

export interface TestHostOptions {
  /** Linux bridge to join (the lab network's bridge). */
  readonly bridge: string;
  /** `A.B.C.D/N` to assign inside the namespace; none leaves eth0 unnumbered (for DHCP clients). */
  readonly address?: string;
  /** MAC of eth0 inside the namespace; random locally administered by default. */
  readonly mac?: string;
}

export function uniqueName(kind: string): string {
  return `${TEST_PREFIX}${kind}${randomBytes(3).toString("hex")}`;
}

function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

async function ip(...args: string[]): Promise<void> {
  await execa("ip", args);
}

export async function createTestHost(options: TestHostOptions): Promise<TestHost> {
  const id = randomBytes(3).toString("hex");
  // The run id in the name lets a later run tell a crashed run's namespace from a live one.
  const namespace = `${TEST_PREFIX}-ns-${testRunId()}-${id}`;
  const hostLink = `${TEST_PREFIX}h${id}`;
  const peerLink = `${TEST_PREFIX}p${id}`;
  const mac = options.mac ?? randomMac();
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await execa("ip", ["netns", "del", namespace], { reject: false });
    await execa("ip", ["link", "del", hostLink], { reject: false });
  };
  try {
    await ip("netns", "add", namespace);
    await ip("link", "add", hostLink, "type", "veth", "peer", "name", peerLink);
    await ip("link", "set", peerLink, "netns", namespace);
    await ip("link", "set", hostLink, "master", options.bridge, "up");
    const inside = (...args: string[]) => ip("-n", namespace, ...args);
    await inside("link", "set", "lo", "up");
    await inside("link", "set", peerLink, "name", "eth0");
    await inside("link", "set", "eth0", "address", mac, "up");
    if (options.address) await inside("addr", "add", options.address, "dev", "eth0");
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    namespace,
    interfaceName: "eth0",
    hostLink,
    mac,
    run: (command, args, runOptions) => execa("ip", ["netns", "exec", namespace, command, ...args], runOptions ?? {}),
    destroy,
  };
}

/**
 * A Linux bridge of the test's own, for a DHCP server and its clients in namespaces, and the
 * FORWARD rule that lets frames cross it: bridged frames pass the host's iptables FORWARD chain
 * (br_netfilter), whose policy Docker sets to DROP. `destroy` removes both; safe to call twice.
 */
export async function createTestBridge(): Promise<{ name: string; destroy(): Promise<void> }> {
  const name = uniqueName("br");
  const forwardRule = ["FORWARD", "-i", name, "-o", name, "-j", "ACCEPT"];
  let ruleAdded = false;
  const destroy = async () => {
    await execa("ip", ["link", "del", name], { reject: false });
    if (ruleAdded) await execa("iptables", ["-D", ...forwardRule], { reject: false });
    ruleAdded = false;
  };
  try {
    await ip("link", "add", name, "type", "bridge");
    await ip("link", "set", name, "up");
    await execa("iptables", ["-I", ...forwardRule]);
    ruleAdded = true;
  } catch (error) {
    await destroy();
    throw error;
  }
  return { name, destroy };
}

/** A tap device enslaved to the lab bridge, for a QEMU guest (`-netdev tap,ifname=…`). */
export async function createTap(bridge: string): Promise<{ name: string; destroy(): Promise<void> }> {
  const name = `${TEST_PREFIX}t${randomBytes(3).toString("hex")}`;
  const destroy = async () => {
    await execa("ip", ["link", "del", name], { reject: false });
  };
  try {
    await ip("tuntap", "add", "dev", name, "mode", "tap");
    await ip("link", "set", name, "master", bridge, "up");
  } catch (error) {
    await destroy();
    throw error;
  }
  return { name, destroy };
}

/**
 * Removes the namespaces of runs for which `isFinished(runId)` holds (a crash skips afterAll
 * hooks). Deleting a namespace deletes its veth pair, so no host-side link outlives it.
 */
export async function removeLeftoverTestHosts(isFinished: (runId: string) => boolean): Promise<void> {
  await removeIdleTaps();
  const namespaces = (await execa("ip", ["netns", "list"], { reject: false })).stdout;
  for (const line of namespaces.split("\n")) {
    const match = new RegExp(`^(${TEST_PREFIX}-ns-(${RUN_ID_PATTERN})-[0-9a-f]{6})\\b`).exec(line);
    if (match && isFinished(match[2]!)) await execa("ip", ["netns", "del", match[1]!], { reject: false });
  }
}

/**
 * Tap names are too short to carry a run id; a tap no QEMU holds open has no carrier, so a
 * crashed run's taps are the idle ones (no LOWER_UP).
 */
async function removeIdleTaps(): Promise<void> {
  const links = (await execa("ip", ["-o", "link", "show", "type", "tun"], { reject: false })).stdout;
  for (const match of links.matchAll(new RegExp(`^\\d+: (${TEST_PREFIX}t[0-9a-f]{6}): <([^>]*)>`, "gm"))) {
    if (!match[2]!.split(",").includes("LOWER_UP")) await execa("ip", ["link", "del", match[1]!], { reject: false });
  }
}
