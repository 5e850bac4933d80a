/**
 * The rules of UEFI HTTP Boot (`netboot: http`) and ARM64 clients (`firmware: efi-arm64`):
 * which firmware, platform, NIC and boot image can boot that way, each refusal naming the
 * field and the fix. validate.ts calls these while it resolves each client.
 */
import type { BootFileSet } from "./boot-files";
import type { BootImageConfig, ClientConfig, NicModel, Platform } from "./schema";

type Report = (field: string, message: string) => void;

/** Firmware with an HTTP Boot client in OVMF/AAVMF (x64 arch 0x10, arm64 arch 0x13). */
const HTTP_BOOT_FIRMWARES = ["efi-x64", "efi-arm64"] as const;

/**
 * The NIC a client gets when it names none. HTTP Boot needs the firmware's own network stack,
 * which OVMF has for virtio (its e1000 would run QEMU's iPXE ROM); AAVMF drives virtio only.
 */
export function defaultNic(client: ClientConfig, platformDefault: Record<Platform, NicModel>): NicModel {
  if (client.platform === "qemu" && (client.netboot === "http" || client.firmware === "efi-arm64")) return "qemu-virtio";
  return platformDefault[client.platform];
}

/** Refusals that depend on the client alone; true when the client can be resolved further. */
export function checkModernClient(client: ClientConfig, field: string, nic: NicModel, report: Report): boolean {
  let ok = true;
  if (client.netboot === "http" && !(HTTP_BOOT_FIRMWARES as readonly string[]).includes(client.firmware)) {
    report(`${field}.netboot`, `http (UEFI HTTP Boot) needs UEFI firmware with an HTTP Boot client; set firmware: efi-x64 or efi-arm64, or netboot: pxe`);
    ok = false;
  }
  if (client.platform === "fusion" && (client.netboot === "http" || client.firmware === "efi-arm64")) {
    const what = client.firmware === "efi-arm64" ? "firmware efi-arm64" : "netboot http";
    report(`${field}.platform`, `${what} runs on QEMU only (OVMF/AAVMF); set platform: qemu, or use firmware efi-x64 with netboot: pxe on Fusion`);
    ok = false;
  }
  if (client.platform === "qemu" && client.firmware === "efi-arm64" && nic !== "qemu-virtio") {
    report(`${field}.nic`, `efi-arm64 firmware (AAVMF on QEMU's virt machine) netboots only through virtio; set nic: qemu-virtio or leave nic out`);
  } else if (client.platform === "qemu" && client.netboot === "http" && nic !== "qemu-virtio") {
    // OVMF drives QEMU's other NICs only through their iPXE option ROM, which HTTP Boot must leave out.
    report(`${field}.nic`, `netboot http runs OVMF's own HTTP Boot, whose only NIC driver is virtio; set nic: qemu-virtio or leave nic out`);
  }
  return ok;
}

/** Why the image has no file for this client's firmware and protocol, with the fix. */
export function missingBootFileMessage(client: ClientConfig, image: BootImageConfig, fileSet: BootFileSet, supported: readonly string[]): string {
  const arch = "arch" in image ? image.arch : undefined;
  if (client.firmware === "efi-arm64" && arch !== "arm64") {
    return image.kind === "grub"
      ? `boot image "${image.name}" is built for ${arch}; efi-arm64 clients need a grub image with arch: arm64`
      : `boot image "${image.name}" (${image.kind}) has no arm64 loader; efi-arm64 clients boot a grub image with arch: arm64`;
  }
  if (arch === "arm64" && client.firmware !== "efi-arm64") {
    return `boot image "${image.name}" is built for arm64; only efi-arm64 clients can boot it: use an x86_64 image or set firmware: efi-arm64`;
  }
  if (client.netboot === "http") {
    if (!fileSet.httpBaseUrl && image.kind === "grub")
      return `boot image "${image.name}" (grub) is HTTP-booted from the lab's HTTP server on port 80 (GRUB's http device takes no port); set servers.http.enabled: true and port: 80, or netboot: pxe`;
    return `boot image "${image.name}" (${image.kind}) cannot be HTTP-booted by ${client.firmware} firmware${supported.length ? ` (it supports ${supported.join(", ")})` : ""}; use an ipxe or grub image with servers.http enabled, or netboot: pxe`;
  }
  return `boot image "${image.name}" (${image.kind}) cannot boot ${client.firmware} firmware; it supports ${supported.join(", ")}`;
}

/** Image-level rules of arm64 Linux images. */
export function checkArm64Image(image: BootImageConfig, field: string, report: Report): void {
  if (!("arch" in image) || image.arch !== "arm64") return;
  if (image.kind !== "grub") {
    report(`${field}.arch`, `arm64 needs an arm64 loader, which only grub images have here (Debian ships x86 ${image.kind} binaries only); use kind: grub`);
    return;
  }
  if (/(^|\s)console=ttyS0\b/.test(image.linux.cmdline)) {
    report(
      `${field}.linux.cmdline`,
      `console=ttyS0 does not exist on QEMU's arm64 virt machine, so the serial log would stay empty; set linux.cmdline: console=ttyAMA0`,
    );
  }
}
