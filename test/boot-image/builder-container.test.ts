/**
 * The BootImage components exactly as a stack declares them, applied to the local Docker
 * engine: the builder image is built FROM the offline base image, each build container runs
 * for real into a boot-tree volume, and the Linux payloads it produced then boot QEMU guests
 * (firmware → loader → kernel → our initramfs) until /init prints its marker.
 *
 * QEMU's guests use user-mode networking with `restrict=on`: QEMU itself answers DHCP and
 * serves the extracted tree over TFTP, and nothing the guest sends leaves the QEMU process.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse } from "plist";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUILD_RECORD_FILE } from "../../lib/boot-image/build-record";
import { readMkext } from "../../lib/darwin";
import { BOOTED_MARKER } from "../../lib/pxe";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { runStack, type StackRun } from "../support/pulumi-harness";
import { bootGuest } from "../support/qemu";
import { dockerObjectsOf, labelFlags, testCaseLabels } from "../support/test-run";
import { darwinImage, darwinMedia, type DarwinMedia } from "./fixtures";

const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const labels = testCaseLabels(`boot-image-${id}`);
const namePrefix = `nbt${id}-`;

let media: DarwinMedia;
let stack: StackRun;
let applied: AppliedLab | undefined;
let tree: string;

/** Copies the boot-tree volume out through a throwaway container (removed by --rm, labelled for the global cleanup). */
async function extractVolume(volume: string, into: string): Promise<void> {
  const archive = await execa(
    "docker",
    ["run", "--rm", ...labelFlags(labels), "--network", "none", "-v", `${volume}:/tree:ro`, "--entrypoint", "tar", BASE_IMAGE, "-C", "/tree", "-c", "."],
    {
      encoding: "buffer",
    },
  );
  execFileSync("tar", ["-x", "-C", into], { input: archive.stdout });
}

beforeAll(async () => {
  media = darwinMedia();
  tree = mkdtempSync(join(tmpdir(), "nbl-boot-tree-"));
  stack = await runStack("builder", {
    projectDir: "test/boot-image/fixtures/project",
    configOverrides: {
      "netboot-lab:docker": { baseImage: BASE_IMAGE },
      "netboot-lab:bootImages": [
        { name: "linux-ipxe", kind: "ipxe" },
        { name: "linux-grub", kind: "grub", nfsRoot: true },
        { name: "linux-pxelinux", kind: "pxelinux" },
        darwinImage(media),
      ],
      "netboot-lab:clients": [{ name: "mac1", mac: "00:50:56:00:00:01", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "snow" }],
    },
  });
  applied = await applyToDocker(stack.resources, { labels, namePrefix, imageBuildArgs: { BASE_IMAGE } });
  await extractVolume(applied.dockerName("volume", "nbt-boot-tree"), tree);
}, 900_000);

afterAll(async () => {
  await applied?.teardown();
  media?.cleanup();
  rmSync(tree, { recursive: true, force: true });
});

describe("build containers", () => {
  test("each image's container ran to completion and reported its build", () => {
    const logs = Object.fromEntries(
      ["linux-ipxe", "linux-grub", "linux-pxelinux", "snow"].map((image) => [image, applied!.dynamicResults[`nbt-${image}-build`]!.outs.buildLog as string]),
    );

    expect(logs["linux-ipxe"]).toContain("built boot image linux-ipxe");
    expect(logs["linux-ipxe"]).toMatch(/initrd: busybox initramfs with the modules of kernel \d/);
    expect(logs["linux-grub"]).toContain("built boot image linux-grub");
    expect(logs["linux-pxelinux"]).toContain("built boot image linux-pxelinux");
    expect(logs.snow).toContain("built boot image snow");
  });

  test("the builder image was built FROM the given base image and is shared by every build", () => {
    const builders = stack.resources.filter((resource) => resource.type === "docker:index/image:Image");
    const builds = stack.resources.filter((resource) => resource.type === "pulumi-nodejs:dynamic:Resource");

    expect(builders).toHaveLength(1);
    expect(builders[0]!.inputs.build).toMatchObject({ args: { BASE_IMAGE } });
    expect(builds).toHaveLength(4);
    expect(new Set(builds.map((build) => build.inputs.builderImage))).toEqual(new Set([builders[0]!.inputs.imageName]));
  });
});

describe("the boot tree the servers serve", () => {
  test("iPXE image: undionly.kpxe, ipxe.efi, boot.ipxe, Debian's kernel and our initrd", () => {
    expect(readdirSync(join(tree, "linux-ipxe")).sort()).toEqual([BUILD_RECORD_FILE, "boot.ipxe", "initrd.img", "ipxe.efi", "undionly.kpxe", "vmlinuz"]);
    expect(
      readFileSync(join(tree, "linux-ipxe", "vmlinuz"))
        .subarray(0x202, 0x206)
        .toString("latin1"),
    ).toBe("HdrS");
  });

  test("GRUB image: core images for BIOS and EFI x64, grub.cfg, and the NFS root with its marker file", () => {
    expect(readdirSync(join(tree, "linux-grub", "boot", "grub", "i386-pc"))).toContain("core.0");
    expect(readdirSync(join(tree, "linux-grub", "boot", "grub", "x86_64-efi"))).toContain("core.efi");
    expect(readFileSync(join(tree, "linux-grub", "boot", "grub", "grub.cfg"), "utf8")).toContain("nfsroot=10.77.0.2:/netboot/linux-grub/root");
    expect(readFileSync(join(tree, "linux-grub", "root", "netboot-lab-root.txt"), "utf8")).toBe("netboot-lab NFS root of boot image linux-grub\n");
  });

  test("Darwin image: the .nbi layout with the uploaded files and a readable mkext holding the e1000 driver", () => {
    const nbi = join(tree, "snow", "Snow.nbi");

    expect(readdirSync(nbi).sort()).toEqual(["NBImageInfo.plist", "NetInstall.dmg", "i386"]);
    expect(readdirSync(join(nbi, "i386")).sort()).toEqual(["boot1pxe", "booter", "com.apple.Boot.plist", "mach.macosx", "mach.macosx.mkext"]);
    expect(readFileSync(join(nbi, "i386", "booter"), "utf8")).toBe("fake EFI booter");
    expect((parse(readFileSync(join(nbi, "NBImageInfo.plist"), "utf8")) as Record<string, unknown>).RootPath).toBe("NetInstall.dmg");
    const ids = readMkext(readFileSync(join(nbi, "i386", "mach.macosx.mkext"))).slices[0]!.kexts.map((kext) => kext.bundleId);
    expect(ids).toContain("com.apple.driver.AppleIntel8254XEthernet");
    expect(stack.outputs.bootImages).toMatchObject({ snow: { kexts: expect.arrayContaining(ids) } });
  });
});

/** Boots QEMU from the extracted tree, served by QEMU's own DHCP/TFTP with no way out. */
function bootToMarker(bootFile: string, firmware: "bios" | "efi"): Promise<string> {
  return bootGuest({ firmware, network: ["-nic", `user,restrict=on,model=e1000,tftp=${tree},bootfile=${bootFile}`], until: new RegExp(BOOTED_MARKER) });
}

describe("QEMU guests boot the payloads", () => {
  test.each([
    ["BIOS iPXE running boot.ipxe", "linux-ipxe/boot.ipxe", "bios", "linux-ipxe"],
    ["BIOS pxelinux", "linux-pxelinux/pxelinux.0", "bios", "linux-pxelinux"],
    ["BIOS GRUB", "linux-grub/boot/grub/i386-pc/core.0", "bios", "linux-grub"],
    ["EFI x64 GRUB", "linux-grub/boot/grub/x86_64-efi/core.efi", "efi", "linux-grub"],
    ["EFI x64 syslinux", "linux-pxelinux/efi64/syslinux.efi", "efi", "linux-pxelinux"],
  ] as const)(
    "%s reaches /init, loads the e1000 driver and gets an address",
    async (_label, bootFile, firmware, image) => {
      const console = await bootToMarker(bootFile, firmware);

      expect(console).toMatch(new RegExp(`${BOOTED_MARKER} image=${image} ip=10\\.0\\.2\\.15`));
    },
    200_000,
  );
});

test("teardown removes every container and the volume, and is safe to repeat", async () => {
  await applied!.teardown();
  await applied!.teardown();

  expect(await dockerObjectsOf(labels)).toEqual([]);
});
