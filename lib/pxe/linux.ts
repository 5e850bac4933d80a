/** The Linux payload shared by the iPXE, GRUB and pxelinux images: file names and the kernel command line. */
import type { BootFileSet, BootImageConfig } from "../model";

export type LinuxLoaderImage = Extract<BootImageConfig, { kind: "ipxe" | "grub" | "pxelinux" | "signed-grub" }>;

export function isLinuxLoaderImage(image: BootImageConfig): image is LinuxLoaderImage {
  return image.kind === "ipxe" || image.kind === "grub" || image.kind === "pxelinux" || image.kind === "signed-grub";
}

/**
 * The user's command line, plus `nfsroot=` when the image mounts its `root/` over NFS:
 * the initramfs reads it from /proc/cmdline, so the root does not depend on the DHCP
 * server sending root-path.
 */
export function kernelCommandLine(image: LinuxLoaderImage, bootFiles: BootFileSet): string {
  const parts = [image.linux.cmdline.trim()];
  if (image.nfsRoot && bootFiles.rootPath) parts.push(`nfsroot=${bootFiles.rootPath}`);
  return parts.filter(Boolean).join(" ");
}
