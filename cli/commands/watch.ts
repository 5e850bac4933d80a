import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { parseArgs } from "node:util";
import { buildRecordPath, type BuildRecord } from "../../lib/boot-image/build-record";
import { LAB_LABEL, ROLE_LABEL } from "../../lib/lab-names";
import { BOOT_TREE_DIR } from "../../lib/servers";
import { LOG_PARSERS, splitDockerTimestamp } from "../../lib/watch/log-lines";
import { TFTP_CAPTURE_COMMAND, TftpCaptureReader, type EndedTransfer } from "../../lib/watch/tftp-capture";
import { BootTimelines, formatEntry, formatTimelines } from "../../lib/watch/timeline";
import { CliError, type Command } from "../cli-error";
import type { ContainerState } from "../../lib/check/probe";
import { containerStates, followLogs, LAB_OPTIONS, openLabFromArgs, readContainerFile, requireDeployed, type DeployedLab } from "../lab-docker";

const USAGE = "watch --stack NAME [--client NAME] [--since TIME] [--stall-after SECONDS] [--duration SECONDS] [--config FILE] [--project DIR]";

const DEFAULT_STALL_SECONDS = 30;

const HELP = `usage: netboot-lab ${USAGE}

Follows the lab's daemons (docker logs of its dhcpd or Kea, TFTP, HTTP and NFS containers) and prints
each client's boot as it happens, one line per step with the time since that MAC's first
event: DHCPDISCOVER/OFFER/REQUEST/ACK and BOOTP, each TFTP read (with the file's size in the
boot tree) or refusal, each TFTP transfer with the blksize the server agreed to, the bytes it
sent and how long it took (captured by tcpdump in a short-lived container, role watch, in the
pod's network namespace), each HTTP request with status and bytes, the NFS mounts. A stage that
stops is called out once ("ACK sent 30 s ago, no boot-file request: …"). On Ctrl-C (or after
--duration) it prints one timeline per MAC.

  --stack NAME          the stack (its file is stacks/Pulumi.NAME.yaml)
  --client NAME         follow this client only
  --since TIME          start from older log lines: 10m, 1h or an RFC 3339 time (default: now)
  --stall-after SECONDS silence after which a stage counts as stalled (default ${DEFAULT_STALL_SECONDS})
  --duration SECONDS    stop after this long instead of at Ctrl-C
  --config FILE         read the stack config from FILE instead of stacks/Pulumi.NAME.yaml
  --project DIR         the project folder holding stacks/ (default .)
`;

/**
 * `--since` as the engine takes it, seconds since the epoch: a duration back from `now` (`10m`,
 * `1h30m`, `45s`), an RFC 3339 time, or, without the option, `now`.
 */
export function sinceSeconds(text: string | undefined, now: Date): string {
  // The engine reads `<seconds>.<nanoseconds>`, the fraction as nine digits.
  const seconds = (date: Date) => `${Math.floor(date.getTime() / 1000)}.${String((date.getTime() % 1000) * 1e6).padStart(9, "0")}`;
  if (text === undefined) return seconds(now);
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  if (/^(\d+(\.\d+)?[hms])+$/.test(text)) {
    const back = [...text.matchAll(/(\d+(?:\.\d+)?)([hms])/g)].reduce((sum, [, amount, unit]) => sum + Number(amount) * units[unit!]!, 0);
    return seconds(new Date(now.getTime() - back * 1000));
  }
  const time = /^\d{4}-\d\d-\d\dT/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(time)) throw new CliError(`watch: --since "${text}" is neither a duration (10m, 1h30m) nor an RFC 3339 time (2026-12-02T07:30:00Z)`, 2);
  return seconds(new Date(time));
}

function positiveNumber(text: string | undefined, option: string, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new CliError(`watch: ${option} "${text}" must be a positive number of seconds`, 2);
  return value;
}

/** Sizes of every built file, read through a daemon that mounts the tree; empty when none runs. */
async function builtFileSizes(deployed: DeployedLab, running: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const reader = ["tftp", "http", "nfs"].find((role) => running.includes(role));
  if (!reader) return sizes;
  for (const image of deployed.lab.bootImages) {
    const record = await readContainerFile(deployed, deployed.names.container(reader), `${BOOT_TREE_DIR}/${buildRecordPath(image.name)}`);
    if (record === undefined) continue;
    for (const file of (JSON.parse(record) as BuildRecord).files) sizes.set(file.path, file.size);
  }
  return sizes;
}

/** Calls `each` with every complete line written to the stream it returns. */
function lineSink(each: (line: string) => void): PassThrough {
  const stream = new PassThrough();
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) each(line);
  });
  return stream;
}

/** How long tcpdump may take to say it is listening before watch goes on without TFTP transfers. */
const CAPTURE_START_SECONDS = 20;

/**
 * Runs tcpdump (lib/watch/tftp-capture.ts) in a container that shares the pod's network namespace,
 * from the pod's own image (the server image, which carries tcpdump), and hands each ended TFTP
 * transfer to `onTransfer`. The container has the lab's labels (role watch) and is removed by `stop`;
 * a failed start is a note in the "watching" line, never an error: the log lines still show each read.
 */
async function startTftpCapture(
  deployed: DeployedLab,
  pod: ContainerState | undefined,
  onTransfer: (ended: EndedTransfer) => void,
): Promise<{ note: string; stop: () => Promise<void> }> {
  const without = (why: string) => ({ note: `no TFTP transfer capture (${why})`, stop: async () => {} });
  if (!pod?.running) return without(`the pod ${pod?.name ?? deployed.names.pod} is ${pod?.status ?? "missing"}`);
  const image = (await deployed.call(`inspecting ${pod.name}`, (docker) => docker.getContainer(pod.name).inspect())).Config.Image;
  const name = `${deployed.names.prefix}-watch-${randomBytes(3).toString("hex")}`;
  const [command, ...args] = TFTP_CAPTURE_COMMAND;
  const container = await deployed.call(`creating the capture container ${name}`, (docker) =>
    docker.createContainer({
      name,
      Image: image,
      Entrypoint: [command!],
      Cmd: args,
      Labels: { [LAB_LABEL]: deployed.names.prefix, [ROLE_LABEL]: "watch" },
      HostConfig: {
        NetworkMode: `container:${pod.name}`,
        // NET_RAW opens the capture socket; SETUID/SETGID let tcpdump drop to its own user right after.
        CapDrop: ["ALL"],
        CapAdd: ["NET_RAW", "SETUID", "SETGID"],
        // Gone by itself should this watch end without removing it.
        AutoRemove: true,
      },
    }),
  );
  const stop = async () => {
    await container.remove({ force: true }).catch(() => undefined);
  };
  const reader = new TftpCaptureReader();
  let stderr = "";
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), CAPTURE_START_SECONDS * 1000);
    const errors = lineSink((line) => {
      stderr += `${line}\n`;
      if (line.startsWith("listening on ")) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    const started = (async () => {
      await deployed.call(`starting the capture container ${name}`, () => container.start());
      const output = await followLogs(
        deployed,
        name,
        lineSink((line) => reader.push(line).forEach(onTransfer)),
        errors,
      );
      output.on("end", () => resolve(false));
    })();
    started.catch((error: Error) => {
      stderr += `${error.message}\n`;
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (listening) return { note: `TFTP transfers captured in ${pod.name}`, stop };
  await stop();
  const why = stderr.trim().split("\n").pop() || `tcpdump did not start within ${CAPTURE_START_SECONDS} s`;
  return without(`${why}; TFTP reads show the built size only, and pulumi up rebuilds the server image with tcpdump`);
}

export const watchCommand: Command = {
  usage: USAGE,
  summary: "follow the lab's daemons and print each client's boot as a timeline (DHCP, TFTP/HTTP, NFS), calling out a stalled stage",
  handlesHelp: true,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { ...LAB_OPTIONS, since: { type: "string" }, "stall-after": { type: "string" }, duration: { type: "string" } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const stallSeconds = positiveNumber(values["stall-after"], "--stall-after", DEFAULT_STALL_SECONDS)!;
    const duration = positiveNumber(values.duration, "--duration");
    const since = sinceSeconds(values.since, new Date());
    const { deployed, client: only } = openLabFromArgs("watch", USAGE, values);
    const clients = deployed.lab.clients;
    await requireDeployed(deployed);
    const states = await containerStates(deployed);
    const roles = Object.keys(LOG_PARSERS).filter((role) => states[role]);
    const running = roles.filter((role) => states[role]!.running);
    const timelines = new BootTimelines(clients, {
      stallSeconds,
      fileSizes: await builtFileSizes(deployed, running),
      ...(only ? { onlyMacs: [only.mac] } : {}),
    });

    const followers = await Promise.all(
      roles.map((role) => {
        const parse = LOG_PARSERS[role]!;
        const lines = () =>
          lineSink((line) => {
            const stamped = splitDockerTimestamp(line);
            const event = stamped && parse(stamped.text);
            const entry = event && timelines.add(stamped.time, event);
            if (entry) process.stdout.write(`${formatEntry(entry)}\n`);
          });
        return followLogs(deployed, states[role]!.name, lines(), lines(), since);
      }),
    );
    const capture = await startTftpCapture(deployed, states.pod, ({ time, event }) => {
      const entry = timelines.add(time, event);
      if (entry) process.stdout.write(`${formatEntry(entry)}\n`);
    });
    const stopped = roles.filter((role) => !states[role]!.running).map((role) => `${role} (${states[role]!.name} is ${states[role]!.status})`);
    process.stdout.write(
      `watching ${only ? `client ${only.name}` : `${clients.length} clients`} of stack ${deployed.stack} through ${roles.join(", ")}${stopped.length ? `; not running: ${stopped.join(", ")}` : ""}; ${capture.note}; Ctrl-C ends\n`,
    );

    const stallTimer = setInterval(() => {
      for (const entry of timelines.stalls(new Date())) process.stdout.write(`${formatEntry(entry)}\n`);
    }, 1000);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      if (duration) setTimeout(stop, duration * 1000);
    });
    clearInterval(stallTimer);
    for (const follower of followers) follower.destroy();
    await capture.stop();
    process.stdout.write(`\ntimelines:\n${formatTimelines(timelines)}`);
    return 0;
  },
};
