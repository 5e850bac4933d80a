/**
 * `netboot-lab bsdp serve`: the lab's BSDP responder (lib/servers/bsdp.ts), on its own so the
 * runtime image's CLI (cli/runtime-main.ts) carries the responder without the commands that
 * act as a Mac or reach a deployed lab.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startBsdpResponder } from "../../lib/bsdp/responder";
import type { BsdpServerConfig } from "../../lib/bsdp/server";
import { CliError, type Command } from "../cli-error";

export const SERVE_USAGE = "bsdp serve --config FILE [--bindings FILE]";

/** Answers BSDP INFORMs from `configPath` (render's bsdp/bsdp.json) until SIGTERM or SIGINT. */
export async function serveBsdp(configPath: string | undefined, bindingsPath: string | undefined): Promise<number> {
  if (!configPath) throw new CliError(`bsdp serve needs --config FILE (bsdp/bsdp.json from netboot-lab render)\nusage: netboot-lab ${SERVE_USAGE}`, 2);
  let config: BsdpServerConfig;
  try {
    config = JSON.parse(readFileSync(configPath, "utf8")) as BsdpServerConfig;
  } catch (error) {
    throw new CliError(`bsdp serve: cannot read the config ${configPath}: ${(error as Error).message}; render writes it as bsdp/bsdp.json`, 1);
  }
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const responder = await startBsdpResponder({ config, bindingsFile: bindingsPath, log });
  // As PID 1 in its container, Node would ignore SIGTERM: stop at once so `docker stop` and restarts are quick.
  await new Promise<void>((resolveStop) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolveStop());
  });
  await responder.close();
  log("stopped");
  return 0;
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
