/** Fake Mac OS X media (booter, kernel, Extensions, root image) and labs that netboot them; the builder's toolchain on the test host. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEBIAN_TOOLCHAIN, type Toolchain } from "../../lib/boot-image";
import { validateLab, type LabConfigInput, type LabModel } from "../../lib/model";
import { INITRAMFS_MODULES } from "../../lib/pxe";
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
    clients: clients ?? [
      { name: "mac1", mac: "00:50:56:00:00:01", ipv4: "10.0.0.50", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: image.name },
    ],
  });
}

/**
 * The host's real loaders, busybox and grub-mknetdir (Debian packages, as in the builder image),
 * with a stand-in kernel and signed loaders (written into `root`): the host has no linux-image package.
 */
export function hostToolchain(root: string): Toolchain {
  const version = "6.1.0-test";
  mkdirSync(join(root, "boot"));
  writeFileSync(join(root, "boot", `vmlinuz-${version}`), "fake kernel");
  const modules = join(root, "modules", version);
  mkdirSync(join(modules, "kernel"), { recursive: true });
  writeFileSync(join(modules, "kernel", "e1000.ko"), "e1000 module");
  writeFileSync(join(modules, "kernel", "sunrpc.ko"), "sunrpc module");
  writeFileSync(join(modules, "kernel", "nfsv3.ko"), "nfsv3 module");
  writeFileSync(join(modules, "modules.dep"), "kernel/e1000.ko:\nkernel/nfsv3.ko: kernel/sunrpc.ko\nkernel/sunrpc.ko:\n");
  const builtin = INITRAMFS_MODULES.filter((name) => name !== "e1000" && name !== "nfsv3").map((name) => `kernel/${name}.ko`);
  writeFileSync(join(modules, "modules.builtin"), `${builtin.join("\n")}\n`);
  // Stand-ins for shim-signed's and grub-efi-amd64-signed's loaders too: shim-signed's install runs grub-install on an EFI host.
  writeFileSync(join(root, "shimx64.efi.signed"), "signed shim");
  writeFileSync(join(root, "grubnetx64.efi.signed"), "signed network grub");
  return {
    ...DEBIAN_TOOLCHAIN,
    kernelDir: join(root, "boot"),
    modulesRoot: join(root, "modules"),
    shim: join(root, "shimx64.efi.signed"),
    signedGrub: join(root, "grubnetx64.efi.signed"),
  };
}

/** In `dir`: a pxeboot_ia32.bin stand-in (NetBSD's boot parameter block in its second sector) and a kernel. */
export function netbsdFiles(dir: string): { pxeboot: string; kernel: string } {
  const pxeboot = Buffer.alloc(4096, 0x90);
  pxeboot.writeUInt32LE(0x7886b6d3, 516);
  pxeboot.writeUInt32LE(100, 520);
  writeFileSync(join(dir, "pxeboot_ia32.bin"), pxeboot);
  writeFileSync(join(dir, "netbsd-GENERIC"), "netbsd kernel");
  return { pxeboot: join(dir, "pxeboot_ia32.bin"), kernel: join(dir, "netbsd-GENERIC") };
}
