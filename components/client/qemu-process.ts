/**
 * QemuProcess: a QEMU guest as a managed process. `pulumi up` starts it detached, so it
 * outlives the deployment, and records its PID with the identity of that very process (its
 * start time in /proc/<pid>/stat, the host's boot id, its command line); `pulumi destroy`
 * powers it off through QMP, then terminates and finally kills it. A PID whose process is gone
 * (it exited, the host rebooted) or now belongs to another program is reported, never signalled.
 *
 * The provider is serialized into the stack's state and run by Pulumi's dynamic-provider host:
 * it is one plain object literal whose methods load Node builtins with
 * `process.getBuiltinModule` and packages with `require`, and capture only plain data and the
 * small functions below.
 */
import * as pulumi from "@pulumi/pulumi";
import type { QemuLaunch } from "../../lib/client/qemu";

/** The launch planned from the model (lib/client/qemu.ts), and whether the guest should run. */
export interface QemuProcessInputs extends QemuLaunch {
  /** false: declared, not started. */
  readonly start: boolean;
}

/** Who the recorded PID was when it was started: a live process is ours only if all of this still matches. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot at which the process started. */
  readonly startTicks: string;
  /** /proc/sys/kernel/random/boot_id: start ticks only compare within one boot. */
  readonly bootId: string;
}

export interface QemuProcessOutputs extends QemuProcessInputs {
  readonly process?: ProcessIdentity;
  readonly running: boolean;
  /** What the provider found that the user should know (a stale PID), or empty. */
  readonly note: string;
}

type Inputs = QemuProcessInputs;
type State = QemuProcessOutputs;

const START_TIMEOUT_MS = 30_000;
/** iPXE's own wait: pressing after it would change nothing. */
const IPXE_PROMPT_MS = 2_000;
const KEY_INTERVAL_MS = 100;
const TERM_TIMEOUT_MS = 5_000;

function fs(): typeof import("node:fs") {
  return process.getBuiltinModule("node:fs") as typeof import("node:fs");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

function readProc(path: string): string | undefined {
  try {
    return fs().readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

function bootId(): string {
  return (readProc("/proc/sys/kernel/random/boot_id") ?? "").trim();
}

/** State letter and start ticks of a PID, or undefined when there is no such process. */
function procStat(pid: number): { state: string; startTicks: string } | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0]!, startTicks: fields[19]! };
}

function commandLine(pid: number): string[] | undefined {
  const text = readProc(`/proc/${pid}/cmdline`);
  return text === undefined ? undefined : text.split("\0").slice(0, -1);
}

/** Why the recorded process is not (any longer) ours, or undefined when it is alive and ours. */
function staleReason(state: { process?: ProcessIdentity; binary: string; args: readonly string[] }): string | undefined {
  const recorded = state.process;
  if (!recorded) return "it was never started";
  if (recorded.bootId !== bootId()) return `PID ${recorded.pid} was recorded before the host rebooted`;
  const stat = procStat(recorded.pid);
  if (!stat || stat.state === "Z") return `PID ${recorded.pid} has exited`;
  if (stat.startTicks !== recorded.startTicks) return `PID ${recorded.pid} now belongs to a process started later`;
  const cmdline = commandLine(recorded.pid);
  if (!cmdline || cmdline.join("\0") !== [state.binary, ...state.args].join("\0")) return `PID ${recorded.pid} now runs another command`;
  return undefined;
}

async function run(command: string, args: readonly string[]): Promise<{ exitCode?: number; stderr: string }> {
  const { execa } = require("execa") as typeof import("execa");
  const result = await execa(command, args, { reject: false });
  return { exitCode: result.exitCode, stderr: String(result.stderr ?? "") };
}

async function ensureTap(tap: string, bridge: string): Promise<void> {
  if (!fs().existsSync(`/sys/class/net/${tap}`)) {
    const made = await run("ip", ["tuntap", "add", "dev", tap, "mode", "tap"]);
    if (made.exitCode !== 0)
      throw new Error(`cannot create tap ${tap}: ${made.stderr.trim()} (creating taps needs root; or set netboot-lab:qemu.attach: bridge-helper)`);
  }
  const joined = await run("ip", ["link", "set", tap, "master", bridge, "up"]);
  if (joined.exitCode !== 0) throw new Error(`cannot put tap ${tap} on bridge ${bridge}: ${joined.stderr.trim()}`);
}

async function removeTap(tap: string): Promise<void> {
  if (fs().existsSync(`/sys/class/net/${tap}`)) await run("ip", ["link", "del", tap]);
}

function tail(path: string): string {
  return (readProc(path) ?? "").split("\n").slice(-15).join("\n").trim();
}

async function startQemu(inputs: Inputs): Promise<ProcessIdentity> {
  const { mkdirSync, copyFileSync, existsSync, rmSync } = fs();
  const { dirname } = process.getBuiltinModule("node:path") as typeof import("node:path");
  if (!existsSync(`/sys/class/net/${inputs.bridge}/bridge`)) {
    throw new Error(`client ${inputs.client}: the lab bridge ${inputs.bridge} does not exist; the NetbootServer's network creates it (deploy the whole stack)`);
  }
  for (const path of [inputs.serialLog, inputs.processLog, inputs.qmpSocket]) mkdirSync(dirname(path), { recursive: true });
  for (const copy of inputs.copies) if (!existsSync(copy.to)) copyFileSync(copy.from, copy.to);
  if (inputs.tap) await ensureTap(inputs.tap, inputs.bridge);
  rmSync(inputs.qmpSocket, { force: true });
  try {
    const identity = await spawnQemu(inputs);
    if (inputs.skipIpxePrompt && inputs.tap) await skipIpxePrompt(inputs.qmpSocket, inputs.tap);
    return identity;
  } catch (error) {
    // A failed create leaves no state behind, so nothing would ever remove the tap.
    if (inputs.tap) await removeTap(inputs.tap);
    throw error;
  }
}

async function spawnQemu(inputs: Inputs): Promise<ProcessIdentity> {
  const { existsSync, openSync, closeSync } = fs();
  const { execa } = require("execa") as typeof import("execa");
  // The child writes straight into the file (no pipe through this process, which exits long before the guest).
  // execa's types list descriptors 3-9 only; it passes any open descriptor through.
  const log = openSync(inputs.processLog, "w") as 3;
  const subprocess = (() => {
    try {
      // Detached and unreferenced, with no cleanup hook: the guest keeps running after this provider exits.
      return execa(inputs.binary, [...inputs.args], { detached: true, cleanup: false, reject: false, stdin: "ignore", stdout: log, stderr: log });
    } finally {
      closeSync(log);
    }
  })();
  subprocess.unref();
  let exited = false;
  void subprocess.then(() => (exited = true));
  const pid = subprocess.pid;
  if (pid === undefined) throw new Error(`client ${inputs.client}: ${inputs.binary} could not be started: ${tail(inputs.processLog)}`);

  // QEMU creates its QMP socket once the machine is set up: the guest runs from then on.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!existsSync(inputs.qmpSocket)) {
    if (exited) throw new Error(`client ${inputs.client}: QEMU exited at start-up:\n${tail(inputs.processLog)}`);
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      throw new Error(`client ${inputs.client}: QEMU did not come up within ${START_TIMEOUT_MS / 1000} s:\n${tail(inputs.processLog)}`);
    }
    await sleep(50);
  }
  const stat = procStat(pid);
  if (!stat) throw new Error(`client ${inputs.client}: QEMU (PID ${pid}) exited at start-up:\n${tail(inputs.processLog)}`);
  return { pid, startTicks: stat.startTicks, bootId: bootId() };
}

/**
 * Presses Enter on the guest's keyboard until its first frame reaches its tap: iPXE's Ctrl-B prompt
 * ends at any other key, and the guest sends its DHCPDISCOVER at once. Keys pressed before the
 * BIOS has set up the keyboard are lost, hence one every 100 ms; at most one lands after the
 * prompt, and iPXE discards it while it waits for DHCP.
 */
async function skipIpxePrompt(qmpSocket: string, tap: string): Promise<void> {
  const framesFromGuest = () => Number(readProc(`/sys/class/net/${tap}/statistics/rx_packets`) ?? 0);
  const before = framesFromGuest();
  const deadline = Date.now() + IPXE_PROMPT_MS;
  while (framesFromGuest() === before && Date.now() < deadline) {
    await qmp(qmpSocket, [{ execute: "qmp_capabilities" }, { execute: "send-key", arguments: { keys: [{ type: "qcode", data: "ret" }] } }]);
    await sleep(KEY_INTERVAL_MS);
  }
}

interface QmpCommand {
  readonly execute: string;
  readonly arguments?: Record<string, unknown>;
}

/** Sends QMP commands over the guest's socket; resolves once each has been answered (or the socket closed). */
function qmp(socketPath: string, commands: readonly QmpCommand[]): Promise<void> {
  const net = process.getBuiltinModule("node:net") as typeof import("node:net");
  return new Promise((resolveQmp) => {
    const socket = net.createConnection(socketPath);
    let buffer = "";
    let sent = 0;
    let answered = 0;
    const finish = () => {
      socket.destroy();
      resolveQmp();
    };
    const timer = setTimeout(finish, 3_000);
    socket.on("error", finish);
    socket.on("close", () => {
      clearTimeout(timer);
      resolveQmp();
    });
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
        } catch {
          return finish();
        }
        buffer = buffer.slice(newline + 1);
        if ("return" in message || "error" in message) answered++;
        if ("QMP" in message || "return" in message || "error" in message) {
          if (sent < commands.length) socket.write(`${JSON.stringify(commands[sent++])}\n`);
          else if (answered >= commands.length) finish();
        }
      }
    });
  });
}

async function waitForExit(state: State, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (staleReason(state) === undefined) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** ACPI power-off first (the guest may flush what it writes), then SIGTERM, then SIGKILL. */
async function stopQemu(state: State): Promise<void> {
  const pid = state.process!.pid;
  await qmp(state.qmpSocket, [{ execute: "qmp_capabilities" }, { execute: "system_powerdown" }]);
  if (await waitForExit(state, state.stopTimeoutSeconds * 1000)) return;
  if (staleReason(state) === undefined) process.kill(pid, "SIGTERM");
  if (await waitForExit(state, TERM_TIMEOUT_MS)) return;
  if (staleReason(state) === undefined) process.kill(pid, "SIGKILL");
  await waitForExit(state, TERM_TIMEOUT_MS);
}

/** Stops our process if it still runs, then removes what start made (the tap, the socket). */
async function stopAndClean(state: State): Promise<string> {
  const stale = state.process ? staleReason(state) : undefined;
  if (state.process && stale === undefined) await stopQemu(state);
  if (state.tap) await removeTap(state.tap);
  fs().rmSync(state.qmpSocket, { force: true });
  return state.process && stale ? `QEMU of client ${state.client} was not running any more (${stale}); nothing was signalled` : "";
}

async function launched(inputs: Inputs, note: string): Promise<State> {
  if (!inputs.start) return { ...inputs, running: false, note };
  return { ...inputs, process: await startQemu(inputs), running: true, note };
}

/** Inputs whose change needs a new process (everything but `start`). */
const RESTART_KEYS = ["binary", "args", "bridge", "tap", "serialLog", "processLog", "qmpSocket", "copies"] as const;

export const qemuProcessProvider: pulumi.dynamic.ResourceProvider<Inputs, State> = {
  async create(inputs) {
    const { randomUUID } = process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
    return { id: `${inputs.client}-${randomUUID()}`, outs: await launched(inputs, "") };
  },

  async diff(_id, olds, news) {
    const replaces = RESTART_KEYS.filter((key) => JSON.stringify(olds[key] ?? null) !== JSON.stringify(news[key] ?? null));
    if (replaces.length) return { changes: true, replaces: [...replaces], deleteBeforeReplace: true };
    // A guest that should run but whose process is gone (it exited, the host rebooted) is started again by an update.
    const gone = news.start && staleReason(olds) !== undefined;
    const changed = olds.start !== news.start || olds.client !== news.client || olds.stopTimeoutSeconds !== news.stopTimeoutSeconds;
    return { changes: gone || changed };
  },

  async update(_id, olds, news) {
    const stale = staleReason(olds);
    if (!news.start) {
      const note = await stopAndClean(olds);
      return { outs: { ...news, running: false, note } };
    }
    if (stale === undefined) return { outs: { ...news, process: olds.process, running: true, note: "" } };
    const note = olds.process ? `QEMU of client ${olds.client} was not running any more (${stale}); started it again` : "";
    return { outs: await launched(news, note) };
  },

  async read(id, props) {
    const state = props as State;
    const stale = state.process ? staleReason(state) : undefined;
    if (!state.process || stale === undefined) return { id, props: { ...state, running: Boolean(state.process), note: "" } };
    return { id, props: { ...state, running: false, note: `QEMU of client ${state.client} is not running (${stale})` } };
  },

  async delete(_id, props) {
    const note = await stopAndClean(props);
    if (note) console.warn(note);
  },
};

export interface QemuProcessArgs {
  readonly client: pulumi.Input<string>;
  readonly binary: pulumi.Input<string>;
  readonly args: pulumi.Input<pulumi.Input<string>[]>;
  readonly bridge: pulumi.Input<string>;
  readonly tap?: pulumi.Input<string>;
  readonly serialLog: pulumi.Input<string>;
  readonly processLog: pulumi.Input<string>;
  readonly qmpSocket: pulumi.Input<string>;
  readonly copies: pulumi.Input<pulumi.Input<{ from: pulumi.Input<string>; to: pulumi.Input<string> }>[]>;
  readonly stopTimeoutSeconds: pulumi.Input<number>;
  readonly skipIpxePrompt: pulumi.Input<boolean>;
  readonly start: pulumi.Input<boolean>;
}

/** One QEMU guest process; see the module comment. */
export class QemuProcess extends pulumi.dynamic.Resource {
  declare public readonly process: pulumi.Output<ProcessIdentity | undefined>;
  declare public readonly running: pulumi.Output<boolean>;
  declare public readonly note: pulumi.Output<string>;

  constructor(name: string, args: QemuProcessArgs, opts?: pulumi.CustomResourceOptions) {
    super(qemuProcessProvider, name, { ...args, process: undefined, running: undefined, note: undefined }, opts, "client", "QemuProcess");
  }
}
