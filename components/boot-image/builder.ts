/**
 * BootImageBuilder: the builder image every BootImage runs (images/builder/Dockerfile with the
 * bundled CLI). Declare one per stack and hand its `imageName` to each BootImage, so the image
 * is built once however many boot images the lab has.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { imageTag } from "../../lib/image-tag";
import { DEFAULT_CACHE_DIR, writeIfChanged } from "./upload-cache";

/** Repository root: holds images/builder/Dockerfile and the bundled CLI in dist/. */
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
  /** Where the build context (Dockerfile + CLI bundle) is assembled. Default: `<os tmpdir>/netboot-lab-cache`. */
  readonly cacheDir?: string;
}

interface BuilderContext {
  /** A folder holding just the Dockerfile and the CLI bundle: a small context, whatever else the repository holds. */
  readonly dir: string;
  /** Follows the Dockerfile, the CLI bundle and the base image, so builds rerun whenever the builder changes. */
  readonly tag: string;
}

export function builderContext(packageRoot: string, baseImage: string, cacheDir: string): BuilderContext {
  const bundlePath = join(packageRoot, CLI_BUNDLE);
  if (!existsSync(bundlePath)) {
    throw new Error(`the builder image carries the bundled CLI, but ${bundlePath} does not exist; run \`npm run build\` (npm ci runs it too) in ${packageRoot}`);
  }
  const dockerfile = readFileSync(join(packageRoot, DOCKERFILE));
  const bundle = readFileSync(bundlePath);
  const tag = imageTag(dockerfile, bundle, baseImage);
  const dir = join(cacheDir, `builder-${tag}`);
  writeIfChanged(join(dir, "Dockerfile"), dockerfile);
  writeIfChanged(join(dir, "netboot-lab.cjs"), bundle);
  return { dir, tag };
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
        imageName: `netboot-lab/builder:${context.tag}`,
        build: { context: context.dir, dockerfile: join(context.dir, "Dockerfile"), args: { BASE_IMAGE: baseImage }, platform: "linux/amd64" },
        skipPush: true,
      },
      { parent: this },
    );
    this.imageName = image.imageName;
    this.registerOutputs({ imageName: this.imageName });
  }
}
