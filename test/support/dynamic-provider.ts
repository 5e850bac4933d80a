/**
 * One call of a dynamic provider as `pulumi up` makes it: the resource's serialized provider
 * (`__provider`) in Pulumi's own dynamic-provider plugin (dynamic-provider-host.ts), started for
 * this call alone, answering in the shapes of pulumi.dynamic's results. Also reports the
 * plugin's peak resident memory, which is what a user's machine pays for the operation.
 */
import { startDynamicProviderHost, type DynamicProviderHost } from "./dynamic-provider-host";

export interface ProviderRun<T> {
  readonly result: T;
  /** Peak resident memory of the provider process. */
  readonly maxRssMiB: number;
  readonly seconds: number;
}

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly maxRssMiB: number,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

export interface RunProviderOptions {
  /** Added to this process's environment for the plugin (PATH decides which `ssh` and `docker` the provider finds). */
  readonly env?: Record<string, string>;
}

type Properties = Record<string, unknown>;
type Method = "create" | "read" | "update" | "delete" | "diff";

/** The engine's request for `method(...args)`, with the handler's argument list (`create(inputs)`, `update(id, olds, news)`, …), answered as the handler answers. */
async function callThroughEngineApi(host: DynamicProviderHost, provider: string, method: Method, args: readonly unknown[]): Promise<unknown> {
  const urn = `urn:pulumi:test::netboot-lab::pulumi-nodejs:dynamic:Resource::${method}`;
  const withProvider = (properties: unknown) => ({ ...(properties as Properties), __provider: provider });
  const [first, second, third] = args;
  switch (method) {
    case "create": {
      const created = await host.create(urn, withProvider(first));
      return { id: created.id, outs: created.properties };
    }
    case "read": {
      const read = await host.read(urn, String(first), withProvider(second));
      return { id: read.id, props: read.properties };
    }
    case "update":
      return { outs: await host.update(urn, String(first), withProvider(second), withProvider(third)) };
    case "delete":
      return host.delete(urn, String(first), withProvider(second));
    case "diff": {
      const diff = await host.diff(urn, String(first), withProvider(second), withProvider(third));
      return { changes: diff.changes === "some", replaces: diff.replaces, ...(diff.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}) };
    }
  }
}

/** Calls `method(...args)` of the serialized provider; rejects with the provider's own error message. */
export async function runSerializedProvider<T>(
  provider: string,
  method: Method,
  args: readonly unknown[],
  options: RunProviderOptions = {},
): Promise<ProviderRun<T>> {
  const host = await startDynamicProviderHost({ env: { ...process.env, ...options.env } });
  const started = process.hrtime.bigint();
  try {
    const result = (await callThroughEngineApi(host, provider, method, args)) as T;
    return { result, maxRssMiB: host.peakRssMiB(), seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (error) {
    throw new ProviderError((error as Error).message, host.peakRssMiB());
  } finally {
    await host.stop();
  }
}
