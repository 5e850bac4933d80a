/**
 * BootImage: one boot image of the lab, built by a one-shot builder container into the boot
 * tree volume that the TFTP, NFS and HTTP servers serve.
 *
 * Planning runs in the program, before any resource is declared: the user's files are hashed,
 * a Darwin image's mkext is built and checked against the NIC of every client that boots it,
 * so a missing network driver fails `pulumi preview` instead of stalling a VM at "finding root".
 *
 * User files reach the boot-tree volume through the Docker API's archive upload (what `docker
 * cp` does), not bind mounts: that works the same on a remote Docker host (`ssh://user@host`),
 * where a path on the machine running Pulumi does not exist. They are streamed from disk (see
 * build-provider.ts), so an 8 GiB root image needs no more memory than a kernel, and a file
 * already in the volume is not sent again. The build is its own resource (BootImageBuild):
 * removing or renaming the image removes its folder from the tree, and a failed build is not
 * recorded, so the next `pulumi up` runs it again.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BootFileSet, BootImageConfig, BootRequester } from "../../lib/model";
import { BUILDER_PATHS, planPayload, type ImageClient, type NicCheckReport, type PayloadPlan } from "../../lib/boot-image";
import { BootImageBuild } from "./build-resource";
import type { GeneratedInput, ImageSource } from "./build-provider";
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
  /**
   * How `builderImage` is built (that BootImageBuilder's `source`), so a build that finds it gone
   * from the engine builds it again. Default: the source of the builder this component builds;
   * none with a `builderImage` of your own, and such a build then fails, saying so.
   */
  readonly builderSource?: ImageSource;
  /**
   * An image with `rm` that the lab keeps on the engine (NetbootServer's `imageName`, which its
   * daemons run): the build's refresh and delete run in it, so they still work when the builder
   * image was removed (`docker image prune -a`). Default: the builder image.
   */
  readonly toolImage?: pulumi.Input<string>;
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
  /**
   * Docker host of the boot-tree volume (`netboot-lab:docker.host`, e.g. `ssh://user@host`), where
   * the build runs. Default: DOCKER_HOST, else the local engine, as for the docker provider.
   */
  readonly dockerHost?: string;
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
  /** Output of the builder container (a failed build fails the update instead). */
  public readonly buildLog: pulumi.Output<string>;

  constructor(name: string, args: BootImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): a plan that throws (missing file, NIC without a driver) leaves no resource behind.
    const plan = args.plan ?? planPayload({ image: args.image, bootFiles: args.bootFiles, clients: args.clients ?? [], baseDir: args.baseDir });
    super("netboot-lab:index:BootImage", name, {}, opts);

    const ownBuilder = args.builderImage
      ? undefined
      : new BootImageBuilder(`${name}-builder`, { baseImage: args.baseImage, cacheDir: args.cacheDir }, { parent: this });
    const build = new BootImageBuild(
      `${name}-build`,
      {
        dockerHost: args.dockerHost,
        builderImage: args.builderImage ?? ownBuilder!.imageName,
        builderSource: args.builderSource ?? ownBuilder?.source,
        toolImage: args.toolImage,
        bootTreeVolume: args.bootTreeVolume,
        bootTreePath: BUILDER_PATHS.bootTree,
        mediaPath: BUILDER_PATHS.media,
        imageName: args.image.name,
        command: ["payload", "build", "--spec", BUILDER_PATHS.spec, "--out", BUILDER_PATHS.bootTree],
        media: plan.userFiles.map(({ localPath, containerPath, sha256, size }) => ({ localPath, containerPath, sha256, size })),
        generated: generatedInputs(plan, args.cacheDir ?? DEFAULT_CACHE_DIR),
        contentHash: plan.contentHash,
        labels: { [BOOT_IMAGE_LABEL]: args.image.name, [CONTENT_HASH_LABEL]: plan.contentHash },
      },
      { parent: this },
    );

    this.bootFiles = pulumi.output(args.bootFiles.files);
    this.rootPath = pulumi.output(args.bootFiles.rootPath);
    this.kexts = pulumi.output([...plan.kexts]);
    this.nicChecks = pulumi.output([...plan.nicChecks]);
    this.contentHash = pulumi.output(plan.contentHash);
    this.buildLog = build.buildLog;
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

/** The spec (as text) and the mkexts (from the cache folder, so their bytes stay out of the stack's state). */
function generatedInputs(plan: PayloadPlan, cacheDir: string): GeneratedInput[] {
  return [
    { containerPath: BUILDER_PATHS.spec, content: plan.specText },
    ...plan.generated.map((upload) => ({ containerPath: upload.containerPath, localPath: cacheFile(cacheDir, upload.sha256, ".mkext", upload.content) })),
  ];
}
