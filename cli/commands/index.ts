import type { Command } from "../cli-error";
import { renderCommand } from "./render";

/** Every sub-command by name. Add new ones here. */
export const COMMANDS: Record<string, Command> = {
  render: renderCommand,
};
