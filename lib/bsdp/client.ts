/**
 * The Mac side of BSDP: the INFORM[LIST] and INFORM[SELECT] an Intel Mac's firmware or the
 * Startup Disk pane sends (darwin-netboot-formats.md §4.7), and what a reply says, decoded.
 */
import { dhcpOption, readOption } from "../net/dhcp/options";
import { DHCP_CLIENT_PORT, type DhcpPacket } from "../net/dhcp/packet";
import { bootRequest } from "../net/dhcp/request";
import {
  BSDP_VENDOR_CLASS,
  BSDP_VERSION_1_1,
  BsdpDecodeError,
  bsdpClientClass,
  encodeBsdpOptions,
  readBsdpOptions,
  type BsdpMessageType,
  type BsdpOptions,
} from "./codec";
import { bsdpImageIdentity, formatImageId } from "./image-id";

/** Who the Mac is: the fields every INFORM of one Mac repeats. */
export interface MacIdentity {
  readonly mac: string;
  /** The address the Mac already has (ciaddr): replies are unicast to it. */
  readonly address: string;
  /** `i386` for Intel Macs. */
  readonly arch: string;
  /** Model identifier, e.g. `MacPro3,1`. */
  readonly model: string;
}

export type MacRequest =
  | { readonly type: "LIST"; readonly replyPort?: number; readonly attributesFilter?: readonly number[] }
  | { readonly type: "SELECT"; readonly replyPort?: number; readonly serverIdentifier: string; readonly imageId?: number };

/** What Apple's BSDP client asks for (option 55) and the longest reply it takes on Ethernet. */
const REQUESTED_OPTIONS = [1, 3, 17, 43, 60];
const MAX_MESSAGE_SIZE = 1500;

export function macInform(identity: MacIdentity, request: MacRequest, xid: number): DhcpPacket {
  const replyPort = request.replyPort === DHCP_CLIENT_PORT ? undefined : request.replyPort;
  const bsdp: BsdpOptions =
    request.type === "LIST"
      ? { messageType: "LIST", version: BSDP_VERSION_1_1, replyPort, attributesFilter: request.attributesFilter, maxMessageSize: MAX_MESSAGE_SIZE }
      : { messageType: "SELECT", version: BSDP_VERSION_1_1, serverIdentifier: request.serverIdentifier, replyPort, selectedImage: request.imageId };
  return bootRequest({
    mac: identity.mac,
    xid,
    ciaddr: identity.address,
    options: [
      dhcpOption("dhcp-message-type", "DHCPINFORM"),
      dhcpOption("dhcp-parameter-request-list", REQUESTED_OPTIONS),
      dhcpOption("dhcp-max-message-size", MAX_MESSAGE_SIZE),
      dhcpOption("vendor-class-identifier", bsdpClientClass({ arch: identity.arch, systemId: identity.model })),
      ...encodeBsdpOptions(bsdp),
    ],
  });
}

/** A reply from a BSDP server, not another DHCP server's answer to the same INFORM (dhcpd sends a plain ACK). */
export function isBsdpReply(packet: DhcpPacket): boolean {
  return readOption(packet, "vendor-class-identifier") === BSDP_VENDOR_CLASS;
}

export interface OfferedImage {
  /** `0x81001001` */
  readonly id: string;
  readonly index: number;
  readonly install: boolean;
  readonly kind: number;
  readonly name: string;
}

/** A BSDP reply as `bsdp list|select --json` prints it. */
export interface BsdpAnswer {
  readonly messageType: BsdpMessageType;
  /** Source address of the datagram. */
  readonly receivedFrom: string;
  /** Port the reply arrived on: the reply port the request named, or 68. */
  readonly receivedOnPort: number;
  readonly serverIdentifier: string | null;
  readonly serverPriority: number | null;
  readonly defaultImage: string | null;
  readonly selectedImage: string | null;
  readonly images: readonly OfferedImage[];
  /** ACK[SELECT]: what the firmware fetches next. */
  readonly booter: string | null;
  readonly tftpServer: string | null;
  readonly rootPath: string | null;
  readonly machineName: string | null;
}

export function describeBsdpReply(bytes: Uint8Array, packet: DhcpPacket, receivedFrom: string, receivedOnPort: number): BsdpAnswer {
  const bsdp = readBsdpOptions(bytes) ?? {};
  if (!bsdp.messageType) throw new BsdpDecodeError("the reply carries no BSDP message type (option 43 sub-option 1)");
  const id = (value: number | undefined) => (value === undefined ? null : formatImageId(value));
  const selected = bsdp.messageType === "SELECT";
  return {
    messageType: bsdp.messageType,
    receivedFrom,
    receivedOnPort,
    serverIdentifier: readOption(packet, "dhcp-server-identifier") ?? null,
    serverPriority: bsdp.serverPriority ?? null,
    defaultImage: id(bsdp.defaultImage),
    selectedImage: id(bsdp.selectedImage),
    images: (bsdp.bootImages ?? []).map((image) => ({ id: formatImageId(image.id), ...bsdpImageIdentity(image.id), name: image.name })),
    booter: selected && packet.file ? packet.file : null,
    tftpServer: selected ? packet.siaddr : null,
    rootPath: readOption(packet, "root-path") ?? null,
    machineName: bsdp.machineName ?? null,
  };
}
