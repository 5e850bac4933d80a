/** Fake Mac OS X media (booter, kernel, Extensions, root image) and labs that netboot them. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateLab, type LabConfigInput, type LabModel } from "../../lib/model";
import { writeSnowLeopardExtensions } from "../darwin/fixtures";

export interface DarwinMedia {
  readonly dir: string;
  readonly booter: string;
  readonly pxeBooter: string;
  readonly kernel: string;
  readonly extensions: string;
  readonly rootImage: string;
  cleanup(): void;
}

/** The files a user copies from their 10.6 install media, as small stand-ins. */
export function darwinMedia(): DarwinMedia {
  const dir = mkdtempSync(join(tmpdir(), "nbl-media-"));
  const media = join(dir, "media");
  mkdirSync(media);
  const file = (name: string, content: string) => {
    writeFileSync(join(media, name), content);
    return join(media, name);
  };
  return {
    dir,
    booter: file("boot.efi", "fake EFI booter"),
    pxeBooter: file("boot1pxe", "fake boot1pxe"),
    kernel: file("mach_kernel", "fake mach_kernel"),
    rootImage: file("NetInstall.dmg", "fake root image"),
    extensions: writeSnowLeopardExtensions(media),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

type ImageInput = NonNullable<LabConfigInput["bootImages"]>[number];
type ClientInput = NonNullable<LabConfigInput["clients"]>[number];

/** A darwin-nbi image entry of the stack file, from the media; `overrides` changes fields. */
export function darwinImage(media: DarwinMedia, overrides: Partial<Extract<ImageInput, { kind: "darwin-nbi" }>> = {}): ImageInput {
  return {
    name: "snow",
    kind: "darwin-nbi",
    nbiName: "Snow",
    booter: media.booter,
    pxeBooter: media.pxeBooter,
    kernel: media.kernel,
    extensions: [media.extensions],
    rootImage: media.rootImage,
    ...overrides,
  };
}

/** A fusion-style lab: one darwin image and the given clients (default one VMware e1000 Mac). */
export function darwinLab(image: ImageInput, clients?: ClientInput[], extraImages: ImageInput[] = []): LabModel {
  return validateLab({
    network: { subnet: "10.0.0.0/24", serverAddress: "10.0.0.28" },
    bootImages: [image, ...extraImages],
    clients: clients ?? [{ name: "mac1", mac: "00:50:56:00:00:01", ipv4: "10.0.0.50", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: image.name }],
  });
}
