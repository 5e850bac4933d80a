/**
 * The lab's images that carry netboot-lab code (lib/cli-images.ts), each built from its
 * Dockerfile with the CLI bundle of its role:
 * - BootImageBuilder: the builder every BootImage runs. Declare one per stack and hand its
 *   `imageName` to each BootImage, so the image is built once however many boot images the lab has.
 * - LabRuntimeImage: what the keeper and the BSDP responder run (NetbootServer's `cliImage`),
 *   and where `netboot-lab check` runs its probe.
 */
import { join, resolve } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { cliImageContext, type CliImageRole } from "../../lib/cli-images";
import { DEFAULT_CACHE_DIR } from "../../lib/boot-image/upload-cache";
import type { ImageSource } from "./build-provider";

/** Package root: holds images/<role>/Dockerfile and the bundles in dist/. */
const PACKAGE_ROOT = resolve(__dirname, "..", "..");

export interface CliImageArgs {
  /**
   * Image it is built FROM: the stack's `netboot-lab:docker.baseImage`.
   * Default: `debian:bookworm-slim` (or an offline image from scripts/build-offline-base-image.sh).
   */
  readonly baseImage?: string;
  /** Folder with images/<role>/Dockerfile and the bundles (dist/<role>.cjs). Default: this package's root. */
  readonly packageRoot?: string;
  /** Where the build context (Dockerfile + bundle) is assembled. Default: `<os tmpdir>/netboot-lab-cache`. */
  readonly cacheDir?: string;
}

/** A component that builds the image of one role. */
class CliImage extends pulumi.ComponentResource {
  /** Name of the built image (`netboot-lab/<role>:<tag>`). */
  public readonly imageName: pulumi.Output<string>;
  /** How the image is built: what a boot image build needs to build it again when the engine lost it. */
  public readonly source: ImageSource;

  protected constructor(type: string, role: CliImageRole, name: string, args: CliImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // The context is assembled before anything is declared, so a missing bundle declares nothing.
    const baseImage = args.baseImage ?? "debian:bookworm-slim";
    const context = cliImageContext(role, args.packageRoot ?? PACKAGE_ROOT, baseImage, args.cacheDir ?? DEFAULT_CACHE_DIR);
    super(type, name, {}, opts);
    this.source = { context: context.dir, buildArgs: { BASE_IMAGE: baseImage }, platform: "linux/amd64" };
    this.imageName = new docker.Image(
      `${name}-image`,
      {
        // Changes exactly when the Dockerfile, the bundle or the base image does: what runs the image follows it.
        imageName: context.imageName,
        build: { context: context.dir, dockerfile: join(context.dir, "Dockerfile"), args: { ...this.source.buildArgs }, platform: this.source.platform },
        skipPush: true,
      },
      { parent: this },
    ).imageName;
    this.registerOutputs({ imageName: this.imageName, source: this.source });
  }
}

/** The builder image (`netboot-lab/builder:<tag>`); pass its `imageName` to BootImage's `builderImage`. */
export class BootImageBuilder extends CliImage {
  constructor(name: string, args: CliImageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("netboot-lab:index:BootImageBuilder", "builder", name, args, opts);
  }
}

/** The runtime image (`netboot-lab/runtime:<tag>`); pass its `imageName` to NetbootServer's `cliImage`. */
export class LabRuntimeImage extends CliImage {
  constructor(name: string, args: CliImageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("netboot-lab:index:LabRuntimeImage", "runtime", name, args, opts);
  }
}
