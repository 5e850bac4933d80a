/**
 * Runs a dynamic provider the way Pulumi's engine runs it: its serialized `__provider` text,
 * loaded with require-from-string (what @pulumi/pulumi/cmd/dynamic-provider does) in a plain
 * Node process of its own, outside vitest's module transforms. Also reports that process's
 * peak resident memory, which is what a user's machine pays for the operation.
 */
import { execa } from "execa";
import { PROJECT_DIR } from "./pulumi-harness";

/** The child: reads `{ provider, method, args }` as JSON on stdin, prints `{ result | error, maxRssKiB }`. */
const RUNNER = `
const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const { provider, method, args } = JSON.parse(input);
  const report = (outcome) => process.stdout.write(JSON.stringify({ ...outcome, maxRssKiB: process.resourceUsage().maxRSS }));
  try {
    const handler = requireFromString(provider).handler();
    report({ result: (await handler[method](...args)) ?? null });
  } catch (error) {
    report({ error: String(error && error.message || error) });
  }
});
`;

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
  /** Runs the process inside this network namespace (`ip netns exec`), e.g. to reach a test sshd on its loopback. */
  readonly namespace?: string;
  readonly env?: Record<string, string>;
}

/** Calls `method(...args)` of the serialized provider; rejects with the provider's own error message. */
export async function runSerializedProvider<T>(
  provider: string,
  method: "create" | "read" | "update" | "delete" | "diff",
  args: readonly unknown[],
  options: RunProviderOptions = {},
): Promise<ProviderRun<T>> {
  const node = [process.execPath, "-e", RUNNER];
  const [command, ...commandArgs] = options.namespace ? ["ip", "netns", "exec", options.namespace, ...node] : node;
  const started = process.hrtime.bigint();
  const child = await execa(command!, commandArgs, { cwd: PROJECT_DIR, input: JSON.stringify({ provider, method, args }), reject: false, env: options.env });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let outcome: { result?: T; error?: string; maxRssKiB: number };
  try {
    outcome = JSON.parse(String(child.stdout));
  } catch {
    throw new Error(`the provider process exited ${child.exitCode} without a report:\n${String(child.stderr)}`);
  }
  const maxRssMiB = outcome.maxRssKiB / 1024;
  if (outcome.error !== undefined) throw new ProviderError(outcome.error, maxRssMiB);
  return { result: outcome.result as T, maxRssMiB, seconds };
}
