/** The commands about a deployed lab on a machine without the docker CLI: they say what is missing, without a stack trace. */
import { resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const PROJECT_DIR = resolve(__dirname, "..", "..");
const CLI = resolve(PROJECT_DIR, "bin", "netboot-lab.cjs");

describe("without the docker CLI", () => {
  it.each([["check"], ["watch"]])("%s --stack kvm says to install it (exit 1)", async (command) => {
    const result = await execa(process.execPath, [CLI, command, "--stack", "kvm", "--project", PROJECT_DIR], { reject: false, env: { PATH: "/nonexistent" } });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("the docker CLI is not installed");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
