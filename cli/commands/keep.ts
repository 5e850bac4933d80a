import { parseArgs } from "node:util";
import { DockerEngine } from "../../lib/docker-engine";
import { joinsPod, KEEPER_INTERVAL_MS, keeperActionKey, keeperActions, type KeptContainer } from "../../lib/servers/keeper";
import { CliError, type Command } from "../cli-error";

const USAGE = "keep --pod NAME [--socket PATH] [--interval-ms N]";

/** One look at the pod and its daemons: what the keeper did, as log lines; throws when the pod is not there. */
async function keepOnce(engine: DockerEngine, podName: string, done: Set<string>): Promise<string[]> {
  const pod = await engine.inspect(podName);
  if (!pod) throw new Error(`the pod ${podName} does not exist (yet)`);
  const joining = (await engine.networkModes()).filter((listed) => joinsPod(listed, pod));
  const daemons = (await Promise.all(joining.map((listed) => engine.inspect(listed.id)))).filter((daemon): daemon is KeptContainer => daemon !== undefined);
  const lines: string[] = [];
  for (const { action, container, reason } of keeperActions(pod, daemons, done)) {
    done.add(keeperActionKey(container, pod));
    try {
      await (action === "start" ? engine.start(container.id) : engine.restart(container.id));
      lines.push(`${action === "start" ? "started" : "restarted"} ${container.name}: ${reason}`);
    } catch (error) {
      lines.push(`could not ${action} ${container.name} (${reason}): ${(error as Error).message}`);
    }
  }
  return lines;
}

/** The lab's keeper container runs this: see lib/servers/keeper.ts. */
export const keepCommand: Command = {
  usage: USAGE,
  summary: "keep a lab pod's daemons running: start those the Docker engine left exited after a restart (the lab's keeper container runs it)",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { pod: { type: "string" }, socket: { type: "string", default: "/var/run/docker.sock" }, "interval-ms": { type: "string" } },
      strict: true,
    });
    if (!values.pod) throw new CliError("keep: --pod NAME is required (the lab's pod container, <prefix>-pod)", 2);
    const intervalMs = Number(values["interval-ms"] ?? KEEPER_INTERVAL_MS);
    if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new CliError(`keep: --interval-ms must be a whole number of milliseconds, at least 100`, 2);
    const engine = new DockerEngine(values.socket);
    const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    const done = new Set<string>();
    let stopped = false;
    let wake: () => void = () => undefined;
    // As PID 1 in its container, Node would ignore SIGTERM: stop at once so `docker stop` and engine restarts are quick.
    for (const signal of ["SIGTERM", "SIGINT"] as const)
      process.once(signal, () => {
        stopped = true;
        wake();
      });
    log(`keeping the daemons of ${values.pod} through ${values.socket}`);
    // A problem that lasts (no pod yet, the engine not answering) is logged when it begins, not every round.
    let lastProblem = "";
    while (!stopped) {
      try {
        for (const line of await keepOnce(engine, values.pod, done)) log(line);
        lastProblem = "";
      } catch (error) {
        const message = (error as Error).message;
        if (message !== lastProblem) log(message);
        lastProblem = message;
      }
      await new Promise<void>((resolveWait) => {
        const timer = setTimeout(resolveWait, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolveWait();
        };
      });
    }
    log("stopped");
    return 0;
  },
};
