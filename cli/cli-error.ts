import { UserError } from "../lib/errors";

/** An error the user can act on: printed without a stack trace, with its own exit code. */
export class CliError extends UserError {}

/** A sub-command: `usage` and `summary` feed `netboot-lab --help`; `run` returns the exit code. */
export interface Command {
  readonly usage: string;
  readonly summary: string;
  /**
   * Usage line of each action (`mkext build`, …), for argument errors of that action; absent when
   * the command has none. cli/main.ts refuses an unknown action before `run` is called.
   */
  readonly actions?: Readonly<Record<string, string>>;
  /** True when `run` prints a fuller help for --help itself. */
  readonly handlesHelp?: boolean;
  /** Argument errors (unknown options, missing values) thrown by node:util's parseArgs are reported by cli/main.ts. */
  run(args: string[]): Promise<number>;
}

/** True for node:util parseArgs' errors: an unknown option, a missing value, an unexpected positional. */
export function isArgumentError(error: unknown): error is Error {
  return (
    error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && (error as NodeJS.ErrnoException).code!.startsWith("ERR_PARSE_ARGS")
  );
}

/**
 * `error` as the CLI reports it under `context` (e.g. `nbi build`): a user error, or a file the
 * user named that cannot be read or written, becomes a CliError with that prefix; anything
 * else is a bug and keeps its stack trace.
 */
export function inContext(context: string, error: unknown): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof UserError) return new CliError(`${context}: ${error.message}`, error.exitCode, { cause: error });
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string")
    return new CliError(`${context}: ${error.message}`, 1, { cause: error });
  return error;
}
