/**
 * The dynamic provider of BootImageBuild: runs one boot image's build in a one-shot builder
 * container, streaming the user's media into the boot-tree volume through the Docker Engine
 * API (`PUT /containers/{id}/archive`, what `docker cp` does) over the same Docker host the
 * docker provider uses: a unix socket, tcp://, or ssh://user@host through `ssh … docker
 * system dial-stdio` (the docker CLI's and the docker provider's own ssh transport).
 *
 * Why not `docker.Container` `uploads`: the docker provider reads every uploaded file into
 * memory, several times over (6.3 GiB resident for a 2 GiB root image). Here a file goes from
 * disk to the socket in 1 MiB chunks with backpressure, so memory stays flat whatever its size;
 * a file already in the volume (same content hash, same size) is not sent again; and a failed
 * build fails `create`/`update`, so the next `pulumi up` runs it again without `--replace`.
 *
 * Pulumi serializes this provider into the stack state and runs it in its own process: the
 * code below imports nothing at run time (builtins come from `process.getBuiltinModule`) and
 * refers only to the functions and constants of this module.
 */
import type { ChildProcessByStdio } from "node:child_process";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable, Writable } from "node:stream";

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
  readonly bootTreeVolume: string;
  /** Mount point of the volume in the builder (BUILDER_PATHS.bootTree). */
  readonly bootTreePath: string;
  /** The image's folder in the tree: what `delete` removes. */
  readonly imageName: string;
  /** The builder's command for this image. */
  readonly command: readonly string[];
  readonly media: readonly MediaInput[];
  readonly generated: readonly GeneratedInput[];
  /** Changes exactly when the built payload would: a change rebuilds, nothing else does. */
  readonly contentHash: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface BootImageBuildOutputs extends BootImageBuildInputs {
  /** The builder's output. */
  readonly buildLog: string;
  /** Container paths of the media this build sent; the others were in the volume already. */
  readonly uploaded: readonly string[];
}

/** A Docker host as the provider dials it. */
type Endpoint =
  | { readonly kind: "unix"; readonly socketPath: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "ssh"; readonly destination: string; readonly port?: string; readonly options: readonly string[] };

interface DockerResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const BLOCK = 512;
const CHUNK = 1 << 20;
/** Largest size a ustar header's 11 octal digits hold; bigger files need a PAX size record. */
const USTAR_MAX_SIZE = 0o77777777777;

function endpointOf(host: string | undefined, sshOptions: readonly string[] | undefined): Endpoint {
  const value = host || process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  if (value.startsWith("unix://")) return { kind: "unix", socketPath: value.slice("unix://".length) };
  const url = new URL(value);
  if (url.protocol === "ssh:") {
    const destination = url.username ? `${decodeURIComponent(url.username)}@${url.hostname}` : url.hostname;
    return { kind: "ssh", destination, ...(url.port ? { port: url.port } : {}), options: sshOptions ?? [] };
  }
  if (url.protocol === "tcp:" || url.protocol === "http:") {
    if (process.env.DOCKER_TLS_VERIFY)
      throw new Error(`Docker host ${value}: TLS (DOCKER_TLS_VERIFY) is not supported for boot image uploads; use ssh://user@host or the local socket`);
    return { kind: "tcp", host: url.hostname, port: Number(url.port || 2375) };
  }
  throw new Error(`Docker host ${value}: only unix://, tcp:// and ssh:// hosts are supported`);
}

/** One connection to the engine: a fresh `ssh … docker system dial-stdio` per request for ssh hosts. */
function sshConnection(endpoint: Extract<Endpoint, { kind: "ssh" }>): { socket: import("node:stream").Duplex; stderr: () => string; close: () => void } {
  const { spawn } = process.getBuiltinModule("node:child_process");
  const { Duplex } = process.getBuiltinModule("node:stream");
  const args = [
    ...(endpoint.port ? ["-p", endpoint.port] : []),
    "-o",
    "ConnectTimeout=30",
    "-T",
    ...endpoint.options,
    "--",
    endpoint.destination,
    "docker",
    "system",
    "dial-stdio",
  ];
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-4000)));
  const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
  return { socket, stderr: () => stderr.trim(), close: () => child.kill() };
}

/** An Engine API request; `body` is JSON or a stream (an archive). Resolves with the whole (small) response. */
function dockerRequest(endpoint: Endpoint, method: string, path: string, body?: unknown): Promise<DockerResponse> {
  const http = process.getBuiltinModule("node:http");
  const { pipeline } = process.getBuiltinModule("node:stream");
  const isStream = typeof (body as { pipe?: unknown } | undefined)?.pipe === "function";
  const headers: Record<string, string> = { Host: "docker" };
  let payload: Buffer | undefined;
  if (isStream) headers["Content-Type"] = "application/x-tar";
  else if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body));
    headers["Content-Type"] = "application/json";
    headers["Content-Length"] = String(payload.length);
  }
  const ssh = endpoint.kind === "ssh" ? sshConnection(endpoint) : undefined;
  const target =
    endpoint.kind === "unix"
      ? { socketPath: endpoint.socketPath, agent: false as const }
      : endpoint.kind === "tcp"
        ? { host: endpoint.host, port: endpoint.port, agent: false as const }
        : { createConnection: () => ssh!.socket };
  return new Promise<DockerResponse>((resolve, reject) => {
    const fail = (error: Error) => {
      const detail = ssh?.stderr();
      reject(new Error(`Docker ${method} ${path.split("?")[0]}: ${error.message}${detail ? ` (ssh: ${detail})` : ""}`));
    };
    const request = http.request({ ...target, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", fail);
      response.on("end", () => {
        ssh?.close();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
    });
    request.on("error", (error) => {
      ssh?.close();
      fail(error);
    });
    if (isStream) {
      pipeline(body as Readable, request, (error) => {
        if (error) {
          ssh?.close();
          fail(error);
        }
      });
    } else request.end(payload);
  });
}

/** The engine's error message for a failed request. */
function engineError(response: DockerResponse, what: string): Error {
  let message = response.body.toString("utf8").trim();
  try {
    message = (JSON.parse(message) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: keep the text.
  }
  return new Error(`${what}: the Docker engine answered ${response.status}: ${message}`);
}

async function dockerJson(endpoint: Endpoint, method: string, path: string, what: string, body?: unknown): Promise<unknown> {
  const response = await dockerRequest(endpoint, method, path, body);
  if (response.status >= 300) throw engineError(response, what);
  return response.body.length ? (JSON.parse(response.body.toString("utf8")) as unknown) : undefined;
}

/** A container that mounts the boot-tree volume and runs `command` in the builder image; not started. */
async function createBuilderContainer(
  endpoint: Endpoint,
  inputs: BootImageBuildInputs,
  command: readonly string[],
  entrypoint?: readonly string[],
): Promise<string> {
  const created = (await dockerJson(endpoint, "POST", "/containers/create", `creating the builder container for boot image "${inputs.imageName}"`, {
    Image: inputs.builderImage,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    Cmd: command,
    Labels: inputs.labels,
    HostConfig: {
      // No network and no capability: the build only writes files into the volume as root.
      NetworkMode: "none",
      CapDrop: ["ALL"],
      Mounts: [{ Type: "volume", Source: inputs.bootTreeVolume, Target: inputs.bootTreePath }],
    },
  })) as { Id: string };
  return created.Id;
}

async function removeContainer(endpoint: Endpoint, id: string): Promise<void> {
  const response = await dockerRequest(endpoint, "DELETE", `/containers/${id}?force=true&v=true`);
  if (response.status >= 300 && response.status !== 404) throw engineError(response, `removing builder container ${id.slice(0, 12)}`);
}

/** Size of a file in the container (its mounted volume included), or undefined when it is not there. */
async function sizeInContainer(endpoint: Endpoint, id: string, path: string): Promise<number | undefined> {
  const response = await dockerRequest(endpoint, "HEAD", `/containers/${id}/archive?path=${encodeURIComponent(path)}`);
  if (response.status === 404) return undefined;
  if (response.status >= 300) throw engineError(response, `looking for ${path} in the boot tree`);
  const stat = response.headers["x-docker-container-path-stat"];
  if (typeof stat !== "string") return undefined;
  return (JSON.parse(Buffer.from(stat, "base64").toString("utf8")) as { size: number }).size;
}

/** A PAX extended-header record, `<length> <key>=<value>\n`, its length counting itself. */
function paxRecord(key: string, value: string): string {
  const text = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(text) + 1;
  while (String(length).length + Buffer.byteLength(text) !== length) length += 1;
  return `${length}${text}`;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** One 512-byte ustar header block. */
function ustarHeader(name: string, size: number, mode: number, type: "0" | "5" | "x"): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name.slice(0, 100), 0, 100, "utf8");
  header.write(octal(mode, 8), 100, 8, "ascii");
  header.write(octal(0, 8), 108, 8, "ascii");
  header.write(octal(0, 8), 116, 8, "ascii");
  header.write(octal(Math.min(size, USTAR_MAX_SIZE), 12), 124, 12, "ascii");
  header.write(octal(0, 12), 136, 12, "ascii");
  header.fill(" ", 148, 156);
  header.write(type, 156, 1, "ascii");
  header.write("ustar\u000000", 257, 8, "ascii");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return header;
}

/** Header blocks for an entry: a PAX header first when the name or size outgrows ustar. */
function tarHeaders(name: string, size: number, mode: number, type: "0" | "5"): Buffer[] {
  const records = (Buffer.byteLength(name) > 100 ? paxRecord("path", name) : "") + (size > USTAR_MAX_SIZE ? paxRecord("size", String(size)) : "");
  if (!records) return [ustarHeader(name, size, mode, type)];
  const pax = Buffer.from(records);
  return [ustarHeader("PaxHeader", pax.length, 0o644, "x"), pax, Buffer.alloc((BLOCK - (pax.length % BLOCK)) % BLOCK), ustarHeader(name, size, mode, type)];
}

type ArchiveEntry =
  | { readonly kind: "folder"; readonly path: string; readonly mode: number }
  | { readonly kind: "bytes"; readonly path: string; readonly content: Buffer }
  | { readonly kind: "file"; readonly path: string; readonly localPath: string; readonly size: number };

/**
 * A tar archive rooted at `/`, produced as it is read: files are read in 1 MiB chunks, so an
 * 8 GiB root image never sits in memory. A file whose size changed since it was planned is an error.
 */
async function* tarStream(entries: readonly ArchiveEntry[]): AsyncGenerator<Buffer> {
  const { createReadStream } = process.getBuiltinModule("node:fs");
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, "") + (entry.kind === "folder" ? "/" : "");
    if (entry.kind === "folder") {
      yield* tarHeaders(name, 0, entry.mode, "5");
      continue;
    }
    const size = entry.kind === "bytes" ? entry.content.length : entry.size;
    yield* tarHeaders(name, size, 0o644, "0");
    if (entry.kind === "bytes") yield entry.content;
    else {
      let sent = 0;
      for await (const chunk of createReadStream(entry.localPath, { highWaterMark: CHUNK })) {
        sent += (chunk as Buffer).length;
        if (sent > size) break;
        yield chunk as Buffer;
      }
      if (sent !== size) throw new Error(`${entry.localPath} changed while it was uploaded (planned ${size} bytes, read ${sent}); run pulumi up again`);
    }
    if (size % BLOCK) yield Buffer.alloc(BLOCK - (size % BLOCK));
  }
  yield Buffer.alloc(2 * BLOCK);
}

async function putArchive(endpoint: Endpoint, id: string, entries: readonly ArchiveEntry[], what: string): Promise<void> {
  const { Readable } = process.getBuiltinModule("node:stream");
  const response = await dockerRequest(endpoint, "PUT", `/containers/${id}/archive?path=%2F`, Readable.from(tarStream(entries), { objectMode: false }));
  if (response.status >= 300) throw engineError(response, what);
}

/** Folders from the media root down to each file, root-only, so the servers cannot read the media folder. */
function mediaFolders(media: readonly MediaInput[], bootTreePath: string): ArchiveEntry[] {
  const folders = new Set<string>();
  for (const file of media) {
    const parts = file.containerPath
      .slice(bootTreePath.length + 1)
      .split("/")
      .slice(0, -1);
    parts.forEach((_, index) => folders.add(`${bootTreePath}/${parts.slice(0, index + 1).join("/")}`));
  }
  return [...folders].sort().map((path) => ({ kind: "folder", path, mode: 0o700 }));
}

/** The engine frames a non-TTY container's output: 8-byte headers (stream, 0, 0, 0, big-endian length). */
function demultiplex(raw: Buffer): string {
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length; offset += 8 + raw.readUInt32BE(offset + 4))
    parts.push(raw.subarray(offset + 8, offset + 8 + raw.readUInt32BE(offset + 4)));
  return Buffer.concat(parts).toString("utf8");
}

/** Starts the container, waits for it to exit and returns its exit code and output. */
async function runToCompletion(endpoint: Endpoint, id: string, what: string): Promise<{ exitCode: number; log: string }> {
  await dockerJson(endpoint, "POST", `/containers/${id}/start`, `starting ${what}`);
  const { StatusCode } = (await dockerJson(endpoint, "POST", `/containers/${id}/wait`, `waiting for ${what}`)) as { StatusCode: number };
  const logs = await dockerRequest(endpoint, "GET", `/containers/${id}/logs?stdout=true&stderr=true`);
  return { exitCode: StatusCode, log: demultiplex(logs.body) };
}

/** Uploads what the volume lacks, then runs the build; throws (failing the Pulumi step) when the build fails. */
async function build(inputs: BootImageBuildInputs): Promise<BootImageBuildOutputs> {
  const { readFileSync } = process.getBuiltinModule("node:fs");
  const endpoint = endpointOf(inputs.dockerHost, inputs.sshOptions);
  const id = await createBuilderContainer(endpoint, inputs, inputs.command);
  try {
    const missing: MediaInput[] = [];
    for (const file of inputs.media) {
      // Named by content: the same size means the same file, a shorter one an interrupted upload.
      if ((await sizeInContainer(endpoint, id, file.containerPath)) !== file.size) missing.push(file);
    }
    const generated: ArchiveEntry[] = inputs.generated.map((file) => ({
      kind: "bytes",
      path: file.containerPath,
      content: file.localPath ? readFileSync(file.localPath) : Buffer.from(file.content ?? ""),
    }));
    const media: ArchiveEntry[] = missing.map((file) => ({ kind: "file", path: file.containerPath, localPath: file.localPath, size: file.size }));
    await putArchive(
      endpoint,
      id,
      [...generated, ...mediaFolders(missing, inputs.bootTreePath), ...media],
      `uploading the inputs of boot image "${inputs.imageName}"`,
    );
    const { exitCode, log } = await runToCompletion(endpoint, id, `the build of boot image "${inputs.imageName}"`);
    if (exitCode !== 0) {
      throw new Error(
        `building boot image "${inputs.imageName}" failed in the builder container (exit code ${exitCode}):\n${log || "(no output)"}\n` +
          "Fix the cause and run `pulumi up` again: a failed build is not recorded, so the next update runs it again.",
      );
    }
    return { ...inputs, buildLog: log, uploaded: missing.map((file) => file.containerPath) };
  } finally {
    await removeContainer(endpoint, id);
  }
}

async function volumeExists(endpoint: Endpoint, volume: string): Promise<boolean> {
  const response = await dockerRequest(endpoint, "GET", `/volumes/${encodeURIComponent(volume)}`);
  if (response.status === 404) return false;
  if (response.status >= 300) throw engineError(response, `looking up volume ${volume}`);
  return true;
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
    const rebuild =
      olds.contentHash !== news.contentHash || olds.builderImage !== news.builderImage || JSON.stringify(olds.command) !== JSON.stringify(news.command);
    const relabel = JSON.stringify(olds.labels) !== JSON.stringify(news.labels);
    // Delete before replace: the old build's removal must not take the new build's folder with it.
    return { changes: replaces.length > 0 || rebuild || relabel, replaces: [...replaces], deleteBeforeReplace: replaces.length > 0 };
  },

  async update(_id: string, olds: BootImageBuildOutputs, news: BootImageBuildInputs) {
    const rebuild =
      olds.contentHash !== news.contentHash || olds.builderImage !== news.builderImage || JSON.stringify(olds.command) !== JSON.stringify(news.command);
    // A build that failed leaves the old state, so the next update compares against it and runs again.
    return { outs: rebuild ? await build(news) : { ...news, buildLog: olds.buildLog, uploaded: [] } };
  },

  /** Refresh: an image whose folder is gone from the volume (or whose volume is gone) is gone, so `pulumi up` builds it again. */
  async read(id: string, props: BootImageBuildOutputs) {
    const endpoint = endpointOf(props.dockerHost, props.sshOptions);
    if (!(await volumeExists(endpoint, props.bootTreeVolume))) return { id: "", props };
    const container = await createBuilderContainer(endpoint, props, ["true"]);
    try {
      const present = (await sizeInContainer(endpoint, container, `${props.bootTreePath}/${props.imageName}`)) !== undefined;
      return { id: present ? id : "", props };
    } finally {
      await removeContainer(endpoint, container);
    }
  },

  /** Removes the image's folder and its media from the tree, so a removed or renamed image is no longer served. */
  async delete(_id: string, props: BootImageBuildOutputs) {
    const endpoint = endpointOf(props.dockerHost, props.sshOptions);
    // Removing a volume takes the image with it; creating a container on a missing volume would create the volume again.
    if (!(await volumeExists(endpoint, props.bootTreeVolume))) return;
    const id = await createBuilderContainer(endpoint, props, ["payload", "remove", "--name", props.imageName, "--out", props.bootTreePath]);
    try {
      const { exitCode, log } = await runToCompletion(endpoint, id, `the removal of boot image "${props.imageName}"`);
      if (exitCode !== 0)
        throw new Error(`removing boot image "${props.imageName}" from volume ${props.bootTreeVolume} failed (exit code ${exitCode}):\n${log}`);
    } finally {
      await removeContainer(endpoint, id);
    }
  },
};
