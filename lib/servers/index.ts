import type { LabModel } from "../model/validate";
import { bsdpServer } from "./bsdp";
import { dhcpdServer } from "./dhcpd";
import { httpServer } from "./http";
import { keaServer } from "./kea";
import { nfsServer } from "./nfs";
import { radvdServer } from "./radvd";
import type { ServerContainerSpec } from "./spec";
import { tftpServer } from "./tftp";

export * from "./spec";
export { BOOT_TREE_DIR } from "./tftp";

/** The lab's DHCP server as the stack chooses it (`servers.dhcp.server`), and the one it does not run. */
export function dhcpServers(lab: LabModel): { readonly running: ServerContainerSpec; readonly other: ServerContainerSpec } {
  const [isc, kea] = [dhcpdServer(lab), keaServer(lab)];
  return lab.servers.dhcp.server === "kea" ? { running: kea, other: isc } : { running: isc, other: kea };
}

/** Every daemon the lab runs, in start order; disabled servers are left out. */
export function labServers(lab: LabModel): ServerContainerSpec[] {
  const { servers, network } = lab;
  return [
    dhcpServers(lab).running,
    ...(lab.bsdp.enabled ? [bsdpServer(lab)] : []),
    ...(servers.tftp.enabled ? [tftpServer(lab)] : []),
    ...(servers.nfs.enabled ? [nfsServer({ exportPath: servers.nfs.exportPath, clientSubnet: network.subnet, serverAddress: network.serverAddress })] : []),
    ...(servers.http.enabled ? [httpServer(lab)] : []),
    // Only on the lab's own bridge: see radvd.ts.
    ...(network.mode === "bridge" ? [radvdServer(lab)] : []),
  ];
}
