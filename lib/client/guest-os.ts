/**
 * VMware `guestOS` identifiers for the systems a lab netboots. The ids are VMware's own
 * (open-vm-tools `guest_os_tables.h`, the vSphere `VirtualMachineGuestOsIdentifier` list); the
 * guest OS picks VMware's device defaults and, for Mac OS X, whether the VM gets Apple's SMC.
 */

export type GuestOsFamily = "darwin" | "netbsd" | "linux";

export interface VmwareGuestOs {
  /** The value of `guestOS` in a .vmx. */
  readonly id: string;
  /** What Fusion's "Operating System" menu calls it, and what boots under it. */
  readonly label: string;
  readonly family: GuestOsFamily;
  /** Whether the id declares a 32-bit (`i386`) or a 64-bit (`x86_64`) guest. */
  readonly arch: "i386" | "x86_64";
}

export const VMWARE_GUEST_OS: readonly VmwareGuestOs[] = [
  // Fusion offers Mac OS X 10.5 and 10.6 as "Mac OS X Server"; the same ids run the client
  // releases from NetBoot images and plain Darwin 9/10.
  { id: "darwin", label: "Mac OS X / Mac OS X Server 10.5 (Darwin 9), 32-bit", family: "darwin", arch: "i386" },
  { id: "darwin-64", label: "Mac OS X / Mac OS X Server 10.5 (Darwin 9), 64-bit", family: "darwin", arch: "x86_64" },
  { id: "darwin10", label: "Mac OS X / Mac OS X Server 10.6 (Darwin 10), 32-bit", family: "darwin", arch: "i386" },
  { id: "darwin10-64", label: "Mac OS X / Mac OS X Server 10.6 (Darwin 10), 64-bit", family: "darwin", arch: "x86_64" },
  // VMware has no NetBSD type; its own tables put BSDs other than FreeBSD under "Other".
  { id: "other", label: "Other 32-bit (NetBSD/i386)", family: "netbsd", arch: "i386" },
  { id: "other-64", label: "Other 64-bit (NetBSD/amd64)", family: "netbsd", arch: "x86_64" },
  { id: "otherlinux", label: "Other Linux 32-bit", family: "linux", arch: "i386" },
  { id: "otherlinux-64", label: "Other Linux 64-bit", family: "linux", arch: "x86_64" },
  { id: "other26xlinux", label: "Other Linux 2.6.x kernel 32-bit", family: "linux", arch: "i386" },
  { id: "other26xlinux-64", label: "Other Linux 2.6.x kernel 64-bit", family: "linux", arch: "x86_64" },
  { id: "other3xlinux", label: "Other Linux 3.x kernel 32-bit", family: "linux", arch: "i386" },
  { id: "other3xlinux-64", label: "Other Linux 3.x kernel 64-bit", family: "linux", arch: "x86_64" },
  { id: "other4xlinux", label: "Other Linux 4.x kernel 32-bit", family: "linux", arch: "i386" },
  { id: "other4xlinux-64", label: "Other Linux 4.x kernel 64-bit", family: "linux", arch: "x86_64" },
  { id: "other5xlinux", label: "Other Linux 5.x and later kernel 32-bit", family: "linux", arch: "i386" },
  { id: "other5xlinux-64", label: "Other Linux 5.x and later kernel 64-bit", family: "linux", arch: "x86_64" },
];

export type GuestImageKind = "ipxe" | "grub" | "pxelinux" | "signed-grub" | "netbsd" | "darwin-nbi";

const FAMILY_OF_IMAGE: Record<GuestImageKind, GuestOsFamily> = {
  ipxe: "linux",
  grub: "linux",
  pxelinux: "linux",
  "signed-grub": "linux",
  netbsd: "netbsd",
  "darwin-nbi": "darwin",
};

/**
 * Without an arch: Mac OS X and NetBSD images are 32-bit unless said otherwise (the mkext
 * default and NetBSD's `pxeboot_ia32`), Linux images carry Debian's amd64 kernel. Darwin
 * defaults to 10.6, the release Fusion's NetBoot labs run; a 10.5 image sets `darwin`.
 * Linux gets the generic "Other Linux" ids, which every Fusion release knows.
 */
const DEFAULTS: Record<GuestOsFamily, { readonly defaultArch: "i386" | "x86_64"; readonly i386: string; readonly x86_64: string }> = {
  darwin: { defaultArch: "i386", i386: "darwin10", x86_64: "darwin10-64" },
  netbsd: { defaultArch: "i386", i386: "other", x86_64: "other-64" },
  linux: { defaultArch: "x86_64", i386: "otherlinux", x86_64: "otherlinux-64" },
};

/** The table entry for a `guestOS` id (VMware compares ids without regard to case). */
export function findGuestOs(guestOS: string): VmwareGuestOs | undefined {
  const wanted = guestOS.toLowerCase();
  return VMWARE_GUEST_OS.find((entry) => entry.id === wanted);
}

/**
 * The word size of VMware's EFI for a client's firmware. VMware has no key for it: a VM with
 * `firmware = "efi"` runs 64-bit EFI when its guestOS is a 64-bit id and 32-bit EFI otherwise,
 * so the guestOS must agree with the firmware the lab serves boot files for.
 */
export const EFI_ARCH = { "efi-x64": "x86_64", "efi-ia32": "i386" } as const satisfies Record<string, VmwareGuestOs["arch"]>;

/** What a user calls each word size. */
export const BITS = { i386: "32-bit", x86_64: "64-bit" } as const satisfies Record<VmwareGuestOs["arch"], string>;

/** The id of the same system for the other word size (darwin10 and darwin10-64); VMware names the 64-bit one `<id>-64`. */
export function guestOsWithArch(guestOS: string, arch: VmwareGuestOs["arch"]): string | undefined {
  const entry = findGuestOs(guestOS);
  if (!entry) return undefined;
  const base = entry.id.replace(/-64$/, "");
  return findGuestOs(arch === "x86_64" ? `${base}-64` : base)?.id;
}

/** The `guestOS` a client gets when its stack names none. */
export function defaultGuestOs(imageKind: GuestImageKind, arch?: "i386" | "x86_64"): string {
  const defaults = DEFAULTS[FAMILY_OF_IMAGE[imageKind]];
  return defaults[arch ?? defaults.defaultArch];
}

/** Whether a guest declared as `guestOS` runs what a boot image of `imageKind` boots. */
export function guestOsFitsImage(guestOS: string, imageKind: string): boolean {
  const entry = findGuestOs(guestOS);
  return entry !== undefined && Object.hasOwn(FAMILY_OF_IMAGE, imageKind) && FAMILY_OF_IMAGE[imageKind as GuestImageKind] === entry.family;
}
