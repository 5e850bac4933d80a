/**
 * The lab's keeper: starts the pod's daemons again when the Docker engine could not.
 *
 * After an engine restart (a host reboot, a package upgrade) the engine starts every container
 * with a restart policy at once. Engines before Docker 29 do not wait for the container whose
 * network namespace another joins, and Docker 29 waits at most 5 s (moby/moby#50326): a daemon
 * started before its pod fails with "cannot join network of a non running container" and stays
 * exited, because restart policies retry containers that exited, never a start that failed.
 * A daemon also loses the lab link when the pod alone restarts: it stays in the pod's previous
 * network namespace, whose interface is gone. The keeper watches for both and starts or
 * restarts those daemons, once per start of the pod.
 *
 * It runs `netboot-lab keep` from the lab's runtime image (lib/cli-images.ts) with no network and no capabilities; its one
 * privilege is the engine's socket, which it uses only to list, inspect, start and restart the
 * containers that join its pod's network namespace.
 */
import { CLI_IN_IMAGE } from "../cli-images";

/** Where the keeper's container sees the engine's socket. */
export const KEEPER_SOCKET_PATH = "/run/docker.sock";
/** How often the keeper looks at the pod and its daemons. */
export const KEEPER_INTERVAL_MS = 2000;

export interface KeeperContainerSpec {
  readonly role: "keeper";
  readonly entrypoint: readonly string[];
  readonly command: readonly string[];
  /** The engine's socket on the Docker host (`docker.socket`), bind-mounted at KEEPER_SOCKET_PATH. */
  readonly engineSocket: string;
}

/** The keeper of the pod named `podName`, talking to the engine through `engineSocket` on the Docker host. */
export function keeperServer(podName: string, engineSocket: string): KeeperContainerSpec {
  return {
    role: "keeper",
    entrypoint: ["node", CLI_IN_IMAGE],
    command: ["keep", "--pod", podName, "--socket", KEEPER_SOCKET_PATH],
    engineSocket,
  };
}

/** What the keeper reads of a container from the engine's inspect answer. */
export interface KeptContainer {
  readonly id: string;
  /** Without the engine's leading `/`. */
  readonly name: string;
  /** `HostConfig.NetworkMode`: `container:<id or name>` for a daemon of a pod. */
  readonly networkMode: string;
  readonly status: "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";
  /** `State.StartedAt` (RFC 3339); the zero time for a container never started. */
  readonly startedAt: string;
  /** `State.Error`: why the last start failed; empty after a clean exit or a `docker stop`. */
  readonly error: string;
}

export interface KeeperAction {
  readonly action: "start" | "restart";
  readonly container: KeptContainer;
  readonly reason: string;
}

/** True when `container` joins the network namespace of `pod` (the engine keeps the reference as it was given: id or name). */
export function joinsPod(container: Pick<KeptContainer, "networkMode">, pod: Pick<KeptContainer, "id" | "name">): boolean {
  const joined = /^container:(.+)$/.exec(container.networkMode)?.[1];
  return joined !== undefined && (joined === pod.name || joined === pod.id);
}

/**
 * What the keeper does for the pod's current start: start each daemon whose last start failed
 * (a `docker stop` leaves no error, so a daemon a user stopped stays stopped), restart each
 * daemon that has run since before the pod started. `done` holds `<daemon id>@<pod start>` of
 * what it did already, so a daemon that fails for a reason of its own is not started in a loop.
 */
export function keeperActions(pod: KeptContainer, daemons: readonly KeptContainer[], done: ReadonlySet<string>): KeeperAction[] {
  if (pod.status !== "running") return [];
  return daemons
    .filter((daemon) => joinsPod(daemon, pod) && !done.has(keeperActionKey(daemon, pod)))
    .flatMap((daemon): KeeperAction[] => {
      if (daemon.status === "exited" && daemon.error)
        return [{ action: "start", container: daemon, reason: `its last start failed (${daemon.error}); ${pod.name} is running now` }];
      if (daemon.status === "running" && Date.parse(daemon.startedAt) < Date.parse(pod.startedAt))
        return [{ action: "restart", container: daemon, reason: `it runs since before ${pod.name} started, in the pod's previous network namespace` }];
      return [];
    });
}

/** Identifies one action on a daemon for one start of its pod. */
export function keeperActionKey(daemon: Pick<KeptContainer, "id">, pod: Pick<KeptContainer, "startedAt">): string {
  return `${daemon.id}@${pod.startedAt}`;
}
