/**
 * netboot-lab: what users need outside `pulumi up`. Each sub-command lives in commands/ and
 * registers itself in COMMANDS; pure logic stays in lib/ so the CLI and the Pulumi
 * components share it.
 */
import { COMMANDS } from "./commands";
import { runCli } from "./run-cli";

runCli(COMMANDS);
