/**
 * The model's boot files (what dhcpd hands out, lib/model/boot-files.ts) against the builder's
 * output (what lands in the boot tree): every kind is built with the real builder code on
 * small inputs, and every file and root path the model names must be in the built tree.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { PAYLOAD_SPEC_VERSION, buildPayload } from "../../lib/boot-image";
import { bootFilesFor, bootImageSchema, type BootImageConfig, type LabConfigInput, type ServedLocations } from "../../lib/model";
import { labWith } from "../pxe/fixtures";
import { darwinImage, darwinMedia, hostToolchain, netbsdFiles, type DarwinMedia } from "./fixtures";

const scratch: string[] = [];
const media: DarwinMedia[] = [];
afterEach(() => {
  scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  media.splice(0).forEach((files) => files.cleanup());
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nbl-${prefix}-`));
  scratch.push(dir);
  return dir;
}

type ImageInput = NonNullable<LabConfigInput["bootImages"]>[number];

function macMedia(): DarwinMedia {
  const files = darwinMedia();
  media.push(files);
  return files;
}

/** One image of each kind and of each variant that changes its boot files or root path; made inside the test that builds it. */
const VARIANTS: Record<string, () => ImageInput> = {
  "ipxe with an NFS root": () => ({ name: "i", kind: "ipxe", nfsRoot: true }),
  grub: () => ({ name: "g", kind: "grub", nfsRoot: true }),
  pxelinux: () => ({ name: "p", kind: "pxelinux", nfsRoot: true }),
  "signed-grub with an NFS root": () => ({ name: "s", kind: "signed-grub", nfsRoot: true }),
  netbsd: () => ({ name: "nb", kind: "netbsd", ...netbsdFiles(tempDir("netbsd")) }),
  "netbsd on a serial console": () => ({ name: "nb", kind: "netbsd", serialConsole: true, ...netbsdFiles(tempDir("netbsd")) }),
  "darwin-nbi over NFS with boot1pxe": () => darwinImage(macMedia()),
  "darwin-nbi over HTTP without boot1pxe": () => darwinImage(macMedia(), { protocol: "http", pxeBooter: undefined }),
};

/** The boot-tree path a boot file or root path names, whichever server (TFTP, HTTP, NFS) serves it. */
function servedTreePath(reference: string, served: ServedLocations): string {
  const prefixes = [
    `tftp://${served.serverAddress}/`,
    `${served.httpBaseUrl}/`,
    "tftp:",
    `nfs:${served.serverAddress}:${served.nfsExportPath}:`,
    `${served.serverAddress}:${served.nfsExportPath}/`,
  ];
  const prefix = prefixes.find((candidate) => reference.startsWith(candidate));
  return prefix ? reference.slice(prefix.length) : reference;
}

describe("the model's boot files are what the builder builds", () => {
  test("every image kind has a variant here", () => {
    const kinds = bootImageSchema.options.map((option) => option.shape.kind.value);
    const covered = new Set(Object.values(VARIANTS).map((variant) => variant().kind));
    expect(kinds.filter((kind) => !covered.has(kind))).toEqual([]);
  });

  for (const [variant, imageInput] of Object.entries(VARIANTS)) {
    test(`${variant}: every boot file and the root path exist in the built tree`, () => {
      const lab = labWith(imageInput());
      const image: BootImageConfig = lab.bootImages[0]!;
      const served: ServedLocations = { serverAddress: "10.77.0.2", nfsExportPath: "/netboot", httpBaseUrl: "http://10.77.0.2" };
      const bootFiles = bootFilesFor(image, served);
      expect(bootFiles).toEqual(lab.bootFileSets[image.name]);
      const tree = tempDir("tree");

      buildPayload({ version: PAYLOAD_SPEC_VERSION, image, bootFiles }, tree, hostToolchain(tempDir("kernel")));

      const named = [...Object.values(bootFiles.files), ...(bootFiles.rootPath ? [bootFiles.rootPath] : [])];
      expect(named.length).toBeGreaterThan(0);
      const missing = named.filter((reference) => !existsSync(join(tree, servedTreePath(reference, served))));
      expect(missing).toEqual([]);
    });
  }
});
