/** Builds the Linux kernel + initrd pair and each loader's files for ipxe, grub and pxelinux images. */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { linkOrCopy } from "../files";
import { dirname, join } from "node:path";
import {
  GRUB_FILES,
  IPXE_FILES,
  LINUX_INITRD_FILE,
  LINUX_KERNEL_FILE,
  NFS_ROOT_DIR,
  PXELINUX_FILES,
  SIGNED_GRUB_FILES,
  SIGNED_GRUB_ROOT_CONFIG,
  type BootFileSet,
} from "../model";
import { renderGrubConfig, grubSubdirectory } from "../pxe/grub";
import { renderIpxeScript } from "../pxe/ipxe";
import { grubHttpCores } from "../pxe/grub-http";
import {
  INITRAMFS_NFS_MODULES,
  INITRAMFS_NIC_MODULES,
  INITRAMFS_NIC_MODULES_ARM64,
  NFS_ROOT_MARKER_FILE,
  buildInitramfs,
  moduleLoadOrder,
  parseModuleIndex,
} from "../pxe/initramfs";
import type { LinuxLoaderImage } from "../pxe/linux";
import { renderPxelinuxConfig } from "../pxe/pxelinux";
import { renderSignedGrubRootConfig } from "../pxe/signed-grub";
import { kernelPath, newestKernelVersion, type Toolchain } from "./toolchain";

function write(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * The default initramfs: busybox plus the NIC modules of the builder's kernel, and its NFS client
 * for an image with an NFS root only (it nearly doubles the archive every boot transfers and unpacks).
 */
function defaultInitramfs(image: LinuxLoaderImage, toolchain: Toolchain, version: string | undefined): Buffer {
  const imageName = image.name;
  const arm64 = image.arch === "arm64";
  const busybox = readFileSync(arm64 ? toolchain.arm64.busybox : toolchain.busybox);
  if (!version) return buildInitramfs({ imageName, busybox, modules: [] });
  const moduleDir = join(arm64 ? toolchain.arm64.modulesRoot : toolchain.modulesRoot, version);
  const index = parseModuleIndex(readFileSync(join(moduleDir, "modules.dep"), "utf8"), readOptional(join(moduleDir, "modules.builtin")));
  const read = (path: string) => ({ path, data: readFileSync(join(moduleDir, path)) });
  const nicModules = moduleLoadOrder(index, arm64 ? INITRAMFS_NIC_MODULES_ARM64 : INITRAMFS_NIC_MODULES, version);
  const nfsModules = image.nfsRoot ? moduleLoadOrder(index, INITRAMFS_NFS_MODULES, version).filter((path) => !nicModules.includes(path)) : [];
  return buildInitramfs({ imageName, busybox, modules: nicModules.map(read), nfsModules: nfsModules.map(read) });
}

/** Notes for the build log; the kernel + initrd land in `imageDir`. */
function writeKernelAndInitrd(image: LinuxLoaderImage, imageDir: string, toolchain: Toolchain): string[] {
  const notes: string[] = [];
  const kernelDir = image.arch === "arm64" ? toolchain.arm64.kernelDir : toolchain.kernelDir;
  const version = image.linux.kernel ? undefined : newestKernelVersion(kernelDir);
  linkOrCopy(image.linux.kernel ?? kernelPath({ ...toolchain, kernelDir }, version!), join(imageDir, LINUX_KERNEL_FILE));
  if (image.linux.initrd) {
    linkOrCopy(image.linux.initrd, join(imageDir, LINUX_INITRD_FILE));
  } else {
    write(join(imageDir, LINUX_INITRD_FILE), defaultInitramfs(image, toolchain, version));
    notes.push(
      version
        ? `initrd: busybox initramfs with the modules of kernel ${version}`
        : "initrd: busybox initramfs without modules (linux.kernel is your own kernel: give linux.initrd if its NIC or NFS drivers are modules)",
    );
  }
  notes.push(`kernel: ${image.linux.kernel ?? `Debian ${version}`}`);
  return notes;
}

function writeNfsRoot(image: LinuxLoaderImage, imageDir: string): void {
  if (image.nfsRoot) write(join(imageDir, NFS_ROOT_DIR, NFS_ROOT_MARKER_FILE), `netboot-lab NFS root of boot image ${image.name}\n`);
}

function writeLoader(image: LinuxLoaderImage, bootFiles: BootFileSet, treeDir: string, imageDir: string, toolchain: Toolchain): void {
  switch (image.kind) {
    case "ipxe":
      linkOrCopy(join(toolchain.ipxeDir, IPXE_FILES.bios), join(imageDir, IPXE_FILES.bios));
      linkOrCopy(join(toolchain.ipxeDir, IPXE_FILES.efiX64), join(imageDir, IPXE_FILES.efiX64));
      if (bootFiles.files["http-efi-x64"]) linkOrCopy(join(toolchain.ipxeDir, IPXE_FILES.snpEfi), join(imageDir, IPXE_FILES.snpEfi));
      write(join(imageDir, IPXE_FILES.script), renderIpxeScript(image, bootFiles));
      return;
    case "grub": {
      const subdir = grubSubdirectory(image);
      execFileSync(toolchain.grubMknetdir, [`--net-directory=${treeDir}`, `--subdir=${subdir}`], { stdio: ["ignore", "ignore", "pipe"] });
      write(join(treeDir, subdir, GRUB_FILES.config), renderGrubConfig(image, bootFiles));
      writeGrubHttpCores(image, bootFiles, treeDir, toolchain);
      return;
    }
    case "pxelinux": {
      const config = renderPxelinuxConfig(image, bootFiles);
      linkOrCopy(toolchain.pxelinux, join(imageDir, PXELINUX_FILES.bios));
      linkOrCopy(join(toolchain.syslinuxBiosModules, PXELINUX_FILES.biosModule), join(imageDir, PXELINUX_FILES.biosModule));
      write(join(imageDir, PXELINUX_FILES.config), config);
      const efiDir = join(imageDir, PXELINUX_FILES.efi64Dir);
      linkOrCopy(toolchain.syslinuxEfi64, join(efiDir, PXELINUX_FILES.efi64));
      linkOrCopy(join(toolchain.syslinuxEfi64Modules, PXELINUX_FILES.efi64Module), join(efiDir, PXELINUX_FILES.efi64Module));
      write(join(efiDir, PXELINUX_FILES.config), config);
      return;
    }
    case "signed-grub":
      linkOrCopy(toolchain.shim, join(imageDir, SIGNED_GRUB_FILES.shim));
      linkOrCopy(toolchain.signedGrub, join(imageDir, SIGNED_GRUB_FILES.grub));
      write(join(imageDir, SIGNED_GRUB_FILES.config), renderGrubConfig(image, bootFiles));
      return;
  }
}

/**
 * The tree-wide config Debian's signed GRUB reads first (boot-tree.ts SIGNED_GRUB_ROOT_CONFIG),
 * written beside the image folders: replaced by rename, so a GRUB reading it never sees half a file.
 */
export function writeSignedGrubRootConfig(bootTree: string): void {
  const target = join(bootTree, SIGNED_GRUB_ROOT_CONFIG);
  const staging = `${target}.${process.pid}.tmp`;
  write(staging, renderSignedGrubRootConfig());
  renameSync(staging, target);
}

function writeGrubHttpCores(image: Extract<LinuxLoaderImage, { kind: "grub" }>, bootFiles: BootFileSet, treeDir: string, toolchain: Toolchain): void {
  for (const core of grubHttpCores(image, bootFiles, toolchain.grubLibDir)) {
    execFileSync(toolchain.grubMkimage, ["-o", join(treeDir, core.path), ...core.args], { stdio: ["ignore", "ignore", "pipe"] });
  }
}

/** `treeDir` is the (staging) boot tree root; the image's files go to `treeDir/<image name>/`. */
export function writeLinuxPayload(image: LinuxLoaderImage, bootFiles: BootFileSet, treeDir: string, toolchain: Toolchain): string[] {
  const imageDir = join(treeDir, image.name);
  const notes = writeKernelAndInitrd(image, imageDir, toolchain);
  writeNfsRoot(image, imageDir);
  writeLoader(image, bootFiles, treeDir, imageDir, toolchain);
  return notes;
}
