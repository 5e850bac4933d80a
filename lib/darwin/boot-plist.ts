/**
 * The two property lists of a NetBoot image: `i386/com.apple.Boot.plist` (what the booter
 * passes the kernel) and `NBImageInfo.plist` (what a BSDP server such as Apple's bootpd or
 * BSDPy reads). Boot-args follow xnu's netboot.c root-path grammar.
 */
import { build } from "plist";
import { darwinImageIdentity, NBI_FILES, netbootImageName, NBI_ARCHITECTURES, type BootImageConfig } from "../model";

export type DarwinImage = Extract<BootImageConfig, { kind: "darwin-nbi" }>;
export type DarwinArch = DarwinImage["mkext"]["arch"];

/** Key of a boot-arg (`rd` of `rd=*enet`, `-v` of `-v`): a later arg with the same key replaces an earlier one. */
function bootArgKey(arg: string): string {
  const equals = arg.indexOf("=");
  return equals < 0 ? arg : arg.slice(0, equals);
}

/**
 * `rd=*enet` roots the kernel on the network, `rp=` names the root image (so the kernel does
 * not depend on option 17 reaching it), then verbose/serial/debug flags, then the user's own
 * args, which replace generated ones with the same key.
 */
export function darwinBootArgs(image: DarwinImage, rootPath: string): string[] {
  const generated = [
    "rd=*enet",
    `rp=${rootPath}`,
    ...(image.verbose ? ["-v"] : []),
    ...(image.serialConsole ? ["serial=3"] : []),
    ...(image.debugFlags ? [`debug=${image.debugFlags}`] : []),
  ];
  const userKeys = new Set(image.bootArgs.map(bootArgKey));
  return [...generated.filter((arg) => !userKeys.has(bootArgKey(arg))), ...image.bootArgs];
}

export function renderBootPlist(kernelFlags: readonly string[], arch: DarwinArch): string {
  return build({
    Kernel: NBI_FILES.kernel,
    "Kernel Flags": kernelFlags.join(" "),
    "MKext Cache": NBI_FILES.mkext,
    "Kernel Architecture": arch,
  });
}

export interface NbImageInfoInput {
  readonly image: DarwinImage;
  /** Root image file name relative to the .nbi folder. */
  readonly rootImageFile: string;
}

/**
 * Apple's bootpd needs Index, Name, Type, BootFile and RootPath; BSDPy reads Description,
 * IsDefault and both SystemIdentifiers arrays without defaults, so they are always written.
 * Index, Kind, IsInstall and the filter lists are the ones the lab's own BSDP responder uses.
 */
export function nbImageInfo({ image, rootImageFile }: NbImageInfoInput): Record<string, string | number | boolean | string[]> {
  const identity = darwinImageIdentity(image);
  return {
    Index: identity.index,
    Name: netbootImageName(image),
    Description: image.description ?? "",
    Type: image.protocol === "http" ? "HTTP" : "NFS",
    BootFile: NBI_FILES.booter,
    RootPath: rootImageFile,
    Architectures: [...NBI_ARCHITECTURES],
    Kind: identity.kind,
    IsEnabled: true,
    IsDefault: false,
    IsInstall: identity.install,
    SupportsDiskless: false,
    Language: "Default",
    EnabledSystemIdentifiers: [...image.bsdp.enabledSystemIdentifiers],
    DisabledSystemIdentifiers: [],
    ...(image.bsdp.enabledMacAddresses.length ? { EnabledMACAddresses: [...image.bsdp.enabledMacAddresses] } : {}),
    ...(image.bsdp.disabledMacAddresses.length ? { DisabledMACAddresses: [...image.bsdp.disabledMacAddresses] } : {}),
  };
}

export function renderNbImageInfo(input: NbImageInfoInput): string {
  return build(nbImageInfo(input));
}
