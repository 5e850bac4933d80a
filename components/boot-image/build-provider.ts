/**
 * The dynamic provider of BootImageBuild: runs one boot image's build in a one-shot builder
 * container, streaming the user's media into the boot-tree volume through the Docker Engine
 * API (`PUT /containers/{id}/archive`, what `docker cp` does) over the same Docker host the
 * docker provider uses, with the product's one Docker client (lib/docker-engine.ts: dockerode;
 * ssh:// through `ssh … docker system dial-stdio`).
 *
 * Why not `docker.Container` `uploads`: the docker provider reads every uploaded file into
 * memory, several times over (6.3 GiB resident for a 2 GiB root image). Here a file goes from
 * disk to the socket in 1 MiB chunks through tar-stream with backpressure, so memory stays flat
 * whatever its size (an 8 GiB root image: see scripts/bench-media.ts); a file already in the
 * volume (same content hash, same size) is not sent again; and a failed build fails
 * `create`/`update`, so the next `pulumi up` runs it again without `--replace`.
 *
 * Read and delete run no builder: they only look into the volume and remove a folder, in the
 * `toolImage` (the lab's server image, which its daemons keep on the engine), so a refresh,
 * and with it every `up` and `destroy`, still works after `docker image prune -a` removed the
 * builder image.
 *
 * Pulumi serializes this provider into the stack's state and runs it in its own process: the
 * code below loads packages with require() inside the functions that use them and refers only
 * to the functions and constants of this module and of lib/docker-engine.ts.
 */
import type Dockerode from "dockerode";
import type { Readable } from "node:stream";
import type { Pack } from "tar-stream";
import { buildImageFrom, dockerClient, engineFailure, engineStatus } from "../../lib/docker-engine";

/** A user file streamed into the boot tree volume before the build. */
export interface MediaInput {
  /** On the machine running Pulumi. */
  readonly localPath: string;
  /** In the builder container, under the boot tree's media folder. */
  readonly containerPath: string;
  readonly sha256: string;
  readonly size: number;
}

/** A small file the program generated (the spec, an mkext), sent in the same archive as the others. */
export interface GeneratedInput {
  /** A file in the program's cache folder (an mkext), or undefined when `content` carries it. */
  readonly localPath?: string;
  /** Text content (the spec). */
  readonly content?: string;
  readonly containerPath: string;
}

export interface BootImageBuildInputs {
  /** `unix:///…`, `tcp://host:port` or `ssh://user@host[:port]`; default DOCKER_HOST, else the local socket. */
  readonly dockerHost?: string;
  /** Extra `ssh` arguments for an ssh:// host (the docker provider's `sshOpts`), e.g. `["-i", "~/.ssh/lab"]`. */
  readonly sshOptions?: readonly string[];
  readonly builderImage: string;
  /**
   * How the builder image is built (the BootImageBuilder's context folder, build args and
   * platform), for a build that finds it gone from the engine (`docker image prune -a`): the
   * docker provider's image read never looks at the engine, so no `pulumi up` would build it again.
   */
  readonly builderSource?: ImageSource;
  /**
   * An image with `rm` that stays on the engine while the lab runs (the lab's server image): read
   * and delete run in it. Absent in states written before it existed: the builder image then.
   */
  readonly toolImage?: string;
  readonly bootTreeVolume: string;
  /** Mount point of the volume in the builder (BUILDER_PATHS.bootTree). */
  readonly bootTreePath: string;
  /** The image's folder in the tree: what `delete` removes, with `<mediaPath>/<imageName>`. */
  readonly imageName: string;
  /** The tree's media folder (BUILDER_PATHS.media): root-only, one folder of uploads per image. */
  readonly mediaPath: string;
  /** The builder's command for this image. */
  readonly command: readonly string[];
  readonly media: readonly MediaInput[];
  readonly generated: readonly GeneratedInput[];
  /** Changes exactly when the built payload would: a change rebuilds, nothing else does. */
  readonly contentHash: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A Docker image's build, as docker.Image declares it. */
export interface ImageSource {
  /** Folder sent as the build context; holds the Dockerfile. */
  readonly context: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly platform: string;
}

export interface BootImageBuildOutputs extends BootImageBuildInputs {
  /** The builder's output. */
  readonly buildLog: string;
  /** Container paths of the media this build sent; the others were in the volume already. */
  readonly uploaded: readonly string[];
}

const CHUNK = 1 << 20;

function clientOf(inputs: Pick<BootImageBuildInputs, "dockerHost" | "sshOptions">): Dockerode {
  return dockerClient(inputs.dockerHost, inputs.sshOptions ?? []);
}

/** Runs one engine call; a failure says what was being done and what the engine (or ssh) answered. */
async function engine<T>(inputs: Pick<BootImageBuildInputs, "dockerHost">, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw engineFailure(error, what, inputs.dockerHost);
  }
}

/** A container that mounts the boot-tree volume and runs `command` in `image`; not started. */
async function createVolumeContainer(
  docker: Dockerode,
  inputs: BootImageBuildInputs,
  image: string,
  command: readonly string[],
  entrypoint?: readonly string[],
): Promise<Dockerode.Container> {
  return engine(inputs, `creating a container of ${image} for boot image "${inputs.imageName}"`, () =>
    docker.createContainer({
      Image: image,
      ...(entrypoint ? { Entrypoint: [...entrypoint] } : {}),
      Cmd: [...command],
      Labels: { ...inputs.labels },
      HostConfig: {
        // No network and no capability: the build only writes files into the volume as root.
        NetworkMode: "none",
        CapDrop: ["ALL"],
        Mounts: [{ Type: "volume", Source: inputs.bootTreeVolume, Target: inputs.bootTreePath }],
      },
    }),
  );
}

async function removeContainer(inputs: BootImageBuildInputs, container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (engineStatus(error) !== 404) throw engineFailure(error, `removing container ${container.id.slice(0, 12)}`, inputs.dockerHost);
  }
}

/** Size of a file in the container (its mounted volume included), or undefined when it is not there. */
async function sizeInContainer(inputs: BootImageBuildInputs, container: Dockerode.Container, path: string): Promise<number | undefined> {
  let response: { headers: Record<string, string | string[] | undefined>; resume(): void };
  try {
    response = (await container.infoArchive({ path })) as unknown as typeof response;
  } catch (error) {
    if (engineStatus(error) === 404) return undefined;
    throw engineFailure(error, `looking for ${path} in the boot tree`, inputs.dockerHost);
  }
  response.resume();
  const stat = response.headers["x-docker-container-path-stat"];
  if (typeof stat !== "string") return undefined;
  return (JSON.parse(Buffer.from(stat, "base64").toString("utf8")) as { size: number }).size;
}

type ArchiveEntry =
  | { readonly kind: "folder"; readonly path: string; readonly mode: number }
  | { readonly kind: "bytes"; readonly path: string; readonly content: Buffer }
  | { readonly kind: "file"; readonly path: string; readonly localPath: string; readonly size: number };

/**
 * Copies a file into the archive's current entry in 1 MiB chunks, waiting whenever the entry
 * (and so the socket behind it) is full. A file whose size changed since it was planned is an error.
 */
async function streamFile(pack: Pack, entry: Extract<ArchiveEntry, { kind: "file" }>, name: string): Promise<void> {
  const { createReadStream } = require("node:fs") as typeof import("node:fs");
  const { once } = require("node:events") as typeof import("node:events");
  let done!: (error?: Error | null) => void;
  const written = new Promise<void>((resolve, reject) => (done = (error) => (error ? reject(error) : resolve())));
  const sink = pack.entry({ name, size: entry.size, mode: 0o644 }, (error) => done(error));
  let sent = 0;
  for await (const chunk of createReadStream(entry.localPath, { highWaterMark: CHUNK })) {
    sent += (chunk as Buffer).length;
    if (sent > entry.size) break;
    if (!sink.write(chunk as Buffer)) await once(sink, "drain");
  }
  if (sent !== entry.size) {
    const changed = new Error(`${entry.localPath} changed while it was uploaded (planned ${entry.size} bytes, read ${sent}); run pulumi up again`);
    sink.destroy(changed);
    throw changed;
  }
  // streamx's typings want the optional last chunk.
  sink.end(undefined);
  await written;
}

/**
 * A tar archive rooted at `/`, produced as the socket takes it: tar-stream writes the headers
 * (PAX for long names, base-256 sizes past ustar's 8 GiB) and each file is read from disk as
 * it is sent, so an 8 GiB root image never sits in memory.
 */
function archive(entries: readonly ArchiveEntry[]): Pack {
  const tar = require("tar-stream") as typeof import("tar-stream");
  const pack = tar.pack();
  const fill = async () => {
    for (const entry of entries) {
      const name = entry.path.replace(/^\/+/, "");
      if (entry.kind === "folder") pack.entry({ name, type: "directory", mode: entry.mode });
      else if (entry.kind === "bytes") pack.entry({ name, size: entry.content.length, mode: 0o644 }, entry.content);
      else await streamFile(pack, entry, name);
    }
    pack.finalize();
  };
  fill().catch((error: Error) => pack.destroy(error));
  return pack;
}

async function putArchive(inputs: BootImageBuildInputs, container: Dockerode.Container, entries: readonly ArchiveEntry[], what: string): Promise<void> {
  const pack = archive(entries);
  // The archive's own failure (a file that changed) says more than the aborted request it causes.
  let packError: Error | undefined;
  pack.on("error", (error: Error) => (packError = error));
  try {
    await container.putArchive(pack as unknown as Readable, { path: "/" });
  } catch (error) {
    throw packError ?? engineFailure(error, what, inputs.dockerHost);
  }
  if (packError) throw packError;
}

/** Folders from the media root down to each file, root-only, so the servers cannot read the media folder. */
function mediaFolders(media: readonly MediaInput[], mediaPath: string): ArchiveEntry[] {
  const folders = new Set<string>([mediaPath]);
  for (const file of media) {
    const parts = file.containerPath
      .slice(mediaPath.length + 1)
      .split("/")
      .slice(0, -1);
    parts.forEach((_, index) => folders.add(`${mediaPath}/${parts.slice(0, index + 1).join("/")}`));
  }
  return media.length ? [...folders].sort().map((path) => ({ kind: "folder", path, mode: 0o700 })) : [];
}

/** Starts the container, waits for it to exit and returns its exit code and output (stdout and stderr as they came). */
async function runToCompletion(
  inputs: BootImageBuildInputs,
  docker: Dockerode,
  container: Dockerode.Container,
  what: string,
): Promise<{ exitCode: number; log: string }> {
  const { Writable } = require("node:stream") as typeof import("node:stream");
  const { finished } = require("node:stream/promises") as typeof import("node:stream/promises");
  await engine(inputs, `starting ${what}`, () => container.start());
  const { StatusCode } = (await engine(inputs, `waiting for ${what}`, () => container.wait())) as { StatusCode: number };
  const logs = await engine(inputs, `reading the output of ${what}`, () => container.logs({ follow: true, stdout: true, stderr: true }));
  // Kept as each frame is written, so the whole output is there once the stream has ended.
  const chunks: Buffer[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  docker.modem.demuxStream(logs, output, output);
  await finished(logs as Readable);
  return { exitCode: StatusCode, log: Buffer.concat(chunks).toString("utf8") };
}

/**
 * Builds the builder image from its source when the engine lacks it, as the docker provider
 * built it at first; the context is a small folder (a Dockerfile and one bundle), sent whole.
 */
async function ensureBuilderImage(docker: Dockerode, inputs: BootImageBuildInputs): Promise<void> {
  try {
    await docker.getImage(inputs.builderImage).inspect();
    return;
  } catch (error) {
    if (engineStatus(error) !== 404) throw engineFailure(error, `looking up image ${inputs.builderImage}`, inputs.dockerHost);
  }
  const source = inputs.builderSource;
  if (!source) {
    throw new Error(
      `the builder image ${inputs.builderImage} is not on the Docker host (docker image prune -a removes it) and this state does not say how to build it; ` +
        "run pulumi up again with this version of netboot-lab, which records it",
    );
  }
  const what = `building the builder image ${inputs.builderImage} again from ${source.context} (it is gone from the Docker host)`;
  await engine(inputs, what, () =>
    buildImageFrom(docker, source.context, { tag: inputs.builderImage, buildArgs: source.buildArgs, platform: source.platform }),
  );
}

/** Uploads what the volume lacks, then runs the build; throws (failing the Pulumi step) when the build fails. */
async function build(inputs: BootImageBuildInputs): Promise<BootImageBuildOutputs> {
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  const docker = clientOf(inputs);
  await ensureBuilderImage(docker, inputs);
  const container = await createVolumeContainer(docker, inputs, inputs.builderImage, inputs.command);
  try {
    const missing: MediaInput[] = [];
    for (const file of inputs.media) {
      // Named by content: the same size means the same file, a shorter one an interrupted upload.
      if ((await sizeInContainer(inputs, container, file.containerPath)) !== file.size) missing.push(file);
    }
    const generated: ArchiveEntry[] = inputs.generated.map((file) => ({
      kind: "bytes",
      path: file.containerPath,
      content: file.localPath ? readFileSync(file.localPath) : Buffer.from(file.content ?? ""),
    }));
    const media: ArchiveEntry[] = missing.map((file) => ({ kind: "file", path: file.containerPath, localPath: file.localPath, size: file.size }));
    await putArchive(
      inputs,
      container,
      [...generated, ...mediaFolders(missing, inputs.mediaPath), ...media],
      `uploading the inputs of boot image "${inputs.imageName}"`,
    );
    const { exitCode, log } = await runToCompletion(inputs, docker, container, `the build of boot image "${inputs.imageName}"`);
    if (exitCode !== 0) {
      throw new Error(
        `building boot image "${inputs.imageName}" failed in the builder container (exit code ${exitCode}):\n${log || "(no output)"}\n` +
          "Fix the cause and run `pulumi up` again: a failed build is not recorded, so the next update runs it again.",
      );
    }
    return { ...inputs, buildLog: log, uploaded: missing.map((file) => file.containerPath) };
  } finally {
    await removeContainer(inputs, container);
  }
}

async function volumeExists(inputs: BootImageBuildInputs, docker: Dockerode): Promise<boolean> {
  try {
    await docker.getVolume(inputs.bootTreeVolume).inspect();
    return true;
  } catch (error) {
    if (engineStatus(error) === 404) return false;
    throw engineFailure(error, `looking up volume ${inputs.bootTreeVolume}`, inputs.dockerHost);
  }
}

/** The image read and delete run in; states from before `toolImage` name only the builder. */
function toolImageOf(props: BootImageBuildInputs): string {
  return props.toolImage || props.builderImage;
}

/** Whether a change from `olds` to `news` needs the builder to run again (the image's content or the builder changed). */
function needsRebuild(olds: BootImageBuildInputs, news: BootImageBuildInputs): boolean {
  return olds.contentHash !== news.contentHash || olds.builderImage !== news.builderImage || JSON.stringify(olds.command) !== JSON.stringify(news.command);
}

/** Keys whose change means another place in another volume or host: a new image there, the old one removed first. */
const PLACEMENT_KEYS = ["dockerHost", "bootTreeVolume", "bootTreePath", "imageName"] as const;

export const bootImageBuildProvider = {
  async create(inputs: BootImageBuildInputs) {
    const outs = await build(inputs);
    return { id: `${inputs.bootTreeVolume}/${inputs.imageName}`, outs };
  },

  async diff(_id: string, olds: BootImageBuildOutputs, news: BootImageBuildInputs) {
    const replaces = PLACEMENT_KEYS.filter((key) => (olds[key] ?? "") !== (news[key] ?? ""));
    // A new tool image or new labels are recorded without building: the state must name an image that is still on the engine.
    const recorded = toolImageOf(olds) !== toolImageOf(news) || JSON.stringify(olds.labels) !== JSON.stringify(news.labels);
    // Delete before replace: the old build's removal must not take the new build's folder with it.
    return { changes: replaces.length > 0 || needsRebuild(olds, news) || recorded, replaces: [...replaces], deleteBeforeReplace: replaces.length > 0 };
  },

  async update(_id: string, olds: BootImageBuildOutputs, news: BootImageBuildInputs) {
    // A build that failed leaves the old state, so the next update compares against it and runs again.
    return { outs: needsRebuild(olds, news) ? await build(news) : { ...news, buildLog: olds.buildLog, uploaded: [] } };
  },

  /**
   * Refresh: an image whose folder is gone from the volume (or whose volume is gone) is gone, so
   * `pulumi up` builds it again. Whether the folder exists is all it checks: the build swaps a
   * finished folder into place, so a folder there is a complete build, and what it holds follows
   * `contentHash` (`netboot-lab check` compares the files with the build record).
   */
  async read(id: string, props: BootImageBuildOutputs) {
    const docker = clientOf(props);
    if (!(await volumeExists(props, docker))) return { id: "", props };
    // Created, never started: the engine answers for the volume's files through the container's mounts.
    const container = await createVolumeContainer(docker, props, toolImageOf(props), ["true"]);
    try {
      const present = (await sizeInContainer(props, container, `${props.bootTreePath}/${props.imageName}`)) !== undefined;
      return { id: present ? id : "", props };
    } finally {
      await removeContainer(props, container);
    }
  },

  /** Removes the image's folder and its media from the tree, so a removed or renamed image is no longer served. */
  async delete(_id: string, props: BootImageBuildOutputs) {
    // A name the schema allows is one folder name: removal must never reach outside the tree or take the media folder.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(props.imageName) || `${props.bootTreePath}/${props.imageName}` === props.mediaPath)
      throw new Error(`"${props.imageName}" is not a boot image name (letters, digits, ".", "_", "-"); nothing was removed`);
    const docker = clientOf(props);
    // Removing a volume takes the image with it; creating a container on a missing volume would create the volume again.
    if (!(await volumeExists(props, docker))) return;
    const folders = [`${props.bootTreePath}/${props.imageName}`, `${props.mediaPath}/${props.imageName}`];
    const container = await createVolumeContainer(docker, props, toolImageOf(props), ["-rf", "--", ...folders], ["rm"]);
    try {
      const { exitCode, log } = await runToCompletion(props, docker, container, `the removal of boot image "${props.imageName}"`);
      if (exitCode !== 0)
        throw new Error(`removing boot image "${props.imageName}" from volume ${props.bootTreeVolume} failed (exit code ${exitCode}):\n${log}`);
    } finally {
      await removeContainer(props, container);
    }
  },
};
