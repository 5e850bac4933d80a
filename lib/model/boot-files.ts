/**
 * Where each boot image's files live in the served boot tree, and which file each kind of
 * firmware must be handed. One place decides the layout: dhcpd.conf, lab.json and the
 * BootImage builder all read it from here.
 */
import { FIRMWARES, type BootImageConfig } from "./schema";

/**
 * What asks for a boot file: a PXE firmware by architecture, iPXE (detected by its user-class),
 * or NetBSD's pxeboot asking for its kernel (vendor class `NetBSD:i386:libsa`).
 */
export const BOOT_REQUESTERS = [...FIRMWARES, "ipxe", "netbsd-libsa"] as const;
export type BootRequester = (typeof BOOT_REQUESTERS)[number];

/**
 * The boot-tree path a handed-out boot file names: TFTP paths as they are, NetBSD's
 * `tftp:path` without its prefix; undefined for URLs, which another server answers.
 */
export function bootTreePath(bootFile: string): string | undefined {
  if (/^[a-z]+:\/\//.test(bootFile)) return undefined;
  return bootFile.replace(/^tftp:/, "");
}

export interface BootFileSet {
  /** Per requester, the TFTP path (relative to the boot tree) or URL to hand out; absent when unsupported. */
  readonly files: Partial<Record<BootRequester, string>>;
  /** DHCP root-path (option 17) for clients of this image, when its kernel mounts its root over the network. */
  readonly rootPath?: string;
  /**
   * grub: the lab's HTTP server (base URL, no trailing slash) when it serves the tree on port 80,
   * where GRUB fetches the kernel and initrd: its TFTP goes one 1 KiB block per round trip.
   */
  readonly httpBaseUrl?: string;
}

export interface ServedLocations {
  readonly serverAddress: string;
  /** NFS export path (v3 mount path and v4 pseudo path), e.g. /netboot. */
  readonly nfsExportPath: string;
  /** Base URL of the HTTP server, without a trailing slash; absent when HTTP is disabled. */
  readonly httpBaseUrl?: string;
}

/** Folder of a Darwin image's NetBoot bundle inside the boot tree, e.g. `snow/Snow.nbi`. */
export function nbiFolder(image: Extract<BootImageConfig, { kind: "darwin-nbi" }>): string {
  return `${image.name}/${image.nbiName ?? image.name}.nbi`;
}

export function basename(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? path;
}

export function bootFilesFor(image: BootImageConfig, served: ServedLocations): BootFileSet {
  const dir = image.name;
  const nfsRootOf = (relative: string) => `${served.serverAddress}:${served.nfsExportPath}/${relative}`;
  switch (image.kind) {
    case "ipxe": {
      const script = `${dir}/boot.ipxe`;
      return {
        files: {
          bios: `${dir}/undionly.kpxe`,
          "efi-x64": `${dir}/ipxe.efi`,
          // iPXE fetches its script over HTTP when it can: faster than TFTP for the kernel that follows.
          ipxe: served.httpBaseUrl ? `${served.httpBaseUrl}/${script}` : `tftp://${served.serverAddress}/${script}`,
        },
        rootPath: image.nfsRoot ? nfsRootOf(`${dir}/root`) : undefined,
      };
    }
    case "grub":
      return {
        files: {
          bios: `${dir}/boot/grub/i386-pc/core.0`,
          "efi-x64": `${dir}/boot/grub/x86_64-efi/core.efi`,
        },
        rootPath: image.nfsRoot ? nfsRootOf(`${dir}/root`) : undefined,
        // GRUB's (http,host) device names no port.
        ...(served.httpBaseUrl && !/:\d+$/.test(served.httpBaseUrl) ? { httpBaseUrl: served.httpBaseUrl } : {}),
      };
    case "pxelinux":
      return {
        files: {
          bios: `${dir}/pxelinux.0`,
          "efi-x64": `${dir}/efi64/syslinux.efi`,
        },
        rootPath: image.nfsRoot ? nfsRootOf(`${dir}/root`) : undefined,
      };
    case "netbsd":
      return {
        files: {
          bios: `${dir}/${image.serialConsole ? "pxeboot_ia32_com0.bin" : "pxeboot_ia32.bin"}`,
          // pxeboot asks again and loads whatever `tftp:` or `nfs:` path it is given as its kernel.
          "netbsd-libsa": `tftp:${dir}/netbsd`,
        },
        // NetBSD's kernel takes `server:path` and mounts it as its NFS root.
        rootPath: nfsRootOf(`${dir}/root`),
      };
    case "darwin-nbi": {
      const nbi = nbiFolder(image);
      const rootImage = basename(image.rootImage);
      const booter = `${nbi}/i386/booter`;
      return {
        files: {
          "efi-x64": booter,
          "efi-ia32": booter,
          ...(image.pxeBooter ? { bios: `${nbi}/i386/boot1pxe` } : {}),
        },
        // xnu's netboot.c parses exactly `nfs:IP:/mount:image` and `http://…`.
        rootPath:
          image.protocol === "http" && served.httpBaseUrl
            ? `${served.httpBaseUrl}/${nbi}/${rootImage}`
            : `nfs:${served.serverAddress}:${served.nfsExportPath}:${nbi}/${rootImage}`,
      };
    }
  }
}
