/**
 * The QEMU command line of a lab client, from the validated model: firmware, NIC, MAC, the lab
 * bridge, network boot first, serial console to a log file, headless, and a QMP socket the
 * managed process is powered off through. Pure: the caller resolves what depends on the
 * machine (KVM usable? running as root?) and where files go.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { UserError } from "../errors";
import type { ClientModel, Firmware, NicModel } from "../model";
import { AARCH64_MACHINE, AARCH64_QEMU, AAVMF, httpBootOptions } from "./qemu-modern";

/** QEMU's `-device` for each qemu-* NIC model; QEMU loads each one's iPXE option ROM (package ipxe-qemu) by itself. */
export const QEMU_NIC_DEVICES: Partial<Record<NicModel, string>> = {
  // QEMU's e1000 emulates a 500 ms autonegotiation every time a driver resets the PHY (iPXE,
  // then Linux or NetBSD): seconds of "waiting for link" on every boot for a virtual cable.
  "qemu-e1000": "e1000,autonegotiation=off",
  "qemu-e1000e": "e1000e",
  "qemu-rtl8139": "rtl8139",
  "qemu-virtio": "virtio-net-pci",
  "qemu-pcnet": "pcnet",
  "qemu-vmxnet3": "vmxnet3",
};

/** Firmware files from Debian's packages; BIOS is QEMU's built-in SeaBIOS. */
export const OVMF_X64 = { file: "/usr/share/qemu/OVMF.fd", package: "ovmf" } as const;
/**
 * UEFI firmware QEMU runs from two flash chips: the code read-only, and the guest's own copy of a
 * variable store (copied once, kept across restarts).
 */
export interface PflashFirmware {
  readonly code: string;
  readonly varsTemplate: string;
  readonly package: string;
  /** What a missing file is, for the host check. */
  readonly description: string;
  /** x86 builds with Secure Boot support: SMM on a q35 machine, flash only SMM code may write. */
  readonly smm: boolean;
}

/** Debian ships the ia32 build only with Secure Boot support; it is off with an empty variable store. */
export const OVMF_IA32 = {
  code: "/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd",
  varsTemplate: "/usr/share/OVMF/OVMF32_VARS_4M.fd",
  package: "ovmf-ia32",
  description: "the ia32 UEFI firmware",
  smm: true,
} as const satisfies PflashFirmware;

/** x64 with Secure Boot on: the variable store has Microsoft's KEK and db enrolled, which shim is signed by. */
export const OVMF_X64_SECURE_BOOT = {
  code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
  varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
  package: "ovmf",
  description: "the x64 Secure Boot UEFI firmware",
  smm: true,
} as const satisfies PflashFirmware;

/** The flash firmware of a client, when it runs from flash rather than QEMU's -bios (SeaBIOS, or plain OVMF). */
export function pflashFirmware(client: Pick<ClientModel, "firmware" | "secureBoot">): PflashFirmware | undefined {
  if (client.firmware === "efi-ia32") return OVMF_IA32;
  if (client.firmware === "efi-x64" && client.secureBoot) return OVMF_X64_SECURE_BOOT;
  if (client.firmware === "efi-arm64") return AAVMF;
  return undefined;
}

/** What the machine running the guests decided: `accel` and `attach` with `auto` resolved. */
export interface QemuHostChoices {
  readonly accel: "kvm" | "tcg";
  readonly attach: "tap" | "bridge-helper";
}

export interface QemuLaunch {
  readonly client: string;
  /** qemu-system-x86_64, or qemu-system-i386 for efi-ia32 guests. */
  readonly binary: string;
  readonly args: readonly string[];
  /** Linux bridge the NIC joins (the lab network's). */
  readonly bridge: string;
  /** Tap created on `bridge` before QEMU starts and removed after it stops; absent with the bridge helper. */
  readonly tap?: string;
  readonly serialLog: string;
  /** QEMU's own stdout and stderr (start-up errors). */
  readonly processLog: string;
  readonly qmpSocket: string;
  /** Files copied before the first start (a per-guest EFI variable store), `to` kept across restarts. */
  readonly copies: readonly { readonly from: string; readonly to: string }[];
  readonly stopTimeoutSeconds: number;
  /**
   * A BIOS guest boots through QEMU's iPXE option ROM, which waits 2 s at "Press Ctrl-B for the
   * iPXE command line..." before its first packet, for a key nobody can press (there is no
   * display). The provider presses Enter until the guest's first frame reaches `tap`, which it
   * can only watch when it made the tap.
   */
  readonly skipIpxePrompt: boolean;
}

/** A client whose QEMU command cannot be written for this machine's folders. */
export class QemuLaunchError extends UserError {}

/**
 * Longest path of a UNIX socket: `sun_path` holds 108 bytes with the terminating NUL. QEMU
 * refuses a longer one and exits at start, and Node (which the provider powers the guest off
 * through) cannot connect to one of 108.
 */
export const UNIX_SOCKET_PATH_MAX = 107;

/**
 * A value inside a QEMU `key=value,…` option: QEMU splits at every comma and reads `,,` as one
 * literal comma, so a path with a comma must have it doubled. Every path the command line holds
 * goes through here, which is why the serial console is a `-chardev file,path=…` rather than
 * `-serial file:…`: QEMU takes that legacy form verbatim, and one rule for every path is safer.
 */
export function qemuOptionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/**
 * The tap's name: unique per bridge and client, within Linux's 15 characters, and stable, so a
 * replaced guest reuses its predecessor's.
 */
export function tapName(bridge: string, client: string): string {
  return `nbl${createHash("sha256").update(`${bridge}/${client}`).digest("hex").slice(0, 10)}`;
}

function firmwareArgs(firmware: Firmware, flash: PflashFirmware | undefined, efiVars: string): string[] {
  if (flash) {
    return [
      // Only SMM code may write the variable store of a Secure Boot capable build (x86 only; AAVMF has none).
      ...(flash.smm ? ["-global", "driver=cfi.pflash01,property=secure,value=on"] : []),
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(flash.code)}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${qemuOptionValue(efiVars)}`,
    ];
  }
  return firmware === "efi-x64" ? ["-bios", OVMF_X64.file] : [];
}

export const QEMU_BINARY: Record<Firmware, string> = {
  bios: "qemu-system-x86_64",
  "efi-x64": "qemu-system-x86_64",
  "efi-ia32": "qemu-system-i386",
  "efi-arm64": AARCH64_QEMU.binary,
};

function machineArgs(firmware: Firmware, flash: PflashFirmware | undefined): readonly string[] {
  if (firmware === "efi-arm64") return AARCH64_MACHINE;
  return ["-machine", flash?.smm ? "q35,smm=on" : "pc"];
}

/**
 * `runDir` is absolute: the folder of the guest's logs and socket. The client must be a
 * qemu client of a bridge-mode lab (validation guarantees both).
 */
export function qemuLaunch(client: ClientModel, bridge: string, runDir: string, host: QemuHostChoices): QemuLaunch {
  const settings = client.qemu;
  const device = QEMU_NIC_DEVICES[client.nic];
  if (!settings || !device) throw new Error(`client "${client.name}" is not a QEMU client (platform ${client.platform}, nic ${client.nic})`);
  const file = (suffix: string) => join(runDir, `${client.name}${suffix}`);
  const serialLog = file(".serial.log");
  const qmpSocket = file(".qmp.sock");
  const efiVars = file(".efivars.fd");
  // Checked here rather than moving the socket somewhere short (/run, /tmp): it stays beside the
  // guest's logs, where a user looks for it, and the folder is the user's to choose.
  const socketBytes = Buffer.byteLength(qmpSocket);
  if (socketBytes > UNIX_SOCKET_PATH_MAX) {
    throw new QemuLaunchError(
      `client "${client.name}": its QMP socket ${qmpSocket} is ${socketBytes} bytes long, over the ${UNIX_SOCKET_PATH_MAX} a UNIX socket path may have, so QEMU would exit at start; ` +
        `set netboot-lab:qemu.runDir to a folder at least ${socketBytes - UNIX_SOCKET_PATH_MAX} bytes shorter (e.g. /var/tmp/netboot-lab), or give the client a shorter name`,
    );
  }
  const tap = host.attach === "tap" ? tapName(bridge, client.name) : undefined;
  // OVMF orders boot only by bootindex (it ignores -boot); SeaBIOS follows -boot n.
  const efi = client.firmware !== "bios";
  const flash = pflashFirmware(client);
  // An empty romfile keeps QEMU's iPXE option ROM off the NIC. Secure Boot: it is not signed, and
  // OVMF's own virtio driver and network stack are. HTTP Boot: its driver would replace the
  // firmware's network stack, and with it HTTP Boot.
  const romfile = client.secureBoot || client.netboot === "http" ? ",romfile=" : "";
  const netdev = tap ? `tap,id=lab,ifname=${tap},script=no,downscript=no` : `bridge,id=lab,br=${bridge}`;
  const args = [
    "-name",
    `guest=${client.name}`,
    ...machineArgs(client.firmware, flash),
    "-accel",
    host.accel,
    "-m",
    String(client.memoryMiB),
    "-smp",
    String(client.cpus),
    "-display",
    "none",
    // Nobody watches a screen (the serial log is the console): without a video card the firmware
    // and loaders draw nothing, which under TCG is emulated CPU saved on every boot.
    "-vga",
    "none",
    "-monitor",
    "none",
    "-chardev",
    `file,id=serial0,path=${qemuOptionValue(serialLog)}`,
    "-serial",
    "chardev:serial0",
    "-qmp",
    `unix:${qemuOptionValue(qmpSocket)},server=on,wait=off`,
    ...(efi ? [] : ["-boot", "n"]),
    ...firmwareArgs(client.firmware, flash, efiVars),
    ...httpBootOptions(client),
    "-netdev",
    netdev,
    "-device",
    `${device},netdev=lab,mac=${client.mac}${romfile}${efi ? ",bootindex=0" : ""}`,
  ];
  return {
    client: client.name,
    binary: QEMU_BINARY[client.firmware],
    args,
    bridge,
    ...(tap ? { tap } : {}),
    serialLog,
    processLog: file(".qemu.log"),
    qmpSocket,
    copies: flash ? [{ from: flash.varsTemplate, to: efiVars }] : [],
    stopTimeoutSeconds: settings.stopTimeoutSeconds,
    skipIpxePrompt: !efi && tap !== undefined,
  };
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** One `-option value` pair per line. */
function optionLines(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (const arg of args) {
    if (arg.startsWith("-") || lines.length === 0) lines.push(shellWord(arg));
    else lines[lines.length - 1] += ` ${shellWord(arg)}`;
  }
  return lines;
}

/** `clients/<name>.qemu.sh`: what the managed-process provider does, as a script a user can run by hand. */
export function renderQemuScript(launch: QemuLaunch): string {
  const lines = [
    "#!/bin/sh",
    `# netboot-lab client ${launch.client}: what \`pulumi up\` runs (the provider also records the PID and stops it on destroy).`,
    "set -e",
    `mkdir -p ${shellWord(launch.serialLog.slice(0, launch.serialLog.lastIndexOf("/")))}`,
    ...launch.copies.map((copy) => `[ -e ${shellWord(copy.to)} ] || cp ${shellWord(copy.from)} ${shellWord(copy.to)}`),
    ...(launch.tap
      ? [
          `ip link show ${launch.tap} >/dev/null 2>&1 || ip tuntap add dev ${launch.tap} mode tap`,
          `ip link set ${launch.tap} master ${shellWord(launch.bridge)} up`,
        ]
      : [`# QEMU's bridge helper attaches the NIC to ${launch.bridge}: it needs "allow ${launch.bridge}" in /etc/qemu/bridge.conf`]),
    `exec ${[launch.binary, ...optionLines(launch.args)].join(" \\\n  ")}`,
    "",
  ];
  return lines.join("\n");
}
