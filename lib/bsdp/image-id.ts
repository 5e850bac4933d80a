/**
 * BSDP boot image IDs (darwin-netboot-formats.md §4.5): the high 16 bits are the image's
 * attributes (install bit, kind), the low 16 bits its NBImageInfo `Index`. The whole 32-bit
 * value names an image, so a Mac that chose one keeps it only while all three stay the same.
 */
import { createHash } from "node:crypto";

/** NBImageInfo `Kind` values of the images the lab builds (0, Mac OS 9 "Classic", is not one). */
export const NETBOOT_IMAGE_KINDS = { "mac-os-x": 1, "mac-os-x-server": 2, diagnostics: 3 } as const;
export type NetbootImageKind = keyof typeof NETBOOT_IMAGE_KINDS;

const INSTALL_BIT = 0x8000;
const KIND_MASK = 0x7f;
/** Indexes below this are server-local; from it on they are shared by load-balanced servers. */
export const SHARED_INDEX_START = 0x1000;

export interface BsdpImageIdentity {
  /** A NetInstall image (attribute bit 15). */
  readonly install: boolean;
  /** NBImageInfo `Kind`, 0-127. */
  readonly kind: number;
  /** NBImageInfo `Index`, 1-65535. */
  readonly index: number;
}

export function bsdpImageId({ install, kind, index }: BsdpImageIdentity): number {
  if (!Number.isInteger(kind) || kind < 0 || kind > KIND_MASK) throw new RangeError(`BSDP image kind ${kind} is not 0-127`);
  if (!Number.isInteger(index) || index < 1 || index > 0xffff) throw new RangeError(`BSDP image index ${index} is not 1-65535`);
  return (((install ? INSTALL_BIT : 0) | (kind << 8)) * 0x10000 + index) >>> 0;
}

/** The 16-bit attributes an attribute filter (sub-option 11) compares. */
export function bsdpImageAttributes(id: number): number {
  return id >>> 16;
}

export function bsdpImageIdentity(id: number): BsdpImageIdentity {
  const attributes = bsdpImageAttributes(id);
  return { install: (attributes & INSTALL_BIT) !== 0, kind: (attributes >> 8) & KIND_MASK, index: id & 0xffff };
}

/** `0x81001001`: how Apple's tools and logs write an image ID. */
export function formatImageId(id: number): string {
  return `0x${(id >>> 0).toString(16).padStart(8, "0")}`;
}

/** A stable server-local index (1-4095) from the image name, so re-deploys keep a Mac's selection. */
export function defaultImageIndex(name: string): number {
  return 1 + (createHash("sha256").update(name).digest().readUInt16BE(0) % (SHARED_INDEX_START - 1));
}
