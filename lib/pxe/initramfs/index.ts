/** The busybox initramfs for Linux boot images: its file list and the gzip-compressed archive. */
import { gzipSync } from "node:zlib";
import { writeCpioNewc, type CpioEntry } from "./cpio";
import { MODULE_LIST_PATH, NFS_MODULE_LIST_PATH, UDHCPC_SCRIPT_PATH, renderInitScript, renderUdhcpcScript } from "./init-script";

export * from "./cpio";
export * from "./init-script";
export * from "./modules";

/** Loaded at start: the drivers of every NIC the lab emulates, and efivarfs, where the marker reads the Secure Boot state. */
export const INITRAMFS_NIC_MODULES = ["e1000", "e1000e", "8139cp", "8139too", "pcnet32", "vmxnet3", "virtio_pci", "virtio_net", "efivarfs"] as const;
/** arm64 images (QEMU's virt machine): virtio is the only NIC AAVMF and the lab give them. */
export const INITRAMFS_NIC_MODULES_ARM64 = ["virtio_pci", "virtio_net"] as const;
/** Loaded only before an NFS root is mounted: the NFS client (under TCG, loading it costs seconds a guest without NFS root need not spend). */
export const INITRAMFS_NFS_MODULES = ["nfsv3", "nfsv4"] as const;
/** Every module the initramfs carries. */
export const INITRAMFS_MODULES = [...INITRAMFS_NIC_MODULES, ...INITRAMFS_NFS_MODULES] as const;

export interface InitramfsInput {
  readonly imageName: string;
  /** A statically linked busybox: the initramfs has no libc. */
  readonly busybox: Buffer;
  /** Module files loaded at start (the NIC drivers), paths relative to /lib/modules/<version>, in load order. */
  readonly modules: readonly InitramfsModule[];
  /** Module files loaded only before an NFS root is mounted, in load order. Default: none. */
  readonly nfsModules?: readonly InitramfsModule[];
}

export interface InitramfsModule {
  readonly path: string;
  readonly data: Buffer;
}

function parentDirectories(paths: readonly string[]): string[] {
  const directories = new Set<string>();
  for (const path of paths) {
    const parts = path.split("/").slice(0, -1);
    parts.forEach((_, index) => directories.add(parts.slice(0, index + 1).join("/")));
  }
  return [...directories].sort();
}

export function initramfsEntries(input: InitramfsInput): CpioEntry[] {
  const nfsModules = input.nfsModules ?? [];
  const allModules = [...input.modules, ...nfsModules];
  const modulePaths = allModules.map((module) => `lib/modules/${module.path}`);
  const list = (modules: readonly InitramfsModule[]) => Buffer.from(modules.map((module) => `${module.path}\n`).join(""));
  const fixedDirectories = ["bin", "dev", "etc", "etc/netboot-lab", "mnt", "proc", "run", "sys", "tmp"];
  const directories = [...new Set([...fixedDirectories, ...parentDirectories(modulePaths)])].sort();
  return [
    ...directories.map((path): CpioEntry => ({ kind: "dir", path })),
    { kind: "chardev", path: "dev/console", major: 5, minor: 1 },
    { kind: "file", path: "bin/busybox", data: input.busybox, mode: 0o755 },
    { kind: "symlink", path: "bin/sh", target: "busybox" },
    { kind: "file", path: "init", data: Buffer.from(renderInitScript(input.imageName)), mode: 0o755 },
    { kind: "file", path: UDHCPC_SCRIPT_PATH, data: Buffer.from(renderUdhcpcScript()), mode: 0o755 },
    { kind: "file", path: MODULE_LIST_PATH, data: list(input.modules) },
    { kind: "file", path: NFS_MODULE_LIST_PATH, data: list(nfsModules) },
    ...allModules.map((module, index): CpioEntry => ({ kind: "file", path: modulePaths[index]!, data: module.data })),
  ];
}

export function buildInitramfs(input: InitramfsInput): Buffer {
  return gzipSync(writeCpioNewc(initramfsEntries(input)), { level: 9 });
}
