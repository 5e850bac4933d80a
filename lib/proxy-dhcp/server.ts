/**
 * What the lab's proxyDHCP server answers (PXE spec §2.2.3), as a pure function from one received
 * datagram to a reply and where it goes. The site's DHCP server gives the address; the proxy
 * answers a declared client's PXE DISCOVER on port 67 with an offer that carries no address
 * (yiaddr 0.0.0.0), vendor class `PXEClient`, the boot server and the boot file, and the
 * client's follow-up DHCPREQUEST on port 4011 with the same as an ACK. iPXE (user class `iPXE`)
 * gets its script instead of its own binary again; root-path goes to kinds that mount one.
 */
import type { BootRequester } from "../model/boot-files";
import { DhcpDecodeError, dhcpOption, readOption, type DhcpOption } from "../net/dhcp/options";
import { addresslessReply, decodeDhcpPacket, DHCP_CLIENT_PORT, type DhcpPacket, type ResponderDecision } from "../net/dhcp/packet";
import { pxeFirmwareForArch } from "../servers/boot-selection";

/** Where PXE clients send their DHCPREQUEST to a proxy (PXE spec: the proxy's own port). */
export const PXE_PROXY_PORT = 4011;
export const PXE_VENDOR_CLASS = "PXEClient";

export interface ProxyDhcpClient {
  readonly name: string;
  readonly mac: string;
  /** The client's firmware: the requester when its DISCOVER carries no architecture (option 93). */
  readonly firmware: Exclude<BootRequester, "ipxe" | "netbsd-libsa">;
  /** Boot file by requester (TFTP path relative to the tree, or a URL), as dhcpd.conf would hand it. */
  readonly files: Partial<Record<BootRequester, string>>;
  readonly rootPath?: string;
}

/** What the responder reads: rendered from the lab model into `proxy-dhcp/proxy-dhcp.json`. */
export interface ProxyDhcpConfig {
  /** The lab's server address: siaddr (TFTP), option 54, and where 4011 requests arrive. */
  readonly serverAddress: string;
  /** The declared clients; any other MAC gets no answer. */
  readonly clients: readonly ProxyDhcpClient[];
}

/** Offers on port 67 go to 255.255.255.255 (the client has no address yet), 4011 answers to the sender. */
export type ProxyDhcpDecision = ResponderDecision;

/** iPXE first (it would load its own binary again), then option 93, then the declared firmware. */
function requesterOf(request: DhcpPacket, client: ProxyDhcpClient): BootRequester {
  if (readOption(request, "user-class") === "iPXE") return "ipxe";
  const arch = readOption(request, "pxe-system-type")?.[0];
  return (arch === undefined ? undefined : pxeFirmwareForArch(arch)) ?? client.firmware;
}

/** A proxy reply: no address, the boot server and file, `PXEClient`, and the client's UUID echoed (option 97, PXE spec). */
function proxyReply(request: DhcpPacket, config: ProxyDhcpConfig, type: "DHCPOFFER" | "DHCPACK", file: string, rootPath: string | undefined): DhcpPacket {
  const uuid = request.options?.find((option) => option.code === 97);
  const options: DhcpOption[] = [
    dhcpOption("dhcp-message-type", type),
    dhcpOption("dhcp-server-identifier", config.serverAddress),
    dhcpOption("vendor-class-identifier", PXE_VENDOR_CLASS),
    ...(uuid ? [uuid] : []),
    ...(rootPath ? [dhcpOption("root-path", rootPath)] : []),
  ];
  return addresslessReply(request, config.serverAddress, { sname: "", file }, options);
}

/**
 * Decides the answer to one datagram that arrived on `port` (67 or 4011) from `from`
 * (address and port). Only DHCPDISCOVER on 67 and DHCPREQUEST on 4011 from `PXEClient`s are answered.
 */
export function answerProxyDhcp(datagram: Uint8Array, port: number, from: { address: string; port: number }, config: ProxyDhcpConfig): ProxyDhcpDecision {
  let request: DhcpPacket;
  let type: string | undefined;
  let vendorClass: string | undefined;
  try {
    request = decodeDhcpPacket(datagram);
    if (request.op !== "request") return { kind: "ignore" };
    type = readOption(request, "dhcp-message-type");
    vendorClass = readOption(request, "vendor-class-identifier");
  } catch (error) {
    if (error instanceof DhcpDecodeError) return { kind: "ignore" };
    throw error;
  }
  const expected = port === PXE_PROXY_PORT ? "DHCPREQUEST" : "DHCPDISCOVER";
  if (type !== expected || !vendorClass?.startsWith(PXE_VENDOR_CLASS)) return { kind: "ignore" };
  const who = `${request.chaddr} ${type} on port ${port}`;
  const client = config.clients.find((candidate) => candidate.mac === request.chaddr);
  if (!client) return { kind: "ignore", log: `${who}: not a client of the stack: no answer (the site's server alone answers it)` };
  let requester: BootRequester;
  try {
    requester = requesterOf(request, client);
  } catch (error) {
    if (error instanceof DhcpDecodeError) return { kind: "ignore", log: `${client.name} ${who}: malformed request: ${error.message}` };
    throw error;
  }
  const file = client.files[requester];
  if (!file) return { kind: "ignore", log: `${client.name} ${who}: its boot image has no file for ${requester}: no answer` };
  const replyType = port === PXE_PROXY_PORT ? "DHCPACK" : "DHCPOFFER";
  const reply = proxyReply(request, config, replyType, file, client.rootPath);
  // A 4011 request comes from an address the site gave; an offer on 67 is broadcast to a client that has none.
  const to = port === PXE_PROXY_PORT && from.address !== "0.0.0.0" ? from : { address: "255.255.255.255", port: DHCP_CLIENT_PORT };
  return {
    kind: "reply",
    reply,
    ...to,
    log: `${client.name} ${who} (${requester}) -> ${to.address}:${to.port}: ${replyType} yiaddr 0.0.0.0, next-server ${config.serverAddress}, file ${file}${client.rootPath ? `, root-path ${client.rootPath}` : ""}`,
  };
}
