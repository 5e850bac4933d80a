/**
 * A lab that is changed and redeployed for months: boot images renamed and removed, a build
 * that fails and is fixed, one image changed among several. The build resources' serialized
 * provider runs against the local engine as the engine would run it, step by step as `pulumi
 * up` would call it; the stack-level checks run the real index.ts under mocks.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { planDockerApply, type DynamicStep } from "../support/docker-plan";
import { ProviderError, runSerializedProvider } from "../support/dynamic-provider";
import { PROJECT_DIR, runStack, type DeclaredResource, type StackRun } from "../support/pulumi-harness";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";
import { darwinImage, darwinMedia, type DarwinMedia } from "./fixtures";

const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const labels = testCaseLabels(`lifecycle-${id}`);
const namePrefix = `nbt${id}-`;
const labelFlags = Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);

type ImageInput = Record<string, unknown> & { name: string };
interface Built {
  readonly id: string;
  readonly outs: Record<string, unknown>;
}

let media: DarwinMedia;
let applied: AppliedLab | undefined;
let netbsd: { pxeboot: string; kernel: string };

/** NetBSD's pxeboot with its boot parameter block (magic, then its size), which `serialConsole` patches. */
function writeNetbsdMedia(dir: string): { pxeboot: string; kernel: string } {
  mkdirSync(join(dir, "netbsd"), { recursive: true });
  const pxeboot = Buffer.alloc(4096, 0x90);
  pxeboot.writeUInt32LE(0x7886b6d3, 516);
  pxeboot.writeUInt32LE(100, 520);
  writeFileSync(join(dir, "netbsd", "pxeboot_ia32.bin"), pxeboot);
  writeFileSync(join(dir, "netbsd", "netbsd"), "fake NetBSD kernel");
  return { pxeboot: join(dir, "netbsd", "pxeboot_ia32.bin"), kernel: join(dir, "netbsd", "netbsd") };
}

function stackWith(images: ImageInput[]): Promise<StackRun> {
  return runStack("builder", {
    projectDir: "test/boot-image/fixtures/project",
    configOverrides: { "netboot-lab:docker": { baseImage: BASE_IMAGE }, "netboot-lab:bootImages": images, "netboot-lab:clients": [] },
  });
}

/** Each image's build step as the engine would hand it to the provider. */
function buildSteps(run: StackRun): Record<string, DynamicStep> {
  const steps = planDockerApply(run.resources, { labels, namePrefix, projectDir: PROJECT_DIR, localDockerHost: process.env.DOCKER_HOST });
  return Object.fromEntries(steps.filter((step): step is DynamicStep => step.kind === "dynamic").map((step) => [step.inputs.imageName as string, step]));
}

async function call<T>(step: DynamicStep, method: "create" | "update" | "delete" | "diff" | "read", ...args: unknown[]): Promise<T> {
  return (await runSerializedProvider<T>(step.provider, method, args)).result;
}

/** Top-level entries of the boot tree and of its media folder. */
async function tree(): Promise<{ images: string[]; media: string[] }> {
  const volume = applied!.dockerName("volume", "nbt-boot-tree");
  const listing = await execa("docker", [
    "run",
    "--rm",
    ...labelFlags,
    "--network",
    "none",
    "-v",
    `${volume}:/tree`,
    "--entrypoint",
    "sh",
    BASE_IMAGE,
    "-c",
    "ls -A /tree; echo --; ls -A /tree/.netboot-lab-media 2>/dev/null || true",
  ]);
  const [images, mediaEntries] = String(listing.stdout).split("--");
  const names = (text = "") =>
    text
      .split("\n")
      .filter(Boolean)
      .filter((name) => name !== ".netboot-lab-media")
      .sort();
  return { images: names(images), media: names(mediaEntries) };
}

const ipxe = (name: string): ImageInput => ({ name, kind: "ipxe" });
const netbsdImage = (name: string): ImageInput => ({ name, kind: "netbsd", pxeboot: netbsd.pxeboot, kernel: netbsd.kernel, serialConsole: true });

let first: Record<string, Built>;

beforeAll(async () => {
  media = darwinMedia();
  netbsd = writeNetbsdMedia(media.dir);
  const run = await stackWith([ipxe("alpha"), darwinImage(media, { name: "beta" }) as ImageInput]);
  applied = await applyToDocker(run.resources, { labels, namePrefix, imageBuildArgs: { BASE_IMAGE } });
  first = { alpha: applied.dynamicResults["nbt-alpha-build"]!, beta: applied.dynamicResults["nbt-beta-build"]! };
}, 900_000);

afterAll(async () => {
  await applied?.teardown();
  media?.cleanup();
});

describe("renaming and removing boot images", () => {
  test("both images are in the tree, each with its own media", async () => {
    expect(await tree()).toEqual({ images: ["alpha", "beta"], media: ["beta"] });
  });

  test("a renamed image is built under its new name and the old folder and media are removed", async () => {
    const steps = buildSteps(await stackWith([ipxe("alpha"), darwinImage(media, { name: "gamma" }) as ImageInput]));
    // What `pulumi up` does for a renamed resource: create the new one, then delete the old one.
    await call(steps.gamma!, "create", steps.gamma!.inputs);
    await call(steps.gamma!, "delete", first.beta!.id, first.beta!.outs);

    expect(await tree()).toEqual({ images: ["alpha", "gamma"], media: ["gamma"] });
  });

  test("a removed image leaves nothing in the tree", async () => {
    await call(buildSteps(await stackWith([ipxe("alpha")])).alpha!, "delete", first.alpha!.id, first.alpha!.outs);

    expect((await tree()).images).toEqual(["gamma"]);
  });

  test("refresh reports an image whose folder was deleted by hand as gone, so the next up builds it again", async () => {
    const step = buildSteps(await stackWith([darwinImage(media, { name: "gamma" }) as ImageInput])).gamma!;
    const gamma = { id: `${step.inputs.bootTreeVolume}/gamma`, outs: { ...step.inputs, buildLog: "", uploaded: [] } };
    expect((await call<{ id: string }>(step, "read", gamma.id, gamma.outs)).id).toBe(gamma.id);

    const volume = applied!.dockerName("volume", "nbt-boot-tree");
    await execa("docker", ["run", "--rm", ...labelFlags, "--network", "none", "-v", `${volume}:/tree`, "--entrypoint", "rm", BASE_IMAGE, "-rf", "/tree/gamma"]);

    expect((await call<{ id: string }>(step, "read", gamma.id, gamma.outs)).id).toBe("");
  });
});

describe("with the builder image gone from the engine (docker image prune -a)", () => {
  test("refresh still finds the image and delete still removes its folder and media: both run in the tool image", async () => {
    const step = buildSteps(await stackWith([darwinImage(media, { name: "zeta" }) as ImageInput])).zeta!;
    const before = await tree();
    // A tag of the builder of this run alone, so removing it takes nothing from the tests beside this one.
    const builder = `nbt-builder-${id}:gone`;
    await execa("docker", ["tag", String(step.inputs.builderImage), builder]);
    const built = await call<Built>(step, "create", { ...step.inputs, builderImage: builder, toolImage: BASE_IMAGE });
    expect((await tree()).images).toContain("zeta");
    await execa("docker", ["rmi", builder]);
    expect((await execa("docker", ["image", "inspect", builder], { reject: false })).exitCode).not.toBe(0);

    expect((await call<{ id: string }>(step, "read", built.id, built.outs)).id).toBe(built.id);
    await call(step, "delete", built.id, built.outs);

    expect(await tree()).toEqual(before);
    expect((await call<{ id: string }>(step, "read", built.id, built.outs)).id).toBe("");
  });

  test("a new tool image (the server image rebuilt) is recorded by an update that builds nothing", async () => {
    const step = buildSteps(await stackWith([ipxe("eta")])).eta!;
    const olds = { ...step.inputs, toolImage: "netboot-lab/server:old", buildLog: "built boot image eta\n", uploaded: [] };
    const news = { ...step.inputs, toolImage: "netboot-lab/server:new", builderImage: "netboot-lab/builder:not-on-the-engine" };

    expect(await call(step, "diff", "id", { ...olds, builderImage: news.builderImage }, news)).toMatchObject({ changes: true, replaces: [] });
    const updated = await call<{ outs: Record<string, unknown> }>(step, "update", "id", { ...olds, builderImage: news.builderImage }, news);

    expect(updated.outs).toMatchObject({ toolImage: "netboot-lab/server:new", buildLog: "built boot image eta\n", uploaded: [] });
  });
});

describe("a build that fails", () => {
  let good: Built;
  let brokenStep: DynamicStep;

  test("a good NetBSD image builds", async () => {
    const step = buildSteps(await stackWith([netbsdImage("delta")])).delta!;
    good = await call<Built>(step, "create", step.inputs);

    expect(good.outs.buildLog).toContain("pxeboot: console set to com0");
  });

  test("fails its update with the builder's message and leaves the previous image served", async () => {
    // The user copies a damaged pxeboot over the good one: no boot parameter block to patch.
    writeFileSync(netbsd.pxeboot, Buffer.alloc(4096, 0x90));
    brokenStep = buildSteps(await stackWith([netbsdImage("delta")])).delta!;

    const failure = await call(brokenStep, "update", good.id, good.outs, brokenStep.inputs).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ProviderError);
    expect((failure as Error).message).toMatch(/building boot image "delta" failed in the builder container \(exit code 1\):\n.*boot parameter block/);
    expect((failure as Error).message).toContain("a failed build is not recorded, so the next update runs it again");
    expect((await tree()).images).toContain("delta");
  });

  test("is still a change on the next `pulumi up` (the engine kept the old state), and runs again once fixed, without --replace", async () => {
    const stillPending = await call<{ changes: boolean; replaces: string[] }>(brokenStep, "diff", good.id, good.outs, brokenStep.inputs);
    expect(stillPending).toMatchObject({ changes: true, replaces: [] });

    writeNetbsdMedia(media.dir);
    const fixed = buildSteps(await stackWith([netbsdImage("delta")])).delta!;
    const rebuilt = await call<{ outs: Record<string, unknown> }>(fixed, "update", good.id, good.outs, fixed.inputs);

    expect(rebuilt.outs.buildLog).toContain("built boot image delta");
  });

  test("a failed first build is not recorded at all, so the next up creates it again", async () => {
    writeFileSync(netbsd.pxeboot, Buffer.alloc(4096, 0x90));
    const broken = buildSteps(await stackWith([netbsdImage("epsilon")])).epsilon!;
    await expect(call(broken, "create", broken.inputs)).rejects.toThrow(/building boot image "epsilon" failed/);

    writeNetbsdMedia(media.dir);
    const fixed = buildSteps(await stackWith([netbsdImage("epsilon")])).epsilon!;
    expect((await call<Built>(fixed, "create", fixed.inputs)).outs.buildLog).toContain("built boot image epsilon");
  });
});

describe("changing one image of the kvm stack", () => {
  const withCmdline = (cmdline: string) =>
    runStack("kvm", {
      configOverrides: {
        "netboot-lab:bootImages": [
          { name: "linux-ipxe", kind: "ipxe", linux: { cmdline } },
          { name: "linux-grub", kind: "grub", nfsRoot: true },
          { name: "linux-pxelinux", kind: "pxelinux" },
        ],
      },
    });
  const inputsOf = (resources: readonly DeclaredResource[]) =>
    Object.fromEntries(resources.map((resource) => [resource.name, { ...resource.inputs, __provider: undefined }]));

  test("changes the inputs of that image's build only: no other build reruns and no daemon container is replaced", async () => {
    // One after the other: the mocks are process-global.
    const before = await withCmdline("console=ttyS0");
    const after = await withCmdline("console=ttyS0 quiet");
    const [old, changed] = [inputsOf(before.resources), inputsOf(after.resources)];

    const differing = Object.keys(changed).filter((name) => JSON.stringify(changed[name]) !== JSON.stringify(old[name]));
    expect(differing).toEqual(["nbl-kvm-linux-ipxe-build"]);
  });

  test("the provider's diff says so: a change for the changed image, none for the others", async () => {
    const before = await withCmdline("console=ttyS0");
    const after = await withCmdline("console=ttyS0 quiet");
    const [old, changed] = [before.resources, after.resources].map((resources) =>
      planDockerApply(resources, { labels, projectDir: PROJECT_DIR, localDockerHost: process.env.DOCKER_HOST }).filter(
        (step): step is DynamicStep => step.kind === "dynamic",
      ),
    );
    const diffs = await Promise.all(
      changed.map((step, index) => call<{ changes: boolean }>(step, "diff", "id", { ...old[index]!.inputs, buildLog: "", uploaded: [] }, step.inputs)),
    );

    expect(Object.fromEntries(changed.map((step, index) => [step.inputs.imageName, diffs[index]!.changes]))).toEqual({
      "linux-ipxe": true,
      "linux-grub": false,
      "linux-pxelinux": false,
    });
  });
});

test("teardown leaves nothing of the test on the engine", async () => {
  await applied!.teardown();
  expect(await dockerObjectsOf(labels)).toEqual([]);
});
