/**
 * What the lab's BSDP server answers (darwin-netboot-formats.md §4.8), as a pure function from
 * one received datagram to a reply and where it goes. Only DHCPINFORMs from BSDP clients
 * (option 60 `AAPLBSDPC/<arch>/<model>`) are answered; everything else on port 67 is dhcpd's
 * and passes by untouched.
 */
import type { BsdpImageModel } from "../model/bsdp";
import { DhcpDecodeError, dhcpOption, readOption, type DhcpOption } from "../net/dhcp/options";
import {
  addresslessReply,
  decodeDhcpPacket,
  DHCP_CLIENT_PORT,
  encodeDhcpPacket,
  HTYPE_ETHERNET,
  type DhcpPacket,
  type ResponderDecision,
} from "../net/dhcp/packet";
import { BSDP_VENDOR_CLASS, BSDP_VERSION_1_0, encodeBsdpOptions, parseBsdpClientClass, readBsdpOptions, type BsdpClientClass, type BsdpOptions } from "./codec";
import { bsdpImageAttributes, formatImageId } from "./image-id";

/** What the responder reads: rendered from the lab model into `bsdp/bsdp.json`. */
export interface BsdpServerConfig {
  /** The lab's server address: option 54, sub-option 3 of SELECTs meant for us, `siaddr` (TFTP). */
  readonly serverAddress: string;
  readonly serverPriority: number;
  readonly defaultImageId: number;
  readonly images: readonly BsdpImageModel[];
  /** Host names of the lab's clients by MAC (sub-option 130); other Macs get `NetBoot-<mac>`. */
  readonly machineNames: Readonly<Record<string, string>>;
}

/** `sname` of an ACK[SELECT]: informational, the client fetches from `siaddr`. */
const SERVER_NAME = "netboot-lab";
/** Reply ports at or above this are refused, as Apple's bsdpd refuses them. */
const MAX_REPLY_PORT = 1023;
/** RFC 2131: every client takes a message this long. */
const MIN_MAX_MESSAGE_SIZE = 576;

export interface BsdpClient extends BsdpClientClass {
  readonly mac: string;
}

/** Answers go to the client's ciaddr; `bind`: a SELECT that succeeded, remembered for the client's later LISTs. */
export type BsdpDecision = ResponderDecision<{ readonly bind?: { readonly mac: string; readonly imageId: number } }>;

/** May this client boot the image at all: architecture, model and MAC lists (NBImageInfo filters). */
function imageAllows(image: BsdpImageModel, client: BsdpClient): boolean {
  if (!image.architectures.includes(client.arch)) return false;
  if (image.enabledSystemIdentifiers.length && !image.enabledSystemIdentifiers.includes(client.systemId)) return false;
  if (image.disabledMacAddresses.includes(client.mac)) return false;
  return image.enabledMacAddresses.length === 0 || image.enabledMacAddresses.includes(client.mac);
}

/** The images a LIST shows: allowed ones whose attributes match the client's filter (filter-only images need one). */
function imagesListed(images: readonly BsdpImageModel[], client: BsdpClient, attributesFilter: readonly number[] | undefined): BsdpImageModel[] {
  return images.filter(
    (image) => imageAllows(image, client) && (attributesFilter ? attributesFilter.includes(bsdpImageAttributes(image.id)) : !image.filterOnly),
  );
}

function machineName(config: BsdpServerConfig, mac: string): string {
  return config.machineNames[mac] ?? `NetBoot-${mac.replace(/:/g, "")}`;
}

function replyTo(
  request: DhcpPacket,
  config: BsdpServerConfig,
  fields: Pick<DhcpPacket, "sname" | "file">,
  options: readonly DhcpOption[],
  bsdp: BsdpOptions,
): DhcpPacket {
  return addresslessReply(request, config.serverAddress, fields, [
    dhcpOption("dhcp-message-type", "DHCPACK"),
    dhcpOption("dhcp-server-identifier", config.serverAddress),
    dhcpOption("vendor-class-identifier", BSDP_VENDOR_CLASS),
    ...options,
    ...encodeBsdpOptions(bsdp),
  ]);
}

/** Largest reply the client takes: BSDP's own max message size, else DHCP option 57, never below RFC 2131's 576. */
function maxReplySize(request: DhcpPacket, bsdp: BsdpOptions): number {
  return Math.max(MIN_MAX_MESSAGE_SIZE, bsdp.maxMessageSize ?? readOption(request, "dhcp-max-message-size") ?? MIN_MAX_MESSAGE_SIZE);
}

/** A reply (absent: stay silent) and the log line that says why. */
interface Answer {
  readonly reply?: DhcpPacket;
  readonly log: string;
  readonly bind?: { readonly mac: string; readonly imageId: number };
}

function answerList(request: DhcpPacket, bsdp: BsdpOptions, client: BsdpClient, config: BsdpServerConfig, bindings: ReadonlyMap<string, number>): Answer {
  const listed = imagesListed(config.images, client, bsdp.attributesFilter);
  if (!listed.length) return { log: `no image for this Mac (${config.images.length} filtered out): no answer, as Apple's server` };
  const defaultImage = listed.find((image) => image.id === config.defaultImageId) ?? listed[0]!;
  const bound = bindings.get(client.mac);
  const selected = listed.find((image) => image.id === bound);
  const withImages = (images: readonly BsdpImageModel[]) =>
    replyTo(request, config, { sname: "", file: "" }, [], {
      messageType: "LIST",
      serverPriority: config.serverPriority,
      defaultImage: defaultImage.id,
      selectedImage: selected?.id,
      // Version 1.0 clients get no list (bsdpd); they boot the default or selected image.
      bootImages: bsdp.version === BSDP_VERSION_1_0 ? undefined : images.map(({ id, name }) => ({ id, name })),
    });
  // Whole images are dropped from the end until the reply fits, as bsdpd does.
  const limit = maxReplySize(request, bsdp);
  let shown = listed;
  while (shown.length > 1 && encodeDhcpPacket(withImages(shown)).length > limit) shown = shown.slice(0, -1);
  const dropped = listed.length - shown.length;
  return {
    reply: withImages(shown),
    log: `LIST: ${shown.length} image(s), default ${formatImageId(defaultImage.id)}${selected ? `, selected ${formatImageId(selected.id)}` : ""}${dropped ? `; ${dropped} left out to fit ${limit} bytes` : ""}`,
  };
}

function answerSelect(request: DhcpPacket, bsdp: BsdpOptions, client: BsdpClient, config: BsdpServerConfig): Answer {
  if (bsdp.serverIdentifier !== config.serverAddress) {
    return { log: `SELECT for server ${bsdp.serverIdentifier ?? "(none named)"}, not this one (${config.serverAddress}): no answer` };
  }
  const allowed = config.images.filter((image) => imageAllows(image, client));
  // No image named: the default, as for a LIST (BSDP.doc).
  const wanted = bsdp.selectedImage ?? (allowed.find((image) => image.id === config.defaultImageId) ?? allowed[0])?.id;
  const image = config.images.find((candidate) => candidate.id === wanted);
  if (!image || !imageAllows(image, client)) {
    const why =
      wanted === undefined
        ? "no image for this Mac"
        : image
          ? `${formatImageId(wanted)} is not allowed for this Mac`
          : `${formatImageId(wanted)} is not an image of this server`;
    return { reply: replyTo(request, config, { sname: "", file: "" }, [], { messageType: "FAILED" }), log: `SELECT: FAILED, ${why}` };
  }
  const name = machineName(config, client.mac);
  return {
    reply: replyTo(request, config, { sname: SERVER_NAME, file: image.booter }, [dhcpOption("root-path", image.rootPath)], {
      messageType: "SELECT",
      selectedImage: image.id,
      machineName: name,
    }),
    log: `SELECT: ${image.bootImage} (${formatImageId(image.id)}) as ${name}, booter ${image.booter}, root ${image.rootPath}`,
    bind: { mac: client.mac, imageId: image.id },
  };
}

/** Decides the answer to one datagram that arrived on port 67; `bindings` are the images Macs chose before, by MAC. */
export function answerBsdp(datagram: Uint8Array, config: BsdpServerConfig, bindings: ReadonlyMap<string, number>): BsdpDecision {
  let request: DhcpPacket;
  let clientClass: BsdpClientClass | undefined;
  try {
    request = decodeDhcpPacket(datagram);
    if (request.op !== "request" || readOption(request, "dhcp-message-type") !== "DHCPINFORM") return { kind: "ignore" };
    clientClass = parseBsdpClientClass(readOption(request, "vendor-class-identifier"));
  } catch (error) {
    if (error instanceof DhcpDecodeError) return { kind: "ignore" };
    throw error;
  }
  if (!clientClass) return { kind: "ignore" };
  const who = `${request.chaddr} (${clientClass.arch}/${clientClass.systemId}) at ${request.ciaddr}`;
  const ignore = (why: string): BsdpDecision => ({ kind: "ignore", log: `${who}: ${why}` });
  if (request.htype !== HTYPE_ETHERNET || request.chaddr.length !== 17) return ignore("not Ethernet (htype 1, hlen 6): BSDP serves Ethernet only");
  if (request.ciaddr === "0.0.0.0") return ignore("INFORM without ciaddr: the reply would have nowhere to go");
  let bsdp: BsdpOptions | undefined;
  try {
    bsdp = readBsdpOptions(datagram);
  } catch (error) {
    if (error instanceof DhcpDecodeError) return ignore(`malformed BSDP options: ${error.message}`);
    throw error;
  }
  if (!bsdp?.messageType) return ignore("INFORM without a BSDP message type (option 43 sub-option 1)");
  const port = bsdp.replyPort ?? DHCP_CLIENT_PORT;
  if (port > MAX_REPLY_PORT) return ignore(`reply port ${port} is not below 1024; Apple's server does not answer such requests either`);
  const client: BsdpClient = { ...clientClass, mac: request.chaddr };
  const answer: Answer =
    bsdp.messageType === "LIST"
      ? answerList(request, bsdp, client, config, bindings)
      : bsdp.messageType === "SELECT"
        ? answerSelect(request, bsdp, client, config)
        : { log: "FAILED is a server's message; a client never sends it" };
  if (!answer.reply) return ignore(answer.log);
  return { kind: "reply", reply: answer.reply, address: request.ciaddr, port, log: `${who} -> port ${port}: ${answer.log}`, bind: answer.bind };
}
