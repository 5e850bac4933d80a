/**
 * When each stage of a guest's network boot happened, in seconds after its QEMU started: the
 * network stages from a capture of the lab bridge (what the servers answered, what the guest
 * asked), the later ones from the guest's serial log as it grows.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeDhcpPacket, summarizePacket } from "../../lib/net/dhcp";
import type { Frame } from "./pcap";
import { PROJECT_DIR } from "./pulumi-harness";

export const BOOT_STAGES = ["dhcpAnswered", "firstBootFileRequest", "kernelStarted", "rootMounted", "marker"] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

export interface BootTimeline {
  /** Seconds after QEMU started; null when the stage did not happen (no NFS root declared, or the boot stalled). */
  readonly stages: Record<BootStage, number | null>;
  /** The address the lab's dhcpd acknowledged to the guest's MAC, and who sent it. */
  readonly dhcpAck?: { readonly yiaddr: string; readonly server: string };
  /** What the guest sent looking for an IPv6 router, and what answered it. */
  readonly routerSolicitations: number;
  readonly routerAdvertisements: number;
}

export interface SerialWatch {
  /** The serial log as it stood when the watch ended. */
  readonly text: string;
  /** When each pattern first showed up (ms since the epoch); absent when it never did. */
  readonly firstSeen: Partial<Record<string, number>>;
}

/**
 * Polls a serial log until `until` (one of the patterns) shows up as a whole line, QEMU's
 * log file stops growing for good (the process is gone), or the time runs out. Never throws:
 * the caller asserts on what was seen.
 */
export async function watchSerialLog(path: string, patterns: Record<string, RegExp>, until: string, timeoutMs: number): Promise<SerialWatch> {
  const firstSeen: Partial<Record<string, number>> = {};
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    try {
      text = readFileSync(path, "latin1");
    } catch {
      text = "";
    }
    const now = Date.now();
    for (const [name, pattern] of Object.entries(patterns)) {
      if (firstSeen[name] === undefined && new RegExp(`${pattern.source}[^\\n]*\\n`).test(text)) firstSeen[name] = now;
    }
    if (firstSeen[until] !== undefined) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return { text, firstSeen };
}

function seconds(fromMs: number, atMs: number | undefined): number | null {
  return atMs === undefined ? null : Math.round((atMs - fromMs) / 100) / 10;
}

function dhcpAckTo(frame: Frame, mac: string): { yiaddr: string; server: string } | undefined {
  if (frame.udp?.srcPort !== 67 || frame.udp.dstPort !== 68) return undefined;
  try {
    const summary = summarizePacket(decodeDhcpPacket(frame.udp.payload));
    if (summary.chaddr === mac && summary.messageType === "DHCPACK") return { yiaddr: summary.yiaddr, server: frame.ipv4!.src };
  } catch {
    return undefined;
  }
  return undefined;
}

/** A TFTP read request (`tftp <file>`) or an HTTP GET (`http <path>`) from the guest: a file its firmware or loader fetches. */
export function fileRequest(frame: Frame, mac: string): string | undefined {
  if (frame.srcMac !== mac) return undefined;
  if (frame.udp?.dstPort === 69) {
    if (frame.udp.payload.readUInt16BE(0) !== 1) return undefined;
    const request = frame.udp.payload.subarray(2);
    return `tftp ${request.subarray(0, request.indexOf(0)).toString("latin1")}`;
  }
  const get = /^GET (\S+)/.exec(frame.tcp?.payload.subarray(0, 2048).toString("latin1") ?? "");
  return get ? `http ${get[1]!}` : undefined;
}

function isBootFileRequest(frame: Frame, mac: string): boolean {
  return fileRequest(frame, mac) !== undefined;
}

export function bootTimeline(frames: readonly Frame[], mac: string, startedMs: number, serial: SerialWatch): BootTimeline {
  // The guest's boot window: from its start to its marker (or the end of the capture).
  const endMs = serial.firstSeen.marker ?? Infinity;
  const after = frames.filter((frame) => frame.timeMs >= startedMs && frame.timeMs <= endMs);
  const ackFrame = after.find((frame) => dhcpAckTo(frame, mac));
  const requestFrame = after.find((frame) => isBootFileRequest(frame, mac));
  const solicitations = after.filter((frame) => frame.srcMac === mac && frame.icmpv6Type === 133);
  return {
    stages: {
      dhcpAnswered: seconds(startedMs, ackFrame?.timeMs),
      firstBootFileRequest: seconds(startedMs, requestFrame?.timeMs),
      kernelStarted: seconds(startedMs, serial.firstSeen.kernelStarted),
      rootMounted: seconds(startedMs, serial.firstSeen.rootMounted),
      marker: seconds(startedMs, serial.firstSeen.marker),
    },
    ...(ackFrame ? { dhcpAck: dhcpAckTo(ackFrame, mac)! } : {}),
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
  writeFileSync(file, `${JSON.stringify({ runs: { ...runs, [run]: recorded } }, null, 2)}\n`);
}
