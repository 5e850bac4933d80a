/**
 * Rules of `servers.dhcp.mode: proxy` (PXE spec §2.2.3): the site's DHCP server owns every
 * address, the lab answers only the PXE part (lib/proxy-dhcp). So the lab must not be told to
 * hand out what it no longer hands out, and every declared client must boot through a chain that
 * follows a proxy offer: iPXE first (or BSDP for Macs, which rides on INFORM after the site gave
 * the address). validate.ts runs them on the parsed config.
 */
import type { BootImageConfig, LabConfig } from "./schema";

type Report = (field: string, message: string) => void;

/** Why a first loader cannot follow a proxy offer, by image kind; absent: it can (iPXE). */
const CANNOT_FOLLOW_PROXY: Readonly<Partial<Record<BootImageConfig["kind"], string>>> = {
  grub: "GRUB loads first, and GRUB ignores proxy offers (it takes its boot server from the address offer alone and drops to its rescue prompt)",
  pxelinux: "pxelinux loads first, and it reads its config path from the site server's answer, which names no boot server",
  netbsd: "NetBSD's pxeboot asks again for its kernel as NetBSD:i386:libsa, not PXEClient, and a proxy answers PXE clients only",
  "signed-grub": "shim loads first, and shim fetches grubx64.efi from the server of the address offer (the site's), not from the proxy",
};

/** The network settings a site server hands out and the lab, in proxy mode, never does. */
const SITE_SERVER_SETTINGS = ["pools", "router", "dnsServers", "domainName"] as const;

export function checkProxyMode(config: LabConfig, report: Report): void {
  if (config.servers.dhcp.mode !== "proxy") return;
  if (config.servers.dhcp.server === "kea") {
    report(
      "servers.dhcp.server",
      `is kea, but in proxy mode the lab runs neither dhcpd nor Kea: its own proxyDHCP server answers PXE beside the site's DHCP server; remove servers.dhcp.server, or set servers.dhcp.mode: authoritative`,
    );
  }
  const network = config.network;
  for (const key of SITE_SERVER_SETTINGS) {
    const value = network[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    report(
      `network.${key}`,
      `is handed out by the site's DHCP server when servers.dhcp.mode is proxy: the lab hands out no address, pool, router, DNS or domain; remove network.${key} (set it on the site's server), or set servers.dhcp.mode: authoritative`,
    );
  }
  if (network.allowUnknownClients) {
    report(
      "network.allowUnknownClients",
      `is true, but in proxy mode the lab gives no address and has no boot image for a MAC the stack does not declare, so it answers only declared clients; declare the client (its mac and bootImage), or remove allowUnknownClients`,
    );
  }
  const images = new Map(config.bootImages.map((image) => [image.name, image]));
  config.clients.forEach((client, index) => {
    const field = `clients[${index}]`;
    if (client.ipv4 !== undefined) {
      report(
        `${field}.ipv4`,
        `${client.name} would need a reservation, but in proxy mode the site's DHCP server gives every address; remove ipv4 (reserve ${client.ipv4} for ${client.mac} on the site's server), or set servers.dhcp.mode: authoritative`,
      );
    }
    if (client.netboot === "http") {
      report(
        `${field}.netboot`,
        `${client.name} is http (UEFI HTTP Boot), whose firmware takes its boot URL only from the offer that gives its address, which the site's server makes; in proxy mode use netboot: pxe with an ipxe image, or set servers.dhcp.mode: authoritative`,
      );
    }
    const image = images.get(client.bootImage);
    if (!image) return;
    const why = CANNOT_FOLLOW_PROXY[image.kind];
    if (why) {
      report(
        `${field}.bootImage`,
        `${client.name} boots "${image.name}" (${image.kind}): ${why}; in proxy mode boot iPXE first: use a boot image of kind ipxe, or set servers.dhcp.mode: authoritative`,
      );
    } else if (image.kind === "darwin-nbi" && client.firmware === "bios") {
      report(
        `${field}.firmware`,
        `${client.name} boots "${image.name}" through Apple's BIOS PXE booter, which does not load iPXE first and cannot follow a proxy offer; in proxy mode Macs netboot over BSDP with EFI firmware: set firmware: efi-x64 (or efi-ia32), or set servers.dhcp.mode: authoritative`,
      );
    }
  });
}
