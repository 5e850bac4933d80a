/**
 * A DHCP server that is not the lab's: ISC dhcpd in a network namespace of its own, joined to
 * the test's lab bridge by a veth pair, with its own pool and no boot options. It plays the
 * site's server beside a proxy-mode lab, or the stray server that steals boots from an
 * authoritative one. Its files live in a temporary folder; `stop` kills it by its PID and
 * removes the namespace, the folder and everything else it made.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestHost, type TestHost } from "./netns";

export interface ForeignDhcpd {
  /** The server's address (and its server-id). */
  readonly address: string;
  readonly pool: { readonly start: string; readonly end: string };
  readonly host: TestHost;
  /** dhcpd's output so far (-d: every DISCOVER, OFFER, REQUEST, ACK). */
  log(): string;
  stop(): Promise<void>;
}

export interface ForeignDhcpdOptions {
  readonly bridge: string;
  /** First three octets of the lab's /24, e.g. `10.217.7`. */
  readonly net: string;
  /** Last octet of the server's address. */
  readonly host: number;
  readonly poolStart: number;
  readonly poolEnd: number;
}

export async function startForeignDhcpd(options: ForeignDhcpdOptions): Promise<ForeignDhcpd> {
  const { net } = options;
  const address = `${net}.${options.host}`;
  const pool = { start: `${net}.${options.poolStart}`, end: `${net}.${options.poolEnd}` };
  const host = await createTestHost({ bridge: options.bridge, address: `${address}/24` });
  const dir = await mkdtemp(join(tmpdir(), "nbt-foreign-dhcpd-"));
  const conf = [
    "ddns-update-style none;",
    // As the lab's own dhcpd: no 1 s ping before each offer, so boot timings compare the lab's part alone.
    "ping-check false;",
    "default-lease-time 600;",
    "max-lease-time 600;",
    "authoritative;",
    `subnet ${net}.0 netmask 255.255.255.0 {`,
    `  range ${pool.start} ${pool.end};`,
    "}",
    "",
  ].join("\n");
  let output = "";
  try {
    await writeFile(join(dir, "dhcpd.conf"), conf);
    await writeFile(join(dir, "dhcpd.leases"), "");
    // `ip netns exec` execs dhcpd in place, so the process handle is dhcpd's own PID.
    const dhcpd = host.run("dhcpd", ["-4", "-f", "-d", "--no-pid", "-cf", join(dir, "dhcpd.conf"), "-lf", join(dir, "dhcpd.leases"), host.interfaceName], {
      reject: false,
      all: true,
      buffer: false,
    });
    dhcpd.all?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    let exited = false;
    void dhcpd.then(() => (exited = true));
    const stop = async () => {
      dhcpd.kill("SIGTERM");
      await dhcpd;
      await host.destroy();
      await rm(dir, { recursive: true, force: true });
    };
    // dhcpd prints "Sending on   LPF/eth0/…" once it listens.
    for (let waited = 0; !/Sending on\s+LPF/.test(output); waited += 100) {
      if (waited > 10_000 || exited) {
        await stop();
        throw new Error(`the foreign dhcpd did not start:\n${output}`);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    return { address, pool, host, log: () => output, stop };
  } catch (error) {
    await host.destroy();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
