/** The GRUB netboot directory of a `grub` boot image: grub-mknetdir's layout and our grub.cfg. */
import { GRUB_FILES, LINUX_INITRD_FILE, LINUX_KERNEL_FILE, imageFilePath, type BootFileSet } from "../model";
import { kernelCommandLine, type LinuxLoaderImage } from "./linux";

/** `--subdir` for grub-mknetdir: core images land in `<subdir>/{i386-pc,x86_64-efi}` and read `<subdir>/grub.cfg`. */
export function grubSubdirectory(image: LinuxLoaderImage): string {
  return imageFilePath(image.name, GRUB_FILES.dir);
}

/**
 * The kernel and initrd come from the lab's HTTP server, or else from the TFTP server GRUB
 * booted from (its `$root` after a network boot); the serial terminal is enabled so a headless QEMU or Fusion VM shows what GRUB says.
 * Timeout 0 boots the one entry at once: a boot-time wait nobody needs (Esc still shows the menu).
 */
export function renderGrubConfig(image: Extract<LinuxLoaderImage, { kind: "grub" | "signed-grub" }>, bootFiles: BootFileSet): string {
  // Over HTTP when the lab serves the tree there (many times faster than GRUB's TFTP), else from $root, the TFTP server.
  const device = bootFiles.httpBaseUrl ? `(http,${bootFiles.httpBaseUrl.replace(/^http:\/\//, "")})` : "";
  return [
    `# netboot-lab boot image ${image.name}`,
    // AAVMF's console already is the virt machine's serial port, and arm64 GRUB has no com0.
    ...(image.arch === "arm64" ? [] : ["serial --unit=0 --speed=115200", "terminal_input console serial", "terminal_output console serial"]),
    "set timeout=0",
    "set default=0",
    "",
    `menuentry "${image.name} (netboot-lab)" {`,
    `  echo "netboot-lab: loading ${image.name}"`,
    ...(device ? ["  insmod http"] : []),
    `  linux ${device}/${imageFilePath(image.name, LINUX_KERNEL_FILE)} ${kernelCommandLine(image, bootFiles)}`,
    `  initrd ${device}/${imageFilePath(image.name, LINUX_INITRD_FILE)}`,
    "}",
    "",
  ].join("\n");
}
