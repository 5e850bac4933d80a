/**
 * Dynamic providers the way `pulumi up` runs them: the serialized `__provider` text (as the
 * resource's constructor produced it under Pulumi's mocks) handed over gRPC to Pulumi's own
 * dynamic-provider host (@pulumi/pulumi/cmd/dynamic-provider), started as a plain Node child
 * process: no vitest transforms, no test module graph, only what the serialized text brings.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { execa, type ResultPromise } from "execa";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { PROJECT_DIR } from "./pulumi-harness";

// The generated gRPC stubs have no typings the project could import cleanly; their surface is small.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const providerProto = require("@pulumi/pulumi/proto/provider_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");

const HOST_ENTRY = join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider", "index.js");

export type Properties = Record<string, unknown>;

export interface DiffResult {
  readonly changes: "none" | "some" | "unknown";
  readonly replaces: string[];
  readonly deleteBeforeReplace: boolean;
}

/**
 * Declares resources under Pulumi's mocks and returns the inputs the engine would receive for
 * each custom resource, `__provider` (the serialized provider) included.
 */
export async function declaredInputs(declare: () => void): Promise<Map<string, Properties>> {
  const inputs = new Map<string, Properties>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        inputs.set(args.name, args.inputs);
        return { id: args.name, state: args.inputs };
      },
      call() {
        throw new Error("no invokes expected");
      },
    },
    "netboot-lab",
    "provider-test",
    false,
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    declare();
    return {};
  });
  const { waitForRPCs } = pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> };
  await waitForRPCs();
  return inputs;
}

/** Pulumi's dynamic-provider host in a child process, and a client speaking its gRPC interface. */
export class DynamicProviderHost {
  private constructor(
    private readonly child: ResultPromise,
    private readonly client: grpc.Client & Record<string, (request: unknown, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void>,
    /** What the host and the provider printed (console.warn of a provider lands here). */
    private readonly output: { text: string },
  ) {}

  static async start(): Promise<DynamicProviderHost> {
    // The engine starts the host in the project folder; the provider's `require("execa")` resolves from there.
    const child = execa("node", [HOST_ENTRY, "127.0.0.1:1"], { cwd: PROJECT_DIR, reject: false, buffer: false });
    const output = { text: "" };
    const port = await new Promise<number>((resolvePort, rejectPort) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        output.text += chunk.toString();
        const match = /^(\d+)\n/.exec(output.text);
        if (match) resolvePort(Number(match[1]));
      });
      child.stderr!.on("data", (chunk: Buffer) => (output.text += chunk.toString()));
      void child.then((result) => rejectPort(new Error(`the dynamic-provider host exited (${result.exitCode}) before listening:\n${output.text}`)));
    });
    const client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new DynamicProviderHost(child, client, output);
  }

  /** Everything the host process printed so far. */
  get log(): string {
    return this.output.text;
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolveCall, rejectCall) =>
      this.client[method]!.call(this.client, request, (error, response) => (error ? rejectCall(new Error(`${method}: ${error.details || error.message}`)) : resolveCall(response as T))),
    );
  }

  async create(urn: string, properties: Properties): Promise<{ id: string; outs: Properties }> {
    const request = new providerProto.CreateRequest();
    request.setUrn(urn);
    request.setProperties(struct(properties));
    const response = await this.call<{ getId(): string; getProperties(): Struct }>("create", request);
    return { id: response.getId(), outs: response.getProperties().toJavaScript() as Properties };
  }

  async diff(urn: string, id: string, olds: Properties, news: Properties): Promise<DiffResult> {
    const request = new providerProto.DiffRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setOlds(struct(olds));
    request.setNews(struct(news));
    const response = await this.call<{ getChanges(): number; getReplacesList(): string[]; getDeletebeforereplace(): boolean }>("diff", request);
    const changes = { [providerProto.DiffResponse.DiffChanges.DIFF_NONE]: "none", [providerProto.DiffResponse.DiffChanges.DIFF_SOME]: "some" }[response.getChanges()];
    return { changes: (changes as DiffResult["changes"]) ?? "unknown", replaces: response.getReplacesList(), deleteBeforeReplace: response.getDeletebeforereplace() };
  }

  async update(urn: string, id: string, olds: Properties, news: Properties): Promise<Properties> {
    const request = new providerProto.UpdateRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setOlds(struct(olds));
    request.setNews(struct(news));
    const response = await this.call<{ getProperties(): Struct }>("update", request);
    return response.getProperties().toJavaScript() as Properties;
  }

  async read(urn: string, id: string, properties: Properties): Promise<Properties> {
    const request = new providerProto.ReadRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setProperties(struct(properties));
    const response = await this.call<{ getProperties(): Struct }>("read", request);
    return response.getProperties().toJavaScript() as Properties;
  }

  async delete(urn: string, id: string, properties: Properties): Promise<void> {
    const request = new providerProto.DeleteRequest();
    request.setUrn(urn);
    request.setId(id);
    request.setProperties(struct(properties));
    await this.call("delete", request);
  }

  async stop(): Promise<void> {
    this.client.close();
    this.child.kill("SIGTERM");
    await this.child;
  }
}

/** As the engine sends properties: plain JSON values, unset keys absent. */
function struct(properties: Properties): Struct {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(properties)));
}

export function urnOf(type: string, name: string): string {
  return `urn:pulumi:provider-test::netboot-lab::${type}::${name}`;
}
