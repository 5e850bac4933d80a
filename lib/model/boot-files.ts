/**
 * Where each boot image's files live in the served boot tree, and which file each kind of
 * firmware must be handed. One place decides the layout: dhcpd.conf, lab.json and the
 * BootImage builder all read it from here.
 */
import { GRUB_FILES, IPXE_FILES, NBI_FILES, NETBSD_FILES, NFS_ROOT_DIR, PXELINUX_FILES, imageFilePath } from "./boot-tree";
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

/** Base URL of the lab's HTTP server (no trailing slash): the port only when it is not 80. */
export function httpBaseUrl(serverAddress: string, port: number): string {
  return port === 80 ? `http://${serverAddress}` : `http://${serverAddress}:${port}`;
}

/**
 * A Darwin kernel's root path: xnu's netboot.c parses exactly `nfs:IP:/export:path/image.dmg`
 * and `http://host/path/image.dmg`. `nbiPath` is the image's `.nbi` folder as served, relative
 * to the export or the HTTP root. HTTP needs the lab's HTTP server; without it the path is NFS.
 */
export function darwinRootPath(protocol: "nfs" | "http", served: ServedLocations, nbiPath: string, rootImage: string): string {
  const imagePath = `${nbiPath}/${basename(rootImage)}`;
  return protocol === "http" && served.httpBaseUrl ? `${served.httpBaseUrl}/${imagePath}` : `nfs:${served.serverAddress}:${served.nfsExportPath}:${imagePath}`;
}

/** Folder of a Darwin image's NetBoot bundle inside the boot tree, e.g. `snow/Snow.nbi`. */
export function nbiFolder(image: Extract<BootImageConfig, { kind: "darwin-nbi" }>): string {
  return `${image.name}/${image.nbiName ?? image.name}.nbi`;
}

export function basename(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? path;
}

export function bootFilesFor(image: BootImageConfig, served: ServedLocations): BootFileSet {
  const file = (name: string) => imageFilePath(image.name, name);
  // Linux's nfsroot= and NetBSD's kernel both take `server:path`.
  const nfsRoot = `${served.serverAddress}:${served.nfsExportPath}/${file(NFS_ROOT_DIR)}`;
  switch (image.kind) {
    case "ipxe": {
      const script = file(IPXE_FILES.script);
      return {
        files: {
          bios: file(IPXE_FILES.bios),
          "efi-x64": file(IPXE_FILES.efiX64),
          // iPXE fetches its script over HTTP when it can: faster than TFTP for the kernel that follows.
          ipxe: served.httpBaseUrl ? `${served.httpBaseUrl}/${script}` : `tftp://${served.serverAddress}/${script}`,
        },
        rootPath: image.nfsRoot ? nfsRoot : undefined,
      };
    }
    case "grub":
      return {
        files: {
          bios: file(`${GRUB_FILES.dir}/${GRUB_FILES.bios}`),
          "efi-x64": file(`${GRUB_FILES.dir}/${GRUB_FILES.efiX64}`),
        },
        rootPath: image.nfsRoot ? nfsRoot : undefined,
        // GRUB's (http,host) device names no port.
        ...(served.httpBaseUrl && !/:\d+$/.test(served.httpBaseUrl) ? { httpBaseUrl: served.httpBaseUrl } : {}),
      };
    case "pxelinux":
      return {
        files: {
          bios: file(PXELINUX_FILES.bios),
          "efi-x64": file(`${PXELINUX_FILES.efi64Dir}/${PXELINUX_FILES.efi64}`),
        },
        rootPath: image.nfsRoot ? nfsRoot : undefined,
      };
    case "netbsd":
      return {
        files: {
          bios: file(image.serialConsole ? NETBSD_FILES.pxebootCom0 : NETBSD_FILES.pxeboot),
          // pxeboot asks again and loads whatever `tftp:` or `nfs:` path it is given as its kernel.
          "netbsd-libsa": `tftp:${file(NETBSD_FILES.kernel)}`,
        },
        rootPath: nfsRoot,
      };
    case "darwin-nbi": {
      const booterDir = `${nbiFolder(image)}/${NBI_FILES.booterDir}`;
      const booter = `${booterDir}/${NBI_FILES.booter}`;
      return {
        files: {
          "efi-x64": booter,
          "efi-ia32": booter,
          ...(image.pxeBooter ? { bios: `${booterDir}/${NBI_FILES.pxeBooter}` } : {}),
        },
        rootPath: darwinRootPath(image.protocol, served, nbiFolder(image), image.rootImage),
      };
    }
  }
}

/** Where an NFS root path points: the server and the path below it, and whether it names a folder or an image file. */
export interface NfsRootLocation {
  readonly server: string;
  /** Absolute NFS path, e.g. `/netboot/linux-grub/root` or `/netboot/snow/Snow.nbi/NetInstall.dmg`. */
  readonly path: string;
  /** `folder`: a Linux or NetBSD root mounted as it is; `image`: a Darwin root image file inside the mount. */
  readonly kind: "folder" | "image";
}

/** Reads the root paths bootFilesFor writes (`server:/path` and xnu's `nfs:server:/mount:image`); undefined for other forms (http://). */
export function nfsRootLocation(rootPath: string): NfsRootLocation | undefined {
  const darwin = /^nfs:([^:]+):(\/[^:]*):(.+)$/.exec(rootPath);
  if (darwin) return { server: darwin[1]!, path: `${darwin[2]!.replace(/\/+$/, "")}/${darwin[3]!}`, kind: "image" };
  const plain = /^([^:/]+):(\/(?!\/).*)$/.exec(rootPath);
  if (plain) return { server: plain[1]!, path: plain[2]!, kind: "folder" };
  return undefined;
}
