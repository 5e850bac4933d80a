/**
 * TFTP transfers as the wire shows them, for `watch`: tftpd-hpa logs only the read request, not
 * the block size the client negotiated nor the bytes it sent. `watch` runs tcpdump in the pod's
 * network namespace (TFTP_CAPTURE_COMMAND); this reads its text (`-tt` epoch times, `-x` hex of
 * each IPv4 packet), follows each read from its RRQ through the OACK and the DATA blocks, and
 * returns one event per transfer when its last (short) block is sent or either side sends an ERROR.
 * Pure: fed one line at a time, no clock of its own.
 */
import { dhcpReplyEvent, type WatchedDhcp } from "./dhcp-servers";
import type { DaemonEvent } from "./log-lines";

/**
 * tcpdump in the pod's namespace: line-buffered, numeric, no promiscuous mode (NET_RAW is enough);
 * of DHCP only the servers' replies (source port 67, or 4011 for a proxy's), which dhcp-servers.ts reads.
 */
export const TFTP_CAPTURE_COMMAND = [
  "tcpdump",
  "-l",
  "-n",
  "-p",
  "-U",
  "-tt",
  "-x",
  "-s",
  "0",
  "-i",
  "eth0",
  "ip and udp and (not (port 67 or port 68 or port 4011) or src port 67 or src port 4011)",
];

/** RFC 1350: blocks are 512 bytes unless the server acknowledges a blksize option (RFC 2348) in its OACK. */
export const DEFAULT_BLKSIZE = 512;

export type TftpTransferEvent = Extract<DaemonEvent, { kind: "tftp-transfer" }>;

/** A transfer that ended, at the time of its last packet. */
export interface EndedTransfer {
  readonly time: Date;
  readonly event: TftpTransferEvent;
}

/** What the capture adds to the timelines: ended transfers, and DHCP replies the daemons' logs do not show (dhcp-servers.ts). */
export type CapturedEvent = EndedTransfer | { readonly time: Date; readonly event: Extract<DaemonEvent, { kind: "dhcp" }> };

const OPCODE = { RRQ: 1, DATA: 3, ERROR: 5, OACK: 6 } as const;

interface Datagram {
  /** tcpdump's time in microseconds since the epoch (a Date keeps only milliseconds). */
  readonly micros: number;
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly destinationPort: number;
  readonly payload: Buffer;
}

interface Transfer {
  readonly client: string;
  readonly file: string;
  readonly requestedMicros: number;
  blksize: number;
  lastBlock: number;
  blocks: number;
  bytes: number;
}

/** `1796178223.974022 IP 10.219.226.3.37753 > 10.219.226.2.69: …`: a packet starts; its hex follows. */
const PACKET_HEADER = /^(\d+)\.(\d{6}) IP /;
/** `\t0x0010:  0adb e202 b5b1 0045 002e d9fb 0001 6669`. */
const HEX_LINE = /^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4} ?)+)/;

const ipv4 = (bytes: Buffer, at: number) => [...bytes.subarray(at, at + 4)].join(".");

/** The UDP datagram in one IPv4 packet; undefined for anything else or a truncated packet. */
export function decodeUdpPacket(micros: number, packet: Buffer): Datagram | undefined {
  if (packet.length < 20 || packet[0]! >> 4 !== 4 || packet[9] !== 17) return undefined;
  const headerLength = (packet[0]! & 0x0f) * 4;
  const totalLength = packet.readUInt16BE(2);
  if (packet.length < totalLength || totalLength < headerLength + 8) return undefined;
  const udp = packet.subarray(headerLength, totalLength);
  return {
    micros,
    source: ipv4(packet, 12),
    destination: ipv4(packet, 16),
    sourcePort: udp.readUInt16BE(0),
    destinationPort: udp.readUInt16BE(2),
    payload: udp.subarray(8, udp.readUInt16BE(4)),
  };
}

/** RRQ and OACK bodies: NUL-terminated strings (file, mode, then option name/value pairs). */
function strings(body: Buffer): string[] {
  const parts = body.toString("latin1").split("\0");
  return parts.slice(0, -1);
}

function options(pairs: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) found.set(pairs[i]!.toLowerCase(), pairs[i + 1]!);
  return found;
}

export class TftpCaptureReader {
  private packet: { micros: number; hex: string } | undefined;
  /** Transfers in flight by the client's address and port (its TID). */
  private readonly transfers = new Map<string, Transfer>();

  /** `dhcp`: the lab's server address and mode, to mark other servers' replies; absent: DHCP replies pass by. */
  constructor(private readonly dhcp?: WatchedDhcp) {}

  /** Feeds one line of tcpdump's output; returns the transfers it ended and the DHCP replies it completed. */
  push(line: string): CapturedEvent[] {
    const header = PACKET_HEADER.exec(line);
    if (header) {
      const ended = this.flush();
      this.packet = { micros: Number(header[1]) * 1e6 + Number(header[2]), hex: "" };
      return ended;
    }
    const hex = HEX_LINE.exec(line);
    if (!hex || !this.packet) return this.flush();
    this.packet.hex += hex[1]!.replace(/\s+/g, "");
    // The packet is whole once its IPv4 total length is in: decode now rather than at the next header, which may be seconds away.
    const packet = Buffer.from(this.packet.hex, "hex");
    return packet.length >= 4 && packet.length >= packet.readUInt16BE(2) ? this.flush() : [];
  }

  /** Decodes the packet being read, if any. */
  private flush(): CapturedEvent[] {
    const pending = this.packet;
    this.packet = undefined;
    if (!pending) return [];
    const datagram = decodeUdpPacket(pending.micros, Buffer.from(pending.hex, "hex"));
    const ended = datagram && this.datagram(datagram);
    return ended ? [ended] : [];
  }

  private datagram(datagram: Datagram): CapturedEvent | undefined {
    const { payload } = datagram;
    if (datagram.sourcePort === 67 || datagram.sourcePort === 4011) {
      const event = this.dhcp && dhcpReplyEvent(datagram.source, payload, this.dhcp);
      return event && { time: new Date(Math.floor(datagram.micros / 1000)), event };
    }
    if (payload.length < 2) return undefined;
    const opcode = payload.readUInt16BE(0);
    const toClient = `${datagram.destination}:${datagram.destinationPort}`;
    if (opcode === OPCODE.RRQ && datagram.destinationPort === 69) {
      const [file] = strings(payload.subarray(2));
      if (file === undefined) return undefined;
      const client = `${datagram.source}:${datagram.sourcePort}`;
      this.transfers.set(client, {
        client: datagram.source,
        file: file.replace(/^\/+/, ""),
        requestedMicros: datagram.micros,
        // The client's blksize option is only a wish until the server's OACK agrees to it.
        blksize: DEFAULT_BLKSIZE,
        lastBlock: 0,
        blocks: 0,
        bytes: 0,
      });
      return undefined;
    }
    if (opcode === OPCODE.OACK) {
      const transfer = this.transfers.get(toClient);
      const blksize = Number(options(strings(payload.subarray(2))).get("blksize"));
      if (transfer && blksize > 0) transfer.blksize = blksize;
      return undefined;
    }
    if (opcode === OPCODE.DATA && payload.length >= 4) {
      const transfer = this.transfers.get(toClient);
      if (!transfer) return undefined;
      const block = payload.readUInt16BE(2);
      const data = payload.length - 4;
      // A retransmitted block counts once; block numbers wrap at 65535 on large files.
      if (block === ((transfer.lastBlock + 1) & 0xffff)) {
        transfer.lastBlock = block;
        transfer.blocks++;
        transfer.bytes += data;
      }
      if (data >= transfer.blksize) return undefined;
      this.transfers.delete(toClient);
      return this.ended(transfer, datagram.micros);
    }
    if (opcode === OPCODE.ERROR && payload.length >= 4) {
      const fromClient = `${datagram.source}:${datagram.sourcePort}`;
      const byClient = this.transfers.get(fromClient);
      const transfer = byClient ?? this.transfers.get(toClient);
      if (!transfer) return undefined;
      this.transfers.delete(byClient ? fromClient : toClient);
      const [message = ""] = strings(payload.subarray(4));
      return this.ended(transfer, datagram.micros, { by: byClient ? "client" : "server", code: payload.readUInt16BE(2), message });
    }
    return undefined;
  }

  private ended(transfer: Transfer, micros: number, error?: TftpTransferEvent["error"]): EndedTransfer {
    const event: TftpTransferEvent = {
      kind: "tftp-transfer",
      ip: transfer.client,
      file: transfer.file,
      blksize: transfer.blksize,
      blocks: transfer.blocks,
      bytes: transfer.bytes,
      seconds: (micros - transfer.requestedMicros) / 1e6,
      ...(error ? { error } : {}),
    };
    return { time: new Date(Math.floor(micros / 1000)), event };
  }
}
