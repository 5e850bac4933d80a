/**
 * The command dispatcher every bundle of the CLI runs: the netboot-lab CLI users run with all
 * commands, and the parts the lab's images carry (cli/builder-main.ts, cli/runtime-main.ts),
 * each with only the commands its image runs.
 */
import { UserError } from "../lib/errors";
import { fileError, isArgumentError, type Command } from "./cli-error";

function usage(commands: Readonly<Record<string, Command>>): string {
  const lines = Object.values(commands).map((command) => `  ${command.usage}\n      ${command.summary}`);
  return `usage: netboot-lab <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(commands: Readonly<Record<string, Command>>, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage(commands));
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`netboot-lab: unknown command "${name}"\n\n${usage(commands)}`);
    return 2;
  }
  // Commands with help of their own (probe) handle --help themselves.
  if ((rest.includes("--help") || rest.includes("-h")) && !command.handlesHelp) {
    process.stdout.write(`usage: netboot-lab ${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  const unknownAction = command.actions && !(rest[0] ?? "").startsWith("-") && !Object.hasOwn(command.actions, rest[0] ?? "");
  if (unknownAction) {
    const usages = Object.values(command.actions!).map((line) => `\n  netboot-lab ${line}`);
    process.stderr.write(`netboot-lab: ${name}: unknown action "${rest[0] ?? ""}"; usage:${usages.join("")}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // A file-system error a command did not explain itself is still one line naming the path and the cause.
    if (!isArgumentError(error)) throw fileError(name, error) ?? error;
    process.stderr.write(argumentErrorText(name, command, rest, error));
    return 2;
  }
}

/** `netboot-lab mkext build: Unknown option '--bogus'…` and the usage line of that action (or of the command). */
function argumentErrorText(name: string, command: Command, args: readonly string[], error: Error): string {
  const action = args[0] !== undefined && command.actions && Object.hasOwn(command.actions, args[0]) ? args[0] : undefined;
  const usage = action ? command.actions![action] : command.usage;
  return `netboot-lab: ${action ? `${name} ${action}` : name}: ${error.message}\nusage: netboot-lab ${usage}\n`;
}

/** Runs the command `process.argv` names among `commands` and sets the exit code. */
export function runCli(commands: Readonly<Record<string, Command>>): void {
  main(commands, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof UserError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`netboot-lab: ${message}\n`);
      process.exitCode = error instanceof UserError ? error.exitCode : 1;
    },
  );
}
