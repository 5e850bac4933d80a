import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { readMkext } from "../../lib/darwin";
import { declareComponents, PROJECT_DIR, type ComponentRun } from "../support/pulumi-harness";
import { labWith } from "../pxe/fixtures";
import { darwinImage, darwinLab, darwinMedia, type DarwinMedia } from "./fixtures";

/** What the build provider reports once the builder has run. */
const BUILT = { buildLog: "built boot image\n", uploaded: [] };

/** Declares BootImage components inside a mocked stack; the component module is imported after the mocks are set. */
function declare(build: (module: typeof import("../../components/boot-image")) => Record<string, unknown>): Promise<ComponentRun> {
  return declareComponents(async () => build(await import("../../components/boot-image/index.js")), { dynamicState: BUILT });
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
  test("declares one build resource that runs the builder on the boot tree with the spec", async () => {
    const lab = labWith({ name: "kvm-linux", kind: "ipxe", nfsRoot: true });

    const run = await declare(({ BootImage }) => {
      const image = new BootImage("kvm-linux", {
        image: lab.bootImages[0]!,
        bootFiles: lab.bootFileSets["kvm-linux"]!,
        bootTreeVolume: "lab-boot-tree",
        builderImage: "netboot-lab/builder:abc",
      });
      return {
        bootFiles: image.bootFiles,
        rootPath: image.rootPath,
        kexts: image.kexts,
        nicChecks: image.nicChecks,
        contentHash: image.contentHash,
        buildLog: image.buildLog,
      };
    });

    expect(run.error).toBeUndefined();
    expect(run.failures).toEqual([]);
    expect(run.resources.map(({ type, name, parent }) => ({ type, name, parent }))).toEqual([
      { type: "netboot-lab:index:BootImage", name: "kvm-linux" },
      { type: "pulumi-nodejs:dynamic:Resource", name: "kvm-linux-build", parent: "kvm-linux" },
    ]);
    const inputs = run.resources[1]!.inputs!;
    expect(inputs).toMatchObject({
      builderImage: "netboot-lab/builder:abc",
      command: ["payload", "build", "--spec", "/netboot-lab/spec.json", "--out", "/srv/boot"],
      bootTreeVolume: "lab-boot-tree",
      bootTreePath: "/srv/boot",
      imageName: "kvm-linux",
      dockerHost: "",
      media: [],
    });
    const generated = inputs.generated as { containerPath: string; content?: string }[];
    expect(generated.map((file) => file.containerPath)).toEqual(["/netboot-lab/spec.json"]);
    expect(JSON.parse(generated[0]!.content!)).toEqual({ version: 1, image: lab.bootImages[0], bootFiles: lab.bootFileSets["kvm-linux"] });
    expect(run.outputs).toEqual({
      bootFiles: {
        bios: "kvm-linux/undionly.kpxe",
        "efi-x64": "kvm-linux/ipxe.efi",
        "http-efi-x64": "http://10.77.0.2/kvm-linux/snponly.efi",
        ipxe: "http://10.77.0.2/kvm-linux/boot.ipxe",
      },
      rootPath: "10.77.0.2:/netboot/kvm-linux/root",
      kexts: [],
      nicChecks: [],
      contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      buildLog: "built boot image\n",
    });
    expect(inputs.contentHash).toBe(run.outputs!.contentHash);
    expect(inputs.labels).toEqual({ "io.netboot-lab.boot-image": "kvm-linux", "io.netboot-lab.content-hash": run.outputs!.contentHash });
  });

  test("the build's provider is serialized as self-contained code, as the engine stores and runs it", async () => {
    const lab = labWith({ name: "kvm-linux", kind: "ipxe" });

    const run = await declare(({ BootImage }) => {
      new BootImage("kvm-linux", {
        image: lab.bootImages[0]!,
        bootFiles: lab.bootFileSets["kvm-linux"]!,
        bootTreeVolume: "v",
        builderImage: "b",
        dockerHost: "ssh://lab@docker-host",
      });
      return {};
    });

    const inputs = run.resources[1]!.inputs!;
    expect(inputs.dockerHost).toBe("ssh://lab@docker-host");
    expect(typeof inputs.__provider).toBe("string");
    // The engine's provider process resolves require() from the project: only builtins and packages a user's install has.
    const required = new Set([...String(inputs.__provider).matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]!));
    const { dependencies } = JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect([...required].filter((name) => !name.startsWith("node:") && !(name in dependencies))).toEqual([]);
    expect(required).toContain("dockerode");
    expect(inputs.__provider).toContain("dial-stdio");
  });
});

describe("BootImage of a Darwin image", () => {
  test("builds its own builder from the base image and uploads the user's files and the mkext built here", async () => {
    const lab = darwinLab(darwinImage(media));

    const run = await declare(({ BootImage }) => {
      const image = new BootImage("snow", {
        image: lab.bootImages[0]!,
        bootFiles: lab.bootFileSets.snow!,
        clients: [{ name: "mac1", nic: "vmware-e1000" }],
        bootTreeVolume: "lab-boot-tree",
        baseImage: "local/debian:bookworm",
        cacheDir,
      });
      return { kexts: image.kexts, nicChecks: image.nicChecks };
    });

    expect(run.error).toBeUndefined();
    expect(run.resources.map(({ type, name, parent }) => ({ type, name, parent }))).toEqual([
      { type: "netboot-lab:index:BootImage", name: "snow" },
      { type: "netboot-lab:index:BootImageBuilder", name: "snow-builder", parent: "snow" },
      { type: "docker:index/image:Image", name: "snow-builder-image", parent: "snow-builder" },
      { type: "pulumi-nodejs:dynamic:Resource", name: "snow-build", parent: "snow" },
    ]);
    const builderImage = run.resources[2]!.inputs!;
    expect(builderImage).toMatchObject({
      imageName: expect.stringMatching(/^netboot-lab\/builder:[0-9a-f]{12}$/),
      skipPush: true,
      build: { args: { BASE_IMAGE: "local/debian:bookworm" }, platform: "linux/amd64" },
    });
    // The build context holds just the Dockerfile and the builder's bundle, assembled in the cache folder.
    const { context, dockerfile } = builderImage.build as { context: string; dockerfile: string };
    expect(context).toBe(join(cacheDir, `builder-${String(builderImage.imageName).split(":")[1]}`));
    expect(dockerfile).toBe(join(context, "Dockerfile"));
    expect(readdirSync(context).sort()).toEqual(["Dockerfile", "netboot-lab.cjs"]);
    expect(readFileSync(join(context, "netboot-lab.cjs")).equals(readFileSync("dist/builder.cjs"))).toBe(true);
    const build = run.resources[3]!.inputs!;
    expect(build.builderImage).toBe(builderImage.imageName);
    // User files go to the tree's media folder, named by content; the provider streams them from these paths.
    const mediaPath = (path: string, name: string) => `/srv/boot/.netboot-lab-media/snow/${sha256(path)}/${name}`;
    expect(build.media).toEqual([
      { localPath: media.booter, containerPath: mediaPath(media.booter, "boot.efi"), sha256: sha256(media.booter), size: statSync(media.booter).size },
      { localPath: media.kernel, containerPath: mediaPath(media.kernel, "mach_kernel"), sha256: sha256(media.kernel), size: statSync(media.kernel).size },
      {
        localPath: media.rootImage,
        containerPath: mediaPath(media.rootImage, "NetInstall.dmg"),
        sha256: sha256(media.rootImage),
        size: statSync(media.rootImage).size,
      },
      {
        localPath: media.pxeBooter,
        containerPath: mediaPath(media.pxeBooter, "boot1pxe"),
        sha256: sha256(media.pxeBooter),
        size: statSync(media.pxeBooter).size,
      },
    ]);
    // The mkext is read from the cache folder by the provider, so its bytes stay out of the stack's state.
    const generated = build.generated as { containerPath: string; content?: string; localPath?: string }[];
    expect(generated.map(({ containerPath, localPath }) => ({ containerPath, cached: localPath?.startsWith(cacheDir) ?? false }))).toEqual([
      { containerPath: "/netboot-lab/spec.json", cached: false },
      { containerPath: "/netboot-lab/input/mkext/i386.mkext", cached: true },
    ]);
    const mkext = readMkext(readFileSync(generated[1]!.localPath!));
    expect(mkext.slices[0]!.kexts.map((kext) => kext.bundleId)).toContain("com.apple.driver.AppleIntel8254XEthernet");
    const spec = JSON.parse(generated[0]!.content!);
    expect(spec.image.booter).toBe(mediaPath(media.booter, "boot.efi"));
    expect(spec.mkexts).toEqual({ i386: "/netboot-lab/input/mkext/i386.mkext" });
    expect(run.outputs!.kexts).toContain("com.apple.driver.AppleIntel8254XEthernet");
    expect(run.outputs!.nicChecks).toEqual([expect.objectContaining({ client: "mac1", nic: "vmware-e1000", ok: true })]);
  });

  test("a client NIC without a driver stops the program before any resource is declared", async () => {
    const lab = darwinLab(darwinImage(media, { mkext: { localRoot: true, networkRoot: false } }));

    const run = await declare(({ BootImage }) => {
      new BootImage("snow", {
        image: lab.bootImages[0]!,
        bootFiles: lab.bootFileSets.snow!,
        clients: [{ name: "mac1", nic: "vmware-e1000" }],
        bootTreeVolume: "v",
        builderImage: "b",
        cacheDir,
      });
      return {};
    });

    expect(run.error).toMatchObject({ name: "NicDriverMissingError" });
    expect(String(run.error)).toMatch(/client "mac1" \(nic vmware-e1000\)[\s\S]*PCI 8086:100F[\s\S]*set mkext.networkRoot: true/);
    expect(run.resources).toEqual([]);
  });
});
