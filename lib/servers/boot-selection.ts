/**
 * Which boot file each requester of one boot image gets, as data both DHCP renderers turn into
 * their own syntax: `if`/`elsif` blocks in dhcpd.conf (dhcpd.ts), client classes with test
 * expressions in kea-dhcp4.conf (kea.ts). One order and one set of codes for both, so the two
 * servers cannot drift apart on which firmware gets which file.
 */
import type { BootRequester } from "../model/boot-files";
import type { ClientModel, LabModel } from "../model/validate";

/** What in a request tells its requester apart. */
export type RequesterMatch =
  /** Option 77 (user-class) is exactly `value`: iPXE sends "iPXE" unframed. */
  | { readonly kind: "user-class"; readonly value: string }
  /** Option 60 (vendor-class-identifier) starts with `prefix`. */
  | { readonly kind: "vendor-class-prefix"; readonly prefix: string }
  /** Option 93 (client-architecture, RFC 4578) is one of `codes`. */
  | { readonly kind: "client-arch"; readonly codes: readonly number[] }
  /** Option 60 starts with `prefix` and option 93 is one of `codes`: UEFI HTTP Boot (`HTTPClient`, arch 0x10 x64, 0x13 arm64). */
  | { readonly kind: "vendor-class-and-arch"; readonly prefix: string; readonly codes: readonly number[] };

export interface BootBranch {
  readonly requester: BootRequester;
  readonly match: RequesterMatch;
  readonly file: string;
  /** Option 60 the answer must carry: UEFI HTTP Boot firmware ignores an offer that does not echo its `HTTPClient`. */
  readonly echoVendorClass?: string;
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
const REQUESTER_MATCHES: readonly {
  readonly requester: Exclude<BootRequester, "bios">;
  readonly match: RequesterMatch;
  readonly echoVendorClass?: string;
}[] = [
  { requester: "ipxe", match: { kind: "user-class", value: "iPXE" } },
  { requester: "netbsd-libsa", match: { kind: "vendor-class-prefix", prefix: "NetBSD:i386:libsa" } },
  { requester: "http-efi-x64", match: { kind: "vendor-class-and-arch", prefix: "HTTPClient", codes: [0x10] }, echoVendorClass: "HTTPClient" },
  { requester: "http-efi-arm64", match: { kind: "vendor-class-and-arch", prefix: "HTTPClient", codes: [0x13] }, echoVendorClass: "HTTPClient" },
  { requester: "efi-x64", match: { kind: "client-arch", codes: [0x07, 0x09] } },
  { requester: "efi-ia32", match: { kind: "client-arch", codes: [0x06, 0x02] } },
  // ARM64 PXE says 11 in decimal in its vendor class (PXEClient:Arch:00011); option 93 is 0x0b.
  { requester: "efi-arm64", match: { kind: "client-arch", codes: [0x0b] } },
];

/**
 * The firmware an option 93 code names, by the codes the DHCP renderers match, for the lab's own
 * responders (proxyDHCP) that decide in code; 0 is BIOS, undefined a code no requester claims.
 */
export function pxeFirmwareForArch(code: number): BootRequester | undefined {
  if (code === 0) return "bios";
  return REQUESTER_MATCHES.find(({ match }) => match.kind === "client-arch" && match.codes.includes(code))?.requester;
}

export function bootSelection(files: Partial<Record<BootRequester, string>>): BootSelection {
  const branches = REQUESTER_MATCHES.flatMap(({ requester, match, echoVendorClass }) => {
    const file = files[requester];
    return file ? [{ requester, match, file, ...(echoVendorClass ? { echoVendorClass } : {}) }] : [];
  });
  return { branches, ...(files.bios ? { fallback: files.bios } : {}) };
}

/** The lab's clients by boot image, in order of first appearance: both servers give each image's clients its files. */
export function clientsByImage(lab: Pick<LabModel, "clients">): Map<string, ClientModel[]> {
  const byImage = new Map<string, ClientModel[]>();
  for (const client of lab.clients) byImage.set(client.bootImage, [...(byImage.get(client.bootImage) ?? []), client]);
  return byImage;
}
