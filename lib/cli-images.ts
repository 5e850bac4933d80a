/**
 * The lab's images that carry netboot-lab code, each with the CLI bundle of its role only
 * (scripts/build-cli.mjs):
 * - `builder` (images/builder): the BootImage build tools and `payload build`;
 * - `runtime` (images/runtime): Node.js for the keeper (`keep`) and the BSDP responder
 *   (`bsdp serve`), and the tools `check`'s probe uses, which runs the CLI of the machine that
 *   starts it (copied into its container) rather than any code of the image.
 * Each tag is a digest of what the image is made of (its Dockerfile, its bundle, its base
 * image), so an image changes, and what runs it is rebuilt or replaced, exactly when one of
 * them does. The components build them for `pulumi up`; `check` finds (or builds) the same tag.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { imageTag } from "./image-tag";
import { writeIfChanged } from "./boot-image/upload-cache";

export type CliImageRole = "builder" | "runtime";

/** Where every such image puts its bundle: the entry point of the image. */
export const CLI_IN_IMAGE = "/opt/netboot-lab/netboot-lab.cjs";

/** The files an image is built from, relative to the package root. */
export function cliImageInputs(role: CliImageRole): { readonly dockerfile: string; readonly bundle: string } {
  return { dockerfile: join("images", role, "Dockerfile"), bundle: join("dist", `${role}.cjs`) };
}

export interface CliImageContext {
  /** A folder holding just the Dockerfile and the bundle (as netboot-lab.cjs): a small context, whatever else the package holds. */
  readonly dir: string;
  readonly tag: string;
  /** `netboot-lab/<role>:<tag>`. */
  readonly imageName: string;
}

/** The tag of an image made of these bytes. */
export function cliImageTag(dockerfile: Buffer, bundle: Buffer, baseImage: string): string {
  return imageTag(dockerfile, bundle, baseImage);
}

/** Assembles the build context of `role`'s image under `cacheDir` and names the image. */
export function cliImageContext(role: CliImageRole, packageRoot: string, baseImage: string, cacheDir: string): CliImageContext {
  const inputs = cliImageInputs(role);
  const bundlePath = join(packageRoot, inputs.bundle);
  if (!existsSync(bundlePath)) {
    throw new Error(
      `the ${role} image carries the bundled CLI, but ${bundlePath} does not exist; run \`npm run build\` (npm ci runs it too) in ${packageRoot}`,
    );
  }
  const dockerfile = readFileSync(join(packageRoot, inputs.dockerfile));
  const bundle = readFileSync(bundlePath);
  const tag = cliImageTag(dockerfile, bundle, baseImage);
  const dir = join(cacheDir, `${role}-${tag}`);
  writeIfChanged(join(dir, "Dockerfile"), dockerfile);
  writeIfChanged(join(dir, "netboot-lab.cjs"), bundle);
  return { dir, tag, imageName: `netboot-lab/${role}:${tag}` };
}
