/**
 * The builder image's build context and name: the BootImageBuilder component builds it for
 * `pulumi up`, and `netboot-lab check` runs its probe in the same image (it carries this CLI
 * and the NFS client tools), so both derive the tag here.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { imageTag } from "../image-tag";
import { writeIfChanged } from "./upload-cache";

const DOCKERFILE = join("images", "builder", "Dockerfile");
const CLI_BUNDLE = join("dist", "netboot-lab.cjs");

export interface BuilderContext {
  /** A folder holding just the Dockerfile and the CLI bundle: a small context, whatever else the repository holds. */
  readonly dir: string;
  /** Follows the Dockerfile, the CLI bundle and the base image, so builds rerun whenever the builder changes. */
  readonly tag: string;
}

export function builderContext(packageRoot: string, baseImage: string, cacheDir: string): BuilderContext {
  const bundlePath = join(packageRoot, CLI_BUNDLE);
  if (!existsSync(bundlePath)) {
    throw new Error(
      `the builder image carries the bundled CLI, but ${bundlePath} does not exist; run \`npm run build\` (npm ci runs it too) in ${packageRoot}`,
    );
  }
  const dockerfile = readFileSync(join(packageRoot, DOCKERFILE));
  const bundle = readFileSync(bundlePath);
  const tag = imageTag(dockerfile, bundle, baseImage);
  const dir = join(cacheDir, `builder-${tag}`);
  writeIfChanged(join(dir, "Dockerfile"), dockerfile);
  writeIfChanged(join(dir, "netboot-lab.cjs"), bundle);
  return { dir, tag };
}

export function builderImageName(context: Pick<BuilderContext, "tag">): string {
  return `netboot-lab/builder:${context.tag}`;
}
