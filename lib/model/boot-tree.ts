/**
 * Names of the files and folders inside one boot image's folder of the served boot tree. The
 * model (boot-files.ts: what dhcpd hands out) and the payload builder (lib/boot-image, lib/pxe,
 * lib/darwin/nbi.ts: what it writes) both read them here, so the two cannot drift apart.
 */

/** Folder a network root is served from (`<image>/root`), for every kind that mounts one. */
export const NFS_ROOT_DIR = "root";

/** The Linux kernel and initrd the ipxe, grub and pxelinux loaders start. */
export const LINUX_KERNEL_FILE = "vmlinuz";
export const LINUX_INITRD_FILE = "initrd.img";

/** iPXE's own binaries (Debian's ipxe package) and the script it runs once started. */
export const IPXE_FILES = {
  bios: "undionly.kpxe",
  efiX64: "ipxe.efi",
  /** iPXE on the firmware's own network stack (SNP): what UEFI HTTP Boot loads, having configured the NIC itself. */
  snpEfi: "snponly.efi",
  script: "boot.ipxe",
} as const;

/** grub-mknetdir's layout under `--subdir`: one core image per platform beside a shared grub.cfg. */
export const GRUB_FILES = {
  dir: "boot/grub",
  bios: "i386-pc/core.0",
  efiX64: "x86_64-efi/core.efi",
  efiArm64: "arm64-efi/core.efi",
  /** Per EFI platform folder: a core image for UEFI HTTP Boot, with its prefix on the lab's HTTP server (lib/pxe/grub-http.ts). */
  httpCore: "core-http.efi",
  config: "grub.cfg",
} as const;

/**
 * A signed-grub image's folder: shim is the boot file and loads `grubx64.efi` from its own TFTP folder (a name built
 * into shim), which is Debian's signed network GRUB; it reads this folder's grub.cfg through the root one below.
 */
export const SIGNED_GRUB_FILES = {
  shim: "shimx64.efi",
  grub: "grubx64.efi",
  config: "grub.cfg",
} as const;

/**
 * Debian's signed network GRUB has the prefix `/grub` built in and no way to change it: it reads
 * `grub/x86_64-efi/grub.cfg`, else `grub/grub.cfg`, from the root of the TFTP server. The lab's one
 * there hands over to the grub.cfg beside the loader ($cmdpath, the folder of the DHCP boot file),
 * so every signed-grub image keeps its own config in its own folder.
 */
export const SIGNED_GRUB_ROOT_CONFIG = "grub/grub.cfg";

/**
 * pxelinux.0 sits in the image's folder, syslinux.efi in its own folder: each loader looks for
 * its ldlinux module and `pxelinux.cfg/default` beside itself.
 */
export const PXELINUX_FILES = {
  bios: "pxelinux.0",
  biosModule: "ldlinux.c32",
  efi64Dir: "efi64",
  efi64: "syslinux.efi",
  efi64Module: "ldlinux.e64",
  config: "pxelinux.cfg/default",
} as const;

/** NetBSD's pxeboot (as given, or with its console set to com0) and the kernel it loads next. */
export const NETBSD_FILES = {
  pxeboot: "pxeboot_ia32.bin",
  pxebootCom0: "pxeboot_ia32_com0.bin",
  /** What pxeboot loads when DHCP names no other file. */
  kernel: "netbsd",
} as const;

/** The EFI booter and boot-132 fetch these fixed names from the booter's own TFTP folder (TFTP cannot list). */
export const NBI_FILES = {
  booterDir: "i386",
  booter: "booter",
  pxeBooter: "boot1pxe",
  kernel: "mach.macosx",
  mkext: "mach.macosx.mkext",
  bootPlist: "com.apple.Boot.plist",
  imageInfo: "NBImageInfo.plist",
} as const;

/** A file of the image's folder as the TFTP server serves it, e.g. `kvm-linux/vmlinuz`. */
export function imageFilePath(imageName: string, file: string): string {
  return `${imageName}/${file}`;
}
