import { UserError } from "../lib/errors";

/** An error the user can act on: printed without a stack trace, with its own exit code. */
export class CliError extends UserError {}

/** A sub-command: `usage` and `summary` feed `netboot-lab --help`; `run` returns the exit code. */
export interface Command {
  readonly usage: string;
  readonly summary: string;
  /** True when `run` prints a fuller help for --help itself. */
  readonly handlesHelp?: boolean;
  run(args: string[]): Promise<number>;
}
