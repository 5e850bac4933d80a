/**
 * What the lab tells Macs over BSDP, resolved from the darwin-nbi boot images: each image's
 * ID, name, booter, root path and client filters. The responder, lab.json, the stack outputs
 * and NBImageInfo.plist all read these, so an image has one ID wherever it shows.
 */
import { BSDP_IMAGE_NAME_MAX, parseBsdpClientClass } from "../bsdp/codec";
import { NETBOOT_IMAGE_KINDS, bsdpImageId, defaultImageIndex, type BsdpImageIdentity } from "../bsdp/image-id";
import { normaliseMac } from "../net/ipv4";
import { basename, type BootFileSet } from "./boot-files";
import type { BootImageConfig, LabConfig } from "./schema";

export type DarwinImageConfig = Extract<BootImageConfig, { kind: "darwin-nbi" }>;

/** The architectures an NBI the lab builds boots (`Architectures`): its booter sits in `i386/`. */
export const NBI_ARCHITECTURES = ["i386"] as const;

export interface BsdpImageModel {
  /** The boot image's name in the stack. */
  readonly bootImage: string;
  /** 32-bit BSDP image ID: install bit and kind above the NBImageInfo `Index`. */
  readonly id: number;
  /** What the boot picker and Startup Disk show (NBImageInfo `Name`). */
  readonly name: string;
  /** TFTP path of the EFI booter in the boot tree: the `file` of an ACK[SELECT]. */
  readonly booter: string;
  /** `nfs:…` or `http://…` root path of an ACK[SELECT] (option 17). */
  readonly rootPath: string;
  readonly architectures: readonly string[];
  /** Mac models allowed; empty: all. */
  readonly enabledSystemIdentifiers: readonly string[];
  /** MACs allowed (lower-case colon form); empty: all not disabled. */
  readonly enabledMacAddresses: readonly string[];
  readonly disabledMacAddresses: readonly string[];
  /** Listed only to Macs whose attributes filter asks for it: Apple's `FilterOnly` default for diagnostics images. */
  readonly filterOnly: boolean;
}

export interface BsdpModel {
  /** True when the lab answers BSDP: switched on and at least one darwin-nbi image. */
  readonly enabled: boolean;
  readonly serverPriority: number;
  /** ID of the image Macs boot when they chose none; absent without images. */
  readonly defaultImageId?: number;
  /** In the order of `bootImages`. */
  readonly images: readonly BsdpImageModel[];
}

/** Install bit, kind and index of a darwin-nbi image, defaults applied (NBImageInfo `IsInstall`, `Kind`, `Index`). */
export function darwinImageIdentity(image: DarwinImageConfig): BsdpImageIdentity {
  return {
    install: image.bsdp.install ?? /netinstall/i.test(basename(image.rootImage)),
    kind: NETBOOT_IMAGE_KINDS[image.bsdp.kind],
    index: image.index ?? defaultImageIndex(image.name),
  };
}

/** NBImageInfo `Name`: the description, else the NBI folder name, else the image name. */
export function netbootImageName(image: DarwinImageConfig): string {
  return image.description ?? image.nbiName ?? image.name;
}

type Report = (field: string, message: string) => void;

function macList(list: readonly string[], field: string, report: Report): string[] {
  return list.flatMap((text, index) => {
    const mac = normaliseMac(text);
    if (!mac) report(`${field}[${index}]`, `"${text}" is not a MAC address; write six hex pairs separated by colons, e.g. 00:50:56:00:00:28`);
    return mac ? [mac] : [];
  });
}

export function resolveBsdp(config: LabConfig, bootFileSets: Readonly<Record<string, BootFileSet>>, report: Report): BsdpModel {
  const byIndex = new Map<number, { field: string; name: string }>();
  const images: BsdpImageModel[] = [];
  config.bootImages.forEach((image, position) => {
    if (image.kind !== "darwin-nbi") return;
    const field = `bootImages[${position}]`;
    const identity = darwinImageIdentity(image);
    const owner = byIndex.get(identity.index);
    if (owner) {
      const derived = image.index === undefined ? " (derived from its name)" : "";
      report(
        `${field}.index`,
        `BSDP index ${identity.index}${derived} is already used by ${owner.field} ("${owner.name}"); give each darwin-nbi image its own index (1-4095 server-local, 4096-65535 shared)`,
      );
    } else {
      byIndex.set(identity.index, { field, name: image.name });
    }
    const name = netbootImageName(image);
    if (Buffer.byteLength(name) > BSDP_IMAGE_NAME_MAX) {
      const nameField = image.description !== undefined ? "description" : image.nbiName !== undefined ? "nbiName" : "name";
      report(
        `${field}.${nameField}`,
        `is ${Buffer.byteLength(name)} bytes of UTF-8; the boot picker's BSDP image list holds at most ${BSDP_IMAGE_NAME_MAX}, so shorten it`,
      );
    }
    image.bsdp.enabledSystemIdentifiers.forEach((model, index) => {
      if (!parseBsdpClientClass(`AAPLBSDPC/i386/${model}`)) {
        report(
          `${field}.bsdp.enabledSystemIdentifiers[${index}]`,
          `"${model}" is not a Mac model identifier; write it as the Mac reports it, e.g. MacPro3,1 (no '/', not empty)`,
        );
      }
    });
    const enabledMacAddresses = macList(image.bsdp.enabledMacAddresses, `${field}.bsdp.enabledMacAddresses`, report);
    const disabledMacAddresses = macList(image.bsdp.disabledMacAddresses, `${field}.bsdp.disabledMacAddresses`, report);
    for (const mac of enabledMacAddresses.filter((candidate) => disabledMacAddresses.includes(candidate))) {
      report(`${field}.bsdp.disabledMacAddresses`, `${mac} is also in enabledMacAddresses; list it in one of the two`);
    }
    const fileSet = bootFileSets[image.name]!;
    images.push({
      bootImage: image.name,
      id: bsdpImageId(identity),
      name,
      booter: fileSet.files["efi-x64"]!,
      rootPath: fileSet.rootPath!,
      architectures: NBI_ARCHITECTURES,
      enabledSystemIdentifiers: image.bsdp.enabledSystemIdentifiers,
      enabledMacAddresses,
      disabledMacAddresses,
      filterOnly: image.bsdp.kind === "diagnostics",
    });
  });

  const { defaultImage } = config.bsdp;
  const chosen = defaultImage === undefined ? images[0] : images.find((image) => image.bootImage === defaultImage);
  if (defaultImage !== undefined && !chosen) {
    const names = images.map((image) => image.bootImage);
    report(
      "bsdp.defaultImage",
      `"${defaultImage}" is not a darwin-nbi boot image; ${names.length ? `use one of ${names.join(", ")}` : "declare one under netboot-lab:bootImages"}`,
    );
  }
  return {
    enabled: config.bsdp.enabled && images.length > 0,
    serverPriority: config.bsdp.serverPriority,
    defaultImageId: chosen?.id,
    images,
  };
}
