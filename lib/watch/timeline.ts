/**
 * One boot timeline per client MAC, built from the daemons' events (log-lines.ts): DHCP by MAC,
 * TFTP, HTTP and NFS by the address dhcpd handed that MAC. Times are relative to the first event
 * of each MAC. A stage that stops (an ACK and no boot-file request, files read and no NFS mount)
 * is called out once, with what usually causes it. Pure: `watch` feeds it events and the clock.
 */
import type { DaemonEvent } from "./log-lines";

export interface WatchedClient {
  readonly name: string;
  readonly mac: string;
  /** Reserved address, known before any DHCP traffic. */
  readonly ipv4?: string;
  /** Present when the client mounts its root over NFS, so a boot without a mount is a stall. */
  readonly rootPath?: string;
}

export type BootStage = "dhcp" | "boot-file" | "nfs";

export interface TimelineEntry {
  readonly mac: string;
  /** Client name from the stack; undefined for a MAC the stack does not declare. */
  readonly client?: string;
  readonly time: Date;
  /** Seconds since this MAC's first event. */
  readonly elapsed: number;
  readonly stage: BootStage | "stall";
  readonly text: string;
}

export interface TimelineOptions {
  /** Seconds of silence after which a stage counts as stalled. */
  readonly stallSeconds: number;
  /** File sizes in the boot tree (from the build records), to show with each TFTP read. */
  readonly fileSizes?: ReadonlyMap<string, number>;
  /** Show only these MACs; default every declared client (and undeclared MACs too). */
  readonly onlyMacs?: readonly string[];
}

interface MacState {
  readonly first: Date;
  last: { time: Date; stage: BootStage; what: string };
  readonly entries: TimelineEntry[];
  stallReported: boolean;
  /** NFS program/version pairs seen from this client's address, so only the first of each is shown. */
  readonly nfsSeen: Set<string>;
  nfsRequests: number;
}

const NFS_FIRST: Record<string, string> = {
  "mount/3": "NFSv3 MOUNT",
  "mount/1": "NFSv2 MOUNT",
  "nfs/3": "NFSv3 first request",
  "nfs/4": "NFSv4 first COMPOUND (mount)",
  "nfs/2": "NFSv2 first request",
};

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;

export class BootTimelines {
  private readonly clientsByMac: Map<string, WatchedClient>;
  private readonly macByIp = new Map<string, string>();
  private readonly states = new Map<string, MacState>();

  constructor(
    clients: readonly WatchedClient[],
    private readonly options: TimelineOptions,
  ) {
    this.clientsByMac = new Map(clients.map((client) => [client.mac, client]));
    for (const client of clients) if (client.ipv4) this.macByIp.set(client.ipv4, client.mac);
  }

  /** Records an event; returns the timeline entry to print, or undefined when it is about no watched client or adds nothing new. */
  add(time: Date, event: DaemonEvent): TimelineEntry | undefined {
    const mac = this.macOf(event);
    if (!mac || (this.options.onlyMacs && !this.options.onlyMacs.includes(mac))) return undefined;
    const state = this.stateOf(mac, time);
    const described = this.describe(state, event);
    if (!described) return undefined;
    state.last = { time, stage: described.stage, what: described.what };
    state.stallReported = false;
    return this.record(state, mac, time, described.stage, described.text);
  }

  /** Stalled stages as of `now`, each reported once until the client moves on. */
  stalls(now: Date): TimelineEntry[] {
    const found: TimelineEntry[] = [];
    for (const [mac, state] of this.states) {
      if (state.stallReported) continue;
      const quiet = seconds(state.last.time, now);
      if (quiet < this.options.stallSeconds) continue;
      const message = this.stallMessage(mac, state, Math.round(quiet));
      if (!message) continue;
      state.stallReported = true;
      found.push(this.record(state, mac, now, "stall", message));
    }
    return found;
  }

  /**
   * Every MAC's timeline, in order of first appearance, for the end of a watch; each in time order, since
   * the streams arrive out of step (the capture's packet times run ahead of tftpd's lines through syslog).
   */
  entries(): ReadonlyMap<string, readonly TimelineEntry[]> {
    return new Map([...this.states].map(([mac, state]) => [mac, [...state.entries].sort((a, b) => a.time.getTime() - b.time.getTime())]));
  }

  /** NFS RPCs seen per MAC beyond the first of each kind (which are in the timeline). */
  nfsRequests(mac: string): number {
    return this.states.get(mac)?.nfsRequests ?? 0;
  }

  private macOf(event: DaemonEvent): string | undefined {
    if (event.kind === "dhcp") {
      if (event.mac && event.ip && ["DHCPOFFER", "DHCPACK", "BOOTREPLY"].includes(event.message)) this.macByIp.set(event.ip, event.mac);
      return event.mac ?? (event.ip ? this.macByIp.get(event.ip) : undefined);
    }
    return this.macByIp.get(event.ip);
  }

  private stateOf(mac: string, time: Date): MacState {
    let state = this.states.get(mac);
    if (!state) {
      state = { first: time, last: { time, stage: "dhcp", what: "" }, entries: [], stallReported: false, nfsSeen: new Set(), nfsRequests: 0 };
      this.states.set(mac, state);
    }
    return state;
  }

  private record(state: MacState, mac: string, time: Date, stage: TimelineEntry["stage"], text: string): TimelineEntry {
    const client = this.clientsByMac.get(mac)?.name;
    const entry: TimelineEntry = { mac, ...(client ? { client } : {}), time, elapsed: seconds(state.first, time), stage, text };
    state.entries.push(entry);
    return entry;
  }

  private describe(state: MacState, event: DaemonEvent): { stage: BootStage; text: string; what: string } | undefined {
    switch (event.kind) {
      case "dhcp": {
        const text = `${event.message}${event.ip ? ` ${event.ip}` : ""}${event.note ? ` (${event.note})` : ""}`;
        return { stage: "dhcp", text, what: event.message };
      }
      case "tftp-read": {
        const size = this.options.fileSizes?.get(event.file);
        return { stage: "boot-file", text: `TFTP read ${event.file}${size === undefined ? "" : ` (${size} bytes)`}`, what: "TFTP read" };
      }
      case "tftp-transfer": {
        const { file, bytes, blocks, blksize, seconds: took, error } = event;
        const sent = `${bytes} bytes in ${blocks} blocks of blksize ${blksize}, ${took.toFixed(3)} s`;
        if (error?.by === "server" && bytes === 0) return undefined; // tftpd-hpa's own log line already shows the refusal
        if (error) {
          const ended = error.by === "client" ? "the client ended the transfer" : "the server ended the transfer";
          return {
            stage: "boot-file",
            text: `TFTP ${file}: ${ended} after ${sent} (error ${error.code}${error.message ? `: ${error.message}` : ""})`,
            what: "TFTP transfer",
          };
        }
        const built = this.options.fileSizes?.get(file);
        const mismatch = built !== undefined && built !== bytes ? `; the build wrote ${built} bytes` : "";
        return { stage: "boot-file", text: `TFTP sent ${file}: ${sent}${mismatch}`, what: "TFTP transfer" };
      }
      case "tftp-refused":
        return {
          stage: "boot-file",
          text: `TFTP refused: ${event.reason} (error ${event.code})${event.code === 1 ? ": the file is not in the boot tree" : ""}`,
          what: "TFTP refusal",
        };
      case "http":
        return {
          stage: "boot-file",
          text: `HTTP ${event.method} /${event.path} ${event.status}, ${event.bytes} bytes in ${event.seconds} s${event.status === 404 ? ": not in the boot tree" : ""}`,
          what: "HTTP request",
        };
      case "nfs": {
        const key = `${event.program}/${event.version}`;
        if (state.nfsSeen.has(key)) {
          state.nfsRequests++;
          return undefined;
        }
        state.nfsSeen.add(key);
        const text = NFS_FIRST[key] ?? `NFS program ${event.program} v${event.version}`;
        return { stage: "nfs", text, what: text };
      }
    }
  }

  private stallMessage(mac: string, state: MacState, quiet: number): string | undefined {
    const client = this.clientsByMac.get(mac);
    const { stage, what } = state.last;
    if (what === "DHCPOFFER")
      return `OFFER sent ${quiet} s ago, no REQUEST: the client did not take the offer (another DHCP server answered first, or its firmware refused the offer)`;
    if (what === "DHCPACK" || what === "BOOTREPLY")
      return `${what === "DHCPACK" ? "ACK" : "BOOTREPLY"} sent ${quiet} s ago, no boot-file request: the firmware rejected the offer or the file name`;
    if (what === "DHCPDISCOVER" || what === "BOOTREQUEST")
      return `${what} ${quiet} s ago and no answer: the DHCP server (dhcpd or Kea) does not know this MAC or is not running (netboot-lab check says which)`;
    if (what === "TFTP refusal")
      return `the boot file was refused ${quiet} s ago and nothing followed: the firmware gave up (netboot-lab check names the missing file)`;
    if (stage === "boot-file" && client?.rootPath && state.nfsSeen.size === 0) {
      return `last boot file read ${quiet} s ago, no NFS mount of ${client.rootPath}: the kernel did not reach its root (NIC driver, root-path, or the NFS server)`;
    }
    return undefined;
  }
}

/** `+12.3 s` with a fixed width, so timelines line up. */
export function formatElapsed(elapsed: number): string {
  return `+${elapsed.toFixed(1).padStart(6)} s`;
}

export function formatEntry(entry: TimelineEntry): string {
  const who = `${entry.client ?? "(undeclared)"} ${entry.mac}`;
  return `${who}  ${formatElapsed(entry.elapsed)}  ${entry.stage === "stall" ? "STALLED: " : ""}${entry.text}`;
}

/** Every MAC's timeline as the end of `watch` prints it. */
export function formatTimelines(timelines: BootTimelines): string {
  const blocks = [...timelines.entries()].map(([mac, entries]) => {
    const client = entries[0]?.client;
    const nfs = timelines.nfsRequests(mac);
    return [
      `${client ?? "(undeclared)"} ${mac}`,
      ...entries.map((entry) => `  ${formatElapsed(entry.elapsed)}  ${entry.stage === "stall" ? "STALLED: " : ""}${entry.text}`),
      ...(nfs ? [`  (${nfs} more NFS requests)`] : []),
    ].join("\n");
  });
  return blocks.length ? `${blocks.join("\n\n")}\n` : "no client activity seen\n";
}
