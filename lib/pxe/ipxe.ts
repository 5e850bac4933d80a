/** The iPXE script (IPXE_FILES.script) of an `ipxe` boot image. */
import { IPXE_FILES, LINUX_INITRD_FILE, LINUX_KERNEL_FILE, type BootFileSet } from "../model";
import { kernelCommandLine, type LinuxLoaderImage } from "./linux";

/**
 * iPXE resolves relative names against the script's own URL, so the kernel and initrd come
 * over whichever protocol served the script (HTTP when the lab has it, else TFTP).
 * `initrd=` on the command line is what EFI-stub kernels need to find the initrd.
 */
export function renderIpxeScript(image: Extract<LinuxLoaderImage, { kind: "ipxe" }>, bootFiles: BootFileSet): string {
  return [
    "#!ipxe",
    `# netboot-lab boot image ${image.name}: the kernel and initrd live beside this script.`,
    `echo netboot-lab: booting ${image.name}`,
    `kernel ${LINUX_KERNEL_FILE} initrd=${LINUX_INITRD_FILE} ${kernelCommandLine(image, bootFiles)} || goto failed`,
    `initrd ${LINUX_INITRD_FILE} || goto failed`,
    "boot || goto failed",
    ":failed",
    `echo netboot-lab: could not boot ${image.name}; check that ${LINUX_KERNEL_FILE} and ${LINUX_INITRD_FILE} are served beside ${IPXE_FILES.script}`,
    "shell",
    "",
  ].join("\n");
}

/**
 * The files an iPXE script fetches (`kernel` and `initrd` lines), resolved against the script's
 * URL as iPXE resolves relative names; `netboot-lab check` fetches them like iPXE would.
 */
export function ipxeScriptFetches(script: string, scriptUrl: string): string[] {
  return script
    .split("\n")
    .map((line) => /^\s*(?:kernel|initrd|imgfetch|chain)\s+(?:--\S+\s+)*(\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
    .map((name) => new URL(name, scriptUrl).toString());
}
