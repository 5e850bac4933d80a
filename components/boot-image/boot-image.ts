/**
 * BootImage: one boot image of the lab, built by a one-shot builder container into the boot
 * tree volume that the TFTP, NFS and HTTP servers serve.
 *
 * Planning runs in the program, before any resource is declared: the user's files are hashed,
 * a Darwin image's mkext is built and checked against the NIC of every client that boots it,
 * so a missing network driver fails `pulumi preview` instead of stalling a VM at "finding root".
 *
 * User files reach the container as `uploads` (the Docker API's archive upload), not bind
 * mounts: that works the same on a remote Docker host (`ssh://user@host`), where a path on the
 * machine running Pulumi does not exist. The provider reads each uploaded file into memory,
 * so a multi-gigabyte root image needs that much free memory while it is uploaded.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { BootFileSet, BootImageConfig, BootRequester } from "../../lib/model";
import { BUILDER_PATHS, planPayload, type ImageClient, type NicCheckReport, type PayloadPlan } from "../../lib/boot-image";
import { BootImageBuilder } from "./builder";
import { DEFAULT_CACHE_DIR, cacheFile } from "../../lib/boot-image/upload-cache";

/** Labels on the build container, so `docker ps -a --filter label=…` finds a build and its hash. */
export const BOOT_IMAGE_LABEL = "io.netboot-lab.boot-image";
export const CONTENT_HASH_LABEL = "io.netboot-lab.content-hash";

export interface BootImageArgs {
  /**
   * The boot image as validated by lib/model (an entry of `LabModel.bootImages`). A plain value,
   * not an Input: its files are read and checked while the program runs. Relative paths are read
   * from `baseDir`.
   */
  readonly image: BootImageConfig;
  /** Where the image's files live in the boot tree and its root path: `LabModel.bootFileSets[image.name]`. */
  readonly bootFiles: BootFileSet;
  /**
   * Clients that boot this image, with their NIC models. A darwin-nbi image must hold a driver
   * for each, or the constructor throws before declaring anything. Default: none.
   */
  readonly clients?: readonly ImageClient[];
  /** Docker volume of the boot tree (`NetbootServer.bootTreeVolume`); the build writes `<image name>/` in it. */
  readonly bootTreeVolume: pulumi.Input<string>;
  /**
   * Builder image to run, e.g. a shared `BootImageBuilder`'s `imageName`. Default: this component
   * builds its own (child `<name>-builder`) from `baseImage`.
   */
  readonly builderImage?: pulumi.Input<string>;
  /** Base image of the builder this component builds when `builderImage` is not given. Default: `debian:bookworm-slim`. */
  readonly baseImage?: string;
  /** Folder relative file paths in `image` are read from. Default: the working directory (the Pulumi project folder). */
  readonly baseDir?: string;
  /**
   * The image's plan from `planLabPayloads(lab)`, made before any resource was declared so a
   * stack with a bad image fails before deploying anything. Default: planned here from the args above.
   */
  readonly plan?: PayloadPlan;
  /** Folder for generated files (the mkexts, the builder's build context). Default: `<os tmpdir>/netboot-lab-cache`. */
  readonly cacheDir?: string;
}

export class BootImage extends pulumi.ComponentResource {
  /** Boot file by requester (`bios`, `efi-x64`, `efi-ia32`, `ipxe`): TFTP paths in the tree, or the iPXE script URL. */
  public readonly bootFiles: pulumi.Output<Partial<Record<BootRequester, string>>>;
  /** DHCP root path (option 17) of the image's clients, when it has one. */
  public readonly rootPath: pulumi.Output<string | undefined>;
  /** darwin-nbi: bundle identifiers in the mkext of the boot architecture; empty for other kinds. */
  public readonly kexts: pulumi.Output<string[]>;
  /** darwin-nbi: the NIC check of every client (all passed, or the program would have stopped). */
  public readonly nicChecks: pulumi.Output<NicCheckReport[]>;
  /** sha256 over the payload spec and every input file: the build reruns exactly when it changes. */
  public readonly contentHash: pulumi.Output<string>;
  /** Output of the builder container; resolving it fails the update when the build failed. */
  public readonly buildLog: pulumi.Output<string>;

  constructor(name: string, args: BootImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): a plan that throws (missing file, NIC without a driver) leaves no resource behind.
    const plan = args.plan ?? planPayload({ image: args.image, bootFiles: args.bootFiles, clients: args.clients ?? [], baseDir: args.baseDir });
    super("netboot-lab:index:BootImage", name, {}, opts);

    const builderImage = args.builderImage ?? new BootImageBuilder(`${name}-builder`, { baseImage: args.baseImage, cacheDir: args.cacheDir }, { parent: this }).imageName;
    const container = new docker.Container(
      `${name}-build`,
      {
        image: builderImage,
        command: ["payload", "build", "--spec", BUILDER_PATHS.spec, "--out", BUILDER_PATHS.bootTree],
        mounts: [{ type: "volume", source: args.bootTreeVolume, target: BUILDER_PATHS.bootTree }],
        uploads: buildUploads(plan, args.cacheDir ?? DEFAULT_CACHE_DIR),
        // The build needs no network (loaders, kernel and busybox come from the builder image)
        // and no capability: it only writes files into the volume as root.
        networkMode: "none",
        capabilities: { drops: ["ALL"] },
        // One shot: wait for the exit, keep the output; the exit code is checked below.
        attach: true,
        logs: true,
        mustRun: false,
        labels: [
          { label: BOOT_IMAGE_LABEL, value: args.image.name },
          { label: CONTENT_HASH_LABEL, value: plan.contentHash },
        ],
      },
      { parent: this },
    );

    this.bootFiles = pulumi.output(args.bootFiles.files);
    this.rootPath = pulumi.output(args.bootFiles.rootPath);
    this.kexts = pulumi.output([...plan.kexts]);
    this.nicChecks = pulumi.output([...plan.nicChecks]);
    this.contentHash = pulumi.output(plan.contentHash);
    this.buildLog = pulumi.all([container.exitCode, container.containerLogs]).apply(([exitCode, log]) => {
      // The provider records a one-shot container's exit code without failing; a failed build must fail the update.
      if (exitCode !== undefined && exitCode !== null && exitCode !== 0) {
        throw new pulumi.ResourceError(
          `building boot image "${args.image.name}" failed in the builder container (exit code ${exitCode}):\n${log ?? "(no output)"}\n` +
            `Fix the cause and run \`pulumi up\` again; the build reruns when an input changes (or force it: pulumi up --replace <urn of ${name}-build>).`,
          container,
        );
      }
      return log ?? "";
    });
    this.registerOutputs({
      bootFiles: this.bootFiles,
      rootPath: this.rootPath,
      kexts: this.kexts,
      nicChecks: this.nicChecks,
      contentHash: this.contentHash,
      buildLog: this.buildLog,
    });
  }
}

function buildUploads(plan: PayloadPlan, cacheDir: string): docker.types.input.ContainerUpload[] {
  return [
    { file: BUILDER_PATHS.spec, content: plan.specText },
    ...plan.userFiles.map((upload) => ({ file: upload.containerPath, source: upload.localPath, sourceHash: upload.sha256 })),
    ...plan.generated.map((upload) => ({
      file: upload.containerPath,
      source: cacheFile(cacheDir, upload.sha256, ".mkext", upload.content),
      sourceHash: upload.sha256,
    })),
  ];
}
