/**
 * What the lab's long-running responders (`bsdp serve`, `proxy-dhcp serve`) do alike: read the
 * JSON config render wrote, log with timestamps to stdout (docker logs), stop on SIGTERM.
 */
import { readFileSync } from "node:fs";
import { CliError } from "../cli-error";

/** The config at `path`; `who` is the command (`bsdp serve`), `rendered` the file render writes (`bsdp/bsdp.json`). */
export function readServeConfig<T>(who: string, usage: string, path: string | undefined, rendered: string): T {
  if (!path) throw new CliError(`${who} needs --config FILE (${rendered} from netboot-lab render)\nusage: netboot-lab ${usage}`, 2);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    throw new CliError(`${who}: cannot read the config ${path}: ${(error as Error).message}; render writes it as ${rendered}`, 1);
  }
}

/** Starts a responder and runs it until SIGTERM or SIGINT. */
export async function serveUntilStopped(start: (log: (line: string) => void) => Promise<{ close(): Promise<void> }>): Promise<number> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const responder = await start(log);
  // As PID 1 in its container, Node would ignore SIGTERM: stop at once so `docker stop` and restarts are quick.
  await new Promise<void>((resolveStop) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolveStop());
  });
  await responder.close();
  log("stopped");
  return 0;
}
