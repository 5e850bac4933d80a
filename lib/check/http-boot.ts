/**
 * What `netboot-lab check` asks for a UEFI HTTP Boot client and what it demands of the answer:
 * the firmware's DHCP request (vendor class `HTTPClient`, arch 0x10 or 0x13), answered with the
 * boot file as a URL and an echo of `HTTPClient`, without which the firmware ignores the offer.
 */
import type { ClientModel } from "../model/validate";
import { PXE_CLIENT_ARCH, PXE_PARAMETER_REQUEST_LIST } from "../net/dhcp/request";

export const HTTP_BOOT_VENDOR_CLASS = "HTTPClient";

const HTTP_ARCH = { "efi-x64": PXE_CLIENT_ARCH["http-efi-x64"], "efi-arm64": PXE_CLIENT_ARCH["http-efi-arm64"] } as const;

/** What EDK2's HTTP Boot puts in option 60: the arch in five decimal digits, as PXE does. */
export function httpBootVendorClass(clientArch: number): string {
  return `${HTTP_BOOT_VENDOR_CLASS}:Arch:${String(clientArch).padStart(5, "0")}:UNDI:003000`;
}

/** The HTTP Boot firmware's request, for an http client; undefined for the others. */
export function httpBootIdentity(client: ClientModel) {
  if (client.netboot !== "http" || (client.firmware !== "efi-x64" && client.firmware !== "efi-arm64")) return undefined;
  const arch = HTTP_ARCH[client.firmware];
  return {
    sender: `UEFI HTTP Boot (${client.firmware}, arch ${arch}, vendor class ${HTTP_BOOT_VENDOR_CLASS})`,
    identity: {
      clientArch: arch,
      vendorClass: httpBootVendorClass(arch),
      parameterRequestList: PXE_PARAMETER_REQUEST_LIST,
    },
  };
}

/** The problem with an answer to the HTTP Boot request that lacks the echo, else undefined. */
export function missingEchoProblem(vendorClass: string | undefined): string | undefined {
  if (vendorClass === HTTP_BOOT_VENDOR_CLASS) return undefined;
  return `${vendorClass ? `vendor class "${vendorClass}"` : "no vendor class (option 60)"} in the answer instead of the echo "${HTTP_BOOT_VENDOR_CLASS}": UEFI HTTP Boot firmware ignores such an offer and never fetches its URL`;
}
