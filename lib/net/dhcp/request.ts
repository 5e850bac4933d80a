/**
 * What a netboot client sends: the requests of PXE ROMs, iPXE, loaders and plain BOOTP
 * clients, built from who the client claims to be.
 */
import { dhcpOption, formatHex, type DhcpOption } from "./options";
import { hardwareAddressBytes, HTYPE_ETHERNET, type DhcpPacket } from "./packet";

/** Who the client claims to be: fields that every message of one client repeats. */
export interface ClientIdentity {
  /** chaddr; may differ from the sending interface's MAC (the broadcast flag brings the reply back anyway). */
  readonly mac: string;
  /** Option 61 payload, type byte included (01 + MAC is what iPXE and dhclient send); none omits the option. */
  readonly clientId?: Uint8Array;
  /** Option 93 value (0 BIOS, 6 EFI ia32, 7 EFI BC, 9 EFI x64); also sets PXE's option 60 like a PXE ROM does. */
  readonly clientArch?: number;
  /** Option 77, e.g. "iPXE". */
  readonly userClass?: string;
  /** Option 60 as a loader sends it, e.g. "NetBSD:i386:libsa"; replaces the PXE one `clientArch` implies. */
  readonly vendorClass?: string;
  /** Option 55 of DHCP messages; BOOTP requests carry none. */
  readonly parameterRequestList: readonly number[];
}

export type ClientMessage =
  | { readonly type: "DHCPDISCOVER" }
  | { readonly type: "DHCPREQUEST"; readonly requestedAddress: string; readonly serverIdentifier: string }
  /** Without vendor extensions: plain RFC 951, no magic cookie. With them: RFC 1497, cookie but no option 53. */
  | { readonly type: "BOOTREQUEST"; readonly vendorExtensions: boolean };

/** Option 93 (RFC 4578) values of the firmwares a lab meets; OVMF sends 7 (EFI BC) for x64. */
export const PXE_CLIENT_ARCH = { bios: 0, "efi-ia32": 6, "efi-bc": 7, "efi-x64": 9, "efi-arm64": 11, "http-efi-x64": 16, "http-efi-arm64": 19 } as const;

/**
 * What a PXE ROM asks for (option 55), minus root-path (17): an answer that carries root-path
 * then shows the server sends it unrequested, which Mac firmware and NetBSD's loader depend on.
 */
export const PXE_PARAMETER_REQUEST_LIST: readonly number[] = [1, 3, 6, 12, 15, 28, 43, 60, 66, 67];

/** What a PXE ROM puts in option 60 (PXE spec 2.1), with the architecture in five decimal digits. */
export function pxeVendorClass(clientArch: number): string {
  return `PXEClient:Arch:${String(clientArch).padStart(5, "0")}:UNDI:002001`;
}

/** Largest message a client on an Ethernet link accepts (option 57): the 1500-byte MTU. */
const ETHERNET_MAX_MESSAGE = 1500;

function identityOptions(identity: ClientIdentity): DhcpOption[] {
  return [
    ...(identity.clientId ? [dhcpOption("dhcp-client-identifier", identity.clientId)] : []),
    ...(identity.clientArch === undefined ? [] : [dhcpOption("pxe-system-type", [identity.clientArch])]),
    ...(identity.vendorClass !== undefined
      ? [dhcpOption("vendor-class-identifier", identity.vendorClass)]
      : identity.clientArch !== undefined
        ? [dhcpOption("vendor-class-identifier", pxeVendorClass(identity.clientArch))]
        : []),
    ...(identity.userClass === undefined ? [] : [dhcpOption("user-class", identity.userClass)]),
  ];
}

function messageOptions(identity: ClientIdentity, message: ClientMessage): readonly DhcpOption[] | undefined {
  if (message.type === "BOOTREQUEST") return message.vendorExtensions ? identityOptions(identity) : undefined;
  return [
    dhcpOption("dhcp-message-type", message.type),
    ...(message.type === "DHCPREQUEST"
      ? [dhcpOption("dhcp-requested-address", message.requestedAddress), dhcpOption("dhcp-server-identifier", message.serverIdentifier)]
      : []),
    dhcpOption("dhcp-max-message-size", ETHERNET_MAX_MESSAGE),
    ...identityOptions(identity),
    dhcpOption("dhcp-parameter-request-list", [...identity.parameterRequestList]),
  ];
}

/**
 * A BOOTREQUEST from `mac` with `options`. A client without an address (no `ciaddr`) sets the
 * broadcast flag, or it could not receive the reply; one with an address gets it unicast.
 */
export function bootRequest(fields: {
  readonly mac: string;
  readonly xid: number;
  readonly ciaddr?: string;
  readonly options?: readonly DhcpOption[];
}): DhcpPacket {
  return {
    op: "request",
    htype: HTYPE_ETHERNET,
    hops: 0,
    xid: fields.xid,
    secs: 0,
    broadcast: fields.ciaddr === undefined,
    ciaddr: fields.ciaddr ?? "0.0.0.0",
    yiaddr: "0.0.0.0",
    siaddr: "0.0.0.0",
    giaddr: "0.0.0.0",
    chaddr: formatHex(hardwareAddressBytes(fields.mac)),
    sname: "",
    file: "",
    options: fields.options,
  };
}

/** A client's request with the broadcast flag set, as a client without an address sends it. */
export function clientRequest(identity: ClientIdentity, message: ClientMessage, xid: number): DhcpPacket {
  return bootRequest({ mac: identity.mac, xid, options: messageOptions(identity, message) });
}

/** True when `reply` answers `request`: a reply with the same transaction id for the same hardware address. */
export function isReplyTo(request: DhcpPacket, reply: DhcpPacket): boolean {
  return reply.op === "reply" && reply.xid === request.xid && reply.chaddr === request.chaddr;
}
