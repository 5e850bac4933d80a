import { parseArgs } from "node:util";
import type Dockerode from "dockerode";
import { dockerClient, engineFailure, engineStatus } from "../../lib/docker-engine";
import { joinsPod, KEEPER_INTERVAL_MS, keeperActionKey, keeperActions, type KeptContainer } from "../../lib/servers/keeper";
import { CliError, type Command } from "../cli-error";

const USAGE = "keep --pod NAME [--socket PATH] [--interval-ms N]";

/** The engine behind the keeper's socket (`unix://…`), as its failures name it. */
interface Engine {
  readonly docker: Dockerode;
  readonly host: string;
}

/** A container's name, network mode and state; undefined when the engine has no such container. */
async function inspect({ docker, host }: Engine, idOrName: string): Promise<KeptContainer | undefined> {
  let found: Dockerode.ContainerInspectInfo;
  try {
    found = await docker.getContainer(idOrName).inspect();
  } catch (error) {
    if (engineStatus(error) === 404) return undefined;
    throw engineFailure(error, `inspecting ${idOrName}`, host);
  }
  return {
    id: found.Id,
    name: found.Name.replace(/^\//, ""),
    networkMode: found.HostConfig.NetworkMode ?? "",
    status: found.State.Status as KeptContainer["status"],
    startedAt: found.State.StartedAt,
    error: found.State.Error ?? "",
  };
}

/** Starts or restarts a daemon; a start the engine answers 304 (started already, by its restart policy or a user) is done. */
async function act({ docker, host }: Engine, action: "start" | "restart", id: string): Promise<void> {
  try {
    await (action === "start" ? docker.getContainer(id).start() : docker.getContainer(id).restart());
  } catch (error) {
    if (action === "start" && engineStatus(error) === 304) return;
    throw engineFailure(error, `${action === "start" ? "starting" : "restarting"} ${id.slice(0, 12)}`, host);
  }
}

/** One look at the pod and its daemons: what the keeper did, as log lines; throws when the pod is not there. */
async function keepOnce(engine: Engine, podName: string, done: Set<string>): Promise<string[]> {
  const pod = await inspect(engine, podName);
  if (!pod) throw new Error(`the pod ${podName} does not exist (yet)`);
  let listed: Dockerode.ContainerInfo[];
  try {
    listed = await engine.docker.listContainers({ all: true });
  } catch (error) {
    throw engineFailure(error, "listing the containers", engine.host);
  }
  const joining = listed.filter((container) => joinsPod({ networkMode: container.HostConfig?.NetworkMode ?? "" }, pod));
  const daemons = (await Promise.all(joining.map((container) => inspect(engine, container.Id)))).filter(
    (daemon): daemon is KeptContainer => daemon !== undefined,
  );
  const lines: string[] = [];
  for (const { action, container, reason } of keeperActions(pod, daemons, done)) {
    done.add(keeperActionKey(container, pod));
    try {
      await act(engine, action, container.id);
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
    const host = `unix://${values.socket}`;
    const engine: Engine = { docker: dockerClient(host), host };
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
