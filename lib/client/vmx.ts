/**
 * A VMware Fusion virtual machine description (.vmx) for a netbooting lab client: no disk, one
 * NIC with the MAC dhcpd knows, network boot first, the serial console in a log file.
 *
 * The file format is VMware's dictionary format: one `key = "value"` per line, keys compared
 * without regard to case, values UTF-8 with `"`, `|`, DEL and every control character but tab
 * written as `|` and two upper-case hex digits (open-vm-tools lib/dict/dictll.c and
 * lib/misc/escape.c). Keys and their values: docs/darwin-netboot-formats.md §6.1.
 */
import { UserError } from "../errors";
import type { NicModel } from "../model/schema";
import { normaliseMac } from "../net/ipv4";
import { BITS, findGuestOs, VMWARE_GUEST_OS, type VmwareGuestOs } from "./guest-os";

/** A .vmx that cannot be written from its spec, or a .vmx text that is not in VMware's format. */
export class VmxError extends UserError {}

export type VmxConnection =
  /** `ethernet0.connectionType = "bridged"` to the host interface named by `ethernet0.bsdName` (`en0`, …). */
  | { readonly type: "bridged"; readonly hostInterface: string }
  /** A Fusion custom network: `ethernet0.connectionType = "custom"`, `ethernet0.vnet = "vmnet2"`. */
  | { readonly type: "custom"; readonly vnet: string };

export interface VmxSpec {
  /** Fusion's name for the VM (`displayName`). */
  readonly displayName: string;
  /** A VMware guestOS id from VMWARE_GUEST_OS (guest-os.ts); with EFI, a 64-bit id gets VMware's 64-bit EFI, a 32-bit id its 32-bit EFI. */
  readonly guestOS: string;
  readonly firmware: "efi" | "bios";
  /** `memsize`: a multiple of 4 MiB. */
  readonly memoryMiB: number;
  /** `numvcpus`. */
  readonly cpus: number;
  /** `virtualDev` as vmxVirtualDev gives it; `mac` in VMware's static range (isVmwareStaticMac). */
  readonly nic: { readonly virtualDev: string; readonly mac: string; readonly connection: VmxConnection };
  /** The file VMware writes the guest's first serial port (COM1) to. */
  readonly serialLogPath: string;
  /** VNC server on the host for a headless VM; a password has at most 8 characters (VNC's limit). */
  readonly vnc?: { readonly port: number; readonly password?: string };
  /**
   * Replacement EFI firmware ROM (`efi32.filename` or `efi64.filename`); EFI only, and only the
   * one of the bitness the guestOS selects: VMware never reads the other key.
   */
  readonly efiRom?: { readonly efi32?: string; readonly efi64?: string };
  /**
   * `virtualHW.version`; default 7, the oldest hardware with Mac OS X Server guests and EFI, so
   * the VM opens in Fusion 3 and every later release (which offer to upgrade it).
   */
  readonly virtualHWVersion?: number;
}

const DEFAULT_VIRTUAL_HW_VERSION = 7;
const VIRTUAL_DEVS = ["e1000", "e1000e", "vlance", "vmxnet3"] as const;

const VIRTUAL_DEV_OF_NIC: Partial<Record<NicModel, (typeof VIRTUAL_DEVS)[number]>> = {
  "vmware-e1000": "e1000",
  "vmware-e1000e": "e1000e",
  "vmware-vlance": "vlance",
  "vmware-vmxnet3": "vmxnet3",
};

/** The `ethernet0.virtualDev` of a VMware NIC model; a QEMU model is an error. */
export function vmxVirtualDev(nic: NicModel): string {
  const virtualDev = VIRTUAL_DEV_OF_NIC[nic];
  if (!virtualDev) {
    throw new VmxError(`${nic} is not a VMware NIC; a Fusion client takes one of ${Object.keys(VIRTUAL_DEV_OF_NIC).join(", ")}`);
  }
  return virtualDev;
}

/** VMware accepts a static MAC only in 00:50:56:00:00:00–00:50:56:3F:FF:FF; the rest of its OUI is for generated ones. */
export function isVmwareStaticMac(mac: string): boolean {
  const normalised = normaliseMac(mac);
  return normalised !== undefined && normalised.startsWith("00:50:56:") && parseInt(normalised.slice(9, 11), 16) <= 0x3f;
}

function needsEscape(code: number): boolean {
  return (code < 0x20 && code !== 0x09) || code === 0x22 || code === 0x7c || code === 0x7f;
}

/** A value as VMware writes it between the quotes. */
export function escapeVmxValue(value: string): string {
  let escaped = "";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    escaped += needsEscape(code) ? `|${code.toString(16).toUpperCase().padStart(2, "0")}` : char;
  }
  return escaped;
}

/** The inverse of escapeVmxValue; like VMware, a `|` not followed by two hex digits stays as it is. */
export function unescapeVmxValue(escaped: string): string {
  return escaped.replace(/\|([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The ROM key VMware's EFI reads for a guest of this word size. */
function efiRomKey(arch: VmwareGuestOs["arch"]): "efi32" | "efi64" {
  return arch === "x86_64" ? "efi64" : "efi32";
}

function specProblems(spec: VmxSpec): string[] {
  const problems: string[] = [];
  const { nic, vnc, efiRom } = spec;
  if (spec.displayName.trim() === "") problems.push("displayName: give the VM a name");
  if (!findGuestOs(spec.guestOS)) problems.push(`guestOS: "${spec.guestOS}" is not one of ${VMWARE_GUEST_OS.map((entry) => entry.id).join(", ")}`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 4 || spec.memoryMiB % 4 !== 0) {
    problems.push(`memoryMiB: ${spec.memoryMiB} is not a whole number of MiB divisible by 4 (VMware's memsize rule), e.g. 1024`);
  }
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1) problems.push(`cpus: ${spec.cpus} is not a whole number of CPUs, at least 1`);
  if (!(VIRTUAL_DEVS as readonly string[]).includes(nic.virtualDev))
    problems.push(`nic.virtualDev: "${nic.virtualDev}" is not one of ${VIRTUAL_DEVS.join(", ")}`);
  if (!isVmwareStaticMac(nic.mac)) {
    problems.push(`nic.mac: ${nic.mac} is outside VMware's static range 00:50:56:00:00:00–00:50:56:3F:FF:FF; pick one such as 00:50:56:00:00:10`);
  }
  if (nic.connection.type === "bridged" && !/^[A-Za-z][A-Za-z0-9._-]*$/.test(nic.connection.hostInterface)) {
    problems.push(`nic.connection.hostInterface: "${nic.connection.hostInterface}" is not a host interface name such as en0`);
  }
  if (nic.connection.type === "custom" && !/^vmnet[0-9]+$/.test(nic.connection.vnet)) {
    problems.push(`nic.connection.vnet: "${nic.connection.vnet}" is not a VMware network such as vmnet2`);
  }
  if (spec.serialLogPath.trim() === "") problems.push("serialLogPath: name the file the serial console goes to");
  if (vnc) {
    if (!Number.isInteger(vnc.port) || vnc.port < 1 || vnc.port > 65535) problems.push(`vnc.port: ${vnc.port} is not a TCP port; VMware suggests 5901–6001`);
    if (vnc.password !== undefined && !/^[\x20-\x7e]{1,8}$/.test(vnc.password)) {
      problems.push("vnc.password: VNC passwords are 1 to 8 printable ASCII characters (VNC ignores the rest)");
    }
  }
  if (efiRom && spec.firmware !== "efi") problems.push("efiRom: EFI ROMs only apply with firmware efi; remove efiRom or set firmware: efi");
  const guest = findGuestOs(spec.guestOS);
  if (efiRom && spec.firmware === "efi" && guest) {
    const used = efiRomKey(guest.arch);
    const unused = used === "efi64" ? "efi32" : "efi64";
    if (efiRom[unused] !== undefined) {
      problems.push(
        `efiRom.${unused}: guestOS ${guest.id} is ${BITS[guest.arch]}, so VMware runs its ${BITS[guest.arch]} EFI and reads ${used}.filename, never ${unused}.filename; give the ROM as efiRom.${used}, or pick a guestOS of the ROM's bitness`,
      );
    }
  }
  for (const key of ["efi32", "efi64"] as const) {
    if (efiRom?.[key] !== undefined && efiRom[key]!.trim() === "") problems.push(`efiRom.${key}: name the ROM file`);
  }
  const hardware = spec.virtualHWVersion;
  if (hardware !== undefined && (!Number.isInteger(hardware) || hardware < DEFAULT_VIRTUAL_HW_VERSION)) {
    problems.push(`virtualHWVersion: ${hardware} is older than ${DEFAULT_VIRTUAL_HW_VERSION}, the first with Mac OS X guests and EFI`);
  }
  return problems;
}

/** The keys and values of the .vmx, in the order they are written. */
function vmxEntries(spec: VmxSpec): [string, string][] {
  const { nic, vnc, efiRom } = spec;
  const guest = findGuestOs(spec.guestOS)!;
  const entries: [string, string][] = [
    [".encoding", "UTF-8"],
    ["config.version", "8"],
    ["virtualHW.version", String(spec.virtualHWVersion ?? DEFAULT_VIRTUAL_HW_VERSION)],
    ["displayName", spec.displayName],
    ["guestOS", guest.id],
    ["firmware", spec.firmware],
    ["memsize", String(spec.memoryMiB)],
    ["numvcpus", String(spec.cpus)],
  ];
  // Mac OS X does not boot without Apple's System Management Controller and the ICH7-M chipset it
  // sits on; its power management expects an HPET, which Fusion's own Mac VMs have too.
  if (guest.family === "darwin") entries.push(["smc.present", "TRUE"], ["ich7m.present", "TRUE"], ["hpet0.present", "TRUE"]);
  entries.push(
    ["ethernet0.present", "TRUE"],
    ["ethernet0.startConnected", "TRUE"],
    ["ethernet0.virtualDev", nic.virtualDev],
    ["ethernet0.addressType", "static"],
    ["ethernet0.address", normaliseMac(nic.mac)!],
  );
  if (nic.connection.type === "bridged") entries.push(["ethernet0.connectionType", "bridged"], ["ethernet0.bsdName", nic.connection.hostInterface]);
  else entries.push(["ethernet0.connectionType", "custom"], ["ethernet0.vnet", nic.connection.vnet]);
  // BIOS: the documented boot order (KB 2011654). EFI has no boot-order key; limiting the boot
  // manager to network devices makes it start with PXE (and BSDP on Mac guests).
  entries.push(spec.firmware === "bios" ? ["bios.bootOrder", "ethernet0"] : ["bios.bootDeviceClasses", "allow:net"]);
  entries.push(["serial0.present", "TRUE"], ["serial0.fileType", "file"], ["serial0.fileName", spec.serialLogPath]);
  // Once the log exists VMware asks "Append or Replace?" at power-on, and `vmrun start … nogui`
  // shows the question to nobody: the VM waits forever. An `answer.<question id>` key answers it
  // (append: every boot's log is kept); msg.autoAnswer gives any other question its default
  // answer (VMware reads the explicit answer first: open-vm-tools lib/user/msg.c).
  entries.push(["answer.msg.serial.file.open", "Append"], ["msg.autoAnswer", "TRUE"]);
  if (vnc) {
    entries.push(["RemoteDisplay.vnc.enabled", "TRUE"], ["RemoteDisplay.vnc.port", String(vnc.port)]);
    if (vnc.password !== undefined) entries.push(["RemoteDisplay.vnc.password", vnc.password]);
  }
  const romKey = efiRomKey(guest.arch);
  const rom = efiRom?.[romKey];
  if (spec.firmware === "efi" && rom !== undefined) entries.push([`${romKey}.filename`, rom]);
  return entries;
}

/** The whole .vmx text; a spec VMware would reject (or boot wrongly) is a VmxError listing every problem. */
export function renderVmx(spec: VmxSpec): string {
  const problems = specProblems(spec);
  if (problems.length) throw new VmxError(`cannot write the .vmx of "${spec.displayName}":\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  return vmxEntries(spec)
    .map(([key, value]) => `${key} = "${escapeVmxValue(value)}"\n`)
    .join("");
}

const LINE = /^([^\s="#]+) = "([^"]*)"$/;

/**
 * Every `key = "value"` line of a .vmx, values unescaped, keys as written. Blank lines and `#`
 * comments are skipped; any other line, or a key given twice (in any case), is a VmxError.
 */
export function parseVmx(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  const lineOfKey = new Map<string, number>();
  text.split("\n").forEach((rawLine, index) => {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const match = LINE.exec(line);
    if (!match) {
      // A line holding a password is not echoed: error messages end up in logs.
      const shown = /password/i.test(line) ? "" : `: ${JSON.stringify(line.slice(0, 80))}`;
      throw new VmxError(`line ${index + 1} is not key = "value"${shown}`);
    }
    const [, key, value] = match;
    const folded = key!.toLowerCase();
    const previous = lineOfKey.get(folded);
    if (previous !== undefined) throw new VmxError(`line ${index + 1} sets ${key} again (first set on line ${previous}); VMware keeps only one`);
    lineOfKey.set(folded, index + 1);
    entries.set(key!, unescapeVmxValue(value!));
  });
  return entries;
}
