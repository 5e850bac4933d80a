/**
 * A real ISC dhcpd on a bridge the test creates: the server in its own namespace, clients in
 * theirs on the same bridge. Nothing leaves the bridge; `teardown` removes everything, by name
 * and by PID, and is safe to call after a failed start.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { createTestHost, uniqueName, type TestHost } from "./netns";

export interface TestDhcpd {
  readonly bridge: string;
  /** dhcpd's output since it last started. */
  log(): string;
  /** A client namespace on the bridge, removed by `removeClients` or `teardown`. */
  host(options?: { mac?: string }): Promise<TestHost>;
  /** Stops dhcpd and starts it again with `conf` and an empty lease file. */
  restart(conf: string): Promise<void>;
  removeClients(): Promise<void>;
  teardown(): Promise<void>;
}

export async function startTestDhcpd(serverAddress: string, conf: string): Promise<TestDhcpd> {
  const bridge = uniqueName("br");
  // Bridged frames pass the host's iptables FORWARD chain (br_netfilter), whose policy Docker sets to DROP.
  const forwardRule = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"];
  const clients: TestHost[] = [];
  let server: TestHost | undefined;
  let workDir: string | undefined;
  let bridgeCreated = false;
  let forwardRuleAdded = false;
  let dhcpd: ResultPromise | undefined;
  let log = "";

  const stop = async () => {
    if (!dhcpd) return;
    dhcpd.kill("SIGTERM"); // our own child, by PID
    await dhcpd;
    dhcpd = undefined;
  };
  const start = async (text: string) => {
    await stop();
    log = "";
    await writeFile(join(workDir!, "dhcpd.conf"), text);
    await writeFile(join(workDir!, "dhcpd.leases"), "");
    const files = ["-cf", join(workDir!, "dhcpd.conf"), "-lf", join(workDir!, "dhcpd.leases"), "-pf", join(workDir!, "dhcpd.pid")];
    const running = server!.run("/usr/sbin/dhcpd", ["-4", "-f", "-d", ...files, server!.interfaceName], { reject: false, all: true });
    dhcpd = running;
    const started = new Promise<void>((resolveStarted) => {
      running.all?.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes("Server starting service.")) resolveStarted();
      });
    });
    const exited = running.then((result) => {
      throw new Error(`dhcpd exited (${result.exitCode}) before serving:\n${log}`);
    });
    await Promise.race([started, exited]);
  };
  const removeClients = async () => {
    for (const client of clients.splice(0)) await client.destroy();
  };
  const teardown = async () => {
    await stop();
    await removeClients();
    await server?.destroy();
    if (bridgeCreated) await execa("ip", ["link", "del", bridge], { reject: false });
    if (forwardRuleAdded) await execa("iptables", ["-D", ...forwardRule], { reject: false });
    if (workDir) await rm(workDir, { recursive: true, force: true });
  };

  try {
    await execa("ip", ["link", "add", bridge, "type", "bridge"]);
    bridgeCreated = true;
    await execa("ip", ["link", "set", bridge, "up"]);
    await execa("iptables", ["-I", ...forwardRule]);
    forwardRuleAdded = true;
    workDir = await mkdtemp(join(tmpdir(), "nbt-dhcpd-"));
    server = await createTestHost({ bridge, address: `${serverAddress}/24` });
    await start(conf);
  } catch (error) {
    await teardown();
    throw error;
  }
  return {
    bridge,
    log: () => log,
    async host(options = {}) {
      const created = await createTestHost({ bridge, ...options });
      clients.push(created);
      return created;
    },
    restart: start,
    removeClients,
    teardown,
  };
}
