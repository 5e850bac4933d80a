/** The payload spec the program writes is the one the builder container reads back, for every image kind. */
import { describe, expect, it } from "vitest";
import { PAYLOAD_SPEC_VERSION, parsePayloadSpec, serializePayloadSpec, type PayloadSpec } from "../../lib/boot-image";
import type { LabConfigInput } from "../../lib/model";
import { labWith } from "../pxe/fixtures";

const IMAGES: NonNullable<LabConfigInput["bootImages"]> = [
  { name: "i", kind: "ipxe", nfsRoot: true },
  { name: "g", kind: "grub", nfsRoot: true },
  { name: "p", kind: "pxelinux" },
  { name: "n", kind: "netbsd", pxeboot: "pxeboot_ia32.bin", kernel: "netbsd", serialConsole: true },
  { name: "d", kind: "darwin-nbi", booter: "boot.efi", kernel: "mach_kernel", extensions: ["Extensions"], rootImage: "NetInstall.dmg" },
];

describe("payload spec", () => {
  it.each(IMAGES.map((image) => [image.kind, image] as const))("%s: parses back exactly as serialized, boot files included", (_kind, input) => {
    const lab = labWith(input);
    const spec: PayloadSpec = { version: PAYLOAD_SPEC_VERSION, image: lab.bootImages[0]!, bootFiles: lab.bootFileSets[input.name]! };
    expect(parsePayloadSpec(serializePayloadSpec(spec), "spec.json")).toEqual(spec);
  });

  it("names the field of a spec the builder cannot read", () => {
    expect(() =>
      parsePayloadSpec(JSON.stringify({ version: PAYLOAD_SPEC_VERSION, image: IMAGES[0], bootFiles: { files: {}, extra: 1 } }), "spec.json"),
    ).toThrow(/spec\.json is not a valid payload spec:\n {2}- bootFiles: Unrecognized key: "extra"/);
  });
});
