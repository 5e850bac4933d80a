/**
 * Runs dynamic providers the way `pulumi up` runs them: the serialized `__provider` string of a
 * resource, loaded by @pulumi/pulumi's own dynamic-provider plugin (cmd/dynamic-provider, what
 * the engine starts as `pulumi-resource-pulumi-nodejs`) in a plain Node child process, outside
 * vitest's transforms, and called over its gRPC interface as the engine calls it.
 */
import { execa, type ResultPromise } from "execa";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as grpc from "@grpc/grpc-js";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { PROJECT_DIR } from "./pulumi-harness";

type Properties = Record<string, unknown>;

export interface DiffResult {
  readonly changes: "none" | "some" | "unknown";
  readonly replaces: string[];
  /** Present (true) only when the provider asks for the old resource to go before its replacement is created. */
  readonly deleteBeforeReplace?: true;
}

export interface DynamicProviderHost {
  check(urn: string, olds: Properties, news: Properties): Promise<{ inputs: Properties; failures: { property: string; reason: string }[] }>;
  diff(urn: string, id: string, olds: Properties, news: Properties): Promise<DiffResult>;
  create(urn: string, properties: Properties): Promise<{ id: string; properties: Properties }>;
  update(urn: string, id: string, olds: Properties, news: Properties): Promise<Properties>;
  /** What `pulumi refresh` asks: the resource's id and state as the provider finds them now (an empty id: gone). */
  read(urn: string, id: string, properties: Properties): Promise<{ id: string; properties: Properties }>;
  delete(urn: string, id: string, properties: Properties): Promise<void>;
  /** Everything the plugin printed so far (stdout and stderr). */
  output(): string;
  /** The plugin process's peak resident memory so far: what a user's machine pays for the provider's work. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export interface HostOptions {
  /** Environment of the plugin process (PATH decides which tools the provider finds). Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory; the engine starts plugins in the project folder, where `require` finds the project's packages. */
  readonly cwd?: string;
}

const PLUGIN = join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js");

/** Starts the plugin; it prints the port of its gRPC server, as it does for the engine. */
export async function startDynamicProviderHost(options: HostOptions): Promise<DynamicProviderHost> {
  // The engine address is only passed through; nothing in these calls dials it.
  const child: ResultPromise = execa(process.execPath, [PLUGIN, "127.0.0.1:1"], {
    cwd: options.cwd ?? PROJECT_DIR,
    env: options.env ?? process.env,
    extendEnv: false,
    reject: false,
    all: true,
  });
  let printed = "";
  const port = await new Promise<number>((resolvePort, rejectPort) => {
    child.all!.on("data", (chunk: Buffer) => {
      printed += chunk.toString();
      const match = /^(\d+)\n/.exec(printed);
      if (match) resolvePort(Number(match[1]));
    });
    void child.then((result) => rejectPort(new Error(`the dynamic-provider plugin exited before listening:\n${result.all}`)));
  });
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = <Request, Response>(
    method: (request: Request, callback: (error: grpc.ServiceError | null, response: Response) => void) => unknown,
    request: Request,
  ) =>
    new Promise<Response>((resolveCall, rejectCall) =>
      method.call(client, request, (error, response) => (error ? rejectCall(new Error(error.details)) : resolveCall(response))),
    );
  const struct = (properties: Properties) => Struct.fromJavaScript(properties as Record<string, never>);

  return {
    async check(urn, olds, news) {
      const request = new provproto.CheckRequest();
      request.setUrn(urn);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call<provproto.CheckRequest, provproto.CheckResponse>(client.check, request);
      return {
        inputs: response.getInputs()!.toJavaScript() as Properties,
        failures: response.getFailuresList().map((failure) => ({ property: failure.getProperty(), reason: failure.getReason() })),
      };
    },
    async diff(urn, id, olds, news) {
      const request = new provproto.DiffRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call<provproto.DiffRequest, provproto.DiffResponse>(client.diff, request);
      const { DIFF_NONE, DIFF_SOME } = provproto.DiffResponse.DiffChanges;
      const changes = response.getChanges() === DIFF_NONE ? "none" : response.getChanges() === DIFF_SOME ? "some" : "unknown";
      return { changes, replaces: response.getReplacesList(), ...(response.getDeletebeforereplace() ? { deleteBeforeReplace: true as const } : {}) };
    },
    async create(urn, properties) {
      const request = new provproto.CreateRequest();
      request.setUrn(urn);
      request.setProperties(struct(properties));
      const response = await call<provproto.CreateRequest, provproto.CreateResponse>(client.create, request);
      return { id: response.getId(), properties: response.getProperties()!.toJavaScript() as Properties };
    },
    async update(urn, id, olds, news) {
      const request = new provproto.UpdateRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call<provproto.UpdateRequest, provproto.UpdateResponse>(client.update, request);
      return response.getProperties()!.toJavaScript() as Properties;
    },
    async read(urn, id, properties) {
      const request = new provproto.ReadRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setProperties(struct(properties));
      const response = await call<provproto.ReadRequest, provproto.ReadResponse>(client.read, request);
      return { id: response.getId(), properties: (response.getProperties()?.toJavaScript() ?? {}) as Properties };
    },
    async delete(urn, id, properties) {
      const request = new provproto.DeleteRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setProperties(struct(properties));
      await call(client.delete, request);
    },
    output: () => printed,
    peakRssMiB: () => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]) / 1024,
    async stop() {
      client.close();
      child.kill();
      await child;
    },
  };
}

const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";

/** Whether a registered input is a Pulumi secret (the engine encrypts those in the state file). */
export function isSecretInput(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Properties)[SECRET_SIGNATURE_KEY] === "1b47061264138c4ac30d75fd1eb44270";
}

/** Inputs as the engine hands them to a provider that does not accept secrets: every secret replaced by its value. */
export function withoutSecretWrappers(properties: Properties): Properties {
  return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, isSecretInput(value) ? value.value : value]));
}

/**
 * The serialized provider of a dynamic resource, as the engine receives it in `__provider`:
 * declares the resource against mocks and returns the inputs of its registration.
 */
export async function registeredInputs(type: string, declare: () => pulumi.Resource): Promise<Properties> {
  let inputs: Properties | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type === type) inputs = args.inputs;
        return { id: `${args.name}-id`, state: {} };
      },
      call(args) {
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "netboot-lab",
    "provider-test",
    false,
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    declare();
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  if (!inputs) throw new Error(`no ${type} was registered`);
  return inputs;
}
