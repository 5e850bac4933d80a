/**
 * `npm run test:engine`: the lab's lifecycle under the real Pulumi engine and docker provider
 * (the `pulumi` CLI on PATH), as a user runs it for months. The kvm stack comes up on a random
 * bridge; then every refresh, preview and up of the unchanged program must change nothing, and
 * each change must touch exactly what depends on it. Each step asserts the set of resources the
 * engine itself reports as created, updated, replaced or deleted (its step events), with the
 * properties it saw differ in the failure message.
 *
 * The steps build on each other in order; the stack, its Docker objects and its images are
 * removed afterwards whatever failed.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngineLab, labImages, labObjectsOnEngine, RefreshRecorder, StepRecorder, type ChangeSet, type EngineLab } from "./engine-lab";

const STACK = "kvm";
const name = (suffix: string) => `nbl-${STACK}-${suffix}`;

let lab: EngineLab;

beforeAll(async () => {
  lab = await createEngineLab(STACK);
});

afterAll(async () => {
  await lab?.remove();
});

/**
 * Preview, then up, of the program as it now stands: both must report `expected` and nothing
 * else. The up runs whatever the preview showed, so a failed step leaves the next one starting
 * from the applied program, not from this step's leftovers.
 */
async function previewAndUp(expected: ChangeSet): Promise<void> {
  const preview = new StepRecorder();
  await lab.stack.preview({ onEvent: preview.onEvent, diff: true });
  const up = new StepRecorder();
  await lab.stack.up({ onEvent: up.onEvent });
  expect({ preview: preview.changes, up: up.changes }, `preview: ${preview.explain()}\nup: ${up.explain()}`).toEqual({ preview: expected, up: expected });
}

/** Gives one boot image of the stack another kernel command line: a change of that image alone. */
function changeCmdline(image: string, cmdline: string): void {
  const images = lab.config["netboot-lab:bootImages"] as { name: string }[];
  lab.configure({ "netboot-lab:bootImages": images.map((candidate) => (candidate.name === image ? { ...candidate, linux: { cmdline } } : candidate)) });
}

/** A refresh reads every resource back from the engine and its providers; `drift` is what it found changed. */
async function refreshFindsNoDrift(): Promise<void> {
  const refresh = new RefreshRecorder();
  const result = await lab.stack.refresh({ onEvent: refresh.onEvent });
  expect(refresh.drift, "refresh found resources changed since the last update (resource: properties)").toEqual({});
  expect(Object.keys(result.summary.resourceChanges ?? {}).filter((op) => op !== "same")).toEqual([]);
}

describe("the kvm stack under the real Pulumi engine", () => {
  it("up creates the lab and changes nothing else", async () => {
    const up = new StepRecorder();
    await lab.stack.up({ onEvent: up.onEvent });
    const changes = Object.values(up.changes);
    expect(changes.length).toBeGreaterThan(0);
    expect(new Set(changes), up.explain()).toEqual(new Set(["create"]));
    expect(await labObjectsOnEngine(lab.prefix)).toContain(`${lab.prefix}-dhcpd`);
  });

  it("a refresh right after up finds every resource as up left it", async () => {
    await refreshFindsNoDrift();
  });

  it("preview and up of the unchanged program propose no create, update, replace or delete", async () => {
    await previewAndUp({});
  });

  it("a refresh after a no-op up still finds nothing changed", async () => {
    await refreshFindsNoDrift();
  });

  it("adding a client changes only dhcpd's container and creates the client", async () => {
    const clients = lab.config["netboot-lab:clients"] as { name: string; mac: string; bootImage: string }[];
    lab.configure({ "netboot-lab:clients": [...clients, { name: "added", mac: "52:54:00:77:00:20", bootImage: "linux-ipxe", autostart: false }] });
    await previewAndUp({
      [`Container ${name("dhcpd")}`]: "replace",
      [`Client ${name("added")}`]: "create",
      [`QemuProcess ${name("added-qemu")}`]: "create",
    });
  });

  it("changing one boot image reruns only its build", async () => {
    changeCmdline("linux-pxelinux", "console=ttyS0 loglevel=5");
    await previewAndUp({ [`Resource ${name("linux-pxelinux-build")}`]: "update" });
  });

  it("changing a CLI source file that no daemon runs rebuilds no boot image and replaces no container", async () => {
    const bundle = join(lab.projectDir, "dist", "netboot-lab.cjs");
    const before = readFileSync(bundle, "utf8");
    const watch = join(lab.projectDir, "cli", "commands", "watch.ts");
    // A top-level statement, so the bundler keeps it: the bundle really changes, as any edit of `watch` changes it.
    writeFileSync(watch, `${readFileSync(watch, "utf8")}\nprocess.env.NETBOOT_LAB_ENGINE_TEST_EDIT ??= "watch edited";\n`);
    await execa("node", ["scripts/build-cli.mjs"], { cwd: lab.projectDir });
    expect(readFileSync(bundle, "utf8")).not.toEqual(before);
    await previewAndUp({});
  });

  it("after the builder image is deleted on the engine (docker image prune -a), refresh and up still work", async () => {
    const builder = (await labImages(lab.stack)).find((image) => image.startsWith("netboot-lab/builder:"));
    expect(builder, "the stack's state holds the builder image").toBeDefined();
    await execa("docker", ["rmi", "-f", builder!]);
    await lab.stack.refresh();
    await lab.stack.up();
  });

  it("with the builder image deleted, the next boot image change still builds", async () => {
    changeCmdline("linux-grub", "console=ttyS0 loglevel=7");
    await previewAndUp({ [`Resource ${name("linux-grub-build")}`]: "update" });
  });

  it("destroy works and leaves no container, network, volume or bridge of the lab", async () => {
    await lab.destroy();
    expect(await labObjectsOnEngine(lab.prefix)).toEqual([]);
    expect(existsSync(`/sys/class/net/${lab.bridge}`), `the lab bridge ${lab.bridge} is gone`).toBe(false);
  });
});
