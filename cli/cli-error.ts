import { UserError } from "../lib/errors";
import { outputFileProblem, outputFolderProblem } from "../lib/files";

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

/** What a system call was doing to its path, in the words of `cannot … PATH`. */
const ATTEMPTS: Readonly<Record<string, string>> = {
  open: "open",
  read: "read",
  write: "write",
  mkdir: "create the folder",
  rmdir: "remove the folder",
  unlink: "remove",
  rename: "rename",
  chmod: "change the mode of",
  link: "link",
  symlink: "link",
  copyfile: "copy",
  scandir: "list the folder",
  stat: "look at",
  lstat: "look at",
  statfs: "look at",
  access: "reach",
};

/** The causes a user meets, in plain words; the errno code follows in brackets for a search. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder",
  EEXIST: "something of that name is already there",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EBUSY: "it is busy",
  EXDEV: "it is on another file system",
};

/** A file-system error as one line naming the path and the cause (`cannot create the folder /x/y: permission denied (EACCES)`); undefined for any other error. */
export function fileErrorText(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { syscall, code, path, dest } = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof syscall !== "string" || typeof code !== "string" || typeof path !== "string") return undefined;
  const target = dest ? `${path} to ${dest}` : path;
  return `cannot ${ATTEMPTS[syscall] ?? syscall} ${target}: ${CAUSES[code] ?? error.message.replace(/^[A-Z]+: /, "")} (${code})`;
}

/** A file-system error as a CliError under `context`, one line naming the path and the cause; undefined for any other error. */
export function fileError(context: string, error: unknown): CliError | undefined {
  const text = fileErrorText(error);
  return text === undefined ? undefined : new CliError(`${context}: ${text}`, 1, { cause: error });
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
    return new CliError(`${context}: ${fileErrorText(error) ?? error.message}`, 1, { cause: error });
  return error;
}

/**
 * Refuses an output path before anything is written: a file in the way of a folder (or a folder
 * where a file goes), or a kernel file system (/proc, /sys).
 */
export function checkOutputPath(context: string, flag: string, path: string, kind: "folder" | "file"): void {
  const problem = kind === "file" ? outputFileProblem(path) : outputFolderProblem(path);
  if (problem) throw new CliError(`${context}: ${flag} ${path}: ${problem}; choose another ${kind === "file" ? "file name" : "folder"}`, 2);
}
