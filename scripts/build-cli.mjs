// Bundles the netboot-lab CLI, one CommonJS file per place it runs. One file starts fast (no
// module resolution across hundreds of files) and runs on the Node.js that Debian ships, which
// is what the lab's images have.
//
// Each image carries only the bundle of its role, and its tag follows that bundle's bytes
// (lib/cli-images.ts): a bundle holds only the modules its entry reaches, so an edit of, say,
// cli/commands/watch.ts changes netboot-lab.cjs alone, and no boot image rebuilds and no
// keeper or BSDP container is replaced for it.
import { build } from "esbuild";
import { statSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** Bundle name (dist/<name>.cjs) → entry point. */
export const CLI_BUNDLES = {
  // The CLI users run (bin/netboot-lab.cjs); check and bsdp --stack also copy it into their probe containers.
  "netboot-lab": "cli/main.ts",
  // `payload build`, in the BootImage builder image (images/builder).
  builder: "cli/builder-main.ts",
  // `keep` and `bsdp serve`, in the lab's runtime image (images/runtime).
  runtime: "cli/runtime-main.ts",
};

/**
 * Builds every bundle of the source tree at `root` into `outdir`. dockerode's ssh2 loads its
 * optional native parts (cpu-features, the sshcrypto binding) inside try/catch and works
 * without them, and netboot-lab never uses ssh2 (ssh:// runs the ssh binary): they stay out of
 * the bundles, which run where no native module is built.
 */
export async function buildCliBundles(root, outdir, { quiet = false } = {}) {
  await Promise.all(
    Object.entries(CLI_BUNDLES).map(([name, entry]) =>
      build({
        // The paths in the bundle's comments are relative to it: the bytes, and so the tags, do not depend on where the checkout is.
        absWorkingDir: root,
        entryPoints: [join(root, entry)],
        outfile: join(outdir, `${name}.cjs`),
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node18",
        external: ["cpu-features", "*.node"],
        sourcemap: "linked",
        logLevel: quiet ? "error" : "info",
      }),
    ),
  );
}

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate(root, outdir) {
  try {
    const built = Math.min(...Object.keys(CLI_BUNDLES).map((name) => statSync(join(outdir, `${name}.cjs`)).mtimeMs));
    return ["cli", "lib"].every((dir) => newestSource(join(root, dir)) < built);
  } catch {
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const outdir = join(root, "dist");
  const quiet = process.argv.includes("--quiet");
  if (!(quiet && upToDate(root, outdir))) await buildCliBundles(root, outdir, { quiet });
}
