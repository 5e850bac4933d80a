import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { readMkext } from "../../lib/darwin";
import { declareComponents, type ComponentRun } from "../support/pulumi-harness";
import { labWith } from "../pxe/fixtures";
import { darwinImage, darwinLab, darwinMedia, type DarwinMedia } from "./fixtures";

/** What the provider reports for the build container: a finished one-shot run. */
interface BuildOutcome {
  readonly exitCode: number;
  readonly containerLogs: string;
}

/** Declares BootImage components inside a mocked stack; the component module is imported after the mocks are set. */
function declare(
  build: (module: typeof import("../../components/boot-image")) => Record<string, unknown>,
  outcome: BuildOutcome = { exitCode: 0, containerLogs: "built boot image\n" },
): Promise<ComponentRun> {
  return declareComponents(async () => build(await import("../../components/boot-image/index.js")), { containerState: { ...outcome } });
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

let media: DarwinMedia;
let cacheDir: string;
beforeEach(() => {
  media = darwinMedia();
  cacheDir = mkdtempSync(join(tmpdir(), "nbl-cache-"));
});
afterEach(() => {
  media.cleanup();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe("BootImage with a shared builder image", () => {
  test("declares one one-shot build container that mounts the boot tree and receives the spec", async () => {
    const lab = labWith({ name: "kvm-linux", kind: "ipxe", nfsRoot: true });

    const run = await declare(({ BootImage }) => {
      const image = new BootImage("kvm-linux", { image: lab.bootImages[0]!, bootFiles: lab.bootFileSets["kvm-linux"]!, bootTreeVolume: "lab-boot-tree", builderImage: "netboot-lab/builder:abc" });
      return { bootFiles: image.bootFiles, rootPath: image.rootPath, kexts: image.kexts, nicChecks: image.nicChecks, contentHash: image.contentHash, buildLog: image.buildLog };
    });

    expect(run.error).toBeUndefined();
    expect(run.failures).toEqual([]);
    expect(run.resources.map(({ type, name, parent }) => ({ type, name, parent }))).toEqual([
      { type: "netboot-lab:index:BootImage", name: "kvm-linux" },
      { type: "docker:index/container:Container", name: "kvm-linux-build", parent: "kvm-linux" },
    ]);
    const inputs = run.resources[1]!.inputs;
    expect(inputs).toMatchObject({
      image: "netboot-lab/builder:abc",
      command: ["payload", "build", "--spec", "/netboot-lab/spec.json", "--out", "/srv/boot"],
      mounts: [{ type: "volume", source: "lab-boot-tree", target: "/srv/boot" }],
      networkMode: "none",
      attach: true,
      logs: true,
      mustRun: false,
    });
    const uploads = inputs.uploads as { file: string; content?: string }[];
    expect(uploads.map((upload) => upload.file)).toEqual(["/netboot-lab/spec.json"]);
    expect(JSON.parse(uploads[0]!.content!)).toEqual({ version: 1, image: lab.bootImages[0], bootFiles: lab.bootFileSets["kvm-linux"] });
    expect(run.outputs).toEqual({
      bootFiles: { bios: "kvm-linux/undionly.kpxe", "efi-x64": "kvm-linux/ipxe.efi", ipxe: "http://10.77.0.2/kvm-linux/boot.ipxe" },
      rootPath: "10.77.0.2:/netboot/kvm-linux/root",
      kexts: [],
      nicChecks: [],
      contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      buildLog: "built boot image\n",
    });
    expect(inputs.labels).toEqual([
      { label: "io.netboot-lab.boot-image", value: "kvm-linux" },
      { label: "io.netboot-lab.content-hash", value: run.outputs!.contentHash },
    ]);
  });

  test("a failed build fails the update with the builder's output", async () => {
    const lab = labWith({ name: "kvm-linux", kind: "ipxe" });

    const run = await declare(
      ({ BootImage }) => {
        const image = new BootImage("kvm-linux", { image: lab.bootImages[0]!, bootFiles: lab.bootFileSets["kvm-linux"]!, bootTreeVolume: "v", builderImage: "b" });
        return { buildLog: image.buildLog };
      },
      { exitCode: 1, containerLogs: "netboot-lab: payload build: no kernel (vmlinuz-<version>) in /boot\n" },
    );

    const failure = [run.error, ...run.failures].map((reason) => (reason instanceof Error ? reason.message : String(reason))).find((message) => message.includes("builder container"));
    expect(failure).toContain('building boot image "kvm-linux" failed in the builder container (exit code 1):\nnetboot-lab: payload build: no kernel (vmlinuz-<version>) in /boot');
    expect(failure).toContain("pulumi up --replace");
  });
});

describe("BootImage of a Darwin image", () => {
  test("builds its own builder from the base image and uploads the user's files and the mkext built here", async () => {
    const lab = darwinLab(darwinImage(media));

    const run = await declare(({ BootImage }) => {
      const image = new BootImage(
        "snow",
        { image: lab.bootImages[0]!, bootFiles: lab.bootFileSets.snow!, clients: [{ name: "mac1", nic: "vmware-e1000" }], bootTreeVolume: "lab-boot-tree", baseImage: "local/debian:bookworm", cacheDir },
      );
      return { kexts: image.kexts, nicChecks: image.nicChecks };
    });

    expect(run.error).toBeUndefined();
    expect(run.resources.map(({ type, name, parent }) => ({ type, name, parent }))).toEqual([
      { type: "netboot-lab:index:BootImage", name: "snow" },
      { type: "netboot-lab:index:BootImageBuilder", name: "snow-builder", parent: "snow" },
      { type: "docker:index/image:Image", name: "snow-builder-image", parent: "snow-builder" },
      { type: "docker:index/container:Container", name: "snow-build", parent: "snow" },
    ]);
    const builderImage = run.resources[2]!.inputs;
    expect(builderImage).toMatchObject({
      imageName: expect.stringMatching(/^netboot-lab\/builder:[0-9a-f]{12}$/),
      skipPush: true,
      build: { args: { BASE_IMAGE: "local/debian:bookworm" }, platform: "linux/amd64" },
    });
    // The build context holds just the Dockerfile and the CLI bundle, assembled in the cache folder.
    const { context, dockerfile } = builderImage.build as { context: string; dockerfile: string };
    expect(context).toBe(join(cacheDir, `builder-${String(builderImage.imageName).split(":")[1]}`));
    expect(dockerfile).toBe(join(context, "Dockerfile"));
    expect(readdirSync(context).sort()).toEqual(["Dockerfile", "netboot-lab.cjs"]);
    expect(readFileSync(join(context, "netboot-lab.cjs")).equals(readFileSync("dist/netboot-lab.cjs"))).toBe(true);
    const container = run.resources[3]!.inputs;
    expect(container.image).toBe(builderImage.imageName);
    const uploads = container.uploads as { file: string; content?: string; source?: string; sourceHash?: string }[];
    expect(uploads.slice(1).map(({ file, source, sourceHash }) => ({ file, source: source === undefined ? undefined : source.startsWith(cacheDir) ? "(cache)" : source, sourceHash }))).toEqual([
      { file: "/netboot-lab/input/booter/boot.efi", source: media.booter, sourceHash: sha256(media.booter) },
      { file: "/netboot-lab/input/kernel/mach_kernel", source: media.kernel, sourceHash: sha256(media.kernel) },
      { file: "/netboot-lab/input/rootImage/NetInstall.dmg", source: media.rootImage, sourceHash: sha256(media.rootImage) },
      { file: "/netboot-lab/input/pxeBooter/boot1pxe", source: media.pxeBooter, sourceHash: sha256(media.pxeBooter) },
      { file: "/netboot-lab/input/mkext/i386.mkext", source: "(cache)", sourceHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    const mkext = readMkext(readFileSync(uploads[5]!.source!));
    expect(mkext.slices[0]!.kexts.map((kext) => kext.bundleId)).toContain("com.apple.driver.AppleIntel8254XEthernet");
    const spec = JSON.parse(uploads[0]!.content!);
    expect(spec.image.booter).toBe("/netboot-lab/input/booter/boot.efi");
    expect(spec.mkexts).toEqual({ i386: "/netboot-lab/input/mkext/i386.mkext" });
    expect(run.outputs!.kexts).toContain("com.apple.driver.AppleIntel8254XEthernet");
    expect(run.outputs!.nicChecks).toEqual([expect.objectContaining({ client: "mac1", nic: "vmware-e1000", ok: true })]);
  });

  test("a client NIC without a driver stops the program before any resource is declared", async () => {
    const lab = darwinLab(darwinImage(media, { mkext: { localRoot: true, networkRoot: false } }));

    const run = await declare(({ BootImage }) => {
      new BootImage("snow", { image: lab.bootImages[0]!, bootFiles: lab.bootFileSets.snow!, clients: [{ name: "mac1", nic: "vmware-e1000" }], bootTreeVolume: "v", builderImage: "b", cacheDir });
      return {};
    });

    expect(run.error).toMatchObject({ name: "NicDriverMissingError" });
    expect(String(run.error)).toMatch(/client "mac1" \(nic vmware-e1000\)[\s\S]*PCI 8086:100F[\s\S]*set mkext.networkRoot: true/);
    expect(run.resources).toEqual([]);
  });
});
