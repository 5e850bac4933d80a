/**
 * The CLI of the BootImage builder image (images/builder): `payload build`, its entry point.
 * Only what this file reaches is bundled (scripts/build-cli.mjs), and the image's tag follows
 * the bundle's bytes, so an edit elsewhere in the CLI rebuilds no boot image.
 */
import { payloadCommand } from "./commands/payload";
import { runCli } from "./run-cli";

runCli({ payload: payloadCommand });
