/**
 * The lab's proxyDHCP server (`servers.dhcp.mode: proxy`): `netboot-lab proxy-dhcp serve` in its
 * own container in the pod's network namespace, in place of dhcpd, from the runtime image like
 * the BSDP responder. It hands out no address; see lib/proxy-dhcp/server.ts for what it answers
 * and README "Netboot on an existing network" for why it is the lab's own code and not dnsmasq.
 */
import { CLI_IN_IMAGE } from "../cli-images";
import type { ProxyDhcpConfig } from "../proxy-dhcp/server";
import type { LabModel } from "../model/validate";
import type { ServerContainerSpec } from "./spec";

export const PROXY_DHCP_CONFIG_PATH = "/etc/netboot-lab/proxy-dhcp/proxy-dhcp.json";

export function proxyDhcpConfig(lab: LabModel): ProxyDhcpConfig {
  return {
    serverAddress: lab.network.serverAddress,
    clients: lab.clients.map((client) => ({
      name: client.name,
      mac: client.mac,
      firmware: client.firmware,
      files: client.bootFiles,
      ...(client.rootPath ? { rootPath: client.rootPath } : {}),
    })),
  };
}

export function proxyDhcpServer(lab: LabModel): ServerContainerSpec {
  return {
    role: "proxy-dhcp",
    image: "cli",
    entrypoint: ["node", CLI_IN_IMAGE],
    command: ["proxy-dhcp", "serve", "--config", PROXY_DHCP_CONFIG_PATH],
    files: [{ path: PROXY_DHCP_CONFIG_PATH, content: `${JSON.stringify(proxyDhcpConfig(lab), null, 2)}\n` }],
    capabilities: ["CAP_NET_BIND_SERVICE"],
    securityOpts: [],
    tmpfs: {},
    mounts: [],
    why: "NET_BIND_SERVICE: UDP port 67 (plain UDP sockets, no raw socket: a proxy offer is broadcast and carries no address to deliver to).",
  };
}
