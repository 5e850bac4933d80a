/**
 * Runs a Pulumi program against mocks the way `pulumi up` runs it for one stack: the stack
 * file's config as the engine would pass it, the project and stack names from Pulumi.yaml, and
 * the program evaluated inside the root stack resource. Records every resource the program
 * declares, in declaration order, with the inputs the engine would receive.
 *
 * The mocks (engine-mocks.cjs, shared with the language-host check) answer with ids and state
 * that make cross-references resolve to the real Docker names (a container's id is its `name`,
 * an image's `repoDigest` is its `imageName`, …), so the recorded inputs can be applied to a
 * local Docker engine as they are (docker-apply.ts). `declareComponents` runs components
 * alone inside a mocked stack, the same way.
 */
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { readStackConfigMap } from "../../lib/model";
import { engineConfig, mergeConfig, mockResource, readProject } from "./engine-mocks.cjs";

export { engineConfig, mergeConfig, mockResource };

/** The repository root: where Pulumi.yaml and index.ts live. */
export const PROJECT_DIR = resolve(__dirname, "..", "..");

export interface DeclaredResource {
  /** Resource type token, e.g. `docker:index/container:Container`. */
  readonly type: string;
  /** Logical (Pulumi) name. */
  readonly name: string;
  /** Inputs as the engine receives them: Outputs resolved, unset keys absent. */
  readonly inputs: Record<string, unknown>;
  /** Logical name of the parent resource; absent for children of the stack itself. */
  readonly parent?: string;
  /** Logical name of the explicit provider resource; absent when the default provider is used. */
  readonly provider?: string;
  /** Logical names of the resources named in its `dependsOn` option; absent when there are none. */
  readonly dependsOn?: string[];
  /** Physical id the mocks assigned; absent for component resources. */
  readonly id?: string;
}

export interface StackRun {
  /** Every resource the program declared, in declaration order (the root stack excluded). */
  readonly resources: DeclaredResource[];
  /** The stack outputs, unwrapped. */
  readonly outputs: Record<string, unknown>;
}

export interface RunStackOptions {
  /**
   * Config merged over the stack file's `config:` map, keys as written there
   * (`{ "netboot-lab:network": { bridge: "nbt0" } }`). Objects merge key by key, anything else
   * replaces; `undefined` removes the key.
   */
  readonly configOverrides?: Record<string, unknown>;
  /** Folder with Pulumi.yaml and the stack files; default: the repository root. */
  readonly projectDir?: string;
  /** Program module, relative to projectDir; default `index` (Pulumi's `main` default). */
  readonly program?: string;
  /** How long registrations may take before the run counts as hung; default 60 s. */
  readonly settleTimeoutMs?: number;
  /** Merged into every dynamic resource's state, as its provider's create returns it. */
  readonly dynamicState?: Record<string, unknown>;
  /**
   * Answers registrations in place of the mocks' made-up ids and state, as the engine does in
   * `pulumi preview` (`preview: true`: outputs of what would change may be unknown) or
   * `pulumi up` (lab-engine.ts: it creates, updates or replaces each resource as it registers).
   */
  readonly engine?: ResourceEngine;
}

export interface ResourceEngine {
  readonly preview: boolean;
  newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult>;
}

const DEFAULT_SETTLE_TIMEOUT_MS = 60_000;

/** What the transformation saw at construction time; the mocks only see type and name. */
interface Declaration {
  readonly resource: pulumi.Resource;
  readonly type: string;
  readonly name: string;
  readonly parent?: pulumi.Resource;
  readonly dependsOn: readonly pulumi.Resource[];
}

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly providerReference?: string;
  readonly id?: string;
}

interface Evaluation {
  readonly resources: DeclaredResource[];
  readonly outputs?: Record<string, unknown>;
  /** What the program threw, if it threw. */
  readonly programError?: unknown;
  /** Failures outside the program's own flow: rejected registrations, resources never registered. */
  readonly runtimeFailures: unknown[];
}

/** Runs the program for `stack`; rejects with the program's error or any failed registration. */
export async function runStack(stack: string, options: RunStackOptions = {}): Promise<StackRun> {
  const evaluation = await evaluate(stack, options);
  if (evaluation.programError !== undefined) throw evaluation.programError;
  throwRuntimeFailures(evaluation);
  return { resources: evaluation.resources, outputs: evaluation.outputs ?? {} };
}

/**
 * Runs a program that is expected to throw (invalid config). Returns the error and the
 * resources that were registered before it (validation must leave this empty); rejects when
 * the program succeeds.
 */
export async function runStackExpectingError(stack: string, options: RunStackOptions = {}): Promise<{ error: Error; resources: DeclaredResource[] }> {
  const evaluation = await evaluate(stack, options);
  if (evaluation.programError === undefined) {
    throwRuntimeFailures(evaluation);
    throw new Error(
      `expected the program to fail for stack "${stack}", but it succeeded and declared ${evaluation.resources.length} resources: ` +
        evaluation.resources.map((resource) => `${resource.type} ${resource.name}`).join(", "),
    );
  }
  const error = evaluation.programError instanceof Error ? evaluation.programError : new Error(String(evaluation.programError));
  return { error, resources: evaluation.resources };
}

function throwRuntimeFailures(evaluation: Evaluation): void {
  if (evaluation.runtimeFailures.length === 0) return;
  const messages = evaluation.runtimeFailures.map((failure) => (failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)));
  throw new Error(`the program's resource registrations failed:\n${messages.join("\n")}`);
}

async function evaluate(stack: string, options: RunStackOptions): Promise<Evaluation> {
  const projectDir = resolve(PROJECT_DIR, options.projectDir ?? ".");
  const project = readProject(projectDir);
  const fileConfig = readStackConfigMap(join(projectDir, project.stackConfigDir, `Pulumi.${stack}.yaml`));
  pulumi.runtime.setAllConfig(engineConfig(mergeConfig(fileConfig, options.configOverrides ?? {}), project.name));
  return evaluateProgram(project.name, stack, async () => programOutputs(await import(resolve(projectDir, options.program ?? "index"))), options);
}

export interface ComponentRun {
  /** Every resource declared, in declaration order, with the inputs the engine received. */
  readonly resources: DeclaredResource[];
  readonly outputs?: Record<string, unknown>;
  /** What the program threw. */
  readonly error?: unknown;
  /**
   * Failures after the program returned: rejections nobody awaited (how an Output that fails
   * after registration surfaces; under `pulumi up` the language host fails the update) and
   * resources that never registered.
   */
  readonly failures: unknown[];
}

/**
 * Declares components inside a mocked stack of project `netboot-lab` (stack `test`, no config)
 * and records them as runStack does. `build` runs after the mocks are set and modules are reset,
 * so it imports the component modules itself (`await import(...)`).
 */
export async function declareComponents(
  build: () => Promise<Record<string, unknown>>,
  options: Pick<RunStackOptions, "settleTimeoutMs" | "dynamicState"> = {},
): Promise<ComponentRun> {
  pulumi.runtime.setAllConfig({});
  const evaluation = await evaluateProgram("netboot-lab", "test", build, options);
  return { resources: evaluation.resources, outputs: evaluation.outputs, error: evaluation.programError, failures: evaluation.runtimeFailures };
}

async function evaluateProgram(
  projectName: string,
  stack: string,
  body: () => Promise<Record<string, unknown>>,
  options: Pick<RunStackOptions, "settleTimeoutMs" | "dynamicState" | "engine">,
): Promise<Evaluation> {
  const registrations: Registration[] = [];
  const { engine } = options;
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const result = engine ? await engine.newResource(args) : mockResource(args, options.dynamicState);
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs, providerReference: args.provider, id: result.id });
        return result;
      },
      call(args) {
        throw new Error(`no mock for the invoke ${args.token}; add one to test/support/engine-mocks.cjs`);
      },
    },
    projectName,
    stack,
    engine?.preview ?? false,
  );

  const declarations: Declaration[] = [];
  const rejections = collectUnhandledRejections();
  let outputs: Record<string, unknown> | undefined;
  let programError: unknown;
  const program = async () => {
    try {
      // The program is a module with top-level effects: evaluate it afresh for every run.
      vi.resetModules();
      outputs = await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation(({ resource, type, name, opts }) => {
          const dependsOn = opts.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn];
          declarations.push({ resource, type, name, parent: opts.parent, dependsOn: dependsOn.filter(pulumi.Resource.isInstance) });
          return undefined;
        });
        return body();
      });
    } catch (error) {
      programError = error;
    }
    await waitForRegistrations().catch((error: unknown) => rejections.reasons.push(error));
  };
  const outcome = await settleWithin(program(), rejections.first, options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS);
  rejections.stop();
  const { resources, unregistered } = joinDeclarations(declarations, registrations);
  const runtimeFailures: unknown[] = [...rejections.reasons];
  if (outcome === "timeout") {
    runtimeFailures.push(new Error(`registrations did not settle within ${options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS} ms`));
  }
  if (unregistered.length) {
    runtimeFailures.push(new Error(`declared but never registered (an input never resolved or failed): ${unregistered.join(", ")}`));
  }
  return { resources, outputs, programError, runtimeFailures };
}

/** Pulumi runs a module whose default export is a function and exports what it returns. */
async function programOutputs(module: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (typeof module.default === "function") return (await module.default()) as Record<string, unknown>;
  return module;
}

/**
 * A failed registration leaves everything that depends on it waiting forever: stop at the first
 * rejection nobody handled, or when registration takes implausibly long.
 */
async function settleWithin(run: Promise<void>, firstRejection: Promise<void>, timeoutMs: number): Promise<"settled" | "rejected" | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolveTimeout) => (timer = setTimeout(() => resolveTimeout("timeout"), timeoutMs)));
  try {
    return await Promise.race([run.then(() => "settled" as const), firstRejection.then(() => "rejected" as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registration is asynchronous: it continues after the program returns, and a resource may be
 * declared inside an apply. The runtime counts every pending RPC; this is what it awaits before
 * a real `pulumi up` exits. The extra turn lets Node report rejections nobody awaited.
 */
async function waitForRegistrations(): Promise<void> {
  const { waitForRPCs } = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof waitForRPCs !== "function") {
    throw new Error("@pulumi/pulumi no longer exports runtime.waitForRPCs; update waitForRegistrations in test/support/pulumi-harness.ts");
  }
  await waitForRPCs();
  await new Promise((resolveTurn) => setImmediate(resolveTurn));
}

function collectUnhandledRejections(): { reasons: unknown[]; first: Promise<void>; stop(): void } {
  const reasons: unknown[] = [];
  let notifyFirst = () => {};
  const first = new Promise<void>((resolveFirst) => (notifyFirst = resolveFirst));
  const listener = (reason: unknown) => {
    reasons.push(reason);
    notifyFirst();
  };
  process.on("unhandledRejection", listener);
  return { reasons, first, stop: () => process.off("unhandledRejection", listener) };
}

/** The provider's logical name from a provider reference (`<urn>::<id>`); default providers are left out. */
function providerName(reference: string | undefined): string | undefined {
  if (!reference) return undefined;
  const urn = reference.slice(0, reference.lastIndexOf("::"));
  const name = urn.slice(urn.lastIndexOf("::") + 2);
  return name.startsWith("default") ? undefined : name;
}

function joinDeclarations(
  declarations: readonly Declaration[],
  registrations: readonly Registration[],
): { resources: DeclaredResource[]; unregistered: string[] } {
  const pending = [...registrations];
  const names = new Map(declarations.map((declaration) => [declaration.resource, declaration.name]));
  const resources: DeclaredResource[] = [];
  const unregistered: string[] = [];
  for (const declaration of declarations) {
    const index = pending.findIndex((registration) => registration.type === declaration.type && registration.name === declaration.name);
    if (index < 0) {
      unregistered.push(`${declaration.type} ${declaration.name}`);
      continue;
    }
    const [registration] = pending.splice(index, 1);
    const parent = declaration.parent && names.get(declaration.parent);
    const provider = providerName(registration!.providerReference);
    const dependsOn = declaration.dependsOn.map((dependency) => names.get(dependency)).filter((name): name is string => name !== undefined);
    resources.push({
      type: declaration.type,
      name: declaration.name,
      inputs: registration!.inputs,
      ...(parent ? { parent } : {}),
      ...(provider ? { provider } : {}),
      ...(dependsOn.length ? { dependsOn } : {}),
      ...(registration!.id ? { id: registration!.id } : {}),
    });
  }
  return { resources, unregistered };
}
