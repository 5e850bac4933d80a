/**
 * Before the real-engine suite: the `pulumi` CLI it drives must be on PATH, and the Docker engine
 * must hold the offline base image the lab is built from (nothing can be pulled). Without them it
 * stops here with what to install, instead of failing every step.
 */
import { execa } from "execa";

/**
 * Says what is missing and how to get it, and ends the run: a global setup that throws makes
 * vitest report "No test files found" first, which misleads.
 */
function missing(message: string): never {
  console.error(`\n${message}\n`);
  process.exit(1);
}

export async function setup(): Promise<void> {
  const pulumi = await execa("pulumi", ["version"], { reject: false });
  if (pulumi.failed) {
    missing(
      "npm run test:engine drives the Pulumi CLI, and no `pulumi` runs from PATH " +
        `(${pulumi.code ?? pulumi.stderr.trim()}). Install it as Pulumi documents (https://www.pulumi.com/docs/iac/download-install/), ` +
        "with its Node.js language host and the docker resource plugin (`pulumi plugin install resource docker 5.2.0`), and run again.",
    );
  }
  const baseImage = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
  const base = await execa("docker", ["image", "inspect", baseImage], { reject: false });
  if (base.failed) {
    missing(
      `npm run test:engine builds the lab from ${baseImage} on the local Docker engine, and it is not there (${base.stderr.trim() || base.code}). ` +
        "Make it with scripts/build-offline-base-image.sh, or name another image in NETBOOT_LAB_BASE_IMAGE.",
    );
  }
  console.log(`real-engine suite: pulumi ${pulumi.stdout.trim()} (${(await execa("sh", ["-c", "command -v pulumi"])).stdout.trim()}), base image ${baseImage}`);
}
