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
import type { ServerContainerSpec } from "./spec";

export const DHCPD_CONF_PATH = "/etc/netboot-lab/dhcpd/dhcpd.conf";
export const DHCPD_LEASES_DIR = "/var/lib/dhcp";

/** RFC 4578 client-architecture values that mean each firmware (0x07 is "EFI BC", in practice x64). */
const ARCH_CODES: Record<Exclude<BootRequester, "ipxe" | "netbsd-libsa" | "bios">, readonly string[]> = {
  "efi-x64": ["00:07", "00:09"],
  "efi-ia32": ["00:06", "00:02"],
  // ARM64 PXE says 11 in decimal in its vendor class (PXEClient:Arch:00011); option 93 is 0x0b.
  "efi-arm64": ["00:0b"],
  "http-efi-x64": ["00:10"],
  "http-efi-arm64": ["00:13"],
};

/**
 * UEFI HTTP Boot firmware ignores an offer that does not echo its vendor class `HTTPClient`,
 * and takes the boot file as a URL. Option 60 (hex 3c) joins the parameter request list so
 * dhcpd sends the echo whatever the firmware asked for.
 */
const HTTP_BOOT_ANSWER = [
  `  option vendor-class-identifier "HTTPClient";`,
  "  option dhcp-parameter-request-list = concat(option dhcp-parameter-request-list, 11, 3c);",
];

const quote = (text: string) => `"${text.replace(/(["\\])/g, "\\$1")}"`;
const indent = (lines: readonly string[], depth = 1) => lines.map((line) => (line ? "  ".repeat(depth) + line : line));

/**
 * The conditional that picks a boot file by requester: loaders that ask a second time first
 * (iPXE would loop on its own binary; NetBSD's pxeboot wants its kernel), then option 93.
 */
export function renderBootFileSelection(files: Partial<Record<BootRequester, string>>): string[] {
  const branches: { test: string; file: string; extra?: readonly string[] }[] = [];
  if (files.ipxe) branches.push({ test: `exists user-class and option user-class = "iPXE"`, file: files.ipxe });
  if (files["netbsd-libsa"]) {
    branches.push({ test: `substring(option vendor-class-identifier, 0, 17) = "NetBSD:i386:libsa"`, file: files["netbsd-libsa"] });
  }
  for (const requester of ["http-efi-x64", "http-efi-arm64"] as const) {
    const file = files[requester];
    const arch = ARCH_CODES[requester].map((code) => `option client-arch = ${code}`).join(" or ");
    if (file) branches.push({ test: `substring(option vendor-class-identifier, 0, 10) = "HTTPClient" and (${arch})`, file, extra: HTTP_BOOT_ANSWER });
  }
  for (const firmware of ["efi-x64", "efi-ia32", "efi-arm64"] as const) {
    const file = files[firmware];
    if (file) branches.push({ test: ARCH_CODES[firmware].map((code) => `option client-arch = ${code}`).join(" or "), file });
  }
  const lines: string[] = [];
  branches.forEach(({ test, file, extra }, index) => {
    lines.push(`${index === 0 ? "if" : "} elsif"} ${test} {`, `  filename ${quote(file)};`, ...(extra ?? []));
  });
  if (files.bios) {
    // BIOS PXE ROMs send arch 0; BOOTP loaders send no option 93 at all: both land here.
    if (branches.length) lines.push("} else {", `  filename ${quote(files.bios)};`, "}");
    else lines.push(`filename ${quote(files.bios)};`);
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
    `  ${net.allowUnknownClients ? "allow" : "deny"} unknown-clients;`,
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
