import type { LabModel } from "../model/validate";
import { bsdpServer } from "./bsdp";
import { dhcpdServer } from "./dhcpd";
import { httpServer } from "./http";
import { nfsServer } from "./nfs";
import { proxyDhcpServer } from "./proxy-dhcp";
import { radvdServer } from "./radvd";
import type { ServerContainerSpec } from "./spec";
import { tftpServer } from "./tftp";

export * from "./spec";
export { BOOT_TREE_DIR } from "./tftp";

/** Every daemon the lab runs, in start order; disabled servers are left out. */
export function labServers(lab: LabModel): ServerContainerSpec[] {
  const { servers, network } = lab;
  return [
    // Proxy mode: the site's DHCP server gives the addresses, the lab answers only PXE.
    lab.servers.dhcp.mode === "proxy" ? proxyDhcpServer(lab) : dhcpdServer(lab),
    ...(lab.bsdp.enabled ? [bsdpServer(lab)] : []),
    ...(servers.tftp.enabled ? [tftpServer(lab)] : []),
    ...(servers.nfs.enabled ? [nfsServer({ exportPath: servers.nfs.exportPath, clientSubnet: network.subnet, serverAddress: network.serverAddress })] : []),
    ...(servers.http.enabled ? [httpServer(lab)] : []),
    // Only on the lab's own bridge: see radvd.ts.
    ...(network.mode === "bridge" ? [radvdServer(lab)] : []),
  ];
}
