/**
 * Builds one boot image's payload into the boot tree: what `netboot-lab payload build` runs
 * inside the builder container. The image's folder is assembled beside the tree and swapped
 * in at the end, so the servers never serve a half-written image and a failed build leaves
 * the previous one in place.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { linkOrCopy } from "../files";
import { writeNbi } from "../darwin/nbi";
import { UserError } from "../errors";
import type { DarwinArch, DarwinImage } from "../darwin/boot-plist";
import { NETBSD_FILES, NFS_ROOT_DIR, bootTreePath, nbiFolder, type BootFileSet } from "../model";
import { isLinuxLoaderImage } from "../pxe/linux";
import { withNetbsdConsole, type NetbsdImage } from "../pxe/netbsd";
import { writeBuildRecord } from "./build-record";
import { writeLinuxPayload, writeSignedGrubRootConfig } from "./linux-payload";
import { buildDarwinMkexts, userFilePaths } from "./plan";
import { MEDIA_FOLDER, type PayloadSpec } from "./spec";
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
    linkOrCopy(image.kernel, kernelTarget);
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
  return {
    mkexts: Object.fromEntries(entries),
    notes: entries.map(([arch, content]) => `mkext ${arch}: ${content.length} bytes, built by the Pulumi program`),
  };
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

function requireBootTree(bootTree: string): void {
  if (!existsSync(bootTree) || !statSync(bootTree).isDirectory()) {
    throw new UserError(`boot tree ${bootTree} is not a folder; mount the boot-tree volume there (docker run -v VOLUME:${bootTree})`);
  }
}

/** An image name as a single folder name: the schema allows nothing else, and removal must never reach outside the tree. */
function requireFolderName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === MEDIA_FOLDER)
    throw new Error(`"${name}" is not a boot image name (letters, digits, ".", "_", "-")`);
}

/**
 * After a build: the image's uploaded media no longer named by its spec go, and the media
 * folder stays readable by root only (the servers run as nobody / www-data and must not serve it).
 */
function pruneMedia(spec: PayloadSpec, bootTree: string): string[] {
  const mediaRoot = join(bootTree, MEDIA_FOLDER);
  const imageMedia = join(mediaRoot, spec.image.name);
  if (!existsSync(imageMedia)) return [];
  chmodSync(mediaRoot, 0o700);
  const inUse = new Set(userFilePaths(spec.image).map((path) => relative(imageMedia, path).split("/")[0]!));
  const unused = readdirSync(imageMedia).filter((entry) => !inUse.has(entry));
  for (const entry of unused) rmSync(join(imageMedia, entry), { recursive: true, force: true });
  return unused;
}

export function buildPayload(spec: PayloadSpec, bootTree: string, toolchain: Toolchain = DEBIAN_TOOLCHAIN): PayloadBuildResult {
  const { image } = spec;
  requireBootTree(bootTree);
  requireFolderName(image.name);
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
      throw new Error(
        `boot image "${image.name}": the build did not produce ${missing.join(", ")}, which dhcpd hands out; this is a bug in netboot-lab (lib/boot-image vs lib/model/boot-files.ts and boot-tree.ts)`,
      );
    }
    // Listed before the record is written, so the record describes every file but itself.
    const files = listFiles(join(stagingDir, image.name), stagingDir).sort();
    writeBuildRecord(stagingDir, image.name, files);
    swapIntoPlace(stagingDir, bootTree, image.name);
    if (image.kind === "signed-grub") writeSignedGrubRootConfig(bootTree);
    const pruned = pruneMedia(spec, bootTree);
    return { files, notes: [...notes, ...(pruned.length ? [`media no longer used, removed: ${pruned.join(", ")}`] : [])] };
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
  }
}
