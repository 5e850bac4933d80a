/** lab.json: the machine-readable summary of a lab that `netboot-lab render` writes beside the configs. */
import { httpBaseUrl } from "./model/boot-files";
import { bsdpImageIdentity, formatImageId, type BsdpImageIdentity } from "./bsdp/image-id";
import type { BsdpImageModel } from "./model/bsdp";
import type { LabModel } from "./model/validate";

export interface LabSummary {
  readonly network: {
    readonly subnet: string;
    readonly serverAddress: string;
    readonly bridge: string | null;
    readonly mode: string;
    readonly parentInterface: string | null;
    readonly pools: readonly { start: string; end: string }[];
  };
  readonly servers: { readonly tftp: boolean; readonly nfs: string | null; readonly http: string | null };
  readonly clients: readonly {
    readonly name: string;
    readonly mac: string;
    /** null when the client takes its address from a pool. */
    readonly ipv4: string | null;
    readonly platform: string;
    readonly firmware: string;
    /** `pxe`, or `http` (UEFI HTTP Boot: bootFile is a URL). */
    readonly netboot: string;
    readonly nic: string;
    readonly bootImage: string;
    /** The file dhcpd hands the client's firmware. */
    readonly bootFile: string;
    readonly rootPath: string | null;
    /** Where the VM's first serial port is written, as configured (relative to the project folder; `~` is the home folder). */
    readonly serialLog: string;
  }[];
  /** What Macs are offered over BSDP (answered by the `bsdp` container when `enabled`). */
  readonly bsdp: {
    readonly enabled: boolean;
    readonly serverPriority: number;
    /** Image ID as `0x81000abc`; null without darwin-nbi images. */
    readonly defaultImage: string | null;
    /** Each darwin-nbi image as the responder serves it, its ID written as `0x81000abc` and taken apart. */
    readonly images: readonly (Omit<BsdpImageModel, "id" | "filterOnly"> & BsdpImageIdentity & { readonly id: string })[];
  };
}

export function labSummary(lab: LabModel): LabSummary {
  const { network, servers } = lab;
  return {
    network: {
      subnet: network.subnet,
      serverAddress: network.serverAddress,
      bridge: network.mode === "bridge" ? network.bridge : null,
      mode: network.mode,
      parentInterface: network.parentInterface ?? null,
      pools: network.pools.map(({ start, end }) => ({ start, end })),
    },
    servers: {
      tftp: servers.tftp.enabled,
      nfs: servers.nfs.enabled ? `${network.serverAddress}:${servers.nfs.exportPath}` : null,
      http: servers.http.enabled ? `${httpBaseUrl(network.serverAddress, servers.http.port)}/` : null,
    },
    clients: lab.clients.map((client) => ({
      name: client.name,
      mac: client.mac,
      ipv4: client.ipv4 ?? null,
      platform: client.platform,
      firmware: client.firmware,
      netboot: client.netboot,
      nic: client.nic,
      bootImage: client.bootImage,
      bootFile: client.bootFile,
      rootPath: client.rootPath ?? null,
      serialLog: client.serialLog,
    })),
    bsdp: {
      enabled: lab.bsdp.enabled,
      serverPriority: lab.bsdp.serverPriority,
      defaultImage: lab.bsdp.defaultImageId === undefined ? null : formatImageId(lab.bsdp.defaultImageId),
      images: lab.bsdp.images.map((image) => ({
        bootImage: image.bootImage,
        id: formatImageId(image.id),
        ...bsdpImageIdentity(image.id),
        name: image.name,
        booter: image.booter,
        rootPath: image.rootPath,
        architectures: image.architectures,
        enabledSystemIdentifiers: image.enabledSystemIdentifiers,
        enabledMacAddresses: image.enabledMacAddresses,
        disabledMacAddresses: image.disabledMacAddresses,
      })),
    },
  };
}
