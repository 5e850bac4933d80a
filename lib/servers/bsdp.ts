/**
 * The lab's BSDP responder: `netboot-lab bsdp serve` in its own container in the pod's network
 * namespace, beside dhcpd. dhcpd keeps every address and every DISCOVER/REQUEST (Macs' too); the
 * responder answers only Macs' BSDP INFORMs, to their ciaddr and reply port, which stock ISC
 * dhcpd cannot (it answers INFORMs on port 68 only, without per-client image lists).
 *
 * Sharing UDP port 67 with dhcpd (measured, see README "Mac netboot through BSDP"): dhcpd reads
 * requests from a packet socket and also holds a SO_REUSEADDR socket on 0.0.0.0:67. The
 * responder binds 0.0.0.0:67 with SO_REUSEADDR too, which receives every broadcast INFORM, plus
 * <server address>:67, which wins every unicast INFORM whichever of the two started last.
 */
import { CLI_IN_IMAGE } from "../cli-images";
import { DHCPD_LEASES_DIR } from "./dhcpd";
import type { BsdpServerConfig } from "../bsdp/server";
import type { LabModel } from "../model/validate";
import type { ServerContainerSpec } from "./spec";

export const BSDP_CONFIG_PATH = "/etc/netboot-lab/bsdp/bsdp.json";
/** The leases volume, which keeps the lab's DHCP state across container replacement: the images Macs chose live beside dhcpd's leases. */
export const BSDP_BINDINGS_PATH = `${DHCPD_LEASES_DIR}/bsdp-bindings.json`;

export function bsdpServerConfig(lab: LabModel): BsdpServerConfig {
  const { bsdp } = lab;
  if (bsdp.defaultImageId === undefined) throw new Error("bsdpServerConfig: the lab has no darwin-nbi image, so nothing answers BSDP");
  return {
    serverAddress: lab.network.serverAddress,
    serverPriority: bsdp.serverPriority,
    defaultImageId: bsdp.defaultImageId,
    images: bsdp.images,
    machineNames: Object.fromEntries(lab.clients.map((client) => [client.mac, client.name])),
  };
}

export function bsdpServer(lab: LabModel): ServerContainerSpec {
  return {
    role: "bsdp",
    image: "cli",
    entrypoint: ["node", CLI_IN_IMAGE],
    command: ["bsdp", "serve", "--config", BSDP_CONFIG_PATH, "--bindings", BSDP_BINDINGS_PATH],
    files: [{ path: BSDP_CONFIG_PATH, content: `${JSON.stringify(bsdpServerConfig(lab), null, 2)}\n` }],
    capabilities: ["CAP_NET_BIND_SERVICE"],
    securityOpts: [],
    tmpfs: {},
    mounts: [{ volume: "leases", target: DHCPD_LEASES_DIR, readOnly: false }],
    why: "NET_BIND_SERVICE: UDP port 67 (plain UDP sockets, no raw socket: every BSDP client already has an address).",
  };
}
