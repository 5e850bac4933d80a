/**
 * Turns a raw stack configuration into a validated, fully resolved LabModel, or throws a
 * LabConfigError that lists every problem with its field and fix. Runs before any resource
 * is declared, so a bad stack never touches what is deployed.
 */
import type { z } from "zod";
import {
  broadcastAddress,
  formatIpv4,
  formatSubnet,
  hostRange,
  isHostInSubnet,
  normaliseMac,
  parseIpv4,
  parseSubnet,
  subnetMask,
  type Ipv4Subnet,
} from "../net/ipv4";
import { BITS, defaultGuestOs, EFI_ARCH, findGuestOs, guestOsFitsImage, guestOsWithArch, VMWARE_GUEST_OS } from "../client/guest-os";
import { isVmwareStaticMac } from "../client/vmx";
import { bootFilesFor, httpBaseUrl, type BootFileSet, type BootRequester } from "./boot-files";
import { resolveBsdp, type BsdpModel } from "./bsdp";
import { checkDhcpServer } from "./dhcp-server-rules";
import { LabConfigError, type ConfigProblem } from "./errors";
import type { HostInterfaceProbe } from "./host-interface";
import { checkBridgeName, checkCommandLines, checkDockerSocket, checkFreeText, checkLabPaths, checkServedBootFiles } from "./lab-rules";
import {
  bootImageSchema,
  FIRMWARES,
  labConfigSchema,
  type BootImageConfig,
  type ClientConfig,
  type Firmware,
  type LabConfig,
  type NicModel,
  type Platform,
  type QemuAccelerator,
  type QemuAttachment,
  type VmxConnectionConfig,
} from "./schema";

export interface PoolModel {
  readonly start: string;
  readonly end: string;
  readonly size: number;
}

export interface NetworkModel {
  readonly subnet: string;
  readonly networkAddress: string;
  readonly subnetMask: string;
  readonly broadcastAddress: string;
  readonly prefixLength: number;
  /** Address of the lab's servers (dhcpd, TFTP, NFS, HTTP share it). */
  readonly serverAddress: string;
  /** `bridge`: an isolated Docker bridge QEMU taps join; `macvlan`: a host interface VMware bridges to. */
  readonly mode: "bridge" | "macvlan";
  /** Linux bridge name of the lab network (bridge mode). */
  readonly bridge: string;
  /** The Docker host's own address on the bridge (bridge mode); never handed out as a router. */
  readonly gateway?: string;
  readonly parentInterface?: string;
  /** Interface dhcpd listens on, inside the pod's network namespace (the pod's only one). */
  readonly listenInterface: string;
  readonly router?: string;
  readonly dnsServers: readonly string[];
  readonly domainName?: string;
  readonly pools: readonly PoolModel[];
  readonly allowUnknownClients: boolean;
  readonly leaseTimeSeconds: number;
}

export interface ClientModel {
  readonly name: string;
  /** Lower-case colon form. */
  readonly mac: string;
  /** Reserved address; absent when the client takes one from a pool. */
  readonly ipv4?: string;
  readonly platform: Platform;
  readonly firmware: Firmware;
  readonly nic: NicModel;
  readonly bootImage: string;
  /** The file dhcpd hands this client's firmware (TFTP path or URL). */
  readonly bootFile: string;
  /** Every file dhcpd may hand this client, by requester. */
  readonly bootFiles: Partial<Record<BootRequester, string>>;
  readonly rootPath?: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** Started by `pulumi up`; false declares the VM without starting it. */
  readonly autostart: boolean;
  /** Where the guest's first serial port is written, as configured (relative to the project folder; `~` is the home folder). */
  readonly serialLog: string;
  /** Present exactly when `platform` is qemu. */
  readonly qemu?: QemuClientModel;
  /** Present exactly when `platform` is fusion. */
  readonly fusion?: FusionClientModel;
}

export interface QemuClientModel {
  readonly accel: QemuAccelerator;
  readonly attach: QemuAttachment;
  /** Folder of the guest's logs and QMP socket, as configured. */
  readonly runDir: string;
  readonly stopTimeoutSeconds: number;
}

export interface FusionClientModel {
  /** Name in the VMware library and of the bundle folder `<displayName>.vmwarevm`. */
  readonly displayName: string;
  /** Folder holding the bundle, as configured (`~` unexpanded). */
  readonly vmFolder: string;
  /** VMware's guestOS id: as the stack names it, else the default for the boot image's kind. */
  readonly guestOS: string;
  readonly connection: VmxConnectionConfig;
  /** Refused without the secret netboot-lab:vncPassword unless `allowWithoutPassword` (lib/client/fusion.ts vncWithoutPassword). */
  readonly vnc?: { readonly port: number; readonly allowWithoutPassword: boolean };
  /** Only the ROM of the firmware's bitness (efi64 for efi-x64, efi32 for efi-ia32). */
  readonly efiRom?: { readonly efi32?: string; readonly efi64?: string };
}

export interface LabModel {
  readonly network: NetworkModel;
  /** Where relative boot-image paths resolve from; absent: the project folder. */
  readonly mediaDir?: string;
  readonly docker: LabConfig["docker"];
  readonly servers: LabConfig["servers"];
  readonly bootImages: readonly BootImageConfig[];
  readonly clients: readonly ClientModel[];
  /** Boot files and root path of each image, by image name. */
  readonly bootFileSets: Readonly<Record<string, BootFileSet>>;
  /** What the lab answers Macs over BSDP: the darwin-nbi images with their IDs and filters. */
  readonly bsdp: BsdpModel;
}

const BOOT_IMAGE_KINDS = bootImageSchema.options.map((option) => option.shape.kind.value);

const DEFAULT_NIC: Record<Platform, NicModel> = { qemu: "qemu-e1000", fusion: "vmware-e1000" };

export interface ValidateOptions {
  /**
   * Looks up interfaces on the machine the lab's Docker engine runs on (lib/model/host-interface.ts),
   * so a bridge name already taken there is refused; absent, only Docker's own bridge names are.
   * `pulumi up` and `netboot-lab render` pass the real probe, tests a fixed one.
   */
  readonly hostInterface?: HostInterfaceProbe;
}

/** Validates `raw` (the `netboot-lab:*` config values without their prefix); `source` names the file in errors. */
export function validateLab(raw: unknown, source?: string, options: ValidateOptions = {}): LabModel {
  const parsed = labConfigSchema.safeParse(raw);
  if (!parsed.success) throw new LabConfigError(parsed.error.issues.map(describeSchemaIssue), source);
  const problems: ConfigProblem[] = [];
  const model = resolve(parsed.data, (field, message) => problems.push({ field, message }), options);
  if (problems.length || !model) throw new LabConfigError(problems, source);
  return model;
}

function describeSchemaIssue(issue: z.core.$ZodIssue): ConfigProblem {
  const field = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return { field, message: `unknown key(s) ${issue.keys.map((key) => `"${key}"`).join(", ")}; check the spelling against README.md` };
  }
  if (issue.code === "invalid_union" && /^bootImages\[\d+\]\.kind$/.test(field)) {
    return { field, message: `is missing or unknown; a boot image's kind is one of ${BOOT_IMAGE_KINDS.join(", ")}` };
  }
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
    return { field, message: `is required (expected ${issue.expected})` };
  }
  return { field, message: issue.message };
}

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((text, part) => (typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), "") || "(top level)"
  );
}

type Report = (field: string, message: string) => void;

function resolve(config: LabConfig, report: Report, options: ValidateOptions): LabModel | undefined {
  checkFreeText(config, report);
  checkCommandLines(config, report);
  checkLabPaths(config, report);
  checkDockerSocket(config, report);
  const network = resolveNetwork(config, report);
  if (!network) return undefined;
  const served = {
    serverAddress: network.model.serverAddress,
    nfsExportPath: config.servers.nfs.exportPath,
    httpBaseUrl: config.servers.http.enabled ? httpBaseUrl(network.model.serverAddress, config.servers.http.port) : undefined,
  };

  const imagesByName = new Map<string, BootImageConfig>();
  config.bootImages.forEach((image, index) => {
    if (imagesByName.has(image.name)) report(`bootImages[${index}].name`, `"${image.name}" is already used by another boot image; names must be unique`);
    imagesByName.set(image.name, image);
  });
  const bootFileSets = Object.fromEntries(config.bootImages.map((image) => [image.name, bootFilesFor(image, served)]));

  const clients = resolveClients(config, network, imagesByName, bootFileSets, report);
  const bsdp = resolveBsdp(config, bootFileSets, report);
  checkBridgeName(config, network.model.gateway, options.hostInterface, report);
  checkServedBootFiles(config, clients, bsdp, bootFileSets, report);
  checkDhcpServer(config, bsdp, report);
  return {
    network: network.model,
    mediaDir: config.mediaDir,
    docker: config.docker,
    servers: config.servers,
    bootImages: config.bootImages,
    clients,
    bootFileSets,
    bsdp,
  };
}

interface ResolvedNetwork {
  readonly model: NetworkModel;
  readonly subnet: Ipv4Subnet;
  readonly pools: readonly { first: number; last: number; field: string }[];
  /** Addresses the lab itself uses, with the field that claims them. */
  readonly reserved: Map<number, string>;
}

function resolveNetwork(config: LabConfig, report: Report): ResolvedNetwork | undefined {
  const net = config.network;
  const subnet = parseSubnet(net.subnet);
  if ("error" in subnet) {
    report("network.subnet", `"${net.subnet}" ${subnet.error}`);
    return undefined;
  }
  const range = hostRange(subnet);
  const reserved = new Map<number, string>();

  const address = (field: string, text: string | undefined, fallback?: number): number | undefined => {
    if (text === undefined) return fallback;
    const value = parseIpv4(text);
    if (value === undefined) {
      report(field, `"${text}" is not an IPv4 address; write four numbers 0-255 separated by dots, e.g. ${formatIpv4(range.first + 1)}`);
      return undefined;
    }
    if (!isHostInSubnet(value, subnet)) {
      report(field, `${text} is outside the lab subnet ${formatSubnet(subnet)}; use an address from ${formatIpv4(range.first)} to ${formatIpv4(range.last)}`);
      return undefined;
    }
    return value;
  };
  const claim = (field: string, value: number | undefined) => {
    if (value === undefined) return;
    const owner = reserved.get(value);
    if (owner) report(field, `${formatIpv4(value)} is already used by ${owner}; give each a different address`);
    else reserved.set(value, field);
  };

  const gateway = net.mode === "bridge" ? address("network.gateway", net.gateway, range.first) : address("network.gateway", net.gateway);
  claim("network.gateway", gateway);
  const serverAddress = address("network.serverAddress", net.serverAddress, range.first + 1);
  claim("network.serverAddress", serverAddress);
  const router = address("network.router", net.router);
  if (router !== undefined && router !== gateway) claim("network.router", router);
  net.dnsServers.forEach((dns, index) => {
    if (parseIpv4(dns) === undefined) report(`network.dnsServers[${index}]`, `"${dns}" is not an IPv4 address`);
  });

  if (net.mode !== "bridge" && !net.parentInterface) {
    report(
      "network.parentInterface",
      `is required when network.mode is "${net.mode}": name the host interface on the clients' layer-2 network (the one VMware bridges to), e.g. eth1`,
    );
  }
  if (net.mode === "bridge" && net.parentInterface) {
    report("network.parentInterface", `only applies to network.mode macvlan; remove it, or set network.mode: macvlan`);
  }

  const pools: { first: number; last: number; field: string }[] = [];
  const poolConfigs = net.pools ?? [defaultPool(subnet)];
  poolConfigs.forEach((pool, index) => {
    const field = `network.pools[${index}]`;
    const first = address(`${field}.start`, pool.start);
    const last = address(`${field}.end`, pool.end);
    if (first === undefined || last === undefined) return;
    if (first > last) {
      report(field, `start ${pool.start} is after end ${pool.end}; swap them`);
      return;
    }
    for (const other of pools) {
      if (first <= other.last && other.first <= last) {
        report(
          field,
          `${pool.start}-${pool.end} overlaps ${other.field} (${formatIpv4(other.first)}-${formatIpv4(other.last)}); pools must not share addresses`,
        );
      }
    }
    pools.push({ first, last, field });
  });
  const pooled = pools.reduce((total, pool) => total + pool.last - pool.first + 1, 0);
  if (pooled > MAX_POOL_ADDRESSES) {
    report(
      "network.pools",
      `hold ${pooled} addresses, more than the ${MAX_POOL_ADDRESSES.toLocaleString("en-US")} netboot-lab allows: dhcpd keeps a lease record for every pool address from its start; shrink the pools`,
    );
  }

  if (serverAddress === undefined) return undefined;
  const model: NetworkModel = {
    subnet: formatSubnet(subnet),
    networkAddress: formatIpv4(subnet.network),
    subnetMask: subnetMask(subnet),
    broadcastAddress: formatIpv4(broadcastAddress(subnet)),
    prefixLength: subnet.prefixLength,
    serverAddress: formatIpv4(serverAddress),
    mode: net.mode,
    bridge: net.bridge,
    gateway: gateway === undefined ? undefined : formatIpv4(gateway),
    parentInterface: net.parentInterface,
    listenInterface: "eth0",
    router: router === undefined ? undefined : formatIpv4(router),
    dnsServers: net.dnsServers,
    domainName: net.domainName,
    pools: pools.map(({ first, last }) => ({ start: formatIpv4(first), end: formatIpv4(last), size: last - first + 1 })),
    allowUnknownClients: net.allowUnknownClients,
    leaseTimeSeconds: net.leaseTimeSeconds,
  };
  return { model, subnet, pools, reserved };
}

/** Most addresses the dynamic pools may hold in all (README: network.pools). */
export const MAX_POOL_ADDRESSES = 65_536;

/**
 * The upper half of the subnet's hosts, at most MAX_POOL_ADDRESSES of them: leaves the lower
 * half for the server and reservations, and keeps a large subnet (a /8) within the cap.
 */
function defaultPool(subnet: Ipv4Subnet): { start: string; end: string } {
  const { first, last } = hostRange(subnet);
  const start = Math.max(first + Math.ceil((last - first + 1) / 2), last - MAX_POOL_ADDRESSES + 1);
  return { start: formatIpv4(start), end: formatIpv4(last) };
}

function resolveClients(
  config: LabConfig,
  network: ResolvedNetwork,
  images: ReadonlyMap<string, BootImageConfig>,
  bootFileSets: Readonly<Record<string, BootFileSet>>,
  report: Report,
): ClientModel[] {
  const names = new Map<string, number>();
  const macs = new Map<string, number>();
  const clients: ClientModel[] = [];
  let dynamicClients = 0;

  config.clients.forEach((client: ClientConfig, index) => {
    const field = `clients[${index}]`;
    const previousName = names.get(client.name);
    if (previousName !== undefined) report(`${field}.name`, `"${client.name}" is already the name of clients[${previousName}]; client names must be unique`);
    names.set(client.name, index);

    const mac = normaliseMac(client.mac);
    if (!mac) {
      report(`${field}.mac`, `"${client.mac}" is not a MAC address; write six hex pairs separated by colons, e.g. 52:54:00:12:34:56`);
    } else {
      const previousMac = macs.get(mac);
      if (previousMac !== undefined) report(`${field}.mac`, `${mac} is already the MAC of clients[${previousMac}]; every client needs its own MAC`);
      macs.set(mac, index);
      if (parseInt(mac.slice(0, 2), 16) & 1)
        report(`${field}.mac`, `${mac} is a multicast address (lowest bit of the first byte set); use a unicast MAC such as 52:54:00:…`);
    }

    let ipv4: number | undefined;
    if (client.ipv4 !== undefined) {
      ipv4 = parseIpv4(client.ipv4);
      if (ipv4 === undefined) {
        report(`${field}.ipv4`, `"${client.ipv4}" is not an IPv4 address; write four numbers 0-255 separated by dots`);
      } else if (!isHostInSubnet(ipv4, network.subnet)) {
        const range = hostRange(network.subnet);
        report(
          `${field}.ipv4`,
          `${client.ipv4} is outside the lab subnet ${network.model.subnet}; use an address from ${formatIpv4(range.first)} to ${formatIpv4(range.last)}`,
        );
        ipv4 = undefined;
      } else {
        const owner = network.reserved.get(ipv4);
        if (owner) report(`${field}.ipv4`, `${client.ipv4} is already used by ${owner}; give each a different address`);
        else network.reserved.set(ipv4, `${field}.ipv4`);
      }
    } else {
      dynamicClients++;
    }

    const nic = client.nic ?? DEFAULT_NIC[client.platform];
    const nicPlatform = nic.startsWith("vmware-") ? "fusion" : "qemu";
    if (nicPlatform !== client.platform) {
      report(
        `${field}.nic`,
        `${nic} is a ${nicPlatform === "fusion" ? "VMware" : "QEMU"} NIC but the client's platform is ${client.platform}; pick a ${client.platform === "fusion" ? "vmware-*" : "qemu-*"} model`,
      );
    }

    const image = images.get(client.bootImage);
    const fileSet = bootFileSets[client.bootImage];
    if (!image || !fileSet) {
      const known = [...images.keys()];
      report(
        `${field}.bootImage`,
        `"${client.bootImage}" is not defined under bootImages; ${known.length ? `use one of ${known.join(", ")}` : "declare it under netboot-lab:bootImages"}`,
      );
      return;
    }
    const bootFile = fileSet.files[client.firmware];
    if (!bootFile) {
      const supported = FIRMWARES.filter((firmware) => fileSet.files[firmware]);
      report(
        `${field}.firmware`,
        `boot image "${image.name}" (${image.kind}) cannot boot ${client.firmware} firmware; it supports ${supported.join(", ")}${image.kind === "darwin-nbi" && client.firmware === "bios" ? " (give the image a pxeBooter for BIOS clients)" : ""}`,
      );
      return;
    }
    const platformFields = resolvePlatform(config, client, image, field, nic, mac, report);
    if (!mac) return;
    clients.push({
      name: client.name,
      mac,
      ipv4: ipv4 === undefined ? undefined : formatIpv4(ipv4),
      platform: client.platform,
      firmware: client.firmware,
      nic,
      bootImage: client.bootImage,
      bootFile,
      bootFiles: fileSet.files,
      rootPath: fileSet.rootPath,
      ...platformFields,
    });
  });

  const bundles = new Map<string, number>();
  config.clients.forEach((client, index) => {
    if (client.platform !== "fusion") return;
    // macOS file systems ignore case by default: "Lab" and "lab" would be one bundle.
    const bundle = `${config.fusion.vmFolder}/${client.displayName ?? client.name}.vmwarevm`.toLowerCase();
    const previous = bundles.get(bundle);
    if (previous !== undefined) {
      report(
        `clients[${index}].displayName`,
        `"${client.displayName ?? client.name}" names the same VM folder as clients[${previous}] (${bundle}; macOS ignores case); give each Fusion client its own displayName`,
      );
    }
    bundles.set(bundle, index);
  });

  for (const [address, owner] of network.reserved) {
    const pool = network.pools.find((candidate) => address >= candidate.first && address <= candidate.last);
    if (pool)
      report(
        owner,
        `${formatIpv4(address)} lies inside the dynamic pool ${pool.field} (${formatIpv4(pool.first)}-${formatIpv4(pool.last)}); pick an address outside the pool or shrink the pool`,
      );
  }

  const poolSize = network.pools.reduce((total, pool) => total + pool.last - pool.first + 1, 0);
  if (dynamicClients > poolSize) {
    report(
      "network.pools",
      `hold ${poolSize} address(es) but ${dynamicClients} client(s) have no ipv4 and need one from a pool; enlarge the pools or give those clients an ipv4`,
    );
  }
  return clients;
}

const REMOTE_DOCKER_HOST = /^(ssh|tcp):\/\//;
const QEMU_ONLY_FIELDS = ["accel"] as const;
const FUSION_ONLY_FIELDS = ["displayName", "guestOS", "connection", "vnc", "efiRom"] as const;

type PlatformFields = Pick<ClientModel, "memoryMiB" | "cpus" | "autostart" | "serialLog" | "qemu" | "fusion">;

/** The client's VM settings on its platform, and the rules only that platform has. */
function resolvePlatform(
  config: LabConfig,
  client: ClientConfig,
  image: BootImageConfig,
  field: string,
  nic: NicModel,
  mac: string | undefined,
  report: Report,
): PlatformFields {
  const misplaced = client.platform === "qemu" ? FUSION_ONLY_FIELDS : QEMU_ONLY_FIELDS;
  for (const key of misplaced) {
    if (client[key] !== undefined)
      report(
        `${field}.${key}`,
        `only applies to platform ${client.platform === "qemu" ? "fusion" : "qemu"}; remove it, or set platform: ${client.platform === "qemu" ? "fusion" : "qemu"}`,
      );
  }
  if (client.platform === "qemu") {
    const settings = config.qemu;
    if (mac && /^(00:){5}00$/.test(mac))
      report(`${field}.mac`, `${mac} is the all-zero MAC, which QEMU and dhcpd cannot tell apart from none; use a unicast MAC such as 52:54:00:…`);
    if (config.docker.host && REMOTE_DOCKER_HOST.test(config.docker.host)) {
      report(
        `${field}.platform`,
        `qemu clients run on this machine and join the lab bridge here, but docker.host (${config.docker.host}) puts the lab on another machine; remove docker.host, or run this stack on that machine, or use platform: fusion`,
      );
    } else if (config.network.mode !== "bridge") {
      report(
        `${field}.platform`,
        `qemu clients join the lab bridge, but network.mode is ${config.network.mode}; set network.mode: bridge, or use platform: fusion`,
      );
    }
    // OVMF's ia32 build has no driver for QEMU's other NICs, and their iPXE ROMs carry BIOS and x64 EFI code only.
    if (client.firmware === "efi-ia32" && nic !== "qemu-virtio") {
      report(`${field}.nic`, `efi-ia32 firmware (OVMF ia32) netboots only through virtio; set nic: qemu-virtio`);
    }
    return {
      memoryMiB: client.memoryMiB ?? settings.memoryMiB,
      cpus: client.cpus ?? settings.cpus,
      autostart: client.autostart,
      serialLog: `${settings.runDir}/${client.name}.serial.log`,
      qemu: { accel: client.accel ?? settings.accel, attach: settings.attach, runDir: settings.runDir, stopTimeoutSeconds: settings.stopTimeoutSeconds },
    };
  }
  const settings = config.fusion;
  const displayName = client.displayName ?? client.name;
  if (mac && !isVmwareStaticMac(mac)) {
    report(
      `${field}.mac`,
      `${mac} is outside VMware's range for static MACs (00:50:56:00:00:00 to 00:50:56:3f:ff:ff); Fusion replaces any other with a generated one, which dhcpd does not know. Use e.g. 00:50:56:00:${mac.slice(12)}`,
    );
  }
  const memory = client.memoryMiB ?? settings.memoryMiB;
  if (memory % 4 !== 0)
    report(
      client.memoryMiB === undefined ? "fusion.memoryMiB" : `${field}.memoryMiB`,
      `${memory} is not a multiple of 4; VMware sizes guest memory in 4 MiB steps`,
    );
  // VMware runs 64-bit EFI only for a 64-bit guestOS: with EFI the firmware decides the bitness.
  const efiArch = client.firmware === "bios" ? undefined : EFI_ARCH[client.firmware];
  const defaultOs = defaultGuestOs(image.kind, efiArch ?? (image.kind === "darwin-nbi" ? image.mkext.arch : undefined));
  if (client.guestOS !== undefined) {
    const known = findGuestOs(client.guestOS);
    if (!known) {
      report(
        `${field}.guestOS`,
        `"${client.guestOS}" is not a VMware guestOS id netboot-lab knows; use one of ${VMWARE_GUEST_OS.map((entry) => entry.id).join(", ")} (default for this image: ${defaultOs})`,
      );
    } else if (!guestOsFitsImage(client.guestOS, image.kind)) {
      report(
        `${field}.guestOS`,
        `${client.guestOS} (${known.label}) does not fit boot image "${image.name}" (${image.kind}); use ${defaultOs}, or leave guestOS out for that default`,
      );
    } else if (efiArch && known.arch !== efiArch) {
      const otherFirmware = client.firmware === "efi-x64" ? "efi-ia32" : "efi-x64";
      report(
        `${field}.guestOS`,
        `${known.id} is a ${BITS[known.arch]} guest type, so VMware would run its ${BITS[known.arch]} EFI and the guest would ask for ${otherFirmware} boot files, not the ${client.firmware} ones the lab serves it; use ${guestOsWithArch(known.id, efiArch) ?? defaultOs} (or leave guestOS out), or set firmware: ${otherFirmware}`,
      );
    }
  }
  if (client.efiRom && client.firmware === "bios")
    report(`${field}.efiRom`, `replaces EFI firmware, but the client's firmware is bios; remove efiRom or set firmware: efi-x64 / efi-ia32`);
  if (client.efiRom && efiArch) {
    const [used, unused] = efiArch === "x86_64" ? (["efi64", "efi32"] as const) : (["efi32", "efi64"] as const);
    if (client.efiRom[unused] !== undefined)
      report(
        `${field}.efiRom.${unused}`,
        `firmware ${client.firmware} runs VMware's ${BITS[efiArch]} EFI, which reads only ${used}.filename and would ignore this ROM; give it as efiRom.${used}, or set firmware: ${client.firmware === "efi-x64" ? "efi-ia32" : "efi-x64"} if the ROM is ${unused === "efi32" ? "32" : "64"}-bit`,
      );
  }
  return {
    memoryMiB: memory,
    cpus: client.cpus ?? settings.cpus,
    autostart: client.autostart,
    serialLog: `${settings.vmFolder}/${displayName}.vmwarevm/serial.log`,
    fusion: {
      displayName,
      vmFolder: settings.vmFolder,
      guestOS: client.guestOS ?? defaultOs,
      connection: client.connection ?? settings.connection,
      vnc: client.vnc,
      efiRom: client.efiRom,
    },
  };
}
