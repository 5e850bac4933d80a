/**
 * The one Docker client of netboot-lab: dockerode, for every place the product talks to an
 * engine (the BootImageBuild provider, the keeper, check, watch and bsdp), on a unix socket,
 * tcp:// or ssh://user@host.
 *
 * ssh:// runs the `ssh` binary with `docker system dial-stdio`, one process per connection, as
 * the docker CLI and the docker provider do, instead of dockerode's own `protocol: "ssh"`: that
 * one speaks SSH through the ssh2 library, which reads neither ~/.ssh/config (Host aliases,
 * IdentityFile, ProxyJump) nor known_hosts, so a host the docker provider reaches could fail
 * here, or be trusted without its key being checked.
 *
 * The BootImageBuild provider is serialized into the stack's state and runs in the engine's
 * plugin process: these functions load their modules with require() when called and refer to
 * nothing else of this module but each other.
 */
import type Dockerode from "dockerode";
import type { Agent } from "node:http";
import type { Duplex } from "node:stream";

/** Used when neither the stack (`docker.host`) nor DOCKER_HOST names a host. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/**
 * A client of the engine at `host` (`unix:///…`, `tcp://host:port`, `ssh://user@host[:port]`;
 * default DOCKER_HOST, else the local socket). `sshOptions` go to `ssh` before the destination.
 */
export function dockerClient(host?: string, sshOptions: readonly string[] = []): Dockerode {
  const Docker = require("dockerode") as typeof import("dockerode");
  const value = host || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  // docker-modem merges DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH under the options it
  // is given: every transport key is set here, so only `value` decides where requests go.
  const none = { socketPath: undefined, host: undefined, port: undefined, ca: undefined, cert: undefined, key: undefined, protocol: "http" as const };
  if (value.startsWith("unix://")) return new Docker({ ...none, socketPath: value.slice("unix://".length) });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`Docker host "${value}" is not a URL; write unix:///var/run/docker.sock, ssh://user@host or tcp://host:2375`);
  }
  if (url.protocol === "ssh:") {
    // The host name only fills the Host header: the agent's connection is the ssh process.
    return new Docker({ ...none, host: "docker", agent: sshDialAgent(url, sshOptions) } as Dockerode.DockerOptions);
  }
  if (url.protocol === "tcp:" || url.protocol === "http:") {
    if (process.env.DOCKER_TLS_VERIFY)
      throw new Error(`Docker host ${value}: TLS (DOCKER_TLS_VERIFY) is not supported; reach the engine as ssh://user@host, or through its local socket`);
    return new Docker({ ...none, host: url.hostname, port: Number(url.port || 2375) });
  }
  throw new Error(`Docker host ${value}: only unix://, tcp:// and ssh:// hosts are supported`);
}

/** An http Agent whose every connection is a new `ssh … docker system dial-stdio` on the host of `url`. */
function sshDialAgent(url: URL, sshOptions: readonly string[]): Agent {
  const http = require("node:http") as typeof import("node:http");
  const agent = new http.Agent({ keepAlive: false });
  const destination = url.username ? `${decodeURIComponent(url.username)}@${url.hostname}` : url.hostname;
  const args = [...(url.port ? ["-p", url.port] : []), "-o", "ConnectTimeout=30", "-T", ...sshOptions, "--", destination, "docker", "system", "dial-stdio"];
  return Object.assign(agent, { createConnection: () => sshDialStdio(args, destination) });
}

/**
 * The ssh process as a socket. Its output ends only once ssh has exited, and with an error
 * carrying what ssh printed when it failed (no route, a refused key, no docker on the host), so
 * a request fails with ssh's own words rather than "socket hang up" or a write's EPIPE.
 */
function sshDialStdio(args: readonly string[], destination: string): Duplex {
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  const { Duplex: DuplexStream, PassThrough } = require("node:stream") as typeof import("node:stream");
  const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
  const output = new PassThrough();
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-4000)));
  child.stdout.pipe(output, { end: false });
  const failed = (why: string) => output.destroy(new Error(`ssh ${destination} docker system dial-stdio ${why}${stderr.trim() ? `: ${stderr.trim()}` : ""}`));
  child.on("error", (error: Error) => failed(`could not start (${error.message}); install an OpenSSH client`));
  child.on("close", (code: number | null, signal: string | null) => {
    if (code === 0 || signal === "SIGTERM") output.end();
    else failed(`failed (${code === null ? `signal ${signal}` : `exit code ${code}`})`);
  });
  // Writes to an ssh that has exited fail (EPIPE) before its exit is seen: the exit is the error to report.
  const input = new PassThrough();
  child.stdin.on("error", () => undefined);
  input.pipe(child.stdin);
  const socket = DuplexStream.from({ readable: output, writable: input });
  socket.on("close", () => child.kill());
  return socket;
}

/**
 * Builds `tag` from the files of `contextDir`, a small folder (a Dockerfile and a bundle) sent
 * whole; a failed build throws the engine's error with the build's last lines.
 */
export async function buildImageFrom(
  docker: Dockerode,
  contextDir: string,
  options: { readonly tag: string; readonly buildArgs: Readonly<Record<string, string>>; readonly platform?: string },
): Promise<void> {
  const { readdirSync, readFileSync } = require("node:fs") as typeof import("node:fs");
  const { join } = require("node:path") as typeof import("node:path");
  const tar = require("tar-stream") as typeof import("tar-stream");
  const context = tar.pack();
  for (const file of readdirSync(contextDir)) context.entry({ name: file }, readFileSync(join(contextDir, file)));
  context.finalize();
  const progress = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: options.tag,
    buildargs: { ...options.buildArgs },
    ...(options.platform ? { platform: options.platform } : {}),
  });
  const events = await new Promise<{ stream?: string; error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(progress, (error: Error | null, output: { stream?: string; error?: string }[]) => (error ? reject(error) : resolve(output))),
  );
  const failure = events.find((event) => event.error);
  if (failure) {
    const log = events
      .map((event) => event.stream ?? "")
      .join("")
      .trim()
      .split("\n")
      .slice(-20)
      .join("\n");
    throw new Error(`${failure.error}\n${log}`);
  }
}

/**
 * What a failed engine call says to a user: `what`, then the engine's own message and status,
 * or for an engine that could not be reached, which host was tried and what to check.
 */
export function engineFailure(error: unknown, what: string, host?: string): Error {
  const failure = error as { statusCode?: number; json?: { message?: string } | Buffer; message?: string; code?: string };
  if (typeof failure.statusCode === "number") {
    const json = failure.json as { message?: string } | undefined;
    const message = json && typeof json === "object" && typeof json.message === "string" ? json.message : String(failure.message ?? error);
    return new Error(`${what}: the Docker engine answered ${failure.statusCode}: ${message.trim()}`);
  }
  const where = host || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const unreachable = ["ENOENT", "ECONNREFUSED", "EACCES", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"].includes(failure.code ?? "");
  return new Error(
    `${what}: ${failure.message ?? String(error)}` +
      (unreachable || where.startsWith("ssh://")
        ? ` (Docker host ${where}: is the engine running there, and is netboot-lab:docker.host, or DOCKER_HOST, right?)`
        : ""),
  );
}

/** The engine's status code of a failed call, or undefined when the call never got an answer. */
export function engineStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === "number" ? status : undefined;
}
