/** Validated labs for the PXE payload tests, written as a user would write the stack file. */
import { validateLab, type BootImageConfig, type LabConfigInput, type LabModel } from "../../lib/model";

type ImageInput = NonNullable<LabConfigInput["bootImages"]>[number];

/** A one-image lab on 10.77.0.0/24 (server 10.77.0.2, HTTP on) with one client of that image. */
export function labWith(image: ImageInput, servers: LabConfigInput["servers"] = {}): LabModel {
  return validateLab({
    network: { subnet: "10.77.0.0/24", serverAddress: "10.77.0.2" },
    servers,
    bootImages: [image],
    clients: [
      {
        name: "vm1",
        mac: "52:54:00:00:00:01",
        ipv4: "10.77.0.10",
        firmware: image.kind === "darwin-nbi" || image.kind === "signed-grub" ? "efi-x64" : "bios",
        bootImage: image.name,
      },
    ],
  });
}

/** The image and its boot files, narrowed to one kind. */
export function imageOf<K extends BootImageConfig["kind"]>(lab: LabModel, kind: K) {
  const image = lab.bootImages[0] as Extract<BootImageConfig, { kind: K }>;
  if (image.kind !== kind) throw new Error(`fixture lab has a ${image.kind} image, not ${kind}`);
  return { image, bootFiles: lab.bootFileSets[image.name]! };
}
