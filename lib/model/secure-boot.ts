/**
 * What a Secure Boot client needs: firmware that has Secure Boot (OVMF's x64 Secure Boot build),
 * a NIC the firmware drives itself (QEMU's iPXE option ROMs are unsigned, so the firmware would
 * refuse them and have no network), and a chain of loaders signed by keys the firmware trusts.
 * validate.ts runs it on each client that resolved to a boot image.
 */
import { SIGNED_GRUB_ROOT_CONFIG } from "./boot-tree";
import type { BootImageConfig, ClientConfig } from "./schema";

type Report = (field: string, message: string) => void;

/** Why each of the lab's other boot image kinds cannot boot with Secure Boot on. */
const UNSIGNED_LOADERS: Readonly<Record<Exclude<BootImageConfig["kind"], "signed-grub">, string>> = {
  ipxe: "the lab's iPXE (ipxe.efi) is not signed",
  grub: "the lab's GRUB (core.efi made by grub-mknetdir) is not signed",
  pxelinux: "syslinux.efi is not signed",
  netbsd: "NetBSD's pxeboot is a BIOS loader and is not signed",
  "darwin-nbi": "Apple's boot.efi is not signed by a key OVMF trusts",
};

export function checkSecureBoot(client: ClientConfig, image: BootImageConfig, field: string, report: Report): void {
  if (!client.secureBoot) return;
  if (client.platform !== "qemu") {
    report(`${field}.secureBoot`, `is implemented for QEMU clients only (OVMF's Secure Boot build); remove secureBoot, or set platform: qemu`);
    return;
  }
  if (client.firmware !== "efi-x64") {
    report(
      `${field}.secureBoot`,
      `needs firmware efi-x64 (OVMF's Secure Boot build with Microsoft's keys), but the client's firmware is ${client.firmware}; set firmware: efi-x64, or remove secureBoot`,
    );
  }
  if (client.nic !== "qemu-virtio") {
    report(
      `${field}.nic`,
      `${client.nic ?? "qemu-e1000 (the default)"} netboots through QEMU's iPXE option ROM, which is not signed, so a Secure Boot firmware refuses it and has no network; set nic: qemu-virtio, which OVMF drives itself`,
    );
  }
  if (client.netboot === "http") {
    report(
      `${field}.netboot`,
      `is http, but the signed chain cannot HTTP-boot: Debian's signed GRUB has no http module built in and may load none with Secure Boot on, and the lab's HTTP Boot loaders are unsigned; set netboot: pxe (shim and GRUB come over TFTP), or remove secureBoot`,
    );
  }
  if (image.kind !== "signed-grub") {
    report(
      `${field}.bootImage`,
      `"${image.name}" (${image.kind}) cannot boot with Secure Boot on: ${UNSIGNED_LOADERS[image.kind]}, and the firmware refuses unsigned loaders; use a boot image of kind signed-grub (shim, then Debian's signed GRUB and kernel), or remove secureBoot`,
    );
  }
}

/** The tree's `grub/` folder belongs to the signed-grub images' shared config (boot-tree.ts SIGNED_GRUB_ROOT_CONFIG): no image may have it as its own folder. */
export function checkSignedGrubFolder(images: readonly BootImageConfig[], report: Report): void {
  const signed = images.find((image) => image.kind === "signed-grub");
  if (!signed) return;
  const folder = SIGNED_GRUB_ROOT_CONFIG.split("/")[0]!;
  images.forEach((image, index) => {
    if (image.name === folder)
      report(
        `bootImages[${index}].name`,
        `"${image.name}" is the boot tree's folder where Debian's signed GRUB (of signed-grub image "${signed.name}") reads its first config, under the /${folder} prefix built into it; give this image another name`,
      );
  });
}
