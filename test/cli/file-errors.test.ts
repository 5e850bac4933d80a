/**
 * Every command that reads or writes files the user names answers a file problem with one line
 * naming the path and the cause, never a stack trace; an output path under a file or on a kernel
 * file system (/proc, /sys) is refused before anything is written. (render: test/cli/render.test.ts.)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { fileError } from "../../cli/cli-error";

const workDir = mkdtempSync(join(tmpdir(), "nbl-file-errors-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const aFile = join(workDir, "a-file");
writeFileSync(aFile, "not a folder\n");
const aFolder = join(workDir, "a-folder");
mkdirSync(aFolder);

/** The CLI exactly as users run it (global setup bundles it); a hang fails the test instead of stalling it. */
function netbootLab(...args: string[]) {
  return execa("node", ["bin/netboot-lab.cjs", ...args], { reject: false, timeout: 30_000 });
}

describe("output paths are refused before anything is written", () => {
  it.each([
    [
      "nbi build",
      ["nbi", "build", "--out", "/proc/netboot-lab-nbi"],
      "nbi build: --out /proc/netboot-lab-nbi: /proc is on the kernel's proc file system, which holds no files of yours; choose another folder",
    ],
    [
      "nbi build",
      ["nbi", "build", "--out", join(aFile, "nbi")],
      `nbi build: --out ${join(aFile, "nbi")}: ${aFile} is a file, not a folder; choose another folder`,
    ],
    [
      "payload build",
      ["payload", "build", "--spec", join(workDir, "spec.json"), "--out", "/proc/netboot-lab-tree"],
      "payload build: --out /proc/netboot-lab-tree: /proc is on the kernel's proc file system, which holds no files of yours; choose another folder",
    ],
    [
      "mkext build",
      ["mkext", "build", "--out", "/sys/netboot-lab.mkext", aFolder],
      "mkext build: --out /sys/netboot-lab.mkext: /sys is on the kernel's sysfs file system, which holds no files of yours; choose another file name",
    ],
    [
      "mkext build",
      ["mkext", "build", "--out", join(aFile, "x.mkext"), aFolder],
      `mkext build: --out ${join(aFile, "x.mkext")}: ${aFile} is a file, not a folder; choose another file name`,
    ],
  ])("%s %#", async (_, args, line) => {
    const result = await netbootLab(...args);
    expect(result.stderr).toBe(`netboot-lab: ${line}`);
    expect(result.exitCode).toBe(2);
  });
});

describe("a file that cannot be read or written is one line", () => {
  it("mkext inspect of a folder", async () => {
    const result = await netbootLab("mkext", "inspect", aFolder);
    expect(result.stderr).toBe(`netboot-lab: mkext inspect: cannot read ${aFolder}: EISDIR: illegal operation on a directory, read`);
    expect(result.exitCode).toBe(1);
  });

  it("mkext build onto a folder is refused up front", async () => {
    const result = await netbootLab("mkext", "build", "--out", aFolder, aFolder);
    expect(result.stderr).toBe(`netboot-lab: mkext build: --out ${aFolder}: ${aFolder} is a folder, not a file; choose another file name`);
    expect(result.exitCode).toBe(2);
  });

  it("render with a project folder that is a file", async () => {
    const result = await netbootLab("render", "--stack", "kvm", "--project", aFile, "--out", join(workDir, "out"));
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(result.stderr).toContain(`cannot read ${join(aFile, "stacks", "Pulumi.kvm.yaml")}: ENOTDIR: not a directory, open`);
    expect(result.exitCode).toBe(1);
  });
});

describe("a file-system error no command explained (cli/run-cli.ts)", () => {
  it("becomes one line under the command's name, naming the path and the cause", () => {
    const missing = join(aFolder, "gone", "file");
    let error: unknown;
    try {
      readFileSync(missing);
    } catch (caught) {
      error = caught;
    }
    expect(fileError("watch", error)?.message).toBe(`watch: cannot open ${missing}: no such file or folder (ENOENT)`);
    expect(fileError("watch", new Error("a bug"))).toBeUndefined();
  });
});
