import type { LabModel } from "../model/validate";
import { bsdpServer } from "./bsdp";
import { DHCPD_CONF_PATH, dhcpdServer } from "./dhcpd";
import { httpServer } from "./http";
import { KEA_CONF_PATH, keaServer } from "./kea";
import { nfsServer } from "./nfs";
import { radvdServer } from "./radvd";
import type { ServerContainerSpec } from "./spec";
import { tftpServer } from "./tftp";

export * from "./spec";
export { BOOT_TREE_DIR } from "./tftp";

/** What `check` and `watch` need to know of the DHCP server a lab runs. */
export interface DhcpServerFacts {
  /** The container's role: `<prefix>-dhcpd` or `<prefix>-kea`. */
  readonly role: "dhcpd" | "kea";
  /** The daemon as messages name it. */
  readonly daemon: "dhcpd" | "kea-dhcp4";
  readonly confPath: string;
  /** Whether a config as the running container holds it declares `mac` (a host entry / a reservation). */
  readonly declares: (conf: string, mac: string) => boolean;
  /** dhcpd offers a client the same address again; Kea 2.2 keeps no offers, so DISCOVERs alone may get different ones. */
  readonly keepsOffers: boolean;
}

export function dhcpServerFacts(lab: Pick<LabModel, "servers">): DhcpServerFacts {
  return lab.servers.dhcp.server === "kea"
    ? { role: "kea", daemon: "kea-dhcp4", confPath: KEA_CONF_PATH, declares: (conf, mac) => conf.includes(`"hw-address": "${mac}"`), keepsOffers: false }
    : { role: "dhcpd", daemon: "dhcpd", confPath: DHCPD_CONF_PATH, declares: (conf, mac) => conf.includes(`hardware ethernet ${mac};`), keepsOffers: true };
}

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
