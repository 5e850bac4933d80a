/**
 * QEMU settings of the modern-firmware clients: ARM64 guests (qemu-system-aarch64's virt machine
 * with AAVMF) and UEFI HTTP Boot, where the firmware's own network stack must do the boot.
 */
import type { ClientModel } from "../model";
import type { PflashFirmware } from "./qemu";

/** AAVMF from Debian's qemu-efi-aarch64: code and variable template, each already the 64 MiB a virt pflash unit holds. */
export const AAVMF = {
  code: "/usr/share/AAVMF/AAVMF_CODE.fd",
  varsTemplate: "/usr/share/AAVMF/AAVMF_VARS.fd",
  package: "qemu-efi-aarch64",
  description: "the arm64 UEFI firmware (AAVMF)",
  smm: false,
} as const satisfies PflashFirmware;
export const AARCH64_QEMU = { binary: "qemu-system-aarch64", package: "qemu-system-arm" } as const;

/**
 * cortex-a57 rather than `max`: under TCG `max` emulates pointer authentication and other
 * extensions on every instruction, which slows the boot for nothing the lab uses.
 */
export const AARCH64_MACHINE = ["-machine", "virt", "-cpu", "cortex-a57"] as const;

/**
 * QEMU options of an HTTP Boot client (whose NIC also gets no iPXE option ROM: qemu.ts). OVMF and
 * AAVMF try PXE before HTTP on every NIC: their fw_cfg switches turn PXE off, so the first thing on
 * the wire is the HTTP Boot DHCP request.
 */
export function httpBootOptions(client: Pick<ClientModel, "netboot">): string[] {
  if (client.netboot !== "http") return [];
  return ["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n", "-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"];
}
