/** pxelinux (BIOS) and syslinux.efi (EFI x64) configuration of a `pxelinux` boot image. */
import type { BootFileSet } from "../model";
import { LINUX_INITRD_FILE, LINUX_KERNEL_FILE, imageFilePath, kernelCommandLine, type LinuxLoaderImage } from "./linux";

/** Folder of the EFI x64 loader inside the image's folder; the BIOS loader sits in the image's folder itself. */
export const PXELINUX_EFI64_DIR = "efi64";
export const PXELINUX_CONFIG_FILE = "pxelinux.cfg/default";

/**
 * Both loaders look for `pxelinux.cfg/default` beside themselves, so the same text is written
 * twice. `::` makes pxelinux send a path from the TFTP root instead of prefixing the loader's
 * folder, which lets one config serve both folders.
 */
export function renderPxelinuxConfig(image: Extract<LinuxLoaderImage, { kind: "pxelinux" }>, bootFiles: BootFileSet): string {
  return [
    `# netboot-lab boot image ${image.name}`,
    "SERIAL 0 115200",
    `DEFAULT ${image.name}`,
    "PROMPT 0",
    "TIMEOUT 10",
    "",
    `LABEL ${image.name}`,
    `  KERNEL ::${imageFilePath(image, LINUX_KERNEL_FILE)}`,
    `  INITRD ::${imageFilePath(image, LINUX_INITRD_FILE)}`,
    `  APPEND ${kernelCommandLine(image, bootFiles)}`,
    "",
  ].join("\n");
}
