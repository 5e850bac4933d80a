/**
 * Creates declared @pulumi/docker resources on the local Docker engine, exactly as planned by
 * docker-plan.ts, so integration tests run the containers the component declares. Everything
 * created carries the caller's labels and is removed by `teardown()`; when applying fails
 * halfway, what was created so far is removed before the error is thrown.
 */
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import Docker from "dockerode";
import { pack } from "tar-stream";
import {
  DEFAULT_DOCKER_HOST,
  DockerNames,
  planDockerApply,
  type BuildImageStep,
  type ContainerStep,
  type DockerStep,
  type PlanOptions,
  type Upload,
} from "./docker-plan";
import { runSerializedProvider } from "./dynamic-provider";
import { PROJECT_DIR, type DeclaredResource } from "./pulumi-harness";

export interface ApplyOptions extends Omit<PlanOptions, "projectDir"> {
  /** Where relative build contexts and upload sources resolve; default: the repository root. */
  readonly projectDir?: string;
  /** Default: the engine at DOCKER_HOST or /var/run/docker.sock (and `localDockerHost` follows DOCKER_HOST too). */
  readonly docker?: Docker;
}

export interface AppliedLab {
  /** The engine's name for a declared network, volume or container (differs only with `namePrefix`). */
  dockerName(kind: "network" | "volume" | "container", declaredName: string): string;
  /** Output of containers declared with `attach` and `logs`, by engine name. */
  readonly containerLogs: Readonly<Record<string, string>>;
  /** What each dynamic resource's `create` returned (`{ id, outs }`) and its provider process's peak memory, by declared name. */
  readonly dynamicResults: Readonly<Record<string, DynamicResult>>;
  /** Removes every container (with its anonymous volumes), network and volume created; safe to call twice. */
  teardown(): Promise<void>;
}

export interface DynamicResult {
  readonly id: string;
  readonly outs: Record<string, unknown>;
  readonly maxRssMiB: number;
  readonly seconds: number;
}

export async function applyToDocker(resources: readonly DeclaredResource[], options: ApplyOptions): Promise<AppliedLab> {
  const docker = options.docker ?? new Docker();
  const steps = planDockerApply(resources, {
    ...options,
    projectDir: options.projectDir ?? PROJECT_DIR,
    localDockerHost: options.localDockerHost ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST,
  });
  const created = new CreatedObjects(docker);
  const containerLogs: Record<string, string> = {};
  const dynamicResults: Record<string, DynamicResult> = {};
  try {
    for (const step of steps) {
      await applyStep(docker, step, created, containerLogs, dynamicResults).catch((error: unknown) => {
        throw new Error(`applying ${step.kind} ${step.resource} failed: ${describe(error)}`, { cause: error });
      });
    }
  } catch (error) {
    await created.removeAll().catch((teardownError: unknown) => {
      throw new AggregateError([error, teardownError], `applying failed, and so did removing what was created: ${describe(teardownError)}`);
    });
    throw error;
  }
  const names = new DockerNames(resources, options.namePrefix);
  return { dockerName: (kind, declaredName) => names.of(kind, declaredName), containerLogs, dynamicResults, teardown: () => created.removeAll() };
}

/** What this run created, so teardown never touches anything else on a shared engine. */
export class CreatedObjects {
  private containers: string[] = [];
  private networks: string[] = [];
  private volumes: string[] = [];

  constructor(private readonly docker: Docker) {}

  container(name: string): void {
    this.containers.push(name);
  }

  network(name: string): void {
    this.networks.push(name);
  }

  volume(name: string): void {
    this.volumes.push(name);
  }

  async removeAll(): Promise<void> {
    const failures: unknown[] = [];
    const remove = async (what: () => Promise<unknown>) => {
      try {
        await what();
      } catch (error) {
        if (!isNotFound(error) && !isRemovalInProgress(error)) failures.push(error);
      }
    };
    // Containers first: networks and volumes in use cannot be removed. `v` takes their anonymous volumes along.
    for (const name of this.containers.splice(0).reverse()) await remove(() => this.docker.getContainer(name).remove({ force: true, v: true }));
    for (const name of this.networks.splice(0).reverse()) await remove(() => this.docker.getNetwork(name).remove());
    for (const name of this.volumes.splice(0).reverse()) await remove(() => this.docker.getVolume(name).remove({ force: true }));
    if (failures.length) throw new AggregateError(failures, `teardown could not remove everything: ${failures.map(describe).join("; ")}`);
  }
}

/** Creates what one planned step declares, as the provider's create does. */
export async function applyStep(
  docker: Docker,
  step: DockerStep,
  created: CreatedObjects,
  containerLogs: Record<string, string>,
  dynamicResults: Record<string, DynamicResult>,
): Promise<void> {
  switch (step.kind) {
    case "network":
      await docker.createNetwork(step.create);
      created.network(step.create.Name);
      return;
    case "volume":
      // Creating an existing volume silently returns it; teardown would then delete someone else's data.
      if (await exists(() => docker.getVolume(step.create.Name).inspect())) {
        throw new Error(`volume ${step.create.Name} (${step.resource}) already exists on the engine; use namePrefix to keep test runs apart`);
      }
      await docker.createVolume(step.create);
      created.volume(step.create.Name);
      return;
    case "build-image":
      return buildImage(docker, step);
    case "local-image":
      if (!(await exists(() => docker.getImage(step.imageName).inspect()))) {
        throw new Error(
          `image ${step.imageName} (${step.resource}) is not on the engine and the tests never pull; build or import it first (scripts/build-offline-base-image.sh)`,
        );
      }
      return;
    case "container":
      return runContainer(docker, step, created, containerLogs);
    case "dynamic": {
      // Whatever it writes lives in volumes this run created; its own containers are gone when it returns.
      const { result, maxRssMiB, seconds } = await runSerializedProvider<{ id: string; outs: Record<string, unknown> }>(step.provider, "create", [step.inputs]);
      dynamicResults[step.resource] = { ...result, maxRssMiB, seconds };
      return;
    }
  }
}

async function buildImage(docker: Docker, step: BuildImageStep): Promise<void> {
  const stream = await docker.buildImage({ context: step.context, src: readdirSync(step.context) }, step.build);
  const events = await new Promise<{ stream?: string; error?: string }[]>((resolveBuild, rejectBuild) =>
    docker.modem.followProgress(stream, (error, output) => (error ? rejectBuild(error) : resolveBuild(output))),
  );
  const failure = events.find((event) => event.error);
  if (failure) {
    const log = events
      .map((event) => event.stream ?? "")
      .join("")
      .split("\n")
      .slice(-20)
      .join("\n");
    throw new Error(`building ${step.build.t} (${step.resource}) from ${step.context} failed: ${failure.error}\n${log}`);
  }
}

/** As the provider does: create, leave the default bridge for `networksAdvanced`, upload, start, then check or wait. */
async function runContainer(docker: Docker, step: ContainerStep, created: CreatedObjects, containerLogs: Record<string, string>): Promise<void> {
  const { name } = step.create;
  let container: Docker.Container;
  try {
    container = await docker.createContainer(step.create);
  } catch (error) {
    if (isNotFound(error)) {
      throw new Error(
        `container ${name} (${step.resource}): image ${step.create.Image} is neither built by the stack nor on the engine; the tests never pull`,
        { cause: error },
      );
    }
    throw error;
  }
  created.container(name);
  if (step.networks.length) {
    await docker
      .getNetwork("bridge")
      .disconnect({ Container: name })
      .catch((error: unknown) => {
        if (!/is not connected/.test(describe(error))) throw error;
      });
    for (const { network, endpoint } of step.networks) await docker.getNetwork(network).connect({ Container: name, EndpointConfig: endpoint });
  }
  if (step.uploads.length) await container.putArchive(await uploadArchive(step.uploads), { path: "/" });
  if (!step.start) return;
  await container.start();
  if (step.attach) {
    await container.wait();
    if (step.logs) containerLogs[name] = demuxLogs(await container.logs({ stdout: true, stderr: true, follow: false }));
  }
  const { State } = await container.inspect();
  if (step.mustRun && !State.Running) {
    const tail = demuxLogs(await container.logs({ stdout: true, stderr: true, follow: false, tail: 20 }));
    throw new Error(
      `container ${name} (${step.resource}) is not running (exit code ${State.ExitCode}) and mustRun is not false, so the provider would fail too. Last output:\n${tail}`,
    );
  }
}

async function uploadArchive(uploads: readonly Upload[]): Promise<Buffer> {
  const archive = pack();
  for (const upload of uploads) {
    const content = Buffer.isBuffer(upload.content) ? upload.content : await readFile(upload.content.sourcePath);
    archive.entry({ name: upload.path.replace(/^\/+/, ""), mode: upload.mode, uid: upload.uid, gid: upload.gid }, content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The engine frames a non-TTY container's stdout and stderr: an 8-byte header (stream, 3 zero
 * bytes, big-endian length), then the payload. Output from a TTY container is unframed.
 */
export function demuxLogs(raw: Buffer): string {
  const framed = raw.length >= 8 && raw[0]! <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
  if (!framed) return raw.toString("utf8");
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length;) {
    const length = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString("utf8");
}

async function exists(inspect: () => Promise<unknown>): Promise<boolean> {
  try {
    await inspect();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}

/** Someone else (a global cleanup) is already removing it: it will be gone either way. */
function isRemovalInProgress(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 409 && /already in progress/.test(describe(error));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
