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

/** The image of `role`: its context assembled now, so a missing bundle fails before anything is declared. */
function cliImageBuild(role: CliImageRole, args: CliImageArgs): docker.ImageArgs {
  const baseImage = args.baseImage ?? "debian:bookworm-slim";
  const context = cliImageContext(role, args.packageRoot ?? PACKAGE_ROOT, baseImage, args.cacheDir ?? DEFAULT_CACHE_DIR);
  return {
    // Changes exactly when the Dockerfile, the bundle or the base image does: what runs the image follows it.
    imageName: context.imageName,
    build: { context: context.dir, dockerfile: join(context.dir, "Dockerfile"), args: { BASE_IMAGE: baseImage }, platform: "linux/amd64" },
    skipPush: true,
  };
}

export class BootImageBuilder extends pulumi.ComponentResource {
  /** Name of the built image (`netboot-lab/builder:<tag>`); pass it to BootImage's `builderImage`. */
  public readonly imageName: pulumi.Output<string>;

  constructor(name: string, args: CliImageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const build = cliImageBuild("builder", args);
    super("netboot-lab:index:BootImageBuilder", name, {}, opts);
    this.imageName = new docker.Image(`${name}-image`, build, { parent: this }).imageName;
    this.registerOutputs({ imageName: this.imageName });
  }
}

export class LabRuntimeImage extends pulumi.ComponentResource {
  /** Name of the built image (`netboot-lab/runtime:<tag>`); pass it to NetbootServer's `cliImage`. */
  public readonly imageName: pulumi.Output<string>;

  constructor(name: string, args: CliImageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const build = cliImageBuild("runtime", args);
    super("netboot-lab:index:LabRuntimeImage", name, {}, opts);
    this.imageName = new docker.Image(`${name}-image`, build, { parent: this }).imageName;
    this.registerOutputs({ imageName: this.imageName });
  }
}
