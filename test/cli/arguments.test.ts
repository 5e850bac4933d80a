import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../cli/commands";

/** The CLI exactly as users run it: the bundled bin entry (global setup bundles it). */
function netbootLab(...args: string[]) {
  return execa("node", ["bin/netboot-lab.cjs", ...args], { reject: false });
}

/** Every command, and every action of a command that has actions, with the usage line it must print. */
const INVOCATIONS = Object.entries(COMMANDS).flatMap(([name, command]) =>
  command.actions ? Object.entries(command.actions).map(([action, usage]) => ({ words: [name, action], usage })) : [{ words: [name], usage: command.usage }],
);

describe("an unknown option", () => {
  it.each(INVOCATIONS.map((invocation) => [invocation.words.join(" "), invocation] as const))(
    "%s --bogus exits 2 with the usage line and no stack trace",
    async (_, { words, usage }) => {
      const result = await netbootLab(...words, "--bogus");

      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(new RegExp(`^netboot-lab: ${words.join(" ")}: Unknown option '--bogus'`));
      expect(result.stderr).toContain(`\nusage: netboot-lab ${usage}`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    },
  );
});
