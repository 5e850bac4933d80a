/**
 * The commands about a deployed lab reach its Docker host through the product's Docker client,
 * with no docker CLI on the machine; a host they cannot reach is named with what to check,
 * without a stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { dump } from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import { readStackConfigMap } from "../../lib/model";
import { mergeConfig } from "../support/pulumi-harness";

const PROJECT_DIR = resolve(__dirname, "..", "..");
const CLI = resolve(PROJECT_DIR, "bin", "netboot-lab.cjs");
const dir = mkdtempSync(join(tmpdir(), "nbl-lab-docker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A PATH with ssh and nothing else: no docker CLI. */
const bin = join(dir, "bin");
mkdirSync(bin);
symlinkSync("/usr/bin/ssh", join(bin, "ssh"));

/** A stack's file with `docker.host` set to `host`. */
function stackFileOn(stack: string, host: string): string {
  const config = mergeConfig(readStackConfigMap(join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`)), { "netboot-lab:docker": { host } });
  const path = join(dir, `${stack}-${host.replace(/\W+/g, "-")}.yaml`);
  writeFileSync(path, dump({ config }));
  return path;
}

/** `command` on `stack` with `docker.host` set to `host`, on a machine whose PATH has ssh but no docker CLI. */
const run = (command: string, stack: string, host: string) =>
  execa(process.execPath, [CLI, command, "--stack", stack, "--config", stackFileOn(stack, host)], { reject: false, env: { PATH: bin }, extendEnv: false });

describe("a Docker host the commands cannot reach", () => {
  it.each([["check"], ["watch"]])("%s names the socket it tried and the setting to check (exit 1)", async (command) => {
    const result = await run(command, "kvm", "unix:///nonexistent/docker.sock");

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("looking up network nbl-kvm: connect ENOENT /nonexistent/docker.sock");
    expect(result.stderr).toContain(
      "Docker host unix:///nonexistent/docker.sock: is the engine running there, and is netboot-lab:docker.host, or DOCKER_HOST, right?",
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("an ssh:// host that refuses the connection: ssh's own words", async () => {
    // Port 1 of the loopback: nothing listens there, so ssh fails at once, without a prompt. A remote
    // Docker host is for Fusion labs (QEMU guests must run where the lab bridge is).
    const result = await run("check", "fusion", "ssh://nobody@127.0.0.1:1");

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /looking up network nbl-fusion: ssh nobody@127\.0\.0\.1 docker system dial-stdio failed \(exit code 255\): .*Connection refused/,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
