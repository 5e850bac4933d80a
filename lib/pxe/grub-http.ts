/**
 * The GRUB core image a UEFI HTTP Boot firmware loads by URL (GRUB_FILES.httpCore, one per EFI
 * platform folder). grub-mknetdir's cores look for grub.cfg on the TFTP server they came from;
 * this one has its prefix on the lab's HTTP server, so modules, grub.cfg, kernel and initrd all
 * come over HTTP and the client sends no TFTP packet at all.
 */
import { GRUB_FILES, type BootFileSet } from "../model";
import { grubSubdirectory } from "./grub";
import type { LinuxLoaderImage } from "./linux";

/** GRUB's platform folder for each HTTP Boot requester. */
export const GRUB_HTTP_PLATFORMS = { "http-efi-x64": "x86_64-efi", "http-efi-arm64": "arm64-efi" } as const;

/**
 * Built into the core: efinet configures the card from the firmware's HTTP Boot DHCP answer,
 * and GRUB's HTTP client spends about 2 s on every request, so each module grub.cfg needs
 * (lib/pxe/grub.ts) is one request fewer.
 */
const GRUB_HTTP_MODULES = ["efinet", "net", "http", "normal", "linux", "echo", "serial", "terminfo", "terminal"] as const;

export interface GrubHttpCore {
  /** Boot-tree path of the core image, e.g. `linux-grub/boot/grub/x86_64-efi/core-http.efi`. */
  readonly path: string;
  /** grub-mkimage arguments after `-o <file>`. */
  readonly args: readonly string[];
}

/** One core per HTTP requester the image's boot files name; none without the lab's HTTP server. */
export function grubHttpCores(image: Extract<LinuxLoaderImage, { kind: "grub" }>, bootFiles: BootFileSet, grubLibDir: string): GrubHttpCore[] {
  if (!bootFiles.httpBaseUrl) return [];
  const host = bootFiles.httpBaseUrl.replace(/^http:\/\//, "");
  const subdir = grubSubdirectory(image);
  return (Object.keys(GRUB_HTTP_PLATFORMS) as (keyof typeof GRUB_HTTP_PLATFORMS)[])
    .filter((requester) => bootFiles.files[requester])
    .map((requester) => {
      const platform = GRUB_HTTP_PLATFORMS[requester];
      return {
        path: `${subdir}/${platform}/${GRUB_FILES.httpCore}`,
        args: ["-O", platform, "-d", `${grubLibDir}/${platform}`, "-p", `(http,${host})/${subdir}`, ...GRUB_HTTP_MODULES],
      };
    });
}
