/**
 * QEMU settings of the modern-firmware clients: ARM64 guests (qemu-system-aarch64's virt machine
 * with AAVMF) and UEFI HTTP Boot, where the firmware's own network stack must do the boot.
 */
import type { ClientModel } from "../model";

/** AAVMF from Debian's qemu-efi-aarch64: code and variable template, each already the 64 MiB a virt pflash unit holds. */
export const AAVMF = { code: "/usr/share/AAVMF/AAVMF_CODE.fd", varsTemplate: "/usr/share/AAVMF/AAVMF_VARS.fd", package: "qemu-efi-aarch64" } as const;
export const AARCH64_QEMU = { binary: "qemu-system-aarch64", package: "qemu-system-arm" } as const;

/**
 * cortex-a57 rather than `max`: under TCG `max` emulates pointer authentication and other
 * extensions on every instruction, which slows the boot for nothing the lab uses.
 */
export const AARCH64_MACHINE = ["-machine", "virt", "-cpu", "cortex-a57"] as const;

/**
 * Extra `-device` properties and QEMU options of an HTTP Boot client. `romfile=` (empty) keeps
 * QEMU from loading the NIC's iPXE option ROM, whose driver would replace the firmware's network
 * stack (and with it HTTP Boot). OVMF/AAVMF try PXE before HTTP on every NIC: their fw_cfg
 * switches turn PXE off, so the first thing on the wire is the HTTP Boot DHCP request.
 */
export function httpBootArgs(client: ClientModel): { deviceProperties: string; options: string[] } {
  if (client.netboot !== "http") return { deviceProperties: "", options: [] };
  return {
    deviceProperties: ",romfile=",
    options: ["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n", "-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"],
  };
}
