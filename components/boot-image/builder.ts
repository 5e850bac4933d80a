/**
 * BootImageBuilder: the builder image every BootImage runs (images/builder/Dockerfile with the
 * bundled CLI). Declare one per stack and hand its `imageName` to each BootImage, so the image
 * is built once however many boot images the lab has.
 */
import { join, resolve } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { builderContext, builderImageName } from "../../lib/boot-image/builder-image";
import { DEFAULT_CACHE_DIR } from "../../lib/boot-image/upload-cache";

/** Repository root: holds images/builder/Dockerfile and the bundled CLI in dist/. */
const PACKAGE_ROOT = resolve(__dirname, "..", "..");

export interface BootImageBuilderArgs {
  /**
   * Image the builder is built FROM: the stack's `netboot-lab:docker.baseImage`.
   * Default: `debian:bookworm-slim` (or an offline image from scripts/build-offline-base-image.sh).
   */
  readonly baseImage?: string;
  /** Folder with images/builder/Dockerfile and the bundled CLI (dist/netboot-lab.cjs). Default: this package's root. */
  readonly packageRoot?: string;
  /** Where the build context (Dockerfile + CLI bundle) is assembled. Default: `<os tmpdir>/netboot-lab-cache`. */
  readonly cacheDir?: string;
}

export class BootImageBuilder extends pulumi.ComponentResource {
  /** Name of the built image (`netboot-lab/builder:<tag>`); pass it to BootImage's `builderImage`. */
  public readonly imageName: pulumi.Output<string>;

  constructor(name: string, args: BootImageBuilderArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const packageRoot = args.packageRoot ?? PACKAGE_ROOT;
    const baseImage = args.baseImage ?? "debian:bookworm-slim";
    const context = builderContext(packageRoot, baseImage, args.cacheDir ?? DEFAULT_CACHE_DIR);
    super("netboot-lab:index:BootImageBuilder", name, {}, opts);

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: builderImageName(context),
        build: { context: context.dir, dockerfile: join(context.dir, "Dockerfile"), args: { BASE_IMAGE: baseImage }, platform: "linux/amd64" },
        skipPush: true,
      },
      { parent: this },
    );
    this.imageName = image.imageName;
    this.registerOutputs({ imageName: this.imageName });
  }
}
