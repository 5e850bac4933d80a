/**
 * ISC dhcpd 4.4 for the lab. The rendered dhcpd.conf prevents the known netboot failures by
 * construction (see README.md, "Why dhcpd.conf looks the way it does"):
 *  1. iPXE and the next loader ask from one MAC with and without a client-identifier
 *     -> `ignore-client-uids true` and reservations by MAC.
 *  2. plain BOOTP requests -> pools are `range dynamic-bootp`, reservations answer BOOTP too.
 *  3. firmware that never requests root-path -> the PRL is extended with option 17 (hex 11).
 *  4. BIOS / EFI ia32 / EFI x64 / iPXE need different files -> iPXE first, then option 93.
 *  5. answering on the wrong network -> one subnet, `deny unknown-clients`, one interface.
 *  6. iPXE waiting for ProxyDHCP offers on every DHCP -> option 175.176 (no-pxedhcp).
 */
import type { BootRequester } from "../model/boot-files";
import type { ClientModel, LabModel } from "../model/validate";
import { bootSelection, type RequesterMatch } from "./boot-selection";
import type { ServerContainerSpec } from "./spec";

export const DHCPD_CONF_PATH = "/etc/netboot-lab/dhcpd/dhcpd.conf";
export const DHCPD_LEASES_DIR = "/var/lib/dhcp";

const quote = (text: string) => `"${text.replace(/(["\\])/g, "\\$1")}"`;
const indent = (lines: readonly string[], depth = 1) => lines.map((line) => (line ? "  ".repeat(depth) + line : line));
const hexByte = (value: number) => value.toString(16).padStart(2, "0");

/** A match of boot-selection.ts as a dhcpd boolean expression. */
function dhcpdTest(match: RequesterMatch): string {
  switch (match.kind) {
    case "user-class":
      return `exists user-class and option user-class = ${quote(match.value)}`;
    case "vendor-class-prefix":
      return `substring(option vendor-class-identifier, 0, ${match.prefix.length}) = ${quote(match.prefix)}`;
    case "client-arch":
      return match.codes.map((code) => `option client-arch = ${hexByte(code >> 8)}:${hexByte(code & 0xff)}`).join(" or ");
  }
}

/** The conditional that picks a boot file by requester, in boot-selection.ts's order. */
export function renderBootFileSelection(files: Partial<Record<BootRequester, string>>): string[] {
  const { branches, fallback } = bootSelection(files);
  const lines: string[] = [];
  branches.forEach(({ match, file }, index) => {
    lines.push(`${index === 0 ? "if" : "} elsif"} ${dhcpdTest(match)} {`, `  filename ${quote(file)};`);
  });
  if (fallback) {
    if (branches.length) lines.push("} else {", `  filename ${quote(fallback)};`, "}");
    else lines.push(`filename ${quote(fallback)};`);
  } else if (branches.length) {
    lines.push("}");
  }
  return lines;
}

function renderHost(client: ClientModel): string[] {
  return [
    `host ${client.name} {`,
    `  hardware ethernet ${client.mac};`,
    ...(client.ipv4 ? [`  fixed-address ${client.ipv4};`] : []),
    `  option host-name ${quote(client.name)};`,
    "}",
  ];
}

function renderImageGroup(lab: LabModel, image: string, clients: readonly ClientModel[]): string[] {
  const fileSet = lab.bootFileSets[image];
  if (!fileSet) throw new Error(`no boot files for image ${image}`);
  return [
    `# boot image "${image}"`,
    "group {",
    ...indent(renderBootFileSelection(fileSet.files)),
    ...(fileSet.rootPath ? indent([`option root-path ${quote(fileSet.rootPath)};`]) : []),
    ...indent(clients.flatMap(renderHost)),
    "}",
  ];
}

export function renderDhcpdConf(lab: LabModel): string {
  const net = lab.network;
  const clientsByImage = new Map<string, ClientModel[]>();
  for (const client of lab.clients) clientsByImage.set(client.bootImage, [...(clientsByImage.get(client.bootImage) ?? []), client]);

  const subnetOptions = [
    `option subnet-mask ${net.subnetMask};`,
    `option broadcast-address ${net.broadcastAddress};`,
    ...(net.router ? [`option routers ${net.router};`] : []),
    ...(net.dnsServers.length ? [`option domain-name-servers ${net.dnsServers.join(", ")};`] : []),
    ...(net.domainName ? [`option domain-name ${quote(net.domainName)};`] : []),
    `next-server ${net.serverAddress};`,
    `server-identifier ${net.serverAddress};`,
  ];
  const pools = net.pools.flatMap((pool) => [
    "pool {",
    `  range dynamic-bootp ${pool.start} ${pool.end};`,
    // A pool with an allow list admits only what the list names: `allow unknown-clients` alone would
    // refuse every declared client without a fixed address (found by the dhcpd/Kea equivalence matrix).
    ...(net.allowUnknownClients ? ["  allow known-clients;", "  allow unknown-clients;"] : ["  deny unknown-clients;"]),
    "}",
  ]);

  return [
    "# Rendered by netboot-lab from the stack config; edit the stack file, not this one.",
    "",
    "# Known client-architecture option (RFC 4578) under a name the conditions below use.",
    "option client-arch code 93 = unsigned integer 16;",
    "",
    "# iPXE waits about 3 s per DHCP exchange for ProxyDHCP offers, which this lab never makes;",
    "# its option 175.176 (no-pxedhcp) says not to. Only iPXE requests option 175.",
    "option space ipxe;",
    "option ipxe-encap-opts code 175 = encapsulate ipxe;",
    "option ipxe.no-pxedhcp code 176 = unsigned integer 8;",
    "option ipxe.no-pxedhcp 1;",
    "",
    "ddns-update-style none;",
    "ping-check false;",
    "# One lease per MAC whatever client-identifier each boot stage sends (iPXE, GRUB, pxeboot).",
    "ignore-client-uids true;",
    "allow booting;",
    "allow bootp;",
    `default-lease-time ${net.leaseTimeSeconds};`,
    `max-lease-time ${net.leaseTimeSeconds};`,
    `dynamic-bootp-lease-length ${net.leaseTimeSeconds};`,
    "",
    "# Firmware and loaders rarely request root-path: add option 17 (hex 11) to what they asked for.",
    "if exists dhcp-parameter-request-list {",
    "  option dhcp-parameter-request-list = concat(option dhcp-parameter-request-list, 11);",
    "}",
    "",
    `subnet ${net.networkAddress} netmask ${net.subnetMask} {`,
    "  authoritative;",
    ...indent(subnetOptions),
    ...indent(pools),
    "}",
    ...[...clientsByImage].flatMap(([image, clients]) => ["", ...renderImageGroup(lab, image, clients)]),
    "",
  ].join("\n");
}

/** The dhcpd container: one interface, leases on a volume, raw sockets for BOOTP broadcasts. */
export function dhcpdServer(lab: LabModel): ServerContainerSpec {
  const leases = `${DHCPD_LEASES_DIR}/dhcpd.leases`;
  return {
    role: "dhcpd",
    entrypoint: ["/bin/sh", "-c", `touch ${leases} && exec /usr/sbin/dhcpd "$@"`, "dhcpd"],
    command: ["-4", "-f", "-d", "--no-pid", "-cf", DHCPD_CONF_PATH, "-lf", leases, lab.network.listenInterface],
    files: [{ path: DHCPD_CONF_PATH, content: renderDhcpdConf(lab) }],
    capabilities: ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
    securityOpts: [],
    tmpfs: {},
    mounts: [{ volume: "leases", target: DHCPD_LEASES_DIR, readOnly: false }],
    why: "NET_RAW: dhcpd answers clients without an address through a raw packet socket; NET_BIND_SERVICE: UDP port 67.",
  };
}
