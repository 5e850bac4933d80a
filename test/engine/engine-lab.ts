/**
 * A throwaway copy of this project deployed by the `pulumi` CLI on PATH through the Automation
 * API: a local file backend in a temp folder, one stack, and the lab's names, bridge and subnet
 * randomized so that parallel runs and a real lab (nblab0) are never touched. The copy lets a
 * step edit sources (a CLI file, the stack's config) without touching the working tree.
 */
import { randomBytes, randomInt } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LocalWorkspace, type EngineEvent, type OpType, type Stack, type StepEventMetadata } from "@pulumi/pulumi/automation";
import { execa } from "execa";
import { dump, load } from "js-yaml";
import { LAB_LABEL } from "../../lib/lab-names";
import { dockerObjectsLabelled } from "../support/test-run";

/** What a step does to one resource, as a reviewer reads `pulumi preview`. */
export type Change = "create" | "update" | "replace" | "delete";

/** Resources a step changes, keyed `<type> <name>` (e.g. `Container nbl-kvm-dhcpd`); unchanged ones are absent. */
export type ChangeSet = Record<string, Change>;

/** The engine's step ops folded into what they do: a replacement shows as several steps of one resource. */
const CHANGE_OF: Partial<Record<OpType, Change>> = {
  create: "create",
  update: "update",
  delete: "delete",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
};

const PROVIDER_TYPE_PREFIX = "pulumi:providers:";

/** `Container nbl-kvm-dhcpd` for `urn:…::docker:index/container:Container::nbl-kvm-dhcpd`. */
export function resourceKey(urn: string, type: string): string {
  return `${type.split(":").pop()} ${urn.split("::").pop()}`;
}

/** The properties a step's diff names, `*` marking those that force replacement. */
function diffProperties(step: StepEventMetadata): string[] {
  const replacing = new Set(step.keys ?? []);
  const detailed = Object.keys(step.detailedDiff ?? {});
  return (detailed.length ? detailed : (step.diffs ?? [])).map((property) => (replacing.has(property.split(/[.[]/)[0]!) ? `${property}*` : property));
}

/** Collects, from the engine's events of one preview or up, what it changes and why (the properties that differ). */
export class StepRecorder {
  readonly changes: ChangeSet = {};
  /** Per changed resource: the properties in the engine's diff, `*` marking those that force replacement. */
  readonly reasons: Record<string, string[]> = {};

  readonly onEvent = (event: EngineEvent): void => {
    // The step as planned; an up that refreshes first reports what its refresh read back in
    // outputs events as "update" too, which RefreshRecorder judges.
    const step = event.resourcePreEvent?.metadata;
    // Provider resources are the engine's, not the lab's: the default dynamic provider takes the
    // whole stack config as its inputs, so any config change "updates" it without touching the engine.
    if (!step || step.type.startsWith(PROVIDER_TYPE_PREFIX)) return;
    const change = CHANGE_OF[step.op];
    if (!change) return;
    const key = resourceKey(step.urn, step.type);
    if (this.changes[key] !== "replace") this.changes[key] = change;
    this.reasons[key] = [...new Set([...(this.reasons[key] ?? []), ...diffProperties(step)])];
  };

  /** The change set with the reasons, for an assertion message that says what the engine saw. */
  explain(): string {
    const lines = Object.entries(this.changes).map(([key, change]) => `  ${key}: ${change} (${this.reasons[key]?.join(", ") || "no property diff reported"})`);
    return lines.length ? `the engine changed:\n${lines.join("\n")}` : "the engine changed nothing";
  }
}

/** Drift a refresh found: resources whose read-back state differs from the last update's (properties), or that are gone. */
export class RefreshRecorder {
  readonly drift: Record<string, string[]> = {};

  readonly onEvent = (event: EngineEvent): void => {
    // A refresh announces each read as "refresh"; its outputs event says "update" (with the diff) or "delete" when the read changed the state.
    const step = event.resOutputsEvent?.metadata;
    if (!step || step.op === "same" || step.op === "refresh") return;
    this.drift[resourceKey(step.urn, step.type)] = step.op === "delete" ? ["deleted"] : diffProperties(step);
  };
}

/** Names of the lab's containers, networks and volumes still on the engine (by the lab label the program sets), sorted. */
export function labObjectsOnEngine(prefix: string): Promise<string[]> {
  return dockerObjectsLabelled(`${LAB_LABEL}=${prefix}`);
}

/** The project under test: this working tree. */
const PROJECT_DIR = resolve(__dirname, "..", "..");

/** Top-level entries of the project that `pulumi up` does not need in the copy. */
const NOT_COPIED = new Set(["node_modules", ".git", "test", "test-results", ".netboot-lab", ".pulumi-state"]);

export interface EngineLab {
  readonly stack: Stack;
  /** The project copy the CLI runs. */
  readonly projectDir: string;
  /** Docker name prefix: the value of every lab object's `io.netboot-lab.lab` label. */
  readonly prefix: string;
  readonly bridge: string;
  /** This run's tag of the offline base image: the lab's images are tagged by it, so removing them touches no other run. */
  readonly baseImage: string;
  /** The stack's `netboot-lab:*` config as the test set it; `configure` changes it. */
  config: Record<string, unknown>;
  /** Writes `changes` over the stack's config (the copy's stacks/Pulumi.<stack>.yaml). */
  configure(changes: Record<string, unknown>): void;
  /** `pulumi destroy`, keeping the names of the images the stack built: destroy leaves them on the engine. */
  destroy(): Promise<void>;
  /** Everything this run made: stack, Docker objects and images, temp folders; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Copies the project, points its `stackName` stack at a random bridge and subnet with the stack
 * file's own boot images and clients (which never start: `autostart: false`), and creates the
 * stack on a local file backend. `PULUMI_CONFIG_PASSPHRASE` is this run's own.
 */
export async function createEngineLab(stackName: string): Promise<EngineLab> {
  const id = randomBytes(3).toString("hex");
  const net = `10.217.${randomInt(0, 256)}`;
  const prefix = `nbten${id}`;
  const bridge = prefix;
  const root = mkdtempSync(join(tmpdir(), `netboot-lab-engine-${id}-`));
  const projectDir = join(root, "project");
  const backendDir = join(root, "backend");
  mkdirSync(backendDir);
  cpSync(PROJECT_DIR, projectDir, { recursive: true, filter: (source) => !NOT_COPIED.has(source.slice(PROJECT_DIR.length + 1)) });
  symlinkSync(join(PROJECT_DIR, "node_modules"), join(projectDir, "node_modules"), "dir");
  await execa("node", ["scripts/build-cli.mjs"], { cwd: projectDir });

  const baseImage = `netboot-lab-engine-${id}/base:bookworm`;
  await execa("docker", ["tag", process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm", baseImage]);

  const stackFile = join(projectDir, "stacks", `Pulumi.${stackName}.yaml`);
  const stackConfig = (load(readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> }).config;
  const clients = (stackConfig["netboot-lab:clients"] as { ipv4?: string }[]).map((client) => ({
    ...client,
    ...(client.ipv4 ? { ipv4: `${net}.${client.ipv4.split(".")[3]}` } : {}),
    autostart: false,
  }));
  const config: Record<string, unknown> = {
    ...stackConfig,
    "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: `${net}.2`, bridge },
    "netboot-lab:docker": { baseImage, namePrefix: prefix },
    "netboot-lab:qemu": { accel: "tcg", runDir: join(root, "qemu") },
    "netboot-lab:clients": clients,
  };
  const env = {
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  // The stack file is written before the stack exists; `stack init` adds its encryption salt to it.
  const writeConfig = () => {
    const current = (load(readFileSync(stackFile, "utf8")) ?? {}) as Record<string, unknown>;
    writeFileSync(stackFile, dump({ ...current, config: lab.config }));
  };
  const stack = await (async () => {
    writeFileSync(stackFile, dump({ config }));
    return LocalWorkspace.createStack({ stackName, workDir: projectDir }, { envVars: env });
  })();

  let removed = false;
  const images = new Set<string>();
  const lab: EngineLab = {
    stack,
    projectDir,
    prefix,
    bridge,
    baseImage,
    config,
    configure(changes) {
      lab.config = { ...lab.config, ...changes };
      writeConfig();
    },
    async destroy() {
      for (const image of await labImages(stack)) images.add(image);
      await stack.destroy();
    },
    async remove() {
      if (removed) return;
      removed = true;
      await lab.destroy().catch(() => undefined);
      await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
      // Whatever the destroy left (it failed, or the test stopped halfway) goes by the lab's label.
      const leftovers = async (kind: "container" | "network" | "volume") =>
        (await execa("docker", [kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `label=${LAB_LABEL}=${prefix}`])).stdout
          .split("\n")
          .filter(Boolean);
      const containers = await leftovers("container");
      if (containers.length) await execa("docker", ["rm", "-f", "-v", ...containers], { reject: false });
      const networks = await leftovers("network");
      if (networks.length) await execa("docker", ["network", "rm", ...networks], { reject: false });
      const volumes = await leftovers("volume");
      if (volumes.length) await execa("docker", ["volume", "rm", "-f", ...volumes], { reject: false });
      await execa("docker", ["rmi", "-f", ...images, baseImage], { reject: false });
      rmSync(root, { recursive: true, force: true });
    },
  };
  return lab;
}

/** Names of the docker.Image resources in the stack's state: this run's images, tagged after its own base image. */
export async function labImages(stack: Stack): Promise<string[]> {
  const state = (await stack.exportStack()).deployment as { resources?: { type: string; outputs?: { imageName?: string } }[] };
  return (state.resources ?? []).filter((resource) => resource.type === "docker:index/image:Image").flatMap((resource) => resource.outputs?.imageName ?? []);
}
