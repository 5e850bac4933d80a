/**
 * Large media on the streaming path: a Darwin image with a 2 GiB root image (sparse, with
 * marker bytes the test checks) declared by the real BootImage component, its serialized build
 * provider run as the engine runs it, into a boot-tree volume on the local engine and through a
 * real ssh:// Docker host. Peak memory of every process is measured: the provider's, the
 * builder's (it reports its own) and the stack program's, which hashes the file.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sha256OfFile } from "../../lib/boot-image";
import { applyToDocker, type AppliedLab, type DynamicResult } from "../support/docker-apply";
import { planDockerApply, type DynamicStep } from "../support/docker-plan";
import { runSerializedProvider } from "../support/dynamic-provider";
import { PROJECT_DIR, runStack, type StackRun } from "../support/pulumi-harness";
import { startTestSshHost, type TestSshHost } from "../support/sshd";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";
import { darwinImage, darwinMedia, type DarwinMedia } from "./fixtures";

const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const ROOT_IMAGE_BYTES = 2 * 1024 ** 3;
const MEMORY_BOUND_MIB = 300;
const id = randomBytes(3).toString("hex");
const labels = testCaseLabels(`media-${id}`);
const namePrefix = `nbt${id}-`;
const labelFlags = Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);

let media: DarwinMedia;
let stack: StackRun;
let applied: AppliedLab | undefined;
let built: DynamicResult;
let rootImageSha: string;

/** A sparse file with marker bytes at its start, middle and end, so a wrong offset shows in the hash. */
function writeSparseRootImage(path: string, size: number): void {
  execFileSync("truncate", ["-s", String(size), path]);
  const fd = openSync(path, "r+");
  try {
    for (const offset of [0, size / 2 + 12_345, size - 16]) writeSync(fd, Buffer.from(`netboot-lab@${offset}`.padEnd(16, "#").slice(0, 16)), 0, 16, offset);
  } finally {
    closeSync(fd);
  }
}

function stackWith(bootArgs: string[]): Promise<StackRun> {
  return runStack("builder", {
    projectDir: "test/boot-image/fixtures/project",
    configOverrides: {
      "netboot-lab:docker": { baseImage: BASE_IMAGE },
      "netboot-lab:bootImages": [darwinImage(media, { bootArgs })],
      "netboot-lab:clients": [{ name: "mac1", mac: "00:50:56:00:00:01", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "snow" }],
    },
  });
}

/** The build's inputs as the engine would hand them to the provider (volume renamed, test labels added). */
function buildStep(run: StackRun): DynamicStep {
  const steps = planDockerApply(run.resources, { labels, namePrefix, projectDir: PROJECT_DIR, localDockerHost: process.env.DOCKER_HOST });
  return steps.find((step): step is DynamicStep => step.kind === "dynamic")!;
}

/** Runs `script` in a throwaway container with the volume at /tree. */
async function inVolume(volume: string, script: string): Promise<string> {
  return (
    await execa("docker", ["run", "--rm", ...labelFlags, "--network", "none", "-v", `${volume}:/tree`, "--entrypoint", "sh", BASE_IMAGE, "-c", script])
  ).stdout.trim();
}

beforeAll(async () => {
  media = darwinMedia();
  writeSparseRootImage(media.rootImage, ROOT_IMAGE_BYTES);
  rootImageSha = sha256OfFile(media.rootImage);
  stack = await stackWith([]);
  applied = await applyToDocker(stack.resources, { labels, namePrefix, imageBuildArgs: { BASE_IMAGE } });
  built = applied.dynamicResults["nbt-snow-build"]!;
}, 900_000);

afterAll(async () => {
  await applied?.teardown();
  media?.cleanup();
});

const volume = () => applied!.dockerName("volume", "nbt-boot-tree");
const servedRootImage = "/tree/snow/Snow.nbi/NetInstall.dmg";

describe("a 2 GiB root image on the local engine", () => {
  test("arrives byte for byte in the image folder, streamed by a provider process that stays under the memory bound", async () => {
    const [sha, size] = (await inVolume(volume(), `sha256sum ${servedRootImage} | cut -d' ' -f1; stat -c %s ${servedRootImage}`)).split("\n");

    expect(sha).toBe(rootImageSha);
    expect(Number(size)).toBe(ROOT_IMAGE_BYTES);
    expect(built.outs.uploaded).toHaveLength(4);
    expect(built.outs.uploaded).toContain(`/srv/boot/.netboot-lab-media/snow/${rootImageSha}/NetInstall.dmg`);
    expect(built.maxRssMiB).toBeLessThanOrEqual(MEMORY_BOUND_MIB);
    console.info(`[media] local upload + build of a 2 GiB root image: ${built.seconds.toFixed(1)} s, provider peak RSS ${built.maxRssMiB.toFixed(0)} MiB`);
  });

  test("the builder hard-links the media into the image instead of copying it, with its own peak memory in the log", async () => {
    const links = await inVolume(volume(), `stat -c %h ${servedRootImage}`);
    const builderPeak = Number(/builder peak memory: (\d+) MiB/.exec(String(built.outs.buildLog))?.[1]);

    expect(links).toBe("2");
    console.info(`[media] builder peak RSS while building the image with the 2 GiB root image: ${builderPeak} MiB`);
    expect(builderPeak).toBeGreaterThan(0);
    expect(builderPeak).toBeLessThanOrEqual(MEMORY_BOUND_MIB);
  });

  test("the media folder is readable by root only, so TFTP (nobody) and HTTP (www-data) cannot serve it", async () => {
    expect(await inVolume(volume(), "stat -c %a /tree/.netboot-lab-media")).toBe("700");
  });

  test("the stack program hashing the 2 GiB file stays under the memory bound", async () => {
    const run = async () => {
      const result = await execa(
        "node",
        [
          join(PROJECT_DIR, "test/support/language-host.cjs"),
          PROJECT_DIR,
          "fusion",
          JSON.stringify({
            "netboot-lab:mediaDir": media.dir,
            "netboot-lab:bootImages": [darwinImage(media)],
            "netboot-lab:clients": [
              { name: "mac1", mac: "00:50:56:00:00:01", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "snow" },
            ],
          }),
        ],
        { cwd: PROJECT_DIR },
      );
      return JSON.parse(String(result.stdout).trim().split("\n").pop()!) as { declared: string[]; maxRssKiB: number };
    };
    const first = await run();

    expect(first.declared).toContain("pulumi-nodejs:dynamic:Resource nbl-fusion-snow-build");
    expect(first.maxRssKiB / 1024).toBeLessThanOrEqual(MEMORY_BOUND_MIB);
    console.info(`[media] stack program planning a 2 GiB root image: peak RSS ${(first.maxRssKiB / 1024).toFixed(0)} MiB`);
  });

  test("docker cp of the same file into a volume, side by side (time reported, not asserted)", async () => {
    const target = `${namePrefix}cp-tree`;
    await execa("docker", ["volume", "create", ...labelFlags, target]);
    const container = (await execa("docker", ["create", ...labelFlags, "--network", "none", "-v", `${target}:/tree`, BASE_IMAGE, "true"])).stdout.trim();
    try {
      const started = process.hrtime.bigint();
      await execa("docker", ["cp", media.rootImage, `${container}:/tree/NetInstall.dmg`]);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.info(
        `[media] docker cp of the 2 GiB file: ${seconds.toFixed(1)} s; our upload + build: ${built.seconds.toFixed(1)} s (${(built.seconds / seconds).toFixed(2)}×)`,
      );
      expect(seconds).toBeGreaterThan(0);
    } finally {
      await execa("docker", ["rm", "-f", container], { reject: false });
      await execa("docker", ["volume", "rm", "-f", target], { reject: false });
    }
  });

  test("an update that changes something else rebuilds without sending the unchanged root image again", async () => {
    const changed = buildStep(await stackWith(["-s"]));
    expect(changed.inputs.contentHash).not.toBe(built.outs.contentHash);

    const diff = await runSerializedProvider<{ changes: boolean; replaces: string[] }>(changed.provider, "diff", [built.id, built.outs, changed.inputs]);
    const update = await runSerializedProvider<{ outs: Record<string, unknown> }>(changed.provider, "update", [built.id, built.outs, changed.inputs]);

    expect(diff.result).toMatchObject({ changes: true, replaces: [] });
    expect(update.result.outs.uploaded).toEqual([]);
    expect(update.result.outs.buildLog).toContain("built boot image snow");
    expect(await inVolume(volume(), "cat /tree/snow/Snow.nbi/i386/com.apple.Boot.plist")).toContain("-s");
    console.info(`[media] rebuild with the 2 GiB root image already in the volume: ${update.seconds.toFixed(1)} s`);
  });
});

describe("a 2 GiB root image on an ssh:// Docker host", () => {
  let ssh: TestSshHost;
  const remoteVolume = `${namePrefix}ssh-tree`;
  beforeAll(async () => {
    ssh = await startTestSshHost();
    await execa("docker", ["volume", "create", ...labelFlags, remoteVolume]);
  });
  afterAll(async () => {
    await ssh?.stop();
    await execa("docker", ["volume", "rm", "-f", remoteVolume], { reject: false });
  });

  test("streams through ssh and docker system dial-stdio with the same memory bound", async () => {
    const step = buildStep(stack);
    const inputs = { ...step.inputs, dockerHost: ssh.dockerHost, sshOptions: ssh.sshOptions, bootTreeVolume: remoteVolume };

    const created = await runSerializedProvider<{ id: string; outs: Record<string, unknown> }>(step.provider, "create", [inputs], {
      env: { PATH: `${ssh.sshClientDir}:${process.env.PATH}` },
    });

    expect(created.result.outs.buildLog).toContain("built boot image snow");
    expect(created.maxRssMiB).toBeLessThanOrEqual(MEMORY_BOUND_MIB);
    expect(await inVolume(remoteVolume, `sha256sum ${servedRootImage} | cut -d' ' -f1`)).toBe(rootImageSha);
    console.info(`[media] ssh:// upload + build of a 2 GiB root image: ${created.seconds.toFixed(1)} s, provider peak RSS ${created.maxRssMiB.toFixed(0)} MiB`);
  });
});

describe("removing the image", () => {
  test("deletes its folder and its media from the tree", async () => {
    const step = buildStep(stack);
    await runSerializedProvider(step.provider, "delete", [built.id, { ...built.outs, bootTreeVolume: volume() }]);

    expect(await inVolume(volume(), "ls -A /tree; ls -A /tree/.netboot-lab-media")).toBe(".netboot-lab-media");
  });

  test("teardown leaves nothing of the test on the engine", async () => {
    await applied!.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
