/** The config files of a signed-grub boot image: Debian's signed network GRUB reads the root one, which hands over to the image's. */
import { SIGNED_GRUB_FILES } from "../model";

/**
 * The tree's `grub/grub.cfg` (SIGNED_GRUB_ROOT_CONFIG): the same for every signed-grub image, so
 * each image's build may write it. `$cmdpath` is `(tftp,<server>)/<folder of the DHCP boot file>`,
 * the folder shim and this GRUB were loaded from.
 */
export function renderSignedGrubRootConfig(): string {
  return [
    "# netboot-lab: Debian's signed network GRUB reads this file (its prefix /grub is built in and signed);",
    "# each signed-grub boot image keeps its own config beside its loader.",
    `source $cmdpath/${SIGNED_GRUB_FILES.config}`,
    "",
  ].join("\n");
}
