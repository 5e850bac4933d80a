/**
 * Real DHCP clients for the integration tests, each run inside a TestHost's namespace: the
 * product's own `netboot-lab probe dhcp` (to craft exactly the request a firmware or loader
 * sends) and ISC dhclient (to show a stock client gets what we claim). Neither configures an
 * address, touches the host's /etc or /var/lib/dhcp, or leaves a process behind.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ProbeReply } from "../../cli/commands/probe";
import type { TestHost } from "./netns";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const EXIT_NO_ANSWER = 3;
const EXIT_REFUSED = 4;

export type { ProbeReply };

export interface ProbeOptions {
  /** chaddr; default the host's own MAC. BOOTP probes must use the host's own MAC (dhcpd unicasts BOOTP replies to it). */
  readonly mac?: string;
  /** Option 61 as hex; `null` sends none; default 01 + MAC. */
  readonly clientId?: string | null;
  /** bios, efi-ia32, efi-bc, efi-x64 or an RFC 4578 number. */
  readonly arch?: string | number;
  readonly ipxe?: boolean;
  /** Vendor class HTTPClient, as UEFI HTTP Boot firmware sends it. */
  readonly httpBoot?: boolean;
  /** `true`: RFC 1497 BOOTP (cookie, no option 53); `"plain"`: RFC 951, no cookie. */
  readonly bootp?: boolean | "plain";
  /** Complete DISCOVER/OFFER/REQUEST/ACK and return the ACK. */
  readonly full?: boolean;
  readonly requestOptions?: readonly number[];
  readonly timeoutMs?: number;
}

export function probeArgs(host: TestHost, options: ProbeOptions): string[] {
  return [
    "probe",
    "dhcp",
    "--json",
    "--interface",
    host.interfaceName,
    ...(options.mac ? ["--mac", options.mac] : []),
    ...(options.clientId === null ? ["--no-client-id"] : options.clientId ? ["--client-id", options.clientId] : []),
    ...(options.arch === undefined ? [] : ["--arch", String(options.arch)]),
    ...(options.ipxe ? ["--ipxe"] : []),
    ...(options.httpBoot ? ["--http-boot"] : []),
    ...(options.bootp ? ["--bootp"] : []),
    ...(options.bootp === "plain" ? ["--plain"] : []),
    ...(options.full ? ["--full"] : []),
    ...(options.requestOptions ? ["--request-options", options.requestOptions.join(",")] : []),
    ...(options.timeoutMs ? ["--timeout-ms", String(options.timeoutMs)] : []),
  ];
}

/**
 * Lets an unnumbered eth0 send limited broadcasts, as the probe's help asks; the route exists
 * only inside the test namespace.
 */
export async function routeBroadcastsThroughEth0(host: TestHost): Promise<void> {
  await host.run("ip", ["route", "replace", "255.255.255.255/32", "dev", host.interfaceName]);
}

/** Runs the bundled CLI's `probe dhcp --json` inside the host; undefined when no server answered. */
export async function probeDhcp(host: TestHost, options: ProbeOptions = {}): Promise<ProbeReply | undefined> {
  await routeBroadcastsThroughEth0(host);
  const result = await host.run(process.execPath, [CLI, ...probeArgs(host, options)], { reject: false });
  if (result.exitCode === EXIT_NO_ANSWER) return undefined;
  if (result.exitCode === 0 || result.exitCode === EXIT_REFUSED) return JSON.parse(String(result.stdout)) as ProbeReply;
  throw new Error(`netboot-lab probe dhcp failed in ${host.namespace} (exit ${result.exitCode}):\n${String(result.stderr)}`);
}

export interface DhclientOptions {
  /** `send dhcp-client-identifier` value as colon hex (e.g. 01:52:54:00:77:00:02); absent sends none. */
  readonly clientId?: string;
  /** How long dhclient tries before giving up (its `timeout` statement). */
  readonly timeoutSeconds: number;
}

export interface DhclientResult {
  /** The leased address; undefined when dhclient got no lease. */
  readonly address?: string;
  readonly filename?: string;
  readonly serverName?: string;
  /** Every `option NAME VALUE;` of the lease file, quotes removed. */
  readonly options: Readonly<Record<string, string>>;
  /** dhclient's -v output, for assertion messages. */
  readonly log: string;
}

/**
 * The options dhclient asks for. root-path (17) is left out on purpose: a lease that carries it
 * shows the server sends it unrequested.
 */
const DHCLIENT_REQUESTS = "subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name";

function dhclientConf(options: DhclientOptions): string {
  return [
    `timeout ${options.timeoutSeconds};`,
    "initial-interval 1;",
    `request ${DHCLIENT_REQUESTS};`,
    ...(options.clientId ? [`send dhcp-client-identifier ${options.clientId};`] : []),
    "",
  ].join("\n");
}

/** Stands in for dhclient-script: records each event and configures nothing. */
function recorderScript(eventsFile: string): string {
  return `#!/bin/sh\necho "$reason" >> '${eventsFile}'\nexit 0\n`;
}

function unquote(value: string): string {
  return value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value;
}

/** Reads the last `lease { … }` block of a dhclient lease file. */
export function parseDhclientLease(leaseFile: string): Omit<DhclientResult, "log"> {
  const blocks = [...leaseFile.matchAll(/^lease \{\n([\s\S]*?)^\}/gm)];
  const body = blocks[blocks.length - 1]?.[1];
  if (!body) return { options: {} };
  const statements = body
    .split("\n")
    .map((line) => /^\s*(option\s+)?([\w-]+)\s+(.*);\s*$/.exec(line))
    .filter((match) => match !== null);
  const field = (name: string) => statements.find((match) => !match[1] && match[2] === name)?.[3];
  const optional = (value: string | undefined) => (value === undefined ? undefined : unquote(value));
  return {
    address: field("fixed-address"),
    filename: optional(field("filename")),
    serverName: optional(field("server-name")),
    options: Object.fromEntries(statements.filter((match) => match[1]).map((match) => [match[2]!, unquote(match[3]!)])),
  };
}

/**
 * Runs ISC dhclient once (`-1`) in the foreground inside the host, stops it by its PID as soon
 * as it is bound (SIGTERM: dhclient exits without releasing), and returns the lease it wrote.
 * Its config, lease, PID file and script live in a temporary folder that is removed afterwards.
 */
export async function runDhclient(host: TestHost, options: DhclientOptions): Promise<DhclientResult> {
  const dir = await mkdtemp(join(tmpdir(), "nbt-dhclient-"));
  const path = (name: string) => join(dir, name);
  try {
    await writeFile(path("dhclient.conf"), dhclientConf(options));
    await writeFile(path("dhclient.leases"), ""); // dhclient refuses to start without it
    await writeFile(path("record-events"), recorderScript(path("events")), { mode: 0o755 });
    const args = ["-1", "-d", "-v", "-cf", path("dhclient.conf"), "-lf", path("dhclient.leases"), "-pf", path("dhclient.pid"), "-sf", path("record-events")];
    // `ip netns exec` execs dhclient in place, so this PID is dhclient's own.
    const dhclient = host.run("dhclient", [...args, host.interfaceName], { reject: false, all: true, buffer: true });
    let log = "";
    const bound = new Promise<void>((resolveBound) => {
      dhclient.all?.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        if (/^bound to /m.test(log)) resolveBound();
      });
    });
    const giveUp = setTimeout(() => dhclient.kill("SIGKILL"), (options.timeoutSeconds + 10) * 1000);
    await Promise.race([bound, dhclient]);
    clearTimeout(giveUp);
    dhclient.kill("SIGTERM");
    await dhclient;
    const lease = parseDhclientLease(await readFile(path("dhclient.leases"), "utf8"));
    return { ...lease, log };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
