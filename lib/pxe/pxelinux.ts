/** pxelinux (BIOS) and syslinux.efi (EFI x64) configuration of a `pxelinux` boot image. */
import { LINUX_INITRD_FILE, LINUX_KERNEL_FILE, imageFilePath, type BootFileSet } from "../model";
import { kernelCommandLine, type LinuxLoaderImage } from "./linux";

/**
 * Both loaders look for their config (PXELINUX_FILES.config) beside themselves, so the same text is written
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
    `  KERNEL ::${imageFilePath(image.name, LINUX_KERNEL_FILE)}`,
    `  INITRD ::${imageFilePath(image.name, LINUX_INITRD_FILE)}`,
    `  APPEND ${kernelCommandLine(image, bootFiles)}`,
    "",
  ].join("\n");
}
