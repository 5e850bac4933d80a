/**
 * What the Pulumi program decides before it declares a BootImage's resources: which of the
 * user's files the builder container needs (and where they land in it), the mkext of a
 * Darwin image with its NIC check for every client, and a content hash that changes exactly
 * when the build's output would. Runs on the machine running Pulumi; reads the user's files.
 */
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { buildMkext, checkNicDriver, readMkext } from "../darwin";
import type { DarwinArch, DarwinImage } from "../darwin/boot-plist";
import { UserError } from "../errors";
import { basename, type BootFileSet, type BootImageConfig, type LabModel, type NicModel } from "../model";
import { sha256OfFile } from "./build-record";
import { BUILDER_PATHS, PAYLOAD_SPEC_VERSION, serializePayloadSpec, type PayloadSpec } from "./spec";

/** A client that boots the image, as far as the build cares. */
export interface ImageClient {
  readonly name: string;
  readonly nic: NicModel;
}

export interface PlanInput {
  readonly image: BootImageConfig;
  readonly bootFiles: BootFileSet;
  readonly clients: readonly ImageClient[];
  /** Folder relative user paths are read from; default the working directory (the Pulumi project). */
  readonly baseDir?: string;
  /** Where the error names the image, e.g. `bootImages[2]`; default `boot image "<name>"`. */
  readonly field?: string;
  /** sha256 of a user file; default reads the whole file (pass a cached hasher to skip unchanged files). */
  readonly hashFile?: (path: string) => string;
}

export interface UserFileUpload {
  /** Absolute path on the machine running Pulumi. */
  readonly localPath: string;
  /** Where it lands in the builder container: in the boot tree's media folder, named by content. */
  readonly containerPath: string;
  readonly sha256: string;
  /** Bytes, so an interrupted upload (a shorter file) is told from a complete one. */
  readonly size: number;
}

export interface GeneratedUpload {
  readonly containerPath: string;
  readonly content: Buffer;
  readonly sha256: string;
}

export interface NicCheckReport {
  readonly client: string;
  readonly nic: NicModel;
  readonly ok: boolean;
  /** Bundle ids of the kexts whose PCI match strings match the NIC. */
  readonly matches: readonly string[];
  readonly message: string;
}

export interface PayloadPlan {
  /** The spec as the container reads it: user files re-pointed at their upload paths. */
  readonly spec: PayloadSpec;
  readonly specText: string;
  readonly userFiles: readonly UserFileUpload[];
  readonly generated: readonly GeneratedUpload[];
  /** sha256 over the spec and every input's content: equal hashes build equal payloads. */
  readonly contentHash: string;
  /** darwin-nbi: bundle ids in the mkext of the image's boot architecture. */
  readonly kexts: readonly string[];
  /** darwin-nbi: one report per client booting the image; all ok, or planning throws. */
  readonly nicChecks: readonly NicCheckReport[];
}

/** Thrown when a client's NIC has no driver in its Darwin image: the "still waiting for root device" stall, caught before deployment. */
export class NicDriverMissingError extends UserError {
  constructor(
    readonly imageName: string,
    readonly failures: readonly NicCheckReport[],
  ) {
    super(
      [
        `boot image "${imageName}" has no driver for the NIC of ${failures.map((failure) => `client "${failure.client}" (nic ${failure.nic})`).join(", ")}:`,
        ...failures.map((failure) => `client "${failure.client}": ${failure.message}`),
        `In the stack: set mkext.networkRoot: true on boot image "${imageName}", or add the driver's .kext to its mkext.kexts, or change the client's nic.`,
      ].join("\n"),
    );
    this.name = "NicDriverMissingError";
  }
}

function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Paths of the user files a (spec's) image names, e.g. the container paths of its uploads. */
export function userFilePaths(image: BootImageConfig): string[] {
  return userFileFields(image).map(([, path]) => path);
}

/** The image's file fields that name a user file: [field path, value]. */
function userFileFields(image: BootImageConfig): [string, string][] {
  switch (image.kind) {
    case "ipxe":
    case "grub":
    case "pxelinux":
    case "signed-grub":
      return [
        ["linux.kernel", image.linux.kernel],
        ["linux.initrd", image.linux.initrd],
      ].filter((entry): entry is [string, string] => entry[1] !== undefined);
    case "netbsd":
      return [
        ["pxeboot", image.pxeboot],
        ["kernel", image.kernel],
      ];
    case "darwin-nbi":
      return [
        ["booter", image.booter],
        ["kernel", image.kernel],
        ["rootImage", image.rootImage],
        ["pxeBooter", image.pxeBooter],
      ].filter((entry): entry is [string, string] => entry[1] !== undefined);
  }
}

function withContainerPaths(image: BootImageConfig, paths: ReadonlyMap<string, string>): BootImageConfig {
  const at = (field: string) => paths.get(field)!;
  switch (image.kind) {
    case "ipxe":
    case "grub":
    case "pxelinux":
    case "signed-grub":
      return {
        ...image,
        linux: { ...image.linux, ...(image.linux.kernel ? { kernel: at("linux.kernel") } : {}), ...(image.linux.initrd ? { initrd: at("linux.initrd") } : {}) },
      };
    case "netbsd":
      return { ...image, pxeboot: at("pxeboot"), kernel: at("kernel") };
    case "darwin-nbi":
      // Extensions stay as the user wrote them: the container gets the mkext built here, not the kext folders.
      return { ...image, booter: at("booter"), kernel: at("kernel"), rootImage: at("rootImage"), ...(image.pxeBooter ? { pxeBooter: at("pxeBooter") } : {}) };
  }
}

/** Throws `<what>: <path> does not exist; <hint>` (or "is not a file") before anything reads it. */
export function requireUserFile(path: string, what: string, hint: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new UserError(`${what}: ${path} does not exist; ${hint}`);
  }
  if (!isFile) throw new UserError(`${what}: ${path} is not a file`);
}

function planUserFiles(
  image: BootImageConfig,
  baseDir: string,
  field: string,
  hashFile: (path: string) => string,
): { uploads: UserFileUpload[]; paths: Map<string, string> } {
  const uploads: UserFileUpload[] = [];
  const paths = new Map<string, string>();
  for (const [name, value] of userFileFields(image)) {
    const localPath = resolve(baseDir, value);
    requireUserFile(localPath, `${field}.${name}`, PATH_HINT);
    // Named by content, keeping the basename (the root image's name is part of the root path).
    const sha256 = hashFile(localPath);
    const containerPath = `${BUILDER_PATHS.media}/${image.name}/${sha256}/${basename(value)}`;
    uploads.push({ localPath, containerPath, sha256, size: statSync(localPath).size });
    paths.set(name, containerPath);
  }
  return { uploads, paths };
}

const PATH_HINT = "fix the path in the stack config (relative paths are read from netboot-lab:mediaDir, by default the Pulumi project folder)";

function requireKextPaths(image: DarwinImage, baseDir: string, field: string): void {
  for (const [key, list] of [
    ["extensions", image.extensions],
    ["mkext.kexts", image.mkext.kexts],
  ] as const) {
    list.forEach((path, index) => {
      const localPath = resolve(baseDir, path);
      if (!existsSync(localPath)) throw new UserError(`${field}.${key}[${index}]: ${localPath} does not exist; ${PATH_HINT}`);
    });
  }
}

export interface DarwinMkexts {
  /** One archive per architecture the image boots: i386 always, x86_64 too when mkext.arch is x86_64. */
  readonly mkexts: Partial<Record<DarwinArch, Buffer>>;
  /** Bundle ids in the archive of mkext.arch. */
  readonly kexts: string[];
}

/** Builds the image's mkexts from its Extensions the way kextcache -m would, honouring mkext.* options. */
export function buildDarwinMkexts(image: DarwinImage, baseDir: string): DarwinMkexts {
  const paths = [...image.extensions, ...image.mkext.kexts].map((path) => resolve(baseDir, path));
  const arches: DarwinArch[] = image.mkext.arch === "x86_64" ? ["i386", "x86_64"] : ["i386"];
  const mkexts: Partial<Record<DarwinArch, Buffer>> = {};
  let kexts: string[] = [];
  for (const arch of arches) {
    const { format, localRoot, networkRoot, safeBoot } = image.mkext;
    const { archive, kexts: built } = buildMkext({ paths, format, arch, localRoot, networkRoot, safeBoot });
    mkexts[arch] = archive;
    if (arch === image.mkext.arch) kexts = built.map((kext) => kext.bundleId);
  }
  return { mkexts, kexts };
}

/** One report per client, against the archive of the architecture the image boots. */
export function checkClientNics(image: DarwinImage, mkexts: DarwinMkexts["mkexts"], clients: readonly ImageClient[]): NicCheckReport[] {
  const archive = readMkext(mkexts[image.mkext.arch]!);
  return clients.map((client): NicCheckReport => {
    const result = checkNicDriver(archive, client.nic);
    return { client: client.name, nic: client.nic, ok: result.ok, matches: result.matches, message: result.message };
  });
}

export function planPayload(input: PlanInput): PayloadPlan {
  const { image } = input;
  const baseDir = input.baseDir ?? process.cwd();
  const field = input.field ?? `boot image "${image.name}"`;
  if (image.kind === "darwin-nbi" && image.protocol === "http" && !input.bootFiles.rootPath?.startsWith("http")) {
    throw new UserError(`${field}.protocol is http but the lab's HTTP server is disabled; set servers.http.enabled: true or protocol: nfs`);
  }
  // Missing files first: their message names the field; a missing Extensions folder would
  // otherwise surface from deep inside the mkext build.
  const { uploads, paths } = planUserFiles(image, baseDir, field, input.hashFile ?? sha256OfFile);
  if (image.kind === "darwin-nbi") requireKextPaths(image, baseDir, field);
  const darwin = image.kind === "darwin-nbi" ? buildDarwinMkexts(image, baseDir) : undefined;
  const nicChecks = image.kind === "darwin-nbi" ? checkClientNics(image, darwin!.mkexts, input.clients) : [];
  const failures = nicChecks.filter((check) => !check.ok);
  if (failures.length) throw new NicDriverMissingError(image.name, failures);
  const mkextEntries = Object.entries(darwin?.mkexts ?? {}).map(([arch, content]) => ({
    arch,
    upload: { containerPath: `${BUILDER_PATHS.inputDir}/mkext/${arch}.mkext`, content, sha256: sha256(content) } satisfies GeneratedUpload,
  }));
  const generated = mkextEntries.map((entry) => entry.upload);
  const spec: PayloadSpec = {
    version: PAYLOAD_SPEC_VERSION,
    image: withContainerPaths(image, paths),
    bootFiles: input.bootFiles,
    ...(mkextEntries.length ? { mkexts: Object.fromEntries(mkextEntries.map((entry) => [entry.arch, entry.upload.containerPath])) } : {}),
  };
  const specText = serializePayloadSpec(spec);
  const contentHash = sha256(
    [
      specText,
      ...uploads.map((upload) => `${upload.containerPath}\0${upload.sha256}`),
      ...generated.map((upload) => `${upload.containerPath}\0${upload.sha256}`),
    ].join("\n"),
  );
  return { spec, specText, userFiles: uploads, generated, contentHash, kexts: darwin?.kexts ?? [], nicChecks };
}

/** Problems of several boot images at once, so one run shows every fix needed. */
export class BootImagePlanError extends UserError {
  constructor(readonly problems: readonly Error[]) {
    super(problems.map((problem) => problem.message).join("\n\n"));
    this.name = "BootImagePlanError";
  }
}

/**
 * Plans every boot image of a validated lab, each with the clients that boot it. Call it
 * before declaring any resource: a NIC without a driver or a missing file then stops the
 * program before anything is deployed.
 */
export function planLabPayloads(lab: LabModel, baseDir?: string, hashFile?: (path: string) => string): Record<string, PayloadPlan> {
  const plans: Record<string, PayloadPlan> = {};
  const problems: Error[] = [];
  lab.bootImages.forEach((image, index) => {
    const clients = lab.clients.filter((client) => client.bootImage === image.name).map(({ name, nic }) => ({ name, nic }));
    try {
      plans[image.name] = planPayload({ image, bootFiles: lab.bootFileSets[image.name]!, clients, baseDir, field: `bootImages[${index}]`, hashFile });
    } catch (error) {
      problems.push(error instanceof Error ? error : new Error(String(error)));
    }
  });
  if (problems.length) throw new BootImagePlanError(problems);
  return plans;
}
