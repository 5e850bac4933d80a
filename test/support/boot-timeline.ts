/**
 * When each stage of a guest's network boot happened, in seconds after its QEMU started: the
 * network stages from a capture of the lab bridge (what the servers answered, what the guest
 * asked), the later ones from the guest's serial log as it grows.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LINUX_KERNEL_FILE } from "../../lib/model";
import { decodeDhcpPacket, summarizePacket } from "../../lib/net/dhcp";
import { BOOTED_MARKER, INIT_STARTED_LINE } from "../../lib/pxe";
import type { Frame } from "./pcap";
import { PROJECT_DIR } from "./pulumi-harness";

export const BOOT_STAGES = ["dhcpAnswered", "firstBootFileRequest", "kernelStarted", "rootMounted", "marker"] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

/**
 * The moments a boot passes through, in order. Those named after DHCP and the kernel request come
 * from the bridge capture; kernelStarted and later from the serial log (bootSerialPatterns).
 */
export const BOOT_EVENTS = [
  "firmwareDiscover",
  "firmwareAck",
  "kernelRequest",
  "transferEnd",
  "kernelStarted",
  "initStarted",
  "initDiscover",
  "booted",
  "rootMounted",
] as const;
export type BootEvent = (typeof BOOT_EVENTS)[number];

/**
 * Where a boot's time goes: each phase runs from one event to the next, so the phases of a boot
 * that reached its marker add up to it. `firmware` starts when QEMU did.
 */
export const BOOT_PHASES = {
  firmware: [undefined, "firmwareDiscover"],
  firmwareDhcp: ["firmwareDiscover", "firmwareAck"],
  loader: ["firmwareAck", "kernelRequest"],
  transfer: ["kernelRequest", "transferEnd"],
  decompression: ["transferEnd", "kernelStarted"],
  kernel: ["kernelStarted", "initStarted"],
  initramfs: ["initStarted", "initDiscover"],
  initDhcp: ["initDiscover", "booted"],
  nfsMount: ["booted", "rootMounted"],
} as const satisfies Record<string, readonly [BootEvent | undefined, BootEvent]>;
export type BootPhase = keyof typeof BOOT_PHASES;

export interface BootTimeline {
  /** Seconds after QEMU started; null when the stage did not happen (no NFS root declared, or the boot stalled). */
  readonly stages: Record<BootStage, number | null>;
  /** Seconds after QEMU started of each event; null when it did not happen. */
  readonly events: Record<BootEvent, number | null>;
  /** Seconds each phase took; null when one of its ends is missing. */
  readonly phases: Record<BootPhase, number | null>;
  /** The address the lab's dhcpd acknowledged to the guest's MAC, and who sent it. */
  readonly dhcpAck?: { readonly yiaddr: string; readonly server: string };
  /** What the guest sent looking for an IPv6 router, and what answered it. */
  readonly routerSolicitations: number;
  readonly routerAdvertisements: number;
  /** CPU seconds QEMU used up to the kernel's banner and up to the marker (SerialWatch.cpuSeen); null when not measured. */
  readonly cpuSeconds?: { readonly kernelStarted: number | null; readonly marker: number | null };
}

export interface SerialWatch {
  /** The serial log as it stood when the watch ended. */
  readonly text: string;
  /** When each pattern first showed up (ms since the epoch); absent when it never did. */
  readonly firstSeen: Partial<Record<string, number>>;
  /**
   * The CPU seconds the guest's QEMU had used when each pattern first showed up. Unlike the wall
   * clock it hardly moves with the machine's load: it is what the boot costs under emulation.
   */
  readonly cpuSeen?: Partial<Record<string, number>>;
}

/** What watchSerialLog looks for in a guest's serial log; `marker` is the line its boot ends with. */
export function bootSerialPatterns(marker: string): Record<string, RegExp> {
  return {
    kernelStarted: /Linux version /,
    initStarted: new RegExp(INIT_STARTED_LINE),
    booted: new RegExp(BOOTED_MARKER),
    rootMounted: /netboot-lab: NFS root mounted: /,
    marker: new RegExp(marker),
  };
}

/**
 * Polls a serial log until `until` (one of the patterns) shows up as a whole line, QEMU's
 * log file stops growing for good (the process is gone), or the time runs out. Never throws:
 * the caller asserts on what was seen.
 */
export async function watchSerialLog(path: string, patterns: Record<string, RegExp>, until: string, timeoutMs: number): Promise<SerialWatch> {
  const firstSeen: Partial<Record<string, number>> = {};
  const cpuSeen: Partial<Record<string, number>> = {};
  let qemuPid: string | undefined;
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    try {
      text = readFileSync(path, "latin1");
    } catch {
      text = "";
    }
    const now = Date.now();
    qemuPid ??= processWriting(path);
    const cpu = qemuPid === undefined ? undefined : cpuSecondsOf(qemuPid);
    for (const [name, pattern] of Object.entries(patterns)) {
      if (firstSeen[name] === undefined && new RegExp(`${pattern.source}[^\\n]*\\n`).test(text)) {
        firstSeen[name] = now;
        if (cpu !== undefined) cpuSeen[name] = cpu;
      }
    }
    if (firstSeen[until] !== undefined) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return { text, firstSeen, cpuSeen };
}

/** The QEMU (not a wrapper around it) whose command line names this serial log (its `-chardev file,path=`); undefined until it runs. */
function processWriting(serialLog: string): string | undefined {
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const isQemu = readFileSync(`/proc/${pid}/comm`, "latin1").startsWith("qemu-system");
      if (isQemu && readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(`path=${serialLog}`)) return pid;
    } catch {
      // Gone between the listing and the read.
    }
  }
  return undefined;
}

/** utime + stime of a process in seconds (Linux counts them in USER_HZ, 100 a second on x86); undefined once it is gone. */
function cpuSecondsOf(pid: string): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ");
    // After "pid (comm) ", utime and stime are the 12th and 13th fields.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function seconds(fromMs: number, atMs: number | undefined): number | null {
  return atMs === undefined ? null : Math.round((atMs - fromMs) / 100) / 10;
}

function dhcpSummary(frame: Frame): ReturnType<typeof summarizePacket> | undefined {
  if (!frame.udp || ![67, 68].includes(frame.udp.srcPort) || ![67, 68].includes(frame.udp.dstPort)) return undefined;
  try {
    return summarizePacket(decodeDhcpPacket(frame.udp.payload));
  } catch {
    return undefined;
  }
}

/** A TFTP read request (`tftp <file>`) or an HTTP GET (`http <path>`) from the guest: a file its firmware or loader fetches. */
export function fileRequest(frame: Frame, mac: string): string | undefined {
  if (frame.srcMac !== mac) return undefined;
  if (frame.udp?.dstPort === 69) {
    if (frame.udp.payload.length < 4 || frame.udp.payload.readUInt16BE(0) !== 1) return undefined;
    const request = frame.udp.payload.subarray(2);
    return `tftp ${request.subarray(0, request.indexOf(0)).toString("latin1")}`;
  }
  const get = /^GET (\S+)/.exec(frame.tcp?.payload.subarray(0, 2048).toString("latin1") ?? "");
  return get ? `http ${get[1]!}` : undefined;
}

function dhcpAckTo(frame: Frame, mac: string): { yiaddr: string; server: string } | undefined {
  if (frame.udp?.srcPort !== 67) return undefined;
  const summary = dhcpSummary(frame);
  return summary?.chaddr === mac && summary.messageType === "DHCPACK" ? { yiaddr: summary.yiaddr, server: frame.ipv4!.src } : undefined;
}

function isDiscoverFrom(frame: Frame, mac: string): boolean {
  if (frame.srcMac !== mac || frame.udp?.dstPort !== 67) return false;
  return dhcpSummary(frame)?.messageType === "DHCPDISCOVER";
}

/** Bytes for the guest from a file server (HTTP or TFTP data): not DHCP, not a bare TCP acknowledgement. */
function isFileDataTo(frame: Frame, mac: string): boolean {
  if (frame.dstMac !== mac) return false;
  if (frame.tcp) return frame.tcp.payload.length > 0;
  return frame.udp !== undefined && frame.udp.srcPort !== 67;
}

/** Each phase's length from the events; null when either end is missing. */
export function bootPhases(events: Record<BootEvent, number | null>): Record<BootPhase, number | null> {
  return Object.fromEntries(
    Object.entries(BOOT_PHASES).map(([phase, [from, to]]) => {
      const start = from === undefined ? 0 : events[from];
      const end = events[to];
      return [phase, start === null || end === null ? null : Math.round((end - start) * 10) / 10];
    }),
  ) as Record<BootPhase, number | null>;
}

export function bootTimeline(frames: readonly Frame[], mac: string, startedMs: number, serial: SerialWatch): BootTimeline {
  // The guest's boot window: from its start to its marker (or the end of the capture).
  const endMs = serial.firstSeen.marker ?? Infinity;
  const after = frames.filter((frame) => frame.timeMs >= startedMs && frame.timeMs <= endMs);
  const ackFrame = after.find((frame) => dhcpAckTo(frame, mac));
  const requestFrame = after.find((frame) => fileRequest(frame, mac) !== undefined);
  const kernelRequest = after.find((frame) => fileRequest(frame, mac)?.endsWith(`/${LINUX_KERNEL_FILE}`));
  const kernelStartedMs = serial.firstSeen.kernelStarted;
  // The loader's last file arrives just before it starts the kernel; the kernel's own DHCP comes after.
  const transferEnd =
    kernelRequest && kernelStartedMs !== undefined
      ? after.filter((frame) => frame.timeMs >= kernelRequest.timeMs && frame.timeMs <= kernelStartedMs && isFileDataTo(frame, mac)).at(-1)
      : undefined;
  const initDiscover = kernelStartedMs === undefined ? undefined : after.find((frame) => frame.timeMs >= kernelStartedMs && isDiscoverFrom(frame, mac));
  const solicitations = after.filter((frame) => frame.srcMac === mac && frame.icmpv6Type === 133);
  const events: Record<BootEvent, number | null> = {
    firmwareDiscover: seconds(startedMs, after.find((frame) => isDiscoverFrom(frame, mac))?.timeMs),
    firmwareAck: seconds(startedMs, ackFrame?.timeMs),
    kernelRequest: seconds(startedMs, kernelRequest?.timeMs),
    transferEnd: seconds(startedMs, transferEnd?.timeMs),
    kernelStarted: seconds(startedMs, kernelStartedMs),
    initStarted: seconds(startedMs, serial.firstSeen.initStarted),
    initDiscover: seconds(startedMs, initDiscover?.timeMs),
    booted: seconds(startedMs, serial.firstSeen.booted),
    rootMounted: seconds(startedMs, serial.firstSeen.rootMounted),
  };
  return {
    stages: {
      dhcpAnswered: events.firmwareAck,
      firstBootFileRequest: seconds(startedMs, requestFrame?.timeMs),
      kernelStarted: events.kernelStarted,
      rootMounted: events.rootMounted,
      marker: seconds(startedMs, serial.firstSeen.marker),
    },
    events,
    phases: bootPhases(events),
    ...(ackFrame ? { dhcpAck: dhcpAckTo(ackFrame, mac)! } : {}),
    ...(serial.cpuSeen ? { cpuSeconds: { kernelStarted: serial.cpuSeen.kernelStarted ?? null, marker: serial.cpuSeen.marker ?? null } } : {}),
    routerSolicitations: solicitations.length,
    routerAdvertisements: after.filter((frame) => frame.icmpv6Type === 134).length,
  };
}
/** Where every e2e run leaves its serial logs, captures and `timings.json`. */
export const E2E_RESULTS_DIR = join(PROJECT_DIR, "test-results", "e2e");

/** One e2e run's timings in `timings.json`: a run is a stack booted one way (`kvm`, `kvm-kea`, `uefi`, ...). */
export interface RecordedRun {
  readonly accel: "tcg" | "kvm";
  readonly clients: Record<string, BootTimeline>;
}

/**
 * Adds (or replaces) one run's timings in `test-results/e2e/timings.json` and keeps the other
 * runs': several e2e files boot guests in one `npm run test:e2e`, and `npm run bench:boot` reads them all.
 */
export function recordBootTimings(run: string, recorded: RecordedRun): void {
  mkdirSync(E2E_RESULTS_DIR, { recursive: true });
  const file = join(E2E_RESULTS_DIR, "timings.json");
  let runs: Record<string, RecordedRun> = {};
  try {
    runs = (JSON.parse(readFileSync(file, "utf8")) as { runs?: Record<string, RecordedRun> }).runs ?? {};
  } catch {
    // No earlier run in this results folder (or one from an older layout): start afresh.
  }
  // When it was recorded: npm run bench:boot picks out the runs its own e2e invocation wrote.
  writeFileSync(file, `${JSON.stringify({ runs: { ...runs, [run]: { ...recorded, recordedAtMs: Date.now() } } }, null, 2)}\n`);
}
