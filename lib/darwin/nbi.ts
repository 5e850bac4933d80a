/**
 * Writes a NetBoot image folder (`NAME.nbi/`) from the user's own Apple files: booter,
 * kernel, the mkext built from their Extensions, the root image, and the two plists.
 * The layout is what Apple's NetBoot server and the EFI booter expect (docs/darwin-netboot.md, "NetBoot image layout").
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { linkOrCopy } from "../files";
import { dirname, join } from "node:path";
import { NBI_FILES, basename } from "../model";
import { darwinBootArgs, renderBootPlist, renderNbImageInfo, type DarwinArch, type DarwinImage } from "./boot-plist";

export interface NbiInputFiles {
  /** EFI booter (boot.efi from the user's media). */
  readonly booter: string;
  /** mach_kernel from the user's media. */
  readonly kernel: string;
  /** NetInstall.dmg / NetBoot.dmg. */
  readonly rootImage: string;
  /** boot1pxe, for BIOS PXE clients. */
  readonly pxeBooter?: string;
}

export interface NbiBuildInput {
  /** The `.nbi` folder to create (its parent must exist or be creatable). */
  readonly nbiDir: string;
  readonly image: DarwinImage;
  readonly files: NbiInputFiles;
  /** mkext archives by architecture; i386 is required, x86_64 when the image boots a 64-bit kernel. */
  readonly mkexts: Partial<Record<DarwinArch, Buffer>>;
  /** The root path the kernel mounts (`nfs:IP:/export:NAME.nbi/X.dmg` or `http://…`), from lib/model's bootFilesFor. */
  readonly rootPath: string;
}

/** Relative path → contents (a Buffer to write, or a source file to copy). */
export type NbiLayout = ReadonlyMap<string, Buffer | { readonly copyFrom: string }>;

/**
 * Every file of the image, relative to the .nbi folder. The 64-bit kernel and mkext sit in
 * `i386/x86_64/`, where the EFI booter looks when it starts a 64-bit kernel.
 */
export function nbiLayout(input: Omit<NbiBuildInput, "nbiDir">): NbiLayout {
  const { image, files, mkexts } = input;
  const arch = image.mkext.arch;
  const i386Mkext = mkexts.i386;
  if (!i386Mkext) throw new Error(`boot image "${image.name}": no i386 mkext was built; every NetBoot image needs ${NBI_FILES.booterDir}/${NBI_FILES.mkext}`);
  const rootImageFile = basename(files.rootImage);
  const layout = new Map<string, Buffer | { copyFrom: string }>([
    [NBI_FILES.imageInfo, Buffer.from(renderNbImageInfo({ image, rootImageFile }))],
    [rootImageFile, { copyFrom: files.rootImage }],
    [`${NBI_FILES.booterDir}/${NBI_FILES.booter}`, { copyFrom: files.booter }],
    [`${NBI_FILES.booterDir}/${NBI_FILES.kernel}`, { copyFrom: files.kernel }],
    [`${NBI_FILES.booterDir}/${NBI_FILES.mkext}`, i386Mkext],
    [`${NBI_FILES.booterDir}/${NBI_FILES.bootPlist}`, Buffer.from(renderBootPlist(darwinBootArgs(image, input.rootPath), arch))],
  ]);
  if (files.pxeBooter) layout.set(`${NBI_FILES.booterDir}/${NBI_FILES.pxeBooter}`, { copyFrom: files.pxeBooter });
  if (arch === "x86_64") {
    const x86Mkext = mkexts.x86_64;
    if (!x86Mkext) throw new Error(`boot image "${image.name}": mkext.arch is x86_64 but no x86_64 mkext was built`);
    layout.set(`${NBI_FILES.booterDir}/x86_64/${NBI_FILES.kernel}`, { copyFrom: files.kernel });
    layout.set(`${NBI_FILES.booterDir}/x86_64/${NBI_FILES.mkext}`, x86Mkext);
  }
  return layout;
}

/** Writes the image (the caller has checked the input files exist); returns the relative paths written, sorted. */
export function writeNbi(input: NbiBuildInput): string[] {
  const layout = nbiLayout(input);
  for (const [relative, content] of layout) {
    const target = join(input.nbiDir, relative);
    mkdirSync(dirname(target), { recursive: true });
    if (Buffer.isBuffer(content)) writeFileSync(target, content);
    else linkOrCopy(content.copyFrom, target);
  }
  return [...layout.keys()].sort();
}
