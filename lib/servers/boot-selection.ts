/**
 * Which boot file each requester of one boot image gets, as data both DHCP renderers turn into
 * their own syntax: `if`/`elsif` blocks in dhcpd.conf (dhcpd.ts), client classes with test
 * expressions in kea-dhcp4.conf (kea.ts). One order and one set of codes for both, so the two
 * servers cannot drift apart on which firmware gets which file.
 */
import type { BootRequester } from "../model/boot-files";

/** What in a request tells its requester apart. */
export type RequesterMatch =
  /** Option 77 (user-class) is exactly `value`: iPXE sends "iPXE" unframed. */
  | { readonly kind: "user-class"; readonly value: string }
  /** Option 60 (vendor-class-identifier) starts with `prefix`. */
  | { readonly kind: "vendor-class-prefix"; readonly prefix: string }
  /** Option 93 (client-architecture, RFC 4578) is one of `codes`. */
  | { readonly kind: "client-arch"; readonly codes: readonly number[] };

export interface BootBranch {
  readonly requester: BootRequester;
  readonly match: RequesterMatch;
  readonly file: string;
}

export interface BootSelection {
  /** Tried in order; the first that matches names the file. */
  readonly branches: readonly BootBranch[];
  /** For every request no branch matches: BIOS PXE ROMs send arch 0, BOOTP loaders no option 93 at all. */
  readonly fallback?: string;
}

/**
 * Loaders that ask a second time come first (iPXE would loop on its own binary; NetBSD's pxeboot
 * wants its kernel), then the firmware's option 93. 0x07 is "EFI BC", in practice x64; 0x02
 * (Itanium) is what some 32-bit EFI firmwares send.
 */
const REQUESTER_MATCHES: readonly { readonly requester: Exclude<BootRequester, "bios">; readonly match: RequesterMatch }[] = [
  { requester: "ipxe", match: { kind: "user-class", value: "iPXE" } },
  { requester: "netbsd-libsa", match: { kind: "vendor-class-prefix", prefix: "NetBSD:i386:libsa" } },
  { requester: "efi-x64", match: { kind: "client-arch", codes: [0x07, 0x09] } },
  { requester: "efi-ia32", match: { kind: "client-arch", codes: [0x06, 0x02] } },
];

export function bootSelection(files: Partial<Record<BootRequester, string>>): BootSelection {
  const branches = REQUESTER_MATCHES.flatMap(({ requester, match }) => {
    const file = files[requester];
    return file ? [{ requester, match, file }] : [];
  });
  return { branches, ...(files.bios ? { fallback: files.bios } : {}) };
}
