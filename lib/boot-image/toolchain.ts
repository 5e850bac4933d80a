/** Where the builder finds the boot loaders, kernel and busybox it packs into payloads. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors";

export interface Toolchain {
  /** Folder with iPXE's undionly.kpxe and ipxe.efi. */
  readonly ipxeDir: string;
  readonly pxelinux: string;
  /** Folder with the BIOS ldlinux.c32 that pxelinux.0 loads next. */
  readonly syslinuxBiosModules: string;
  readonly syslinuxEfi64: string;
  /** Folder with ldlinux.e64, which syslinux.efi loads next. */
  readonly syslinuxEfi64Modules: string;
  /** A statically linked busybox for the initramfs. */
  readonly busybox: string;
  /** Folder with `vmlinuz-<version>`: the default Linux kernel. */
  readonly kernelDir: string;
  /** Parent of `<version>/modules.dep` and the module files. */
  readonly modulesRoot: string;
  readonly grubMknetdir: string;
}

/** Paths of Debian 12's packages (ipxe, pxelinux, syslinux-efi, syslinux-common, busybox-static, linux-image-amd64, grub-*-bin) in the builder image. */
export const DEBIAN_TOOLCHAIN: Toolchain = {
  ipxeDir: "/usr/lib/ipxe",
  pxelinux: "/usr/lib/PXELINUX/pxelinux.0",
  syslinuxBiosModules: "/usr/lib/syslinux/modules/bios",
  syslinuxEfi64: "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
  syslinuxEfi64Modules: "/usr/lib/syslinux/modules/efi64",
  busybox: "/bin/busybox",
  kernelDir: "/boot",
  modulesRoot: "/lib/modules",
  grubMknetdir: "grub-mknetdir",
};

/** Version of the newest `vmlinuz-<version>` in the folder. */
export function newestKernelVersion(kernelDir: string): string {
  let names: string[];
  try {
    names = readdirSync(kernelDir);
  } catch {
    names = [];
  }
  const versions = names.filter((name) => name.startsWith("vmlinuz-")).map((name) => name.slice("vmlinuz-".length));
  const newest = versions.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).pop();
  if (!newest) {
    throw new UserError(
      `no kernel (vmlinuz-<version>) in ${kernelDir}; install linux-image-amd64 in the builder image, or give the boot image's linux.kernel and linux.initrd`,
    );
  }
  return newest;
}

export function kernelPath(toolchain: Toolchain, version: string): string {
  return join(toolchain.kernelDir, `vmlinuz-${version}`);
}
