/**
 * DHCP replies as `watch`'s capture sees them in the pod's namespace (tftp-capture.ts feeds them
 * here): dhcpd logs its own answers, but not another server's, and the proxyDHCP server's go to
 * its own log. A reply from a server other than the lab's becomes a timeline event marked OTHER
 * DHCP SERVER (authoritative mode: it may steal the boot) or "site DHCP server" (proxy mode: it
 * gives the address); the lab's own proxy replies show the boot file they hand out.
 */
import { DhcpDecodeError, readOption } from "../net/dhcp/options";
import { decodeDhcpPacket } from "../net/dhcp/packet";
import type { DaemonEvent, DhcpMessage } from "./log-lines";

export interface WatchedDhcp {
  readonly serverAddress: string;
  readonly mode: "authoritative" | "proxy";
}

/** The event for a reply from `source` (UDP source port 67 or 4011); undefined for the lab's dhcpd (its log says it) and what is not a reply. */
export function dhcpReplyEvent(source: string, payload: Buffer, lab: WatchedDhcp): Extract<DaemonEvent, { kind: "dhcp" }> | undefined {
  let message: DhcpMessage;
  let serverId: string | undefined;
  let packet;
  try {
    packet = decodeDhcpPacket(payload);
    if (packet.op !== "reply") return undefined;
    message = readOption(packet, "dhcp-message-type") ?? "BOOTREPLY";
    serverId = readOption(packet, "dhcp-server-identifier");
  } catch (error) {
    if (error instanceof DhcpDecodeError) return undefined;
    throw error;
  }
  const base = { kind: "dhcp" as const, message, mac: packet.chaddr, ip: packet.yiaddr };
  if (source === lab.serverAddress) {
    if (lab.mode !== "proxy") return undefined;
    return { ...base, ip: undefined, note: `proxy: no address, file ${packet.file || "(none)"}` };
  }
  const who = `${source}, server-id ${serverId ?? "none"}`;
  return { ...base, note: lab.mode === "proxy" ? `site DHCP server ${who}` : `OTHER DHCP SERVER ${who}` };
}
