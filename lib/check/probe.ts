/**
 * The probe of `netboot-lab check`: runs inside a short-lived container on the lab's own Docker
 * network, with the boot tree mounted read-only, and carries out the plan (plan.ts): it asks
 * dhcpd as each client's firmware and loaders do, reads the boot files over TFTP and HTTP and
 * compares them with the build record, lists the NFS root over NFSv3 and NFSv4, and checks a
 * Darwin image's mkext for the client's NIC driver. Every failure names its cause and the fix.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { get } from "node:http";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { checkNicDriver, readMkext } from "../darwin";
import { readBuildRecord, type BuildRecord } from "../boot-image/build-record";
import type { ClientModel, LabModel } from "../model/validate";
import { clientRequest, exchange, inspectLink, openUdpTransport, readOption, type DhcpPacket, type DhcpTransport } from "../net/dhcp";
import { parseIpv4 } from "../net/ipv4";
import { dhcpServerFacts } from "../servers";
import { TftpServerError, tftpRead } from "../net/tftp";
import { ipxeScriptFetches } from "../pxe/ipxe";
import type { ClientPlan, DhcpAsk } from "./plan";
import { planChecks } from "./plan";
import { checkReport, type CheckReport, type CheckRow } from "./report";

const run = promisify(execFile);

/** How a daemon's container looked from the Docker host when the check started. */
export interface ContainerState {
  readonly name: string;
  readonly running: boolean;
  /** e.g. `running`, `exited (137)`, `missing`. */
  readonly status: string;
}

/** What the host hands the probe container (a JSON file beside the CLI it copies in). */
export interface ProbeInput {
  readonly stack: string;
  /** The lab's raw stack config (`netboot-lab:*` keys without the prefix); validated again in the container. */
  readonly labConfig: Record<string, unknown>;
  readonly client?: string;
  /** Pod and daemon containers by role (`pod`, `dhcpd`, `tftp`, `nfs`, `http`). */
  readonly containers: Readonly<Record<string, ContainerState>>;
  /** dhcpd.conf (or kea-dhcp4.conf) as the running DHCP server's container holds it, when it could be read. */
  readonly runningDhcpdConf?: string;
}

export interface ProbeEnvironment {
  /** Where the boot-tree volume is mounted (read-only). */
  readonly treeDir: string;
  /** The probe container's interface on the lab network. */
  readonly interfaceName: string;
  readonly dhcpTimeoutMs: number;
}

type Row = Omit<CheckRow, "client" | "mac">;

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Why a server does not answer, from the state of its container. */
function serverDown(input: ProbeInput, role: string, what: string): Pick<Row, "detail" | "fix"> | undefined {
  for (const candidate of ["pod", role]) {
    const state = input.containers[candidate];
    if (state && !state.running) {
      return {
        detail: `${what} does not answer: its container ${state.name} is ${state.status}${candidate === "pod" ? " (the pod owns the lab address every server answers on)" : ""}`,
        fix: `docker start ${state.name} (or pulumi up); docker logs ${state.name} shows why it stopped`,
      };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// DHCP

interface DhcpContext {
  readonly lab: LabModel;
  readonly input: ProbeInput;
  readonly transport: DhcpTransport;
  readonly interfaceName: string;
  readonly ownMac: string;
  readonly timeoutMs: number;
}

async function setInterfaceMac(interfaceName: string, mac: string): Promise<void> {
  await run("ip", ["link", "set", "dev", interfaceName, "address", mac]);
}

/** dhcpd sends BOOTP replies to chaddr's Ethernet address, so for BOOTP the probe briefly wears the client's MAC. */
async function askDhcp(context: DhcpContext, mac: string, ask: Pick<DhcpAsk, "message" | "identity">): Promise<DhcpPacket | undefined> {
  const xid = randomBytes(4).readUInt32BE(0);
  const message = ask.message === "BOOTREQUEST" ? ({ type: "BOOTREQUEST", vendorExtensions: true } as const) : ({ type: "DHCPDISCOVER" } as const);
  const request = clientRequest({ ...ask.identity, mac }, message, xid);
  if (ask.message !== "BOOTREQUEST") return (await exchange(context.transport, request, context.timeoutMs))?.packet;
  await setInterfaceMac(context.interfaceName, mac);
  try {
    return (await exchange(context.transport, request, context.timeoutMs))?.packet;
  } finally {
    await setInterfaceMac(context.interfaceName, context.ownMac);
  }
}

function describeAnswer(answer: DhcpPacket): string {
  const type = readOption(answer, "dhcp-message-type") ?? "BOOTREPLY";
  const file = answer.file || readOption(answer, "bootfile-name") || "(none)";
  const rootPath = readOption(answer, "root-path");
  return `${type} ${answer.yiaddr}, next-server ${answer.siaddr}, file ${file}${rootPath ? `, root-path ${rootPath}` : ""}`;
}

function inPool(lab: LabModel, address: string): boolean {
  const value = parseIpv4(address);
  return value !== undefined && lab.network.pools.some((pool) => value >= parseIpv4(pool.start)! && value <= parseIpv4(pool.end)!);
}

function noDhcpAnswer(context: DhcpContext, client: ClientModel, ask: DhcpAsk): Row {
  const base = { kind: "dhcp" as const, subject: ask.id, status: "fail" as const };
  const server = dhcpServerFacts(context.lab);
  const down = serverDown(context.input, server.role, server.daemon);
  if (down) return { ...base, ...down };
  const conf = context.input.runningDhcpdConf;
  const confName = basename(server.confPath);
  if (conf !== undefined && !server.declares(conf, client.mac)) {
    return {
      ...base,
      detail: `no answer to the ${ask.sender}: the running ${confName} has no host entry for ${client.mac}, so ${server.daemon} ignores it (deny unknown-clients); it differs from what the stack renders`,
      fix: `pulumi up puts back the ${confName} the stack renders (pulumi stack output configs shows it)`,
    };
  }
  return {
    ...base,
    detail: `no answer to the ${ask.sender} within ${context.timeoutMs / 1000} s, though ${server.daemon} runs and knows ${client.mac}`,
    fix: `docker logs ${context.input.containers[server.role]?.name ?? `the ${server.daemon} container`} shows what ${server.daemon} made of the request`,
  };
}

/** Compares one answer with the model; `firstAddress` is what earlier requests of this client got. */
function judgeDhcpAnswer(lab: LabModel, client: ClientModel, ask: DhcpAsk, answer: DhcpPacket, firstAddress: string | undefined): Row {
  const problems: string[] = [];
  const expectedType = ask.message === "BOOTREQUEST" ? undefined : "DHCPOFFER";
  const type = readOption(answer, "dhcp-message-type");
  if (type !== expectedType) problems.push(`answered with ${type ?? "a BOOTREPLY"} instead of ${expectedType ?? "a BOOTREPLY"}`);
  if (client.ipv4 && answer.yiaddr !== client.ipv4) problems.push(`address ${answer.yiaddr} instead of the reserved ${client.ipv4}`);
  if (!client.ipv4 && !inPool(lab, answer.yiaddr)) problems.push(`address ${answer.yiaddr} is in no pool of the lab`);
  // Kea keeps no offers: the probe's DISCOVERs, which it never follows with a REQUEST, may each get another pool address.
  if (!client.ipv4 && firstAddress && answer.yiaddr !== firstAddress && dhcpServerFacts(lab).keepsOffers)
    problems.push(`address ${answer.yiaddr}, but the first request got ${firstAddress}: the loader would change address mid-boot`);
  if (answer.siaddr !== lab.network.serverAddress) problems.push(`next-server ${answer.siaddr} instead of ${lab.network.serverAddress}`);
  const file = answer.file || readOption(answer, "bootfile-name") || "";
  if (file !== ask.bootFile) problems.push(`boot file "${file}" instead of "${ask.bootFile}"`);
  const rootPath = readOption(answer, "root-path");
  // A BOOTP reply carries options only as far as the request's 64-byte vendor area holds them;
  // BOOTP loaders take their root from elsewhere (Darwin from the booter), so it is not required there.
  if (ask.message !== "BOOTREQUEST" && (client.rootPath ?? undefined) !== rootPath)
    problems.push(
      client.rootPath ? `root-path ${rootPath ? `"${rootPath}"` : "missing"} instead of "${client.rootPath}"` : `an unexpected root-path "${rootPath}"`,
    );
  if (problems.length === 0) return { kind: "dhcp", subject: ask.id, status: "pass", detail: `${ask.sender}: ${describeAnswer(answer)}` };
  return {
    kind: "dhcp",
    subject: ask.id,
    status: "fail",
    detail: `${ask.sender}: ${problems.join("; ")}`,
    fix: `the running ${basename(dhcpServerFacts(lab).confPath)} differs from the stack: pulumi up renders and deploys it again (pulumi stack output configs shows the expected one)`,
  };
}

async function checkClientDhcp(context: DhcpContext, plan: ClientPlan): Promise<Row[]> {
  const rows: Row[] = [];
  let firstAddress: string | undefined;
  for (const ask of plan.dhcp) {
    const answer = await askDhcp(context, plan.client.mac, ask);
    if (!answer) {
      rows.push(noDhcpAnswer(context, plan.client, ask));
      continue;
    }
    rows.push(judgeDhcpAnswer(context.lab, plan.client, ask, answer, firstAddress));
    firstAddress ??= answer.yiaddr;
  }
  return rows;
}

async function checkUnknownMac(context: DhcpContext, mac: string): Promise<Row> {
  const answer = await askDhcp(context, mac, { message: "DHCPDISCOVER", identity: { clientArch: 0, parameterRequestList: [1, 3, 67] } });
  const allowed = context.lab.network.allowUnknownClients;
  const subject = "unknown-mac";
  const server = dhcpServerFacts(context.lab);
  if (!answer) {
    if (allowed)
      return {
        kind: "dhcp",
        subject,
        status: "fail",
        ...(serverDown(context.input, server.role, server.daemon) ?? {
          detail: `no answer for ${mac}, though the stack sets allowUnknownClients`,
          fix: `pulumi up deploys the ${basename(server.confPath)} the stack renders`,
        }),
      };
    // Silence only means something while the server answers at all.
    const down = serverDown(context.input, server.role, server.daemon);
    if (down) return { kind: "dhcp", subject, status: "skip", detail: `not judged: ${down.detail}` };
    return { kind: "dhcp", subject, status: "pass", detail: `no answer for the undeclared ${mac} (deny unknown-clients)` };
  }
  if (allowed && inPool(context.lab, answer.yiaddr))
    return { kind: "dhcp", subject, status: "pass", detail: `undeclared ${mac} offered pool address ${answer.yiaddr} (allowUnknownClients)` };
  return {
    kind: "dhcp",
    subject,
    status: "fail",
    detail: `${server.daemon} answered the undeclared ${mac}: ${describeAnswer(answer)}${allowed ? " (not from a pool)" : ", though the stack denies unknown clients"}`,
    fix: `another DHCP server may be on the lab network, or the running ${basename(server.confPath)} differs from the stack: pulumi up`,
  };
}

// ---------------------------------------------------------------------------------------------
// Files over TFTP and HTTP, against the build record

class BuildRecords {
  private readonly records = new Map<string, BuildRecord | undefined>();

  constructor(private readonly treeDir: string) {}

  entry(path: string): { image: string; record?: BuildRecord; file?: BuildRecord["files"][number] } {
    const image = path.split("/")[0]!;
    if (!this.records.has(image)) this.records.set(image, readBuildRecord(this.treeDir, image));
    const record = this.records.get(image);
    return { image, record, file: record?.files.find((file) => file.path === path) };
  }
}

const BUILD_FIX =
  "the BootImage build failed or the tree was changed since: see `pulumi stack output bootImages`, then `pulumi up` (it refreshes first and rebuilds an image whose build failed or whose folder is gone; `pulumi up --replace <urn of the image's BootImageBuild>` rebuilds one whose files were changed by hand)";

/** Compares fetched bytes with what the build wrote; undefined when they agree. */
function compareWithBuild(records: BuildRecords, path: string, data: Buffer): Pick<Row, "detail" | "fix"> | undefined {
  const { image, record, file } = records.entry(path);
  if (!record) return { detail: `${path} is served, but boot image ${image} has no build record in the tree`, fix: BUILD_FIX };
  if (!file) return { detail: `${path} is served, but the build of ${image} did not write it`, fix: BUILD_FIX };
  if (file.size !== data.length || file.sha256 !== sha256(data)) {
    return {
      detail: `${path} differs from what the build wrote: ${data.length} bytes (sha256 ${sha256(data).slice(0, 12)}…), the build wrote ${file.size} (${file.sha256.slice(0, 12)}…)`,
      fix: BUILD_FIX,
    };
  }
  return undefined;
}

function missingFromTree(treeDir: string, path: string): boolean {
  return !existsSync(join(treeDir, path));
}

async function checkTftpFile(lab: LabModel, input: ProbeInput, records: BuildRecords, treeDir: string, path: string): Promise<Row> {
  const base = { kind: "tftp" as const, subject: path };
  const blksize = lab.servers.tftp.maxBlockSize;
  try {
    const read = await tftpRead({ server: lab.network.serverAddress, path, blksize });
    const mismatch = compareWithBuild(records, path, read.data);
    if (mismatch) return { ...base, status: "fail", ...mismatch };
    return {
      ...base,
      status: "pass",
      detail: `${read.data.length} bytes in ${read.blksize}-byte blocks, as built (sha256 ${sha256(read.data).slice(0, 12)}…)`,
    };
  } catch (error) {
    if (error instanceof TftpServerError && error.code === 1) {
      if (missingFromTree(treeDir, path)) return { ...base, status: "fail", detail: `${path} missing from the boot tree`, fix: BUILD_FIX };
      return {
        ...base,
        status: "fail",
        detail: `the TFTP server says "${error.serverMessage}" for ${path}, though the boot tree has it`,
        fix: `docker logs ${input.containers.tftp?.name ?? "the tftp container"}`,
      };
    }
    const down = serverDown(input, "tftp", `the TFTP server at ${lab.network.serverAddress}:69`);
    if (down) return { ...base, status: "fail", ...down };
    return { ...base, status: "fail", detail: (error as Error).message, fix: `docker logs ${input.containers.tftp?.name ?? "the tftp container"}` };
  }
}

interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

function httpGet(url: string, timeoutMs = 10_000): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs / 1000} s`)));
    request.on("error", reject);
  });
}

/** The boot-tree path an HTTP URL of the lab names. */
function treePathOfUrl(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\/+/, ""));
}

async function checkHttpFile(lab: LabModel, input: ProbeInput, records: BuildRecords, treeDir: string, url: string): Promise<{ row: Row; body?: Buffer }> {
  const path = treePathOfUrl(url);
  const base = { kind: "http" as const, subject: path };
  try {
    const response = await httpGet(url);
    if (response.status === 404 && missingFromTree(treeDir, path))
      return { row: { ...base, status: "fail", detail: `${path} missing from the boot tree (HTTP 404 for ${url})`, fix: BUILD_FIX } };
    if (response.status !== 200)
      return {
        row: {
          ...base,
          status: "fail",
          detail: `HTTP ${response.status} for ${url}`,
          fix: `docker logs ${input.containers.http?.name ?? "the http container"}`,
        },
      };
    const mismatch = compareWithBuild(records, path, response.body);
    if (mismatch) return { row: { ...base, status: "fail", ...mismatch } };
    return { row: { ...base, status: "pass", detail: `HTTP 200, ${response.body.length} bytes, as built` }, body: response.body };
  } catch (error) {
    const down = serverDown(input, "http", `the HTTP server at ${lab.network.serverAddress}`);
    if (down) return { row: { ...base, status: "fail", ...down } };
    return {
      row: {
        ...base,
        status: "fail",
        detail: `${url}: ${(error as Error).message}`,
        fix: `docker logs ${input.containers.http?.name ?? "the http container"}`,
      },
    };
  }
}

/** The iPXE script first, then what it fetches, the way iPXE walks it. */
async function checkHttpChain(lab: LabModel, input: ProbeInput, records: BuildRecords, treeDir: string, urls: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const url of urls) {
    const { row, body } = await checkHttpFile(lab, input, records, treeDir, url);
    rows.push(row);
    if (body && url.endsWith(".ipxe")) {
      for (const fetched of ipxeScriptFetches(body.toString("utf8"), url)) rows.push((await checkHttpFile(lab, input, records, treeDir, fetched)).row);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// NFS

interface NfsEntry {
  readonly name: string;
  readonly size: number;
}

/** nfs-ls prints `mode nlink uid gid size name` per entry. */
function parseNfsListing(stdout: string): NfsEntry[] {
  return stdout
    .split("\n")
    .map((line) => /^\S+\s+\d+\s+\d+\s+\d+\s+(\d+)\s+(.+)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ size: Number(match[1]), name: match[2]! }));
}

async function nfsList(server: string, path: string, version: 3 | 4): Promise<{ entries: NfsEntry[] } | { error: string }> {
  try {
    const { stdout } = await run("nfs-ls", [`nfs://${server}${path}?version=${version}`], { timeout: 20_000 });
    return { entries: parseNfsListing(stdout) };
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    return { error: (failure.stderr || failure.message).trim().split("\n")[0]! };
  }
}

async function checkNfsRoot(lab: LabModel, input: ProbeInput, records: BuildRecords, plan: ClientPlan, version: 3 | 4): Promise<Row> {
  const root = plan.nfsRoot!;
  const base = { kind: "nfs" as const, subject: `v${version}` };
  const exportPath = lab.servers.nfs.exportPath;
  const folder = root.kind === "folder" ? root.path : dirname(root.path);
  const listing = await nfsList(root.server, folder, version);
  if ("error" in listing) {
    const down = serverDown(input, "nfs", `the NFS server at ${root.server}`);
    if (down) return { ...base, status: "fail", ...down };
    const exportListing = await nfsList(root.server, exportPath, version);
    if ("error" in exportListing) {
      return {
        ...base,
        status: "fail",
        detail: `the export ${root.server}:${exportPath} cannot be listed over NFSv${version}: ${exportListing.error}`,
        fix: `docker logs ${input.containers.nfs?.name ?? "the nfs container"}`,
      };
    }
    return { ...base, status: "fail", detail: `root ${root.server}:${folder} cannot be listed over NFSv${version}: ${listing.error}`, fix: BUILD_FIX };
  }
  if (root.kind === "folder") {
    if (listing.entries.length === 0) return { ...base, status: "fail", detail: `root ${root.server}:${root.path} is an empty folder`, fix: BUILD_FIX };
    return {
      ...base,
      status: "pass",
      detail: `root ${root.server}:${root.path} lists ${listing.entries.length} ${listing.entries.length === 1 ? "entry" : "entries"} over NFSv${version}`,
    };
  }
  const name = root.path.slice(folder.length + 1);
  const entry = listing.entries.find((candidate) => candidate.name === name);
  if (!entry) return { ...base, status: "fail", detail: `root image ${name} is not in ${root.server}:${folder}`, fix: BUILD_FIX };
  const built = records.entry(root.path.slice(exportPath.length + 1)).file;
  if (built && built.size !== entry.size)
    return { ...base, status: "fail", detail: `root image ${name} is ${entry.size} bytes over NFSv${version}, the build wrote ${built.size}`, fix: BUILD_FIX };
  return { ...base, status: "pass", detail: `root image ${root.server}:${root.path} (${entry.size} bytes) readable over NFSv${version}` };
}

// ---------------------------------------------------------------------------------------------
// Darwin: the NIC driver in the mkext

function checkMkext(treeDir: string, plan: ClientPlan): Row {
  const path = plan.mkext!;
  const base = { kind: "mkext" as const, subject: "nic" };
  let archive;
  try {
    archive = readMkext(readFileSync(join(treeDir, path)));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    return {
      ...base,
      status: "fail",
      detail: missing ? `${path} missing from the boot tree` : `${path} is not a readable mkext: ${(error as Error).message}`,
      fix: BUILD_FIX,
    };
  }
  const result = checkNicDriver(archive, plan.client.nic);
  const [first, ...rest] = result.message.split("\n");
  if (result.ok) return { ...base, status: "pass", detail: `${path}: driver for ${plan.client.nic}: ${result.matches.join("; ")}` };
  const fix = rest.find((line) => line.startsWith("To fix:"))?.slice("To fix: ".length);
  return { ...base, status: "fail", detail: `${path}: ${first}`, fix: fix ?? "rebuild the mkext with networkRoot: true" };
}

// ---------------------------------------------------------------------------------------------

async function checkClientFiles(lab: LabModel, input: ProbeInput, records: BuildRecords, treeDir: string, plan: ClientPlan): Promise<Row[]> {
  const rows: Row[] = [];
  for (const path of plan.tftp) rows.push(await checkTftpFile(lab, input, records, treeDir, path));
  rows.push(...(await checkHttpChain(lab, input, records, treeDir, [...plan.http, ...(plan.httpRoot ? [plan.httpRoot] : [])])));
  if (plan.nfsRoot) for (const version of [3, 4] as const) rows.push(await checkNfsRoot(lab, input, records, plan, version));
  if (plan.mkext) rows.push(checkMkext(treeDir, plan));
  return rows;
}

/** Runs every check of the plan for `lab` on this host's lab link. */
export async function runProbe(lab: LabModel, input: ProbeInput, environment: ProbeEnvironment): Promise<CheckReport> {
  const plan = planChecks(lab, input.client);
  const link = await inspectLink(environment.interfaceName);
  const transport = await openUdpTransport(link);
  const context: DhcpContext = { lab, input, transport, interfaceName: environment.interfaceName, ownMac: link.mac, timeoutMs: environment.dhcpTimeoutMs };
  const records = new BuildRecords(environment.treeDir);
  const rows: CheckRow[] = [];
  const add = (client: { name: string; mac: string }, found: Row[]) => rows.push(...found.map((row) => ({ client: client.name, mac: client.mac, ...row })));
  try {
    for (const clientPlan of plan.clients) {
      add(clientPlan.client, await checkClientDhcp(context, clientPlan));
      add(clientPlan.client, await checkClientFiles(lab, input, records, environment.treeDir, clientPlan));
    }
    if (input.client === undefined) add({ name: "(unknown)", mac: plan.unknownMac }, [await checkUnknownMac(context, plan.unknownMac)]);
  } finally {
    transport.close();
  }
  return checkReport(input.stack, lab.network.serverAddress, rows);
}
