/**
 * The tags of the images that carry netboot-lab code follow what each image really runs: the
 * bundles are built (scripts/build-cli.mjs, as `npm run build` builds them) from a copy of the
 * sources, one file is edited, they are built again, and each image's tag is compared. An edit
 * of a CLI file no image runs must change no tag, so no boot image rebuilds and neither the
 * keeper nor the BSDP responder is replaced; an edit of code an image runs must change its tag.
 */
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cliImageContext, cliImageInputs, type CliImageRole } from "../../lib/cli-images";
import { PROJECT_DIR } from "../support/pulumi-harness";

type Tags = Record<CliImageRole | "cli", string>;

let root: string;
let built: Tags;

/** Builds every bundle of the copy and returns each image's tag, and a digest of the CLI users run. */
async function buildTags(): Promise<Tags> {
  const { buildCliBundles } = (await import(join(PROJECT_DIR, "scripts", "build-cli.mjs"))) as {
    buildCliBundles(root: string, outdir: string, options: { quiet: boolean }): Promise<void>;
  };
  await buildCliBundles(root, join(root, "dist"), { quiet: true });
  const tag = (role: CliImageRole) => cliImageContext(role, root, "local/debian:bookworm", join(root, "cache")).tag;
  return {
    builder: tag("builder"),
    runtime: tag("runtime"),
    cli: createHash("sha256")
      .update(readFileSync(join(root, "dist", "netboot-lab.cjs")))
      .digest("hex"),
  };
}

/** Appends a top-level statement, which the bundler keeps, to `file` of the copy. */
function edit(file: string): void {
  appendFileSync(join(root, file), `\nprocess.env.NETBOOT_LAB_TAG_TEST ??= ${JSON.stringify(file)};\n`);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "nbl-cli-images-"));
  for (const folder of ["cli", "lib", "images"]) cpSync(join(PROJECT_DIR, folder), join(root, folder), { recursive: true });
  symlinkSync(join(PROJECT_DIR, "node_modules"), join(root, "node_modules"));
  built = await buildTags();
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the tags of the images that carry netboot-lab code", () => {
  test("each image is made of its Dockerfile and its own bundle", () => {
    expect(cliImageInputs("builder")).toEqual({ dockerfile: "images/builder/Dockerfile", bundle: "dist/builder.cjs" });
    expect(cliImageInputs("runtime")).toEqual({ dockerfile: "images/runtime/Dockerfile", bundle: "dist/runtime.cjs" });
    expect(built.builder).not.toBe(built.runtime);
  });

  test("an edit of a CLI command no image runs (watch, check) changes the CLI users run and no image's tag", async () => {
    edit("cli/commands/watch.ts");
    edit("cli/commands/check.ts");
    const after = await buildTags();

    expect(after.cli).not.toBe(built.cli);
    expect({ builder: after.builder, runtime: after.runtime }).toEqual({ builder: built.builder, runtime: built.runtime });
    built = after;
  });

  test.each([
    ["the keeper", "lib/servers/keeper.ts", "runtime", "builder"],
    ["the payload build", "lib/boot-image/build.ts", "builder", "runtime"],
  ] as const)("an edit of %s changes the tag of the image that runs it only", async (_what, file, changed, unchanged) => {
    edit(file);
    const after = await buildTags();

    expect(after[changed]).not.toBe(built[changed]);
    expect(after[unchanged]).toBe(built[unchanged]);
    built = after;
  });

  test("an edit of a Dockerfile, or another base image, changes that image's tag", () => {
    const before = built.runtime;
    appendFileSync(join(root, "images", "runtime", "Dockerfile"), "# edited\n");
    expect(cliImageContext("runtime", root, "local/debian:bookworm", join(root, "cache")).tag).not.toBe(before);
    expect(cliImageContext("builder", root, "debian:bookworm-slim", join(root, "cache")).tag).not.toBe(built.builder);
  });
});
