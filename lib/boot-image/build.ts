/**
 * Builds one boot image's payload into the boot tree: what `netboot-lab payload build` runs
 * inside the builder container. The image's folder is assembled beside the tree and swapped
 * in at the end, so the servers never serve a half-written image and a failed build leaves
 * the previous one in place.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { writeNbi } from "../darwin/nbi";
import { UserError } from "../errors";
import type { DarwinArch, DarwinImage } from "../darwin/boot-plist";
import { NETBSD_FILES, NFS_ROOT_DIR, bootTreePath, nbiFolder, type BootFileSet } from "../model";
import { isLinuxLoaderImage } from "../pxe/linux";
import { withNetbsdConsole, type NetbsdImage } from "../pxe/netbsd";
import { writeBuildRecord } from "./build-record";
import { writeLinuxPayload } from "./linux-payload";
import { buildDarwinMkexts } from "./plan";
import type { PayloadSpec } from "./spec";
import { DEBIAN_TOOLCHAIN, type Toolchain } from "./toolchain";

export interface PayloadBuildResult {
  /** Files of the image, relative to the boot tree, sorted. */
  readonly files: readonly string[];
  /** What the build chose (kernel, initrd, mkext source), for the build log. */
  readonly notes: readonly string[];
}

function writeNetbsdPayload(image: NetbsdImage, bootFiles: BootFileSet, treeDir: string): string[] {
  const pxebootPath = bootFiles.files.bios;
  if (!pxebootPath) throw new Error(`boot image "${image.name}": lib/model gives no BIOS boot file for a netbsd image`);
  const pxeboot = readFileSync(image.pxeboot);
  const target = join(treeDir, pxebootPath);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, image.serialConsole ? withNetbsdConsole(pxeboot, "com0", image.pxeboot) : pxeboot);
  // pxeboot loads its kernel over TFTP (`tftp:<image>/netbsd`) or from the NFS root path, where the kernel also mounts its root.
  for (const kernelTarget of [join(treeDir, image.name, NETBSD_FILES.kernel), join(treeDir, image.name, NFS_ROOT_DIR, NETBSD_FILES.kernel)]) {
    mkdirSync(dirname(kernelTarget), { recursive: true });
    copyFileSync(image.kernel, kernelTarget);
  }
  return [image.serialConsole ? "pxeboot: console set to com0 (installboot -e -o console=com0)" : "pxeboot: console unchanged"];
}

/** The mkexts the program built and uploaded, or (when the spec names none) built here from the image's Extensions. */
function darwinMkexts(image: DarwinImage, spec: PayloadSpec): { mkexts: Partial<Record<DarwinArch, Buffer>>; notes: string[] } {
  if (!spec.mkexts) {
    const { mkexts, kexts } = buildDarwinMkexts(image, process.cwd());
    return { mkexts, notes: [`mkext: ${kexts.length} kexts built from ${image.extensions.join(", ")}`] };
  }
  const entries = Object.entries(spec.mkexts).map(([arch, path]) => [arch, readFileSync(path)] as const);
  return { mkexts: Object.fromEntries(entries), notes: entries.map(([arch, content]) => `mkext ${arch}: ${content.length} bytes, built by the Pulumi program`) };
}

function writeDarwinPayload(image: DarwinImage, spec: PayloadSpec, treeDir: string): string[] {
  const rootPath = spec.bootFiles.rootPath;
  if (!rootPath) throw new Error(`boot image "${image.name}": lib/model gives no root path for a darwin-nbi image`);
  const { mkexts, notes } = darwinMkexts(image, spec);
  writeNbi({
    nbiDir: join(treeDir, nbiFolder(image)),
    image,
    files: { booter: image.booter, kernel: image.kernel, rootImage: image.rootImage, pxeBooter: image.pxeBooter },
    mkexts,
    rootPath,
  });
  return [...notes, `root path: ${rootPath}`];
}

function listFiles(dir: string, root: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path, root) : [relative(root, path)];
  });
}

/** Guards the contract with lib/model: every TFTP path dhcpd will hand out must now exist. */
function missingBootFiles(bootFiles: BootFileSet, treeDir: string): string[] {
  return Object.values(bootFiles.files).filter((file) => {
    const path = bootTreePath(file);
    return path !== undefined && !existsSync(join(treeDir, path));
  });
}

/** Replaces `tree/<name>` by `staging/<name>` with two renames on the same file system. */
function swapIntoPlace(stagingDir: string, bootTree: string, name: string): void {
  const target = join(bootTree, name);
  const previous = join(stagingDir, `${name}.previous`);
  if (existsSync(target)) renameSync(target, previous);
  renameSync(join(stagingDir, name), target);
}

export function buildPayload(spec: PayloadSpec, bootTree: string, toolchain: Toolchain = DEBIAN_TOOLCHAIN): PayloadBuildResult {
  const { image } = spec;
  if (!existsSync(bootTree) || !statSync(bootTree).isDirectory()) {
    throw new UserError(`boot tree ${bootTree} is not a folder; mount the boot-tree volume there (docker run -v VOLUME:${bootTree})`);
  }
  const stagingDir = mkdtempSync(join(bootTree, `.building-${image.name}-`));
  try {
    mkdirSync(join(stagingDir, image.name));
    const notes = isLinuxLoaderImage(image)
      ? writeLinuxPayload(image, spec.bootFiles, stagingDir, toolchain)
      : image.kind === "netbsd"
        ? writeNetbsdPayload(image, spec.bootFiles, stagingDir)
        : writeDarwinPayload(image, spec, stagingDir);
    const missing = missingBootFiles(spec.bootFiles, stagingDir);
    if (missing.length) {
      throw new Error(`boot image "${image.name}": the build did not produce ${missing.join(", ")}, which dhcpd hands out; this is a bug in netboot-lab (lib/boot-image vs lib/model/boot-files.ts and boot-tree.ts)`);
    }
    // Listed before the record is written, so the record describes every file but itself.
    const files = listFiles(join(stagingDir, image.name), stagingDir).sort();
    writeBuildRecord(stagingDir, image.name, files);
    swapIntoPlace(stagingDir, bootTree, image.name);
    return { files, notes };
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
  }
}
