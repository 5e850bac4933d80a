/** Builds the Linux kernel + initrd pair and each loader's files for ipxe, grub and pxelinux images. */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BootFileSet } from "../model";
import { renderGrubConfig, grubSubdirectory } from "../pxe/grub";
import { IPXE_SCRIPT_FILE, renderIpxeScript } from "../pxe/ipxe";
import { INITRAMFS_NFS_MODULES, INITRAMFS_NIC_MODULES, NFS_ROOT_MARKER_FILE, buildInitramfs, moduleLoadOrder, parseModuleIndex } from "../pxe/initramfs";
import { LINUX_INITRD_FILE, LINUX_KERNEL_FILE, type LinuxLoaderImage } from "../pxe/linux";
import { PXELINUX_CONFIG_FILE, PXELINUX_EFI64_DIR, renderPxelinuxConfig } from "../pxe/pxelinux";
import { kernelPath, newestKernelVersion, type Toolchain } from "./toolchain";

function write(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function copy(source: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The default initramfs: busybox plus the NIC and NFS modules of the builder's kernel. */
function defaultInitramfs(imageName: string, toolchain: Toolchain, version: string | undefined): Buffer {
  const busybox = readFileSync(toolchain.busybox);
  if (!version) return buildInitramfs({ imageName, busybox, modules: [] });
  const moduleDir = join(toolchain.modulesRoot, version);
  const index = parseModuleIndex(readFileSync(join(moduleDir, "modules.dep"), "utf8"), readOptional(join(moduleDir, "modules.builtin")));
  const read = (path: string) => ({ path, data: readFileSync(join(moduleDir, path)) });
  const nicModules = moduleLoadOrder(index, INITRAMFS_NIC_MODULES, version);
  const nfsModules = moduleLoadOrder(index, INITRAMFS_NFS_MODULES, version).filter((path) => !nicModules.includes(path));
  return buildInitramfs({ imageName, busybox, modules: nicModules.map(read), nfsModules: nfsModules.map(read) });
}

/** Notes for the build log; the kernel + initrd land in `imageDir`. */
function writeKernelAndInitrd(image: LinuxLoaderImage, imageDir: string, toolchain: Toolchain): string[] {
  const notes: string[] = [];
  const version = image.linux.kernel ? undefined : newestKernelVersion(toolchain.kernelDir);
  copy(image.linux.kernel ?? kernelPath(toolchain, version!), join(imageDir, LINUX_KERNEL_FILE));
  if (image.linux.initrd) {
    copy(image.linux.initrd, join(imageDir, LINUX_INITRD_FILE));
  } else {
    write(join(imageDir, LINUX_INITRD_FILE), defaultInitramfs(image.name, toolchain, version));
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
  if (image.nfsRoot) write(join(imageDir, "root", NFS_ROOT_MARKER_FILE), `netboot-lab NFS root of boot image ${image.name}\n`);
}

function writeLoader(image: LinuxLoaderImage, bootFiles: BootFileSet, treeDir: string, imageDir: string, toolchain: Toolchain): void {
  switch (image.kind) {
    case "ipxe":
      copy(join(toolchain.ipxeDir, "undionly.kpxe"), join(imageDir, "undionly.kpxe"));
      copy(join(toolchain.ipxeDir, "ipxe.efi"), join(imageDir, "ipxe.efi"));
      write(join(imageDir, IPXE_SCRIPT_FILE), renderIpxeScript(image, bootFiles));
      return;
    case "grub": {
      const subdir = grubSubdirectory(image);
      execFileSync(toolchain.grubMknetdir, [`--net-directory=${treeDir}`, `--subdir=${subdir}`], { stdio: ["ignore", "ignore", "pipe"] });
      write(join(treeDir, subdir, "grub.cfg"), renderGrubConfig(image, bootFiles));
      return;
    }
    case "pxelinux": {
      const config = renderPxelinuxConfig(image, bootFiles);
      copy(toolchain.pxelinux, join(imageDir, "pxelinux.0"));
      copy(join(toolchain.syslinuxBiosModules, "ldlinux.c32"), join(imageDir, "ldlinux.c32"));
      write(join(imageDir, PXELINUX_CONFIG_FILE), config);
      const efiDir = join(imageDir, PXELINUX_EFI64_DIR);
      copy(toolchain.syslinuxEfi64, join(efiDir, "syslinux.efi"));
      copy(join(toolchain.syslinuxEfi64Modules, "ldlinux.e64"), join(efiDir, "ldlinux.e64"));
      write(join(efiDir, PXELINUX_CONFIG_FILE), config);
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
