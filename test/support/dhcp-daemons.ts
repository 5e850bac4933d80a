/**
 * ISC dhcpd and Kea run as the lab renders them, but as plain processes inside a TestHost's
 * namespace instead of the lab's containers: the equivalence matrix restarts each many times,
 * and a process starts in milliseconds. Configs, leases and PID files live in a folder of the
 * caller's; each daemon is stopped by its own PID.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import type { LabModel } from "../../lib/model";
import { renderDhcpdConf } from "../../lib/servers/dhcpd";
import { KEA_BOOTP_HOOK, renderKeaConf } from "../../lib/servers/kea";
import type { TestHost } from "./netns";

export type DhcpServerKind = "isc" | "kea";

export interface RunningDhcpServer {
  readonly kind: DhcpServerKind;
  /** Everything the daemon printed so far. */
  log(): string;
  /** Stops it (SIGTERM to its PID) and waits for it; its lease file stays. */
  stop(): Promise<void>;
}

const STARTED: Record<DhcpServerKind, string> = { isc: "Server starting service.", kea: "DHCP4_STARTED" };

/** Starts the `kind` server for `lab` on the host's eth0, keeping its files in `dir` (leases there survive a stop and a new start). */
export async function startDhcpServer(kind: DhcpServerKind, lab: LabModel, host: TestHost, dir: string): Promise<RunningDhcpServer> {
  let child: ResultPromise;
  if (kind === "isc") {
    const conf = join(dir, "dhcpd.conf");
    const leases = join(dir, "dhcpd.leases");
    await writeFile(conf, renderDhcpdConf(lab));
    await writeFile(leases, "", { flag: "a" });
    child = host.run("/usr/sbin/dhcpd", ["-4", "-f", "-d", "-cf", conf, "-lf", leases, "-pf", join(dir, "dhcpd.pid"), host.interfaceName], {
      reject: false,
      all: true,
    });
  } else {
    const conf = join(dir, "kea-dhcp4.conf");
    await writeFile(conf, renderKeaConf(lab, { leases: join(dir, "kea-leases4.csv"), bootpHook: KEA_BOOTP_HOOK, interfaceName: host.interfaceName }));
    child = host.run("/usr/sbin/kea-dhcp4", ["-c", conf], {
      reject: false,
      all: true,
      env: { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir },
    });
  }
  let log = "";
  const started = new Promise<void>((resolveStarted) => {
    child.all?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(STARTED[kind])) resolveStarted();
    });
  });
  const exited = child.then((result) => {
    throw new Error(`${kind} DHCP server exited (${result.exitCode}) before serving:\n${log}`);
  });
  await Promise.race([started, exited]);
  exited.catch(() => undefined);
  return {
    kind,
    log: () => log,
    stop: async () => {
      child.kill("SIGTERM");
      await child;
    },
  };
}
