// Bundles the netboot-lab CLI into one CommonJS file. One file starts fast (no module
// resolution across hundreds of files) and runs on the Node.js that Debian ships, which
// is what the BootImage builder container has.
import { build } from "esbuild";
import { statSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", "netboot-lab.cjs");
const quiet = process.argv.includes("--quiet");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate() {
  try {
    const built = statSync(outfile).mtimeMs;
    return ["cli", "lib"].every((dir) => newestSource(join(root, dir)) < built);
  } catch {
    return false;
  }
}

if (!(quiet && upToDate())) {
  await build({
    entryPoints: [join(root, "cli", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    sourcemap: "linked",
    logLevel: quiet ? "error" : "info",
  });
}
