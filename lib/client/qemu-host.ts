/**
 * What the machine that runs the lab's QEMU guests can do, asked before anything is declared:
 * whether KVM really works, whether taps can be made, and whether the firmware and QEMU
 * itself are installed. Each missing piece is a problem naming the Debian package.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { UserError } from "../errors";
import type { ClientModel, QemuAccelerator, QemuAttachment } from "../model";
import { OVMF_X64, pflashFirmware, QEMU_BINARY, type QemuHostChoices } from "./qemu";
import { AARCH64_QEMU } from "./qemu-modern";

export interface QemuHost {
  /**
   * /dev/kvm opens read-write and is backed by kvm_intel or kvm_amd. A node backed by anything
   * else (a paravirtual module in a cloud VM) lets QEMU start and then hangs the guest after
   * SeaBIOS, so its mere presence does not count.
   */
  readonly kvmUsable: boolean;
  /** Root can create taps; everyone else goes through QEMU's bridge helper. */
  readonly isRoot: boolean;
  readonly fileExists: (path: string) => boolean;
  /** Absolute path of a program on PATH, if any. */
  readonly which: (program: string) => string | undefined;
  /** /etc/qemu/bridge.conf lets QEMU's bridge helper attach to the bridge (`allow <bridge>` or `allow all`). */
  readonly bridgeHelperAllows: (bridge: string) => boolean;
  /**
   * BRIDGE_HELPER is owned by root with the setuid bit: without it the helper runs as the user,
   * who may not create a tap, and the guest's start fails. Debian installs it 0755.
   */
  readonly bridgeHelperSetuid: boolean;
}

export const BRIDGE_HELPER_CONFIG = "/etc/qemu/bridge.conf";
/** Where QEMU runs its bridge helper from on Debian (compiled in; package qemu-system-common). */
export const BRIDGE_HELPER = "/usr/lib/qemu/qemu-bridge-helper";

/** The set-user-ID bit of a file mode (node:fs types omit S_ISUID from fs.constants). */
const S_ISUID = 0o4000;

function setuidRoot(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.uid === 0 && (stat.mode & S_ISUID) !== 0;
  } catch {
    return false;
  }
}

function bridgeHelperAllows(bridge: string): boolean {
  let text: string;
  try {
    text = readFileSync(BRIDGE_HELPER_CONFIG, "utf8");
  } catch {
    return false;
  }
  return text.split("\n").some((line) => {
    const [verb, name] = line.trim().split(/\s+/);
    return verb === "allow" && (name === bridge || name === "all");
  });
}

export function probeQemuHost(): QemuHost {
  let kvmDevice: boolean;
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    kvmDevice = true;
  } catch {
    kvmDevice = false;
  }
  const hardwareBackend = existsSync("/sys/module/kvm_intel") || existsSync("/sys/module/kvm_amd");
  return {
    kvmUsable: kvmDevice && hardwareBackend,
    isRoot: process.getuid?.() === 0,
    fileExists: existsSync,
    bridgeHelperAllows,
    bridgeHelperSetuid: setuidRoot(BRIDGE_HELPER),
    which: (program) =>
      (process.env.PATH ?? "")
        .split(delimiter)
        .map((dir) => join(dir, program))
        .find((path) => existsSync(path)),
  };
}

export function resolveQemuChoices(accel: QemuAccelerator, attach: QemuAttachment, host: QemuHost): QemuHostChoices {
  return {
    accel: accel === "auto" ? (host.kvmUsable ? "kvm" : "tcg") : accel,
    attach: attach === "auto" ? (host.isRoot ? "tap" : "bridge-helper") : attach,
  };
}

/** Thrown before anything is declared when this machine cannot run a declared QEMU client. */
export class QemuHostError extends UserError {
  constructor(readonly problems: readonly string[]) {
    super(`This machine cannot run the lab's QEMU clients:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

const QEMU_PACKAGE = "qemu-system-x86";
const BRIDGE_HELPER_PACKAGE = "qemu-system-common";

/** Every reason the host cannot run these clients (started or not: a declared guest must be startable). */
export function qemuHostProblems(clients: readonly ClientModel[], bridge: string, host: QemuHost): string[] {
  const problems: string[] = [];
  const requireFile = (client: ClientModel, path: string, what: string, pkg: string) => {
    if (!host.fileExists(path))
      problems.push(`clients "${client.name}": ${what} ${path} is missing; install the Debian package ${pkg} (apt-get install ${pkg})`);
  };
  for (const client of clients) {
    if (!client.qemu) continue;
    const binary = QEMU_BINARY[client.firmware];
    const qemuPackage = client.firmware === "efi-arm64" ? AARCH64_QEMU.package : QEMU_PACKAGE;
    if (!host.which(binary)) problems.push(`clients "${client.name}": ${binary} is not on PATH; install the Debian package ${qemuPackage}`);
    const flash = pflashFirmware(client);
    // The variable store comes in the same package as the code.
    if (flash) requireFile(client, flash.code, flash.description, flash.package);
    else if (client.firmware === "efi-x64") requireFile(client, OVMF_X64.file, "the x64 UEFI firmware", OVMF_X64.package);
    const choices = resolveQemuChoices(client.qemu.accel, client.qemu.attach, host);
    if (client.qemu.accel === "kvm" && !host.kvmUsable) {
      problems.push(
        `clients "${client.name}": accel is kvm but KVM is not usable here (/dev/kvm missing, not writable, or not backed by kvm_intel/kvm_amd); set netboot-lab:qemu.accel (or the client's accel) to auto or tcg`,
      );
    }
    if (choices.attach === "tap" && !host.isRoot) {
      problems.push(
        `clients "${client.name}": attach is tap, which needs root to create the tap; run as root, or set netboot-lab:qemu.attach: bridge-helper (with "allow ${bridge}" in ${BRIDGE_HELPER_CONFIG})`,
      );
    }
    if (choices.attach === "bridge-helper" && !host.bridgeHelperAllows(bridge)) {
      problems.push(
        `clients "${client.name}": QEMU's bridge helper may not attach to ${bridge}; add the line "allow ${bridge}" to ${BRIDGE_HELPER_CONFIG} (as root), or run as root so the lab uses a tap`,
      );
    }
    // Run by root, the helper needs no setuid bit.
    if (choices.attach === "bridge-helper" && !host.isRoot) {
      if (!host.fileExists(BRIDGE_HELPER)) requireFile(client, BRIDGE_HELPER, "QEMU's bridge helper", BRIDGE_HELPER_PACKAGE);
      else if (!host.bridgeHelperSetuid) {
        problems.push(
          `clients "${client.name}": QEMU's bridge helper ${BRIDGE_HELPER} is not setuid root (Debian installs it 0755), so it cannot put the guest on ${bridge} for your user; run (as root) chmod u+s ${BRIDGE_HELPER}, or run as root so the lab uses a tap`,
        );
      }
    }
  }
  return problems;
}
