/**
 * Packet captures of a test's own lab bridge: tcpdump writes a libpcap file, this reads it
 * back into frames with the few fields the boot timeline needs (Ethernet, IPv4/UDP/TCP, and
 * ICMPv6 types for router solicitations and advertisements).
 */
import { readFileSync } from "node:fs";
import { execa, type ResultPromise } from "execa";
import { decodeDhcpPacket, DhcpDecodeError, type DhcpPacket } from "../../lib/net/dhcp";

export interface Frame {
  /** Capture time, milliseconds since the epoch (the same clock as Date.now()). */
  readonly timeMs: number;
  readonly srcMac: string;
  readonly dstMac: string;
  readonly ipv4?: { readonly src: string; readonly dst: string; readonly protocol: number };
  readonly udp?: { readonly srcPort: number; readonly dstPort: number; readonly payload: Buffer };
  readonly tcp?: { readonly srcPort: number; readonly dstPort: number; readonly payload: Buffer };
  /** ICMPv6 message type (133 router solicitation, 134 router advertisement). */
  readonly icmpv6Type?: number;
}

const LINKTYPE_ETHERNET = 1;

function mac(bytes: Buffer, offset: number): string {
  return [...bytes.subarray(offset, offset + 6)].map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

function ipv4(bytes: Buffer, offset: number): string {
  return [...bytes.subarray(offset, offset + 4)].join(".");
}

function frameAt(timeMs: number, data: Buffer): Frame {
  const base = { timeMs, dstMac: mac(data, 0), srcMac: mac(data, 6) };
  let etherType = data.readUInt16BE(12);
  let offset = 14;
  if (etherType === 0x8100) {
    etherType = data.readUInt16BE(16);
    offset = 18;
  }
  if (etherType === 0x86dd && data.length >= offset + 41) {
    // Router solicitations and advertisements carry no extension headers.
    return data[offset + 6] === 58 ? { ...base, icmpv6Type: data[offset + 40]! } : base;
  }
  if (etherType !== 0x0800 || data.length < offset + 20) return base;
  const headerLength = (data[offset]! & 0x0f) * 4;
  const protocol = data[offset + 9]!;
  const ip = { src: ipv4(data, offset + 12), dst: ipv4(data, offset + 16), protocol };
  const l4 = offset + headerLength;
  if (protocol === 17 && data.length >= l4 + 8) {
    return { ...base, ipv4: ip, udp: { srcPort: data.readUInt16BE(l4), dstPort: data.readUInt16BE(l4 + 2), payload: data.subarray(l4 + 8) } };
  }
  if (protocol === 6 && data.length >= l4 + 20) {
    const tcpHeaderLength = (data[l4 + 12]! >> 4) * 4;
    return { ...base, ipv4: ip, tcp: { srcPort: data.readUInt16BE(l4), dstPort: data.readUInt16BE(l4 + 2), payload: data.subarray(l4 + tcpHeaderLength) } };
  }
  return { ...base, ipv4: ip };
}

/** Every frame of a libpcap file (microsecond or nanosecond timestamps, either byte order). */
export function readPcap(path: string): Frame[] {
  const file = readFileSync(path);
  if (file.length < 24) return [];
  const magic = file.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${path} is not a pcap file`);
  const nanoseconds = (littleEndian ? magic : file.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (offset: number) => (littleEndian ? file.readUInt32LE(offset) : file.readUInt32BE(offset));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`${path}: link type ${u32(20)} is not Ethernet`);
  const frames: Frame[] = [];
  for (let offset = 24; offset + 16 <= file.length;) {
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const captured = u32(offset + 8);
    if (offset + 16 + captured > file.length) break;
    const timeMs = seconds * 1000 + (nanoseconds ? fraction / 1e6 : fraction / 1e3);
    frames.push(frameAt(timeMs, file.subarray(offset + 16, offset + 16 + captured)));
    offset += 16 + captured;
  }
  return frames;
}

export interface Capture {
  readonly path: string;
  /** Ends tcpdump (flushing what it holds) and reads the file. */
  stop(): Promise<Frame[]>;
}

/** tcpdump on an interface the test made (never one of the machine's own), writing every frame as it arrives. */
export async function captureOn(interfaceName: string, path: string): Promise<Capture> {
  const tcpdump: ResultPromise = execa("tcpdump", ["-i", interfaceName, "-n", "-U", "-s", "1600", "-w", path], {
    reject: false,
    buffer: false,
    stdout: "ignore",
    stderr: "pipe",
  });
  // It says "listening on <interface>" on stderr once the capture runs.
  await new Promise<void>((resolveStart, rejectStart) => {
    let said = "";
    tcpdump.stderr!.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      if (/listening on/.test(said)) resolveStart();
    });
    void tcpdump.then((result) => rejectStart(new Error(`tcpdump exited (${result.exitCode}): ${said}`)));
  });
  return {
    path,
    async stop() {
      tcpdump.kill("SIGINT");
      await tcpdump;
      return readPcap(path);
    },
  };
}

/** The DHCP replies in a capture (UDP from port 67, or a proxy's 4011), decoded, with the address and port each came from. */
export function dhcpReplies(frames: readonly Frame[]): { from: string; port: number; packet: DhcpPacket }[] {
  return frames.flatMap((frame) => {
    if (!frame.ipv4 || !frame.udp || ![67, 4011].includes(frame.udp.srcPort)) return [];
    try {
      const packet = decodeDhcpPacket(frame.udp.payload);
      return packet.op === "reply" ? [{ from: frame.ipv4.src, port: frame.udp.srcPort, packet }] : [];
    } catch (error) {
      if (error instanceof DhcpDecodeError) return [];
      throw error;
    }
  });
}
