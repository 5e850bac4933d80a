/**
 * The client side of a DHCP exchange on a lab link: which address to send from so broadcasts
 * leave through the lab link and no other, the UDP sockets, and send-and-wait with the
 * retransmissions real clients do. The transport is an interface so tests and other callers
 * (check, bsdp) can put something else under the same exchange.
 */
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import { UserError } from "../../errors";
import { DhcpDecodeError } from "./options";
import { decodeDhcpPacket, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, encodeDhcpPacket, type DhcpPacket } from "./packet";
import { isReplyTo } from "./request";

/** A problem with the link or the local ports that the user fixes (exit code 2: wrong link; 1: permissions, port taken). */
export class DhcpLinkError extends UserError {}

/** Moves encoded DHCP packets: broadcasts requests to the server port, hands every datagram that arrives to the listener. */
export interface DhcpTransport {
  send(bytes: Buffer): Promise<void>;
  /** Subscribes to incoming datagrams; returns the unsubscribe. */
  listen(listener: (bytes: Buffer, from: string) => void): () => void;
  close(): void;
}

/** A reply and where its datagram came from. */
export interface DhcpReceived {
  readonly packet: DhcpPacket;
  readonly from: string;
  /** The datagram as it arrived. */
  readonly bytes: Buffer;
}

/** Real clients resend about once a second; one lost broadcast must not look like a silent server. */
export const RETRANSMIT_MS = 1000;

const ANY_ADDRESS = "0.0.0.0";
const LIMITED_BROADCAST = "255.255.255.255";

/** Where the kernel sends 255.255.255.255 from an unbound socket; undefined when nowhere. */
async function limitedBroadcastDevice(interfaceName: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("ip", ["-j", "route", "get", "255.255.255.255"]);
    return (JSON.parse(stdout) as { dev?: string }[])[0]?.dev;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new DhcpLinkError(
        `probe: ${interfaceName} has no IPv4 address, and checking where broadcasts go needs the ip command (iproute2); install it or give ${interfaceName} an address`,
        2,
      );
    }
    return undefined; // "Network is unreachable"
  }
}

export interface DhcpLink {
  readonly interfaceName: string;
  readonly mac: string;
  /** Address the sending socket binds to: the interface's own, or 0.0.0.0 when routing already points there. */
  readonly sendAddress: string;
}

/**
 * A socket bound to an interface's own address sends limited broadcasts through that interface
 * whatever the routes say; an interface without one is only safe when routing already points there.
 */
export async function inspectLink(interfaceName: string): Promise<DhcpLink> {
  const sysfs = `/sys/class/net/${interfaceName}`;
  if (!/^[\w.-]+$/.test(interfaceName) || !existsSync(sysfs)) {
    throw new DhcpLinkError(`probe: --interface ${interfaceName}: no such network interface here (ip link lists them); name the lab link`, 2);
  }
  const mac = readFileSync(`${sysfs}/address`, "utf8").trim();
  const own = networkInterfaces()[interfaceName]?.find((address) => address.family === "IPv4");
  if (own) return { interfaceName, mac, sendAddress: own.address };
  const device = await limitedBroadcastDevice(interfaceName);
  if (device === interfaceName) return { interfaceName, mac, sendAddress: ANY_ADDRESS };
  const where = device ? `broadcasts to 255.255.255.255 would leave through ${device}` : "no route takes broadcasts to 255.255.255.255";
  throw new DhcpLinkError(
    `probe: ${interfaceName} has no IPv4 address and ${where}. Give ${interfaceName} an address on the lab subnet, ` +
      `or in a network namespace on the lab link run: ip route add 255.255.255.255/32 dev ${interfaceName}`,
    2,
  );
}

async function bindClientPort(address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ port, address }, () => {
      socket.off("error", reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    socket.close();
    if (error.code === "EACCES") throw new DhcpLinkError(`probe: binding UDP port ${port} needs root (or CAP_NET_BIND_SERVICE); run it with sudo`, 1);
    if (error.code === "EADDRINUSE") {
      throw new DhcpLinkError(
        `probe: UDP port ${port} on ${address} is held by a program that does not share it; run the probe in a network namespace joined to the lab link`,
        1,
      );
    }
    throw error;
  });
  socket.setBroadcast(true);
  return socket;
}

/**
 * UDP on the client port of a lab link. Replies are broadcast to 255.255.255.255:68, which only
 * a socket bound to 0.0.0.0 receives; a second socket bound to the interface's address pins the
 * outgoing interface and receives replies unicast to that address. `clientPort` is where replies are expected: 68, or the reply port a BSDP
 * client names (the Startup Disk pane asks from another port). `serverAddress` replaces the
 * broadcast for a client that already knows its server and has an address of its own.
 */
export async function openUdpTransport(link: DhcpLink, clientPort = DHCP_CLIENT_PORT, serverAddress = LIMITED_BROADCAST): Promise<DhcpTransport> {
  const receiver = await bindClientPort(ANY_ADDRESS, clientPort);
  const sender =
    link.sendAddress === ANY_ADDRESS
      ? receiver
      : await bindClientPort(link.sendAddress, clientPort).catch((error: unknown) => {
          receiver.close();
          throw error;
        });
  return {
    send: (bytes) => new Promise((resolve, reject) => sender.send(bytes, DHCP_SERVER_PORT, serverAddress, (error) => (error ? reject(error) : resolve()))),
    // Broadcast replies reach the 0.0.0.0 socket, unicast ones (BSDP's, to ciaddr) the more specific one.
    listen(listener) {
      const onMessage = (message: Buffer, remote: { address: string }) => listener(message, remote.address);
      const sockets = sender === receiver ? [receiver] : [receiver, sender];
      for (const socket of sockets) socket.on("message", onMessage);
      return () => sockets.forEach((socket) => socket.off("message", onMessage));
    },
    close() {
      receiver.close();
      if (sender !== receiver) sender.close();
    },
  };
}

/**
 * Sends `request`, resending every `retransmitMs`, until a reply to it that `accept` takes
 * arrives or `timeoutMs` passes (undefined). `accept` passes over other servers' answers to the
 * same transaction, e.g. dhcpd's plain ACK to a Mac's BSDP INFORM.
 */
export function exchange(
  transport: DhcpTransport,
  request: DhcpPacket,
  timeoutMs: number,
  retransmitMs = RETRANSMIT_MS,
  accept: (reply: DhcpPacket) => boolean = () => true,
): Promise<DhcpReceived | undefined> {
  const bytes = encodeDhcpPacket(request);
  return new Promise((resolve, reject) => {
    const send = () => transport.send(bytes).catch((error: unknown) => finish(() => reject(error)));
    const onDatagram = (message: Buffer, from: string) => {
      let packet: DhcpPacket;
      try {
        packet = decodeDhcpPacket(message);
      } catch (error) {
        if (error instanceof DhcpDecodeError) return; // not a BOOTP packet; port 68 is shared
        throw error;
      }
      if (isReplyTo(request, packet) && accept(packet)) finish(() => resolve({ packet, from, bytes: message }));
    };
    const resend = setInterval(send, retransmitMs);
    const timeout = setTimeout(() => finish(() => resolve(undefined)), timeoutMs);
    const unsubscribe = transport.listen(onDatagram);
    const finish = (settle: () => void) => {
      clearInterval(resend);
      clearTimeout(timeout);
      unsubscribe();
      settle();
    };
    void send();
  });
}
