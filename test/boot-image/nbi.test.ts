import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "plist";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { readMkext } from "../../lib/darwin";
import { defaultImageIndex } from "../../lib/bsdp/image-id";
import { darwinBootArgs } from "../../lib/darwin/boot-plist";
import { buildPayload, planPayload, planLabPayloads, NicDriverMissingError, BootImagePlanError, type PayloadSpec } from "../../lib/boot-image";
import type { BootImageConfig } from "../../lib/model";
import { darwinImage, darwinLab, darwinMedia, type DarwinMedia } from "./fixtures";

let media: DarwinMedia;
let tree: string;
beforeEach(() => {
  media = darwinMedia();
  tree = mkdtempSync(join(tmpdir(), "nbl-tree-"));
});
afterEach(() => {
  media.cleanup();
  rmSync(tree, { recursive: true, force: true });
});

type Darwin = Extract<BootImageConfig, { kind: "darwin-nbi" }>;

/** Plans the lab's only image as the program would, then builds what the container would from that plan. */
function planAndBuild(lab: ReturnType<typeof darwinLab>) {
  const image = lab.bootImages[0]!;
  const plan = planPayload({ image, bootFiles: lab.bootFileSets[image.name]!, clients: lab.clients.map(({ name, nic }) => ({ name, nic })) });
  // The container sees uploads at their container paths; here they stay where they are.
  const local = new Map([...plan.userFiles.map((upload) => [upload.containerPath, upload.localPath] as const)]);
  const generated = plan.generated.map((upload) => {
    const path = join(tree, "..", `${upload.sha256}.mkext`);
    writeFileSync(path, upload.content);
    return [upload.containerPath, path] as const;
  });
  const paths = new Map([...local, ...generated]);
  const spec = JSON.parse(plan.specText, (_key, value) => (typeof value === "string" && paths.has(value) ? paths.get(value) : value)) as PayloadSpec;
  const result = buildPayload(spec, tree);
  for (const [, path] of generated) rmSync(path);
  return { plan, result };
}

describe("NetBoot image from the user's files", () => {
  test("has NBImageInfo.plist, the root image and i386/{booter, boot1pxe, mach.macosx, mach.macosx.mkext, com.apple.Boot.plist}", () => {
    const lab = darwinLab(darwinImage(media));

    const { result } = planAndBuild(lab);

    expect(result.files).toEqual([
      "snow/Snow.nbi/NBImageInfo.plist",
      "snow/Snow.nbi/NetInstall.dmg",
      "snow/Snow.nbi/i386/boot1pxe",
      "snow/Snow.nbi/i386/booter",
      "snow/Snow.nbi/i386/com.apple.Boot.plist",
      "snow/Snow.nbi/i386/mach.macosx",
      "snow/Snow.nbi/i386/mach.macosx.mkext",
    ]);
    expect(lab.clients[0]!.bootFile).toBe("snow/Snow.nbi/i386/booter");
    expect(readFileSync(join(tree, "snow/Snow.nbi/i386/booter"), "utf8")).toBe("fake EFI booter");
    expect(readFileSync(join(tree, "snow/Snow.nbi/NetInstall.dmg"), "utf8")).toBe("fake root image");
  });

  test("NBImageInfo.plist parses back with every key Apple's server and BSDPy read", () => {
    planAndBuild(darwinLab(darwinImage(media, { description: "Mac OS X 10.6 NetInstall" })));

    expect(parse(readFileSync(join(tree, "snow/Snow.nbi/NBImageInfo.plist"), "utf8"))).toEqual({
      Index: defaultImageIndex("snow"),
      Name: "Mac OS X 10.6 NetInstall",
      Description: "Mac OS X 10.6 NetInstall",
      Type: "NFS",
      BootFile: "booter",
      RootPath: "NetInstall.dmg",
      Architectures: ["i386"],
      Kind: 1,
      IsEnabled: true,
      IsDefault: false,
      IsInstall: true,
      SupportsDiskless: false,
      Language: "Default",
      EnabledSystemIdentifiers: [],
      DisabledSystemIdentifiers: [],
    });
    expect(defaultImageIndex("snow")).toBeGreaterThanOrEqual(1);
    expect(defaultImageIndex("snow")).toBeLessThanOrEqual(4095);
  });

  test("com.apple.Boot.plist roots the kernel on the NFS image with verbose, serial and debug flags", () => {
    const lab = darwinLab(darwinImage(media, { serialConsole: true, debugFlags: "0x144" }));

    planAndBuild(lab);

    expect(parse(readFileSync(join(tree, "snow/Snow.nbi/i386/com.apple.Boot.plist"), "utf8"))).toEqual({
      Kernel: "mach.macosx",
      "Kernel Flags": "rd=*enet rp=nfs:10.0.0.28:/netboot:snow/Snow.nbi/NetInstall.dmg -v serial=3 debug=0x144",
      "MKext Cache": "mach.macosx.mkext",
      "Kernel Architecture": "i386",
    });
    expect(lab.clients[0]!.rootPath).toBe("nfs:10.0.0.28:/netboot:snow/Snow.nbi/NetInstall.dmg");
  });

  test("over HTTP the root path is the image's URL and NBImageInfo's Type is HTTP", () => {
    planAndBuild(darwinLab(darwinImage(media, { protocol: "http" })));

    const bootPlist = parse(readFileSync(join(tree, "snow/Snow.nbi/i386/com.apple.Boot.plist"), "utf8")) as Record<string, string>;
    expect(bootPlist["Kernel Flags"]).toBe("rd=*enet rp=http://10.0.0.28/snow/Snow.nbi/NetInstall.dmg -v");
    expect((parse(readFileSync(join(tree, "snow/Snow.nbi/NBImageInfo.plist"), "utf8")) as Record<string, string>).Type).toBe("HTTP");
  });

  test("the user's boot-args replace generated ones with the same key and come last", () => {
    const image = darwinLab(darwinImage(media, { bootArgs: ["rd=en0", "-s", "debug=0x8"], debugFlags: "0x144", verbose: false })).bootImages[0] as Darwin;

    expect(darwinBootArgs(image, "nfs:1.2.3.4:/e:x.dmg")).toEqual(["rp=nfs:1.2.3.4:/e:x.dmg", "rd=en0", "-s", "debug=0x8"]);
  });

  test("the mkext is a readable archive of the Extensions, with the network driver when built for network root (the default)", () => {
    const { plan } = planAndBuild(darwinLab(darwinImage(media)));

    const archive = readMkext(readFileSync(join(tree, "snow/Snow.nbi/i386/mach.macosx.mkext")));
    const ids = archive.slices.flatMap((slice) => slice.kexts.map((kext) => kext.bundleId));
    expect(ids).toContain("com.apple.driver.AppleIntel8254XEthernet");
    expect(ids).not.toContain("com.apple.iokit.IOAHCIFamily");
    expect(plan.kexts).toEqual(expect.arrayContaining(ids));
    expect(plan.nicChecks).toEqual([expect.objectContaining({ client: "mac1", nic: "vmware-e1000", ok: true })]);
  });

  test("a 64-bit image gets the x86_64 kernel and mkext pair in i386/x86_64/", () => {
    const { result } = planAndBuild(darwinLab(darwinImage(media, { mkext: { arch: "x86_64" } })));

    expect(result.files).toEqual(
      expect.arrayContaining(["snow/Snow.nbi/i386/x86_64/mach.macosx", "snow/Snow.nbi/i386/x86_64/mach.macosx.mkext", "snow/Snow.nbi/i386/mach.macosx.mkext"]),
    );
    expect(readMkext(readFileSync(join(tree, "snow/Snow.nbi/i386/x86_64/mach.macosx.mkext"))).slices.map((slice) => slice.arch)).toEqual(["x86_64"]);
  });
});

describe("planning a Darwin image", () => {
  test("a local-root-only mkext fails for the VMware e1000 client before anything is built, naming client, NIC, PCI id and fix", () => {
    const lab = darwinLab(darwinImage(media, { mkext: { localRoot: true, networkRoot: false } }));

    let error: unknown;
    try {
      planLabPayloads(lab);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(BootImagePlanError);
    const [problem] = (error as BootImagePlanError).problems;
    expect(problem).toBeInstanceOf(NicDriverMissingError);
    const message = (error as Error).message;
    expect(message).toContain('boot image "snow" has no driver for the NIC of client "mac1" (nic vmware-e1000)');
    expect(message).toContain("8086:100F");
    expect(message).toContain('In the stack: set mkext.networkRoot: true on boot image "snow"');
    expect(existsSync(join(tree, "snow"))).toBe(false);
  });

  test("every image's problems are reported together, with the field of a missing file", () => {
    const lab = darwinLab(darwinImage(media, { mkext: { localRoot: true, networkRoot: false } }), undefined, [
      { name: "other", kind: "netbsd", pxeboot: join(media.dir, "missing.bin"), kernel: media.kernel },
    ]);

    expect(() => planLabPayloads(lab)).toThrow(/client "mac1"[\s\S]*bootImages\[1\]\.pxeboot: .*missing\.bin does not exist; fix the path in the stack config/);
  });

  test("the content hash is stable, and changes when a user file or a setting changes", () => {
    const plan = (overrides = {}) => {
      const lab = darwinLab(darwinImage(media, overrides));
      return planPayload({ image: lab.bootImages[0]!, bootFiles: lab.bootFileSets.snow!, clients: [] }).contentHash;
    };
    const first = plan();

    expect(plan()).toBe(first);
    expect(plan({ verbose: false })).not.toBe(first);
    writeFileSync(media.booter, "new booter");
    expect(plan()).not.toBe(first);
  });
});
