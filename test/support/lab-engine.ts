/**
 * A stack's life as the Pulumi engine and the docker provider live it, against the local Docker
 * engine: `up` runs the program and, as each resource registers, diffs it against the state
 * and creates, updates or replaces it (dependents get the real ids that come back, so a
 * replaced pod gives its daemons a new `container:<id>`), then deletes what the program no
 * longer declares; `preview` does the same diff without acting, with the outputs of what would
 * be created or replaced unknown, as in `pulumi preview`; `refresh` reads every resource back
 * from the engine as the provider reads it (provider-model.ts) and reports what it found
 * changed or gone; `destroy` deletes everything in reverse order.
 *
 * Docker objects are created through the same mapping as applyToDocker (docker-plan.ts), so a
 * resource is created the way every integration test creates it; dynamic resources (boot image
 * builds, QEMU guests) run through Pulumi's own dynamic-provider plugin, one process for the
 * engine's lifetime, as `pulumi up` keeps one.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import * as pulumi from "@pulumi/pulumi";
import { applyStep, CreatedObjects } from "./docker-apply";
import { DEFAULT_DOCKER_HOST, planDockerApply } from "./docker-plan";
import { startDynamicProviderHost, type DynamicProviderHost } from "./dynamic-provider-host";
import { canonical, diffBridged, diffImage, DOCKER_TYPES, isRecord, readContainer, readNetwork, readVolume, type FieldDiff } from "./provider-model";
import { PROJECT_DIR, runStack, type DeclaredResource, type RunStackOptions, type StackRun } from "./pulumi-harness";

type Properties = Record<string, unknown>;

export type Operation = "create" | "update" | "replace" | "delete";

/** One resource an operation changed (or, for a preview or refresh, would change or found changed). */
export interface ResourceChange {
  readonly op: Operation;
  /** Logical name, e.g. `nbl-kvm-dhcpd`. */
  readonly name: string;
  readonly type: string;
  /** The fields behind an update or replacement, when the provider names them. */
  readonly fields?: readonly string[];
}

export interface EngineOptions {
  readonly stack: string;
  /** Labels on every Docker object created, besides the declared ones (the test run's identity); never read back as the program's. */
  readonly labels: Readonly<Record<string, string>>;
  /** Folder with Pulumi.yaml; default: the repository root. */
  readonly projectDir?: string;
  readonly docker?: Docker;
  /** Environment of the dynamic-provider plugin; default: this process's. */
  readonly providerEnv?: NodeJS.ProcessEnv;
}

interface StateEntry {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  /** The inputs as the program declared them at the last create or update. */
  readonly inputs: Properties;
  /** The state: what the provider's create, update or last read reported. */
  readonly outputs: Properties;
}

/** What a run of the program registered, and the changes the engine made or would make. */
export interface EngineRun {
  readonly changes: ResourceChange[];
  readonly run: StackRun;
}

/** How long a run may take: an `up` builds images and boot images while the program waits. */
const UP_TIMEOUT_MS = 30 * 60_000;

const DYNAMIC_TYPE_PREFIX = "pulumi-nodejs:dynamic";

export class LabEngine {
  /** Keyed by type and logical name, in creation order, which respects every dependency. */
  private readonly state = new Map<string, StateEntry>();
  private readonly docker: Docker;
  private readonly projectDir: string;
  private host: DynamicProviderHost | undefined;
  /** Serializes the engine's actions: the program registers resources concurrently. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: EngineOptions) {
    this.docker = options.docker ?? new Docker();
    this.projectDir = resolve(PROJECT_DIR, options.projectDir ?? ".");
  }

  /** The state as the engine holds it now. */
  resources(): readonly StateEntry[] {
    return [...this.state.values()];
  }

  /** The state entry of a logical name. */
  resource(name: string): StateEntry {
    const found = [...this.state.values()].find((entry) => entry.name === name);
    if (!found) throw new Error(`no resource named ${name} in the state; it holds ${[...this.state.values()].map((entry) => entry.name).join(", ")}`);
    return found;
  }

  /** `pulumi preview`: what `up` with these options would do; nothing on the engine changes. */
  preview(run: Omit<RunStackOptions, "engine"> = {}): Promise<EngineRun> {
    return this.evaluate(run, true);
  }

  /** `pulumi up`: makes the engine match the program. */
  up(run: Omit<RunStackOptions, "engine"> = {}): Promise<EngineRun> {
    return this.evaluate(run, false);
  }

  /** `pulumi refresh`: reads every resource back and keeps what the provider reports. */
  async refresh(): Promise<ResourceChange[]> {
    const changes: ResourceChange[] = [];
    for (const [key, entry] of [...this.state]) {
      const read = await this.read(entry);
      if (read === undefined) {
        this.state.delete(key);
        changes.push({ op: "delete", name: entry.name, type: entry.type });
      } else if (canonical(read.outputs) !== canonical(entry.outputs)) {
        this.state.set(key, { ...entry, id: read.id, outputs: read.outputs });
        changes.push({ op: "update", name: entry.name, type: entry.type, fields: differingKeys(entry.outputs, read.outputs) });
      }
    }
    return changes;
  }

  /**
   * `pulumi destroy`: deletes every resource, dependents first. A delete that fails leaves its
   * resource in the state, as the engine does, and the others are still deleted; the failures
   * are thrown together at the end.
   */
  async destroy(): Promise<ResourceChange[]> {
    const changes: ResourceChange[] = [];
    const failures: unknown[] = [];
    for (const [key, entry] of [...this.state].reverse()) {
      try {
        await this.delete(entry);
        this.state.delete(key);
        changes.push({ op: "delete", name: entry.name, type: entry.type });
      } catch (error) {
        failures.push(new Error(`deleting ${entry.type} ${entry.name} failed: ${(error as Error).message}`, { cause: error }));
      }
    }
    await this.host?.stop();
    this.host = undefined;
    if (failures.length) throw new AggregateError(failures, failures.map((failure) => (failure as Error).message).join("; "));
    return changes;
  }

  private async evaluate(runOptions: Omit<RunStackOptions, "engine">, preview: boolean): Promise<EngineRun> {
    const changes: ResourceChange[] = [];
    const registered = new Set<string>();
    /** Containers deleted ahead of a replacement they depend on: they come back as replacements when they register. */
    const deletedForReplacement = new Set<string>();
    const newResource = (args: pulumi.runtime.MockResourceArgs) =>
      this.serialized(() => this.register(args, preview, changes, registered, deletedForReplacement));
    const run = await runStack(this.options.stack, {
      settleTimeoutMs: UP_TIMEOUT_MS,
      ...runOptions,
      projectDir: this.projectDir,
      engine: { preview, newResource },
    });
    for (const [key, entry] of [...this.state].reverse()) {
      if (registered.has(key)) continue;
      changes.push({ op: "delete", name: entry.name, type: entry.type });
      if (preview) continue;
      await this.delete(entry);
      this.state.delete(key);
    }
    return { changes, run };
  }

  private serialized<T>(action: () => Promise<T>): Promise<T> {
    const next = this.queue.then(action, action);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** One registration: the provider's diff against the state, then (in an up) the operation it calls for. */
  private async register(
    args: pulumi.runtime.MockResourceArgs,
    preview: boolean,
    changes: ResourceChange[],
    registered: Set<string>,
    deletedForReplacement: Set<string>,
  ): Promise<pulumi.runtime.MockResourceResult> {
    // Component resources are the program's own: no provider acts on them.
    if (!args.custom) return { id: undefined, state: {} };
    const key = `${args.type}::${args.name}`;
    registered.add(key);
    const inputs = this.declaredInputs(args);
    const prior = this.state.get(key);
    if (args.type === DOCKER_TYPES.provider) {
      if (!preview && !prior) this.state.set(key, { type: args.type, name: args.name, id: args.name, inputs, outputs: inputs });
      return { id: args.name, state: inputs };
    }
    if (!prior) {
      const op: Operation = deletedForReplacement.has(key) ? "replace" : "create";
      changes.push({ op, name: args.name, type: args.type });
      if (preview) return { id: "", state: inputs };
      return this.stored(await this.create(args.type, args.name, inputs));
    }
    const diff = await this.diff(prior, inputs);
    if (diff.change === "same") return { id: prior.id, state: prior.outputs };
    changes.push({ op: diff.change, name: args.name, type: args.type, fields: diff.fields });
    if (preview) return diff.change === "replace" ? { id: "", state: inputs } : { id: prior.id, state: { ...prior.outputs, ...inputs } };
    if (diff.change === "update") return this.stored(await this.update(prior, inputs));
    if (this.deletesBeforeReplace(prior, diff)) {
      // As the engine does for a delete-before-replace resource: the dependents its replacement
      // will replace go first (a daemon in the pod's namespace), then the resource itself.
      for (const dependent of this.dependentsOf(prior)) {
        await this.delete(dependent);
        this.state.delete(`${dependent.type}::${dependent.name}`);
        deletedForReplacement.add(`${dependent.type}::${dependent.name}`);
      }
      await this.delete(prior);
      this.state.delete(key);
      return this.stored(await this.create(args.type, args.name, inputs));
    }
    const replacement = await this.create(args.type, args.name, inputs);
    await this.delete(prior);
    return this.stored(replacement);
  }

  /** Keeps an updated resource in its place in the creation order; a new or replaced one goes last. */
  private stored(entry: StateEntry): pulumi.runtime.MockResourceResult {
    this.state.set(`${entry.type}::${entry.name}`, entry);
    return { id: entry.id, state: entry.outputs };
  }

  /** The inputs the provider sees: a boot image build's one-shot containers also carry the test's labels, as in applyToDocker. */
  private declaredInputs(args: pulumi.runtime.MockResourceArgs): Properties {
    const inputs = args.inputs as Properties;
    if (args.type.startsWith(DYNAMIC_TYPE_PREFIX) && isRecord(inputs.labels)) return { ...inputs, labels: { ...inputs.labels, ...this.options.labels } };
    return inputs;
  }

  private async diff(prior: StateEntry, inputs: Properties): Promise<FieldDiff> {
    if (prior.type.startsWith(DYNAMIC_TYPE_PREFIX)) {
      const host = await this.providerHost();
      const diff = await host.diff(this.urn(prior.type, prior.name), prior.id, prior.outputs, inputs);
      const change = diff.changes === "none" ? "same" : diff.replaces.length ? "replace" : "update";
      return { change, fields: diff.replaces, replaceFields: diff.replaces, ...(diff.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}) };
    }
    if (prior.type === DOCKER_TYPES.image) return diffImage(this.imageInputs(inputs), prior.inputs);
    if (prior.type === DOCKER_TYPES.remoteImage) return diffImage(inputs, prior.inputs);
    return diffBridged(prior.type, inputs, prior.outputs, pulumi.isUnknown);
  }

  /** Container replacements delete first (pulumi-docker marks docker_container DeleteBeforeReplace: its name is fixed), and so do dynamic providers that ask. */
  private deletesBeforeReplace(prior: StateEntry, diff: FieldDiff): boolean {
    return prior.type === DOCKER_TYPES.container || diff.deleteBeforeReplace === true;
  }

  /** Containers whose declared inputs name this resource's id (`container:<id>`): the ones its replacement replaces. */
  private dependentsOf(entry: StateEntry): StateEntry[] {
    return [...this.state.values()].filter(
      (other) => other !== entry && other.type === DOCKER_TYPES.container && JSON.stringify(other.inputs).includes(entry.id),
    );
  }

  /** pulumi-docker's check completes an Image's build inputs with the digest of its context. */
  private imageInputs(inputs: Properties): Properties {
    const build = inputs.build;
    if (!isRecord(build) || typeof build.context !== "string") return inputs;
    return { ...inputs, build: { ...build, contextDigest: contextDigest(resolve(this.projectDir, build.context)) } };
  }

  private async create(type: string, name: string, inputs: Properties): Promise<StateEntry> {
    if (type.startsWith(DYNAMIC_TYPE_PREFIX)) {
      const host = await this.providerHost();
      const created = await host.create(this.urn(type, name), inputs);
      return { type, name, id: created.id, inputs, outputs: created.properties };
    }
    const [step] = planDockerApply([{ type, name, inputs, id: name } satisfies DeclaredResource], {
      labels: this.options.labels,
      projectDir: this.projectDir,
      localDockerHost: process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST,
    });
    if (!step) throw new Error(`${type} ${name}: nothing to create`);
    const created = new CreatedObjects(this.docker);
    try {
      await applyStep(this.docker, step, created, {}, {});
    } catch (error) {
      await created.removeAll().catch(() => undefined);
      throw new Error(`creating ${type} ${name} failed: ${(error as Error).message}`, { cause: error });
    }
    const entry: StateEntry = { type, name, id: "", inputs: type === DOCKER_TYPES.image ? this.imageInputs(inputs) : inputs, outputs: inputs };
    // As the provider's create ends: with a read, whose answer is the state.
    const read = await this.read({ ...entry, id: step.kind === "container" ? step.create.name : String(inputs.name ?? inputs.imageName ?? name) });
    if (!read) throw new Error(`${type} ${name} was created but the engine does not know it`);
    return { ...entry, id: read.id, outputs: read.outputs };
  }

  private async update(prior: StateEntry, inputs: Properties): Promise<StateEntry> {
    if (prior.type.startsWith(DYNAMIC_TYPE_PREFIX)) {
      const host = await this.providerHost();
      const outputs = await host.update(this.urn(prior.type, prior.name), prior.id, prior.outputs, inputs);
      return { ...prior, inputs, outputs };
    }
    if (prior.type === DOCKER_TYPES.image) {
      // pulumi-docker's update builds the image again.
      const rebuilt = await this.create(prior.type, prior.name, inputs);
      return { ...rebuilt, id: prior.id };
    }
    if (prior.type === DOCKER_TYPES.container) {
      // The provider's update: the restart policy in place, and a container that must run but stopped is started.
      const container = this.docker.getContainer(prior.id);
      await container.update({ RestartPolicy: { Name: String(inputs.restart ?? "no"), MaximumRetryCount: Number(inputs.maxRetryCount ?? 0) } });
      if ((await container.inspect()).State.Running === false && inputs.mustRun !== false) await container.start();
      const read = await this.read({ ...prior, inputs });
      return { ...prior, inputs, outputs: { ...read!.outputs, mustRun: inputs.mustRun ?? true } };
    }
    throw new Error(`${prior.type} ${prior.name}: the provider updates it only by replacement, yet the diff asked for an update`);
  }

  /** The provider's read: the state it reports now, or undefined when the object is gone. */
  private async read(entry: StateEntry): Promise<{ id: string; outputs: Properties } | undefined> {
    const gone = (error: unknown) => {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    };
    switch (entry.type) {
      case DOCKER_TYPES.container: {
        const inspect = await this.docker.getContainer(entry.id).inspect().catch(gone);
        return inspect && { id: inspect.Id, outputs: readContainer(inspect, entry.outputs) };
      }
      case DOCKER_TYPES.network: {
        const inspect = await this.docker.getNetwork(entry.id).inspect().catch(gone);
        return inspect && { id: inspect.Id, outputs: readNetwork(inspect, entry.outputs, this.options.labels) };
      }
      case DOCKER_TYPES.volume: {
        const inspect = await this.docker.getVolume(entry.id).inspect().catch(gone);
        return inspect && { id: inspect.Name, outputs: readVolume(inspect, entry.outputs, this.options.labels) };
      }
      case DOCKER_TYPES.image:
      case DOCKER_TYPES.remoteImage:
      case DOCKER_TYPES.provider:
        // pulumi-docker's Image read returns the state as it was, whatever the engine holds.
        return { id: entry.id, outputs: entry.outputs };
      default: {
        if (!entry.type.startsWith(DYNAMIC_TYPE_PREFIX)) throw new Error(`${entry.type} ${entry.name}: the engine cannot read this type`);
        const host = await this.providerHost();
        const read = await host.read(this.urn(entry.type, entry.name), entry.id, entry.outputs);
        return read.id ? { id: read.id, outputs: read.properties } : undefined;
      }
    }
  }

  private async delete(entry: StateEntry): Promise<void> {
    const ignoreGone = (error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    };
    switch (entry.type) {
      case DOCKER_TYPES.container:
        return this.docker.getContainer(entry.id).remove({ force: true, v: true }).catch(ignoreGone);
      case DOCKER_TYPES.network:
        return this.docker.getNetwork(entry.id).remove().catch(ignoreGone);
      case DOCKER_TYPES.volume:
        return this.docker.getVolume(entry.id).remove({ force: true }).catch(ignoreGone);
      case DOCKER_TYPES.image:
      case DOCKER_TYPES.remoteImage:
      case DOCKER_TYPES.provider:
        // pulumi-docker leaves built and pulled images on the engine; so do the tests (images are a cache).
        return;
      default: {
        const host = await this.providerHost();
        await host.delete(this.urn(entry.type, entry.name), entry.id, entry.outputs);
      }
    }
  }

  private async providerHost(): Promise<DynamicProviderHost> {
    this.host ??= await startDynamicProviderHost({ env: this.options.providerEnv ?? process.env, cwd: this.projectDir });
    return this.host;
  }

  private urn(type: string, name: string): string {
    return `urn:pulumi:${this.options.stack}::netboot-lab::${type}::${name}`;
  }
}

/** The changes as `op name` lines, sorted: what a test compares with the exact set it expects. */
export function changeLines(changes: readonly ResourceChange[]): string[] {
  return changes.map((change) => `${change.op} ${change.name}`).sort();
}

/** The changes with the fields behind each, for a failing test's message. */
export function changeDetails(changes: readonly ResourceChange[]): string {
  return changes.map((change) => `${change.op} ${change.name}${change.fields?.length ? ` (${change.fields.join(", ")})` : ""}`).join("; ") || "no changes";
}

/** A digest of every file in a build context, names and bytes, as pulumi-docker's check hashes it. */
function contextDigest(dir: string): string {
  const hash = createHash("sha256");
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder).sort()) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(path.slice(dir.length)).update("\0").update(readFileSync(path)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex");
}

function differingKeys(before: Properties, after: Properties): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => canonical(before[key]) !== canonical(after[key])).sort();
}
