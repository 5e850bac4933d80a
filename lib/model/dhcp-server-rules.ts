/**
 * What the chosen DHCP server (`servers.dhcp.server`) cannot serve beside the lab's other daemons.
 * validate.ts runs it on the resolved BSDP model.
 */
import type { BsdpModel } from "./bsdp";
import type { LabConfig } from "./schema";

type Report = (field: string, message: string) => void;

/**
 * The lab's BSDP responder shares UDP port 67 with the DHCP server: dhcpd's sockets allow that,
 * kea-dhcp4 2.2 binds <server address>:67 without SO_REUSEADDR, and then neither the
 * responder's unicast nor its broadcast socket can bind (EADDRINUSE, measured in a namespace).
 */
export function checkDhcpServer(config: LabConfig, bsdp: BsdpModel, report: Report): void {
  if (config.servers.dhcp.server === "kea" && bsdp.enabled && bsdp.defaultImageId !== undefined) {
    report(
      "servers.dhcp.server",
      "kea cannot run beside the lab's BSDP responder, which answers the Macs of the darwin-nbi images: kea-dhcp4 holds UDP port 67 alone; " +
        "keep server isc for this lab, or set bsdp.enabled: false when another NetBoot server answers the Macs",
    );
  }
}
