/** The Linux payload shared by the iPXE, GRUB and pxelinux images: file names and the kernel command line. */
import type { BootFileSet, BootImageConfig } from "../model";

export type LinuxLoaderImage = Extract<BootImageConfig, { kind: "ipxe" | "grub" | "pxelinux" }>;

/** File names inside the image's folder of the boot tree. */
export const LINUX_KERNEL_FILE = "vmlinuz";
export const LINUX_INITRD_FILE = "initrd.img";

export function isLinuxLoaderImage(image: BootImageConfig): image is LinuxLoaderImage {
  return image.kind === "ipxe" || image.kind === "grub" || image.kind === "pxelinux";
}

/** TFTP path of a file in the image's folder, e.g. `kvm-linux/vmlinuz`. */
export function imageFilePath(image: BootImageConfig, file: string): string {
  return `${image.name}/${file}`;
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
