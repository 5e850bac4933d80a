/**
 * BootImageBuilder: the builder image every BootImage runs (images/builder/Dockerfile with the
 * bundled CLI). Declare one per stack and hand its `imageName` to each BootImage, so the image
 * is built once however many boot images the lab has.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Repository root: the build context (see /.dockerignore) holding images/builder and dist/. */
const PACKAGE_ROOT = resolve(__dirname, "..", "..");
const DOCKERFILE = join("images", "builder", "Dockerfile");
const CLI_BUNDLE = join("dist", "netboot-lab.cjs");

export interface BootImageBuilderArgs {
  /**
   * Image the builder is built FROM: the stack's `netboot-lab:docker.baseImage`.
   * Default: `debian:bookworm-slim` (or an offline image from scripts/build-offline-base-image.sh).
   */
  readonly baseImage?: string;
  /** Folder with images/builder/Dockerfile and the bundled CLI (dist/netboot-lab.cjs). Default: this package's root. */
  readonly packageRoot?: string;
}

/** The tag follows the Dockerfile, the CLI bundle and the base image, so builds rerun whenever the builder changes. */
export function builderImageTag(packageRoot: string, baseImage: string): string {
  const bundle = join(packageRoot, CLI_BUNDLE);
  if (!existsSync(bundle)) {
    throw new Error(`the builder image carries the bundled CLI, but ${bundle} does not exist; run \`npm run build\` (npm ci runs it too) in ${packageRoot}`);
  }
  return createHash("sha256")
    .update(readFileSync(join(packageRoot, DOCKERFILE)))
    .update("\0")
    .update(readFileSync(bundle))
    .update("\0")
    .update(baseImage)
    .digest("hex")
    .slice(0, 12);
}

export class BootImageBuilder extends pulumi.ComponentResource {
  /** Name of the built image (`netboot-lab/builder:<tag>`); pass it to BootImage's `builderImage`. */
  public readonly imageName: pulumi.Output<string>;

  constructor(name: string, args: BootImageBuilderArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const packageRoot = args.packageRoot ?? PACKAGE_ROOT;
    const baseImage = args.baseImage ?? "debian:bookworm-slim";
    const tag = builderImageTag(packageRoot, baseImage);
    super("netboot-lab:index:BootImageBuilder", name, {}, opts);

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: `netboot-lab/builder:${tag}`,
        build: { context: packageRoot, dockerfile: join(packageRoot, DOCKERFILE), args: { BASE_IMAGE: baseImage }, platform: "linux/amd64" },
        skipPush: true,
      },
      { parent: this },
    );
    this.imageName = image.imageName;
    this.registerOutputs({ imageName: this.imageName });
  }
}
