/** pxelinux (BIOS) and syslinux.efi (EFI x64) configuration of a `pxelinux` boot image. */
import { LINUX_INITRD_FILE, LINUX_KERNEL_FILE, imageFilePath, type BootFileSet } from "../model";
import { kernelCommandLine, type LinuxLoaderImage } from "./linux";

/**
 * Each loader looks for its config (PXELINUX_FILES.config) beside itself. `::` makes the loader
 * send a path from the TFTP root instead of prefixing its own folder. The BIOS loader is
 * lpxelinux.0, which fetches http:// URLs through its own TCP stack: when the lab serves HTTP its
 * kernel and initrd come that way, seconds faster than pxelinux's TFTP under emulation.
 * syslinux.efi keeps TFTP.
 */
export function renderPxelinuxConfig(image: Extract<LinuxLoaderImage, { kind: "pxelinux" }>, bootFiles: BootFileSet, loader: "bios" | "efi64"): string {
  const location = (file: string) =>
    loader === "bios" && bootFiles.httpBaseUrl ? `${bootFiles.httpBaseUrl}/${imageFilePath(image.name, file)}` : `::${imageFilePath(image.name, file)}`;
  return [
    `# netboot-lab boot image ${image.name}`,
    "SERIAL 0 115200",
    `DEFAULT ${image.name}`,
    "PROMPT 0",
    "TIMEOUT 10",
    "",
    `LABEL ${image.name}`,
    `  KERNEL ${location(LINUX_KERNEL_FILE)}`,
    `  INITRD ${location(LINUX_INITRD_FILE)}`,
    `  APPEND ${kernelCommandLine(image, bootFiles)}`,
    "",
  ].join("\n");
}
