/**
 * The deployed lab as the Docker host sees it, for `check`, `watch` and `bsdp`: the stack's model, the
 * names the NetbootServer component gave its objects, and the `docker` CLI pointed at the
 * stack's `docker.host` (local engine, or ssh://user@host like the Pulumi provider).
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { labDockerNames, labNamePrefix, type LabDockerNames } from "../lib/lab-names";
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
  /** The docker CLI's arguments that point it at the lab's Docker host (`--host …`, none for the local engine), for a command run in the foreground or followed. */
  readonly hostArgs: readonly string[];
  /** Runs the docker CLI against the lab's Docker host; rejects on a non-zero exit unless `reject: false`. */
  docker(args: readonly string[], options?: { input?: string; reject?: boolean }): Promise<DockerResult>;
}

export interface DockerResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where the stack file is: `--config FILE`, else `stacks/Pulumi.<stack>.yaml` under `--project`. */
export function openDeployedLab(stack: string, projectDir: string, configFile: string | undefined): DeployedLab {
  const path = configFile ? resolve(configFile) : stackFilePath(resolve(projectDir), stack);
  const labConfig = readLabConfig(path);
  const lab = validateLab(labConfig, path);
  const hostArgs = lab.docker.host ? ["--host", lab.docker.host] : [];
  return {
    stack,
    labConfig,
    lab,
    names: labDockerNames(labNamePrefix(stack, lab.docker)),
    hostArgs,
    async docker(args, options = {}) {
      const result = await execa("docker", [...hostArgs, ...args], {
        reject: false,
        ...(options.input === undefined ? {} : { input: options.input }),
      });
      if ((result as { code?: string }).code === "ENOENT")
        throw new CliError(
          "the docker CLI is not installed: the commands about a deployed lab reach its Docker host through it; install it (Debian: docker.io)",
        );
      const outcome = { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
      if (outcome.exitCode !== 0 && options.reject !== false)
        throw new CliError(`docker ${args.join(" ")} failed (exit ${outcome.exitCode}): ${outcome.stderr.trim()}`);
      return outcome;
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

/** Fails with the fix when the stack's network is not on the Docker host: nothing was deployed. */
export async function requireDeployed(deployed: DeployedLab): Promise<void> {
  const network = await deployed.docker(["network", "inspect", "--format", "{{.Name}}", deployed.names.network], { reject: false });
  if (network.exitCode !== 0) {
    const where = deployed.lab.docker.host ?? "the local Docker engine";
    throw new CliError(
      `stack ${deployed.stack} is not deployed on ${where}: there is no Docker network ${deployed.names.network} (docker.namePrefix ${deployed.names.prefix}). ` +
        `Run pulumi up (npm run lab -- up ${deployed.stack}) first.`,
      2,
    );
  }
}

export async function containerStates(deployed: DeployedLab): Promise<Record<string, ContainerState>> {
  const states: Record<string, ContainerState> = {};
  for (const role of containerRoles(deployed.lab)) {
    const name = role === "pod" ? deployed.names.pod : deployed.names.container(role);
    const inspected = await deployed.docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name], { reject: false });
    if (inspected.exitCode !== 0) {
      states[role] = { name, running: false, status: "missing" };
      continue;
    }
    const [status = "unknown", exitCode] = inspected.stdout.trim().split(" ");
    states[role] = { name, running: status === "running", status: status === "exited" ? `exited (code ${exitCode})` : status };
  }
  return states;
}

/** The folder with images/builder/Dockerfile and dist/: two levels up from cli/commands in a clone, one from dist/ in the bundle. */
export function packageRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "images", "builder", "Dockerfile"))) return dir;
  }
  throw new Error(`cannot find the netboot-lab package (images/builder/Dockerfile) above ${__dirname}`);
}
