/**
 * What `netboot-lab check` asks of a deployed lab, per client, read off the validated model:
 * the DHCP requests its firmware and loaders send and what each must be answered with, the
 * files it then reads over TFTP and HTTP, its NFS root and, for Darwin images, the NIC driver
 * its mkext must hold. Pure: the probe (probe.ts) carries it out on the lab network.
 */
import { NBI_FILES } from "../model/boot-tree";
import { bootTreePath, nbiFolder, nfsRootLocation, type BootRequester, type NfsRootLocation } from "../model/boot-files";
import type { ClientModel, LabModel } from "../model/validate";
import { PXE_CLIENT_ARCH, PXE_PARAMETER_REQUEST_LIST, type ClientIdentity } from "../net/dhcp/request";
import { httpBootIdentity, HTTP_BOOT_VENDOR_CLASS } from "./http-boot";

/** Option 93 a firmware sends: OVMF sends 7 (EFI BC) for x64; dhcpd.conf accepts 7 and 9. */
const FIRMWARE_ARCH: Record<ClientModel["firmware"], number> = {
  bios: PXE_CLIENT_ARCH.bios,
  "efi-x64": PXE_CLIENT_ARCH["efi-bc"],
  "efi-ia32": PXE_CLIENT_ARCH["efi-ia32"],
  "efi-arm64": PXE_CLIENT_ARCH["efi-arm64"],
};

const FIRMWARE_LABEL: Record<ClientModel["firmware"], string> = { bios: "BIOS", "efi-x64": "EFI x64", "efi-ia32": "EFI ia32", "efi-arm64": "EFI arm64" };

export type DhcpAskId = "pxe" | "http-boot" | "ipxe" | "netbsd-libsa" | "bootp";

export interface DhcpAsk {
  readonly id: DhcpAskId;
  /** Who sends this request, for the report: "PXE ROM (BIOS, arch 0)". */
  readonly sender: string;
  readonly message: "DHCPDISCOVER" | "BOOTREQUEST";
  readonly identity: Omit<ClientIdentity, "mac">;
  /** The boot file the model hands this requester; "" when it hands none. */
  readonly bootFile: string;
  /** The vendor class (option 60) the answer must carry: UEFI HTTP Boot's `HTTPClient` echo. */
  readonly echoVendorClass?: string;
}

export interface ClientPlan {
  readonly client: ClientModel;
  readonly dhcp: readonly DhcpAsk[];
  /** Boot-tree paths the client reads over TFTP. */
  readonly tftp: readonly string[];
  /** URLs the client reads over HTTP first (the iPXE script); what the script fetches is found when it is read. */
  readonly http: readonly string[];
  /** The client's NFS root, when it mounts one. */
  readonly nfsRoot?: NfsRootLocation;
  /** An HTTP root image (`protocol: http` Darwin images). */
  readonly httpRoot?: string;
  /** darwin-nbi: the mkext (boot-tree path) that must drive the client's NIC. */
  readonly mkext?: string;
}

export interface CheckPlan {
  readonly clients: readonly ClientPlan[];
  /** A MAC the model does not know: dhcpd must stay silent unless the stack allows unknown clients. */
  readonly unknownMac: string;
}

function firmwareLabel(client: ClientModel): string {
  return `${FIRMWARE_LABEL[client.firmware]}, arch ${FIRMWARE_ARCH[client.firmware]}`;
}

function clientDhcpAsks(client: ClientModel): DhcpAsk[] {
  const files = client.bootFiles;
  const arch = FIRMWARE_ARCH[client.firmware];
  const file = (requester: BootRequester) => files[requester] ?? "";
  const http = httpBootIdentity(client);
  const asks: DhcpAsk[] = [
    http
      ? { id: "http-boot", message: "DHCPDISCOVER", ...http, bootFile: client.bootFile, echoVendorClass: HTTP_BOOT_VENDOR_CLASS }
      : {
          id: "pxe",
          sender: `PXE ROM (${firmwareLabel(client)})`,
          message: "DHCPDISCOVER",
          identity: { clientArch: arch, parameterRequestList: PXE_PARAMETER_REQUEST_LIST },
          bootFile: file(client.firmware),
        },
  ];
  if (files.ipxe) {
    asks.push({
      id: "ipxe",
      sender: "iPXE (user-class iPXE)",
      message: "DHCPDISCOVER",
      identity: {
        clientArch: arch,
        userClass: "iPXE",
        clientId: Uint8Array.of(1, ...client.mac.split(":").map((octet) => parseInt(octet, 16))),
        parameterRequestList: PXE_PARAMETER_REQUEST_LIST,
      },
      bootFile: files.ipxe,
    });
  }
  if (files["netbsd-libsa"]) {
    asks.push({
      id: "netbsd-libsa",
      sender: "NetBSD pxeboot's second request (vendor class NetBSD:i386:libsa)",
      message: "DHCPDISCOVER",
      identity: { vendorClass: "NetBSD:i386:libsa", parameterRequestList: [1, 3, 12, 17, 67] },
      bootFile: files["netbsd-libsa"],
    });
  }
  // A BOOTP request binds a pool address at once (dynamic-bootp), which would change what a
  // real pool client holds; reservations are answered without touching any lease.
  if (client.ipv4) {
    asks.push({
      id: "bootp",
      sender: "plain BOOTP (RFC 1497, as loaders and kernels send it)",
      message: "BOOTREQUEST",
      identity: { parameterRequestList: [] },
      bootFile: file("bios"),
    });
  }
  return asks;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function tftpPathOf(file: string, serverAddress: string): string | undefined {
  const tftpUrl = /^tftp:\/\/([^/]+)\/(.+)$/.exec(file);
  if (tftpUrl) return tftpUrl[1] === serverAddress ? tftpUrl[2] : undefined;
  return bootTreePath(file);
}

export function planClient(lab: LabModel, client: ClientModel): ClientPlan {
  const dhcp = clientDhcpAsks(client);
  // BOOTP's answer is the generic (BIOS) file; only the client's own requesters decide what it fetches.
  const handedOut = unique(
    dhcp
      .filter((ask) => ask.id !== "bootp")
      .map((ask) => ask.bootFile)
      .filter(Boolean),
  );
  const image = lab.bootImages.find((candidate) => candidate.name === client.bootImage);
  const rootPath = client.rootPath;
  return {
    client,
    dhcp,
    tftp: unique(handedOut.map((file) => tftpPathOf(file, lab.network.serverAddress)).filter((path): path is string => path !== undefined)),
    http: handedOut.filter((file) => /^http:\/\//.test(file)),
    ...(rootPath && nfsRootLocation(rootPath) ? { nfsRoot: nfsRootLocation(rootPath) } : {}),
    ...(rootPath?.startsWith("http://") ? { httpRoot: rootPath } : {}),
    ...(image?.kind === "darwin-nbi" ? { mkext: `${nbiFolder(image)}/i386/${NBI_FILES.mkext}` } : {}),
  };
}

/** A locally administered MAC no client of the lab has. */
function unknownMacFor(lab: LabModel): string {
  const taken = new Set(lab.clients.map((client) => client.mac));
  for (let last = 0xfe; ; last--) {
    const mac = `02:6e:62:6c:00:${last.toString(16).padStart(2, "0")}`;
    if (!taken.has(mac)) return mac;
  }
}

/** The plan for every client, or for the one named (undefined name: all). */
export function planChecks(lab: LabModel, clientName?: string): CheckPlan {
  const clients = clientName === undefined ? lab.clients : lab.clients.filter((client) => client.name === clientName);
  return { clients: clients.map((client) => planClient(lab, client)), unknownMac: unknownMacFor(lab) };
}
