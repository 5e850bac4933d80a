/** Builds the Linux kernel + initrd pair and each loader's files for ipxe, grub and pxelinux images. */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { linkOrCopy } from "../files";
import { dirname, join } from "node:path";
import { GRUB_FILES, IPXE_FILES, LINUX_INITRD_FILE, LINUX_KERNEL_FILE, NFS_ROOT_DIR, PXELINUX_FILES, type BootFileSet } from "../model";
import { renderGrubConfig, grubSubdirectory } from "../pxe/grub";
import { renderIpxeScript } from "../pxe/ipxe";
import { INITRAMFS_NFS_MODULES, INITRAMFS_NIC_MODULES, NFS_ROOT_MARKER_FILE, buildInitramfs, moduleLoadOrder, parseModuleIndex } from "../pxe/initramfs";
import type { LinuxLoaderImage } from "../pxe/linux";
import { renderPxelinuxConfig } from "../pxe/pxelinux";
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
function defaultInitramfs(imageName: string, nfsRoot: boolean, toolchain: Toolchain, version: string | undefined): Buffer {
  const busybox = readFileSync(toolchain.busybox);
  if (!version) return buildInitramfs({ imageName, busybox, modules: [] });
  const moduleDir = join(toolchain.modulesRoot, version);
  const index = parseModuleIndex(readFileSync(join(moduleDir, "modules.dep"), "utf8"), readOptional(join(moduleDir, "modules.builtin")));
  const read = (path: string) => ({ path, data: readFileSync(join(moduleDir, path)) });
  const nicModules = moduleLoadOrder(index, INITRAMFS_NIC_MODULES, version);
  const nfsModules = nfsRoot ? moduleLoadOrder(index, INITRAMFS_NFS_MODULES, version).filter((path) => !nicModules.includes(path)) : [];
  return buildInitramfs({ imageName, busybox, modules: nicModules.map(read), nfsModules: nfsModules.map(read) });
}

/** Notes for the build log; the kernel + initrd land in `imageDir`. */
function writeKernelAndInitrd(image: LinuxLoaderImage, imageDir: string, toolchain: Toolchain): string[] {
  const notes: string[] = [];
  const version = image.linux.kernel ? undefined : newestKernelVersion(toolchain.kernelDir);
  linkOrCopy(image.linux.kernel ?? kernelPath(toolchain, version!), join(imageDir, LINUX_KERNEL_FILE));
  if (image.linux.initrd) {
    linkOrCopy(image.linux.initrd, join(imageDir, LINUX_INITRD_FILE));
  } else {
    write(join(imageDir, LINUX_INITRD_FILE), defaultInitramfs(image.name, image.nfsRoot, toolchain, version));
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
      write(join(imageDir, IPXE_FILES.script), renderIpxeScript(image, bootFiles));
      return;
    case "grub": {
      const subdir = grubSubdirectory(image);
      execFileSync(toolchain.grubMknetdir, [`--net-directory=${treeDir}`, `--subdir=${subdir}`], { stdio: ["ignore", "ignore", "pipe"] });
      write(join(treeDir, subdir, GRUB_FILES.config), renderGrubConfig(image, bootFiles));
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
