/**
 * `netboot-lab bsdp serve`: the lab's BSDP responder (lib/servers/bsdp.ts), on its own so the
 * runtime image's CLI (cli/runtime-main.ts) carries the responder without the commands that
 * act as a Mac or reach a deployed lab.
 */
import { parseArgs } from "node:util";
import { startBsdpResponder } from "../../lib/bsdp/responder";
import type { BsdpServerConfig } from "../../lib/bsdp/server";
import type { Command } from "../cli-error";
import { readServeConfig, serveUntilStopped } from "./serve";

export const SERVE_USAGE = "bsdp serve --config FILE [--bindings FILE]";

/** Answers BSDP INFORMs from `configPath` (render's bsdp/bsdp.json) until SIGTERM or SIGINT. */
export async function serveBsdp(configPath: string | undefined, bindingsPath: string | undefined): Promise<number> {
  const config = readServeConfig<BsdpServerConfig>("bsdp serve", SERVE_USAGE, configPath, "bsdp/bsdp.json");
  return serveUntilStopped((log) => startBsdpResponder({ config, bindingsFile: bindingsPath, log }));
}

/** `bsdp serve` alone, as the runtime image's CLI has it. */
export const bsdpServeCommand: Command = {
  usage: SERVE_USAGE,
  actions: { serve: SERVE_USAGE },
  summary: "answer BSDP INFORMs of the lab's Macs beside dhcpd (the lab's bsdp container runs it)",
  async run(args) {
    const { values } = parseArgs({ args: args.slice(1), options: { config: { type: "string" }, bindings: { type: "string" } }, strict: true });
    return serveBsdp(values.config, values.bindings);
  },
};
