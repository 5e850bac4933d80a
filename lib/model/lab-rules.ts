/**
 * Rules that span the whole lab rather than one section: text that reaches generated files,
 * paths the lab writes or serves, the names it takes on the Docker host, and whether every file
 * a client is sent has a server. validate.ts runs them on the parsed config.
 */
import { bootTreePath, nfsRootLocation, type BootFileSet } from "./boot-files";
import type { BsdpModel } from "./bsdp";
import type { HostInterfaceProbe } from "./host-interface";
import type { BootImageConfig, LabConfig } from "./schema";
import type { ClientModel } from "./validate";

type Report = (field: string, message: string) => void;

/** C0 controls, DEL and C1 controls: the characters that end, rewind or corrupt a line of text. */
function isControl(character: string): boolean {
  const code = character.charCodeAt(0);
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}
const CONTROL_NAMES: Readonly<Record<string, string>> = { "\n": "a newline", "\r": "a carriage return", "\t": "a tab" };

function describeControl(character: string): string {
  return CONTROL_NAMES[character] ?? `the control character U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Every string of the config ends up in a generated file (dhcpd.conf, boot scripts, plists,
 * .vmx, QEMU scripts) or a Docker argument, where a newline starts a line of its own: walked
 * generically, so a field added later is covered too.
 */
export function checkFreeText(config: LabConfig, report: Report): void {
  const walk = (value: unknown, field: string): void => {
    if (typeof value === "string") {
      const control = [...value].find(isControl);
      if (control !== undefined) {
        report(
          field,
          `contains ${describeControl(control)}; the lab writes this value into generated files (dhcpd.conf, boot scripts, plists, .vmx), where it would break the line it stands on: write it on one line, without control characters`,
        );
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${field}[${index}]`));
    } else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) walk(item, field ? `${field}.${key}` : key);
    }
  };
  walk(config, "");
}

/** Characters GRUB's and iPXE's script languages act on: command separators, pipes, redirections, variables, blocks. */
const SCRIPT_SYNTAX = /[;|&$`<>{}]/;

/** A kernel command line goes as it is onto the `linux` line of grub.cfg and the `kernel` line of the iPXE script. */
export function checkCommandLines(config: LabConfig, report: Report): void {
  config.bootImages.forEach((image, index) => {
    if (image.kind !== "ipxe" && image.kind !== "grub" && image.kind !== "pxelinux" && image.kind !== "signed-grub") return;
    const character = SCRIPT_SYNTAX.exec(image.linux.cmdline)?.[0];
    if (character !== undefined) {
      report(
        `bootImages[${index}].linux.cmdline`,
        `contains '${character}', which the GRUB and iPXE scripts the lab writes the command line into would take as their own syntax (a command separator, pipe, redirection, variable or block); leave it out of the kernel's parameters`,
      );
    }
  });
}

/**
 * Paths the lab creates, serves or mounts, written as they are into configs and scripts. A
 * `..` there leads out of the folder the path seems to name (`/../etc` exports the server's
 * /etc). Media paths are the user's own files to read and may be relative (`../media`).
 */
const LAB_PATHS: readonly { field: string; value: (config: LabConfig) => string; where: string }[] = [
  { field: "servers.nfs.exportPath", value: (config) => config.servers.nfs.exportPath, where: "the NFS export and every client's root-path" },
  { field: "docker.socket", value: (config) => config.docker.socket, where: "the keeper container's mount of the Docker engine's socket" },
  { field: "qemu.runDir", value: (config) => config.qemu.runDir, where: "the paths of each QEMU guest's logs and QMP socket" },
  { field: "fusion.vmFolder", value: (config) => config.fusion.vmFolder, where: "the path of each Fusion VM's bundle and serial log" },
];

export function checkLabPaths(config: LabConfig, report: Report): void {
  for (const { field, value, where } of LAB_PATHS) {
    const path = value(config);
    if (path.split("/").includes(".."))
      report(field, `"${path}" has a '..' segment; the path goes as it is into ${where}, where '..' leads out of the folder it names: write it without '..'`);
  }
}

/** The keeper bind-mounts `docker.socket` into its container: anything but the engine's socket file hands it host files. */
export function checkDockerSocket(config: LabConfig, report: Report): void {
  const socket = config.docker.socket;
  if (socket.split("/").includes("..")) return;
  if (!/^\/(?:[^/]+\/)*[^/]+\.sock$/.test(socket)) {
    report(
      "docker.socket",
      `"${socket}" is not the path of a socket file: the keeper container mounts it to reach the Docker engine, so a folder such as / or /etc would hand it the host's files; name the engine's API socket, a file ending in .sock, e.g. /var/run/docker.sock (rootless Docker: /run/user/<uid>/docker.sock)`,
    );
  }
}

/** Docker's own bridges: its default network's, and those of its user-defined networks (`br-` and 12 hex digits of the network id). */
const DOCKER_BRIDGE = /^(docker0|br-[0-9a-f]{12})$/;

/**
 * The lab's bridge must be its own. Docker's bridges are refused by name; an interface that
 * already exists on this machine is refused unless it is this lab's bridge, deployed before:
 * a bridge that carries the lab's gateway address. Only for a local Docker engine, whose
 * bridges are this machine's interfaces.
 */
export function checkBridgeName(config: LabConfig, gateway: string | undefined, probe: HostInterfaceProbe | undefined, report: Report): void {
  const { mode, bridge } = config.network;
  if (mode !== "bridge") return;
  if (DOCKER_BRIDGE.test(bridge)) {
    report(
      "network.bridge",
      `${bridge} is a bridge Docker names and manages for ${bridge === "docker0" ? "its default network" : "one of its networks"}; the lab needs a bridge of its own: pick another name, e.g. nblab0`,
    );
    return;
  }
  const localEngine = config.docker.host === undefined || config.docker.host.startsWith("unix://");
  const existing = localEngine && probe ? probe(bridge) : undefined;
  if (!existing || (existing.bridge && gateway !== undefined && existing.ipv4.includes(gateway))) return;
  report(
    "network.bridge",
    `${bridge} is already an interface on this machine and not this lab's bridge (${existing.bridge ? `a bridge with ${existing.ipv4.join(", ") || "no IPv4 address"}` : "not a bridge"}; the lab's bridge carries its gateway ${gateway ?? "address"}); Docker would fail to create the lab network or take that interface over: pick a name no interface has, e.g. nblab1 (if it is this lab's bridge from before a change of network.subnet or network.gateway, remove the lab first with pulumi destroy)`,
  );
}

/** What a user can do instead of enabling NFS, by image kind: NetBSD's kernel takes its root only over NFS. */
function nfsAlternative(image: BootImageConfig, index: number): string {
  if (image.kind === "darwin-nbi") return `, or protocol: http on bootImages[${index}] with servers.http.enabled: true`;
  if (image.kind === "netbsd") return "";
  return `, or nfsRoot: false on bootImages[${index}]`;
}

/** Every file a client is sent, and every root it mounts, must have an enabled server behind it. */
export function checkServedBootFiles(
  config: LabConfig,
  clients: readonly ClientModel[],
  bsdp: BsdpModel,
  bootFileSets: Readonly<Record<string, BootFileSet>>,
  report: Report,
): void {
  if (!config.servers.tftp.enabled) {
    const overTftp = clients.filter((client) => bootTreePath(client.bootFile) !== undefined);
    if (overTftp.length) {
      report(
        "servers.tftp.enabled",
        `is false, but clients ${overTftp.map((client) => `${client.name} (${client.bootFile})`).join(", ")} are sent boot files that their firmware fetches over TFTP, the only protocol a PXE firmware loads its first file with; set servers.tftp.enabled: true`,
      );
    }
    if (bsdp.enabled) {
      report(
        "bsdp.enabled",
        `answers Macs with the booters of ${bsdp.images.map((image) => image.bootImage).join(", ")}, which they fetch over TFTP, but servers.tftp.enabled is false; set servers.tftp.enabled: true, or bsdp.enabled: false`,
      );
    }
  }
  if (!config.servers.nfs.enabled) {
    config.bootImages.forEach((image, index) => {
      const rootPath = bootFileSets[image.name]?.rootPath;
      if (rootPath === undefined || !nfsRootLocation(rootPath)) return;
      const users = clients.filter((client) => client.bootImage === image.name).map((client) => client.name);
      if (bsdp.enabled && bsdp.images.some((offered) => offered.bootImage === image.name)) users.push("Macs that choose it over BSDP");
      if (!users.length) return;
      report(
        "servers.nfs.enabled",
        `is false, but boot image "${image.name}" mounts its root over NFS (root-path ${rootPath}) for ${users.join(", ")}; set servers.nfs.enabled: true${nfsAlternative(image, index)}`,
      );
    });
  }
}
