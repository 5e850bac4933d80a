/**
 * The deployed lab as the Docker host sees it, for `check`, `watch` and `bsdp`: the stack's
 * model, the names the NetbootServer component gave its objects, and the product's Docker client
 * (lib/docker-engine.ts) on the stack's `docker.host` (local engine, or ssh://user@host like the
 * Pulumi provider). No docker CLI is needed on this machine.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type Dockerode from "dockerode";
import { extract as tarExtract, pack as tarPack } from "tar-stream";
import { DEFAULT_CACHE_DIR } from "../lib/boot-image/upload-cache";
import { cliImageContext } from "../lib/cli-images";
import { buildImageFrom, dockerClient, engineFailure, engineStatus } from "../lib/docker-engine";
import { LAB_LABEL, labDockerNames, labNamePrefix, ROLE_LABEL, type LabDockerNames } from "../lib/lab-names";
import { readLabConfig, stackFilePath, validateLab, type ClientModel, type LabModel } from "../lib/model";
import type { ContainerState } from "../lib/check/probe";
import { labServers } from "../lib/servers";
import { CliError } from "./cli-error";

export interface DeployedLab {
  readonly stack: string;
  /** The raw lab config the model was validated from (what the probe container validates again). */
  readonly labConfig: Record<string, unknown>;
  readonly lab: LabModel;
  readonly names: LabDockerNames;
  /** A client of the lab's Docker host. */
  readonly docker: Dockerode;
  /** Runs one call of `docker`; a failure is a CliError saying what was being done, on which host, and what the engine answered. */
  call<T>(what: string, request: (docker: Dockerode) => Promise<T>): Promise<T>;
}

/** Where the stack file is: `--config FILE`, else `stacks/Pulumi.<stack>.yaml` under `--project`. */
export function openDeployedLab(stack: string, projectDir: string, configFile: string | undefined): DeployedLab {
  const path = configFile ? resolve(configFile) : stackFilePath(resolve(projectDir), stack);
  const labConfig = readLabConfig(path);
  const lab = validateLab(labConfig, path);
  let docker: Dockerode;
  try {
    docker = dockerClient(lab.docker.host);
  } catch (error) {
    throw new CliError(`netboot-lab:docker.host: ${(error as Error).message}`, 2);
  }
  return {
    stack,
    labConfig,
    lab,
    names: labDockerNames(labNamePrefix(stack, lab.docker)),
    docker,
    async call(what, request) {
      try {
        return await request(docker);
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(engineFailure(error, what, lab.docker.host).message);
      }
    },
  };
}

/** The options every command about a deployed lab takes (node:util parseArgs form). */
export const LAB_OPTIONS = {
  stack: { type: "string" },
  client: { type: "string" },
  config: { type: "string" },
  project: { type: "string", default: "." },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Opens the lab `--stack` (and `--config`/`--project`) name; with `--client`, the client too, or a usage error listing the clients. */
export function openLabFromArgs(
  command: string,
  usage: string,
  values: { stack?: string; client?: string; config?: string; project: string },
): { deployed: DeployedLab; client?: ClientModel } {
  if (!values.stack) throw new CliError(`${command}: --stack NAME is required\nusage: netboot-lab ${usage}`, 2);
  const deployed = openDeployedLab(values.stack, values.project, values.config);
  if (values.client === undefined) return { deployed };
  const client = deployed.lab.clients.find((candidate) => candidate.name === values.client);
  if (!client) {
    const names = deployed.lab.clients.map((candidate) => candidate.name).join(", ") || "(none)";
    throw new CliError(`${command}: stack ${values.stack} has no client "${values.client}"; its clients are ${names}`, 2);
  }
  return { deployed, client };
}

/** Roles of the lab's containers: the pod, then every daemon the stack runs. */
export function containerRoles(lab: LabModel): string[] {
  return ["pod", ...labServers(lab).map((server) => server.role)];
}

/** A call whose 404 means "not there": undefined then, anything else as `call` reports it. */
async function unlessMissing<T>(deployed: DeployedLab, what: string, request: (docker: Dockerode) => Promise<T>): Promise<T | undefined> {
  return deployed.call(what, async (docker) => {
    try {
      return await request(docker);
    } catch (error) {
      if (engineStatus(error) === 404) return undefined;
      throw error;
    }
  });
}

/** Fails with the fix when the stack's network is not on the Docker host: nothing was deployed. */
export async function requireDeployed(deployed: DeployedLab): Promise<void> {
  const network = await unlessMissing(deployed, `looking up network ${deployed.names.network}`, (docker) =>
    docker.getNetwork(deployed.names.network).inspect(),
  );
  if (!network) {
    const where = deployed.lab.docker.host ?? "the local Docker engine";
    throw new CliError(
      `stack ${deployed.stack} is not deployed on ${where}: there is no Docker network ${deployed.names.network} (docker.namePrefix ${deployed.names.prefix}). ` +
        `Run pulumi up (npm run lab -- up ${deployed.stack}) first.`,
      2,
    );
  }
}

/** What the engine says of container `name`, or undefined when it has none of that name. */
export function inspectContainer(deployed: DeployedLab, name: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
  return unlessMissing(deployed, `inspecting ${name}`, (docker) => docker.getContainer(name).inspect());
}

export async function containerStates(deployed: DeployedLab): Promise<Record<string, ContainerState>> {
  const states: Record<string, ContainerState> = {};
  for (const role of containerRoles(deployed.lab)) {
    const name = role === "pod" ? deployed.names.pod : deployed.names.container(role);
    const inspected = await inspectContainer(deployed, name);
    if (!inspected) {
      states[role] = { name, running: false, status: "missing" };
      continue;
    }
    const { Status: status, ExitCode: exitCode } = inspected.State;
    states[role] = { name, running: status === "running", status: status === "exited" ? `exited (code ${exitCode})` : status };
  }
  return states;
}

/** A file of a container (its mounted volumes included) as text, or undefined when it is not there. */
export async function readContainerFile(deployed: DeployedLab, container: string, path: string): Promise<string | undefined> {
  const archive = await unlessMissing(deployed, `reading ${path} in ${container}`, (docker) => docker.getContainer(container).getArchive({ path }));
  if (!archive) return undefined;
  const extract = tarExtract();
  archive.pipe(extract);
  const chunks: Buffer[] = [];
  for await (const entry of extract) for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Writes the output of `container` to `stdout` and `stderr` as the engine frames it, until the
 * container ends (or is removed); with `since` (a UNIX time in seconds), its older lines from
 * then on too, each with the engine's timestamp first. Resolves once following has begun, with
 * the stream, which ends when the output does.
 */
export async function followLogs(deployed: DeployedLab, container: string, stdout: Writable, stderr: Writable, since?: string): Promise<Readable> {
  // `since` goes to the engine as written: `<seconds>.<nanoseconds>`, which dockerode's types (whole seconds) do not know.
  const from = since ? { since: since as unknown as number, timestamps: true } : {};
  const stream = await deployed.call(`following the output of ${container}`, (docker) =>
    docker.getContainer(container).logs({ follow: true, stdout: true, stderr: true, ...from }),
  );
  deployed.docker.modem.demuxStream(stream, stdout, stderr);
  return stream as Readable;
}

/** Where the CLI that starts a probe container puts itself, and the probe's files, in it. */
export const PROBE_FOLDER = "/opt/netboot-lab/host";

/** A short-lived container on the lab network that runs this machine's netboot-lab CLI. */
export interface LabProbe {
  /** Its ROLE_LABEL and part of its name (`check`, `bsdp-probe`). */
  readonly role: string;
  readonly image: string;
  /** Its address on the lab network: one no client, pool or server uses. */
  readonly address: string;
  /** Every other capability is dropped. */
  readonly capabilities: readonly string[];
  readonly mounts?: readonly Dockerode.MountSettings[];
  /** Files put into PROBE_FOLDER, beside the CLI, before the container starts, by name. */
  readonly files?: Readonly<Record<string, string>>;
  /** Arguments of the CLI inside. */
  readonly cliArgs: readonly string[];
}

/**
 * The probe's container: on the lab network, every capability dropped but the probe's, with the
 * lab's labels. The MAC stays the one Docker derives from the address: a probe's `--mac` only
 * sets chaddr, which is what the server filters on, and a MAC per network needs API 1.44.
 */
export function probeContainerOptions(names: LabDockerNames, probe: LabProbe, suffix: string): Dockerode.ContainerCreateOptions {
  return {
    name: `${names.prefix}-${probe.role}-${suffix}`,
    Image: probe.image,
    Entrypoint: ["node", `${PROBE_FOLDER}/netboot-lab.cjs`],
    Cmd: [...probe.cliArgs],
    Labels: { [LAB_LABEL]: names.prefix, [ROLE_LABEL]: probe.role },
    HostConfig: {
      NetworkMode: names.network,
      CapDrop: ["ALL"],
      CapAdd: [...probe.capabilities],
      ...(probe.mounts ? { Mounts: [...probe.mounts] } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [names.network]: { IPAMConfig: { IPv4Address: probe.address } } } },
  };
}

/** The bundled CLI running now (bin/netboot-lab.cjs loads dist/netboot-lab.cjs), as the probe container runs it too. */
function hostCliBundle(): Buffer {
  const bundle = join(packageRoot(), "dist", "netboot-lab.cjs");
  if (!existsSync(bundle)) throw new CliError(`${bundle} does not exist; run \`npm run build\` in ${packageRoot()}`);
  return readFileSync(bundle);
}

/**
 * Runs `probe` to its end: the container is created, this machine's CLI bundle (and the probe's
 * files) copied in, started, its output written to `stdout`/`stderr` as it comes, and removed
 * whatever happens. The probe runs exactly the CLI of the user's command, in any image with
 * Node.js: no image is rebuilt when the CLI changes. Returns its exit code.
 */
export async function runLabProbe(deployed: DeployedLab, probe: LabProbe, stdout: Writable, stderr: Writable): Promise<number> {
  const options = probeContainerOptions(deployed.names, probe, randomBytes(3).toString("hex"));
  const container = await deployed.call(`creating the ${probe.role} container from ${probe.image}`, (docker) => docker.createContainer(options));
  try {
    const pack = tarPack();
    const folder = PROBE_FOLDER.slice(1);
    pack.entry({ name: `${folder}/netboot-lab.cjs`, mode: 0o644 }, hostCliBundle());
    for (const [name, content] of Object.entries(probe.files ?? {})) pack.entry({ name: `${folder}/${name}`, mode: 0o644 }, content);
    pack.finalize();
    await deployed.call(`copying the CLI into the ${probe.role} container`, () =>
      container.putArchive(pack as unknown as NodeJS.ReadableStream, { path: "/" }),
    );
    await deployed.call(`starting the ${probe.role} container`, () => container.start());
    await finished(await followLogs(deployed, container.id, stdout, stderr));
    const { StatusCode } = (await deployed.call(`waiting for the ${probe.role} container`, () => container.wait())) as { StatusCode: number };
    return StatusCode;
  } finally {
    await deployed.call(`removing the ${probe.role} container`, async () => {
      try {
        await container.remove({ force: true });
      } catch (error) {
        if (engineStatus(error) !== 404) throw error;
      }
    });
  }
}

/**
 * An image to run probes in: the one the lab's keeper or BSDP responder runs (Node.js, the
 * probes' tools), else the runtime image of this package, built when the engine lacks it.
 */
export async function probeImage(deployed: DeployedLab, command: string): Promise<string> {
  for (const role of ["keeper", "bsdp"]) {
    const inspected = await inspectContainer(deployed, deployed.names.container(role));
    if (inspected) return inspected.Config.Image;
  }
  const baseImage = deployed.lab.docker.baseImage;
  const context = cliImageContext("runtime", packageRoot(), baseImage, DEFAULT_CACHE_DIR);
  const present = await unlessMissing(deployed, `looking up ${context.imageName}`, (docker) => docker.getImage(context.imageName).inspect());
  if (present) return context.imageName;
  process.stderr.write(`netboot-lab ${command}: building the probe image ${context.imageName} (the lab's runtime image)…\n`);
  await deployed.call(`${command}: building the probe image ${context.imageName}`, (docker) =>
    buildImageFrom(docker, context.dir, { tag: context.imageName, buildArgs: { BASE_IMAGE: baseImage } }),
  );
  return context.imageName;
}

/** The folder with images/ and dist/: two levels up from cli/ in a clone, one from dist/ in the bundle. */
export function packageRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "images", "runtime", "Dockerfile"))) return dir;
  }
  throw new Error(`cannot find the netboot-lab package (images/runtime/Dockerfile) above ${__dirname}`);
}
