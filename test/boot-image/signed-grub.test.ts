/** The signed-grub payload: Debian's signed loaders under the names shim and GRUB look for, their configs, and the kernel over TFTP. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { PAYLOAD_SPEC_VERSION, buildPayload, type PayloadSpec } from "../../lib/boot-image";
import { validateLab, type LabModel } from "../../lib/model";
import { hostToolchain } from "./fixtures";

const scratch: string[] = [];
afterEach(() => scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nbl-${prefix}-`));
  scratch.push(dir);
  return dir;
}

function lab(...names: string[]): LabModel {
  return validateLab({
    network: { subnet: "10.77.0.0/24", serverAddress: "10.77.0.2" },
    bootImages: names.map((name) => ({ name, kind: "signed-grub" as const, linux: { cmdline: "console=ttyS0 quiet" } })),
    clients: [{ name: "sb", mac: "52:54:00:00:00:13", firmware: "efi-x64", nic: "qemu-virtio", secureBoot: true, bootImage: names[0]! }],
  });
}

function specOf(model: LabModel, name: string): PayloadSpec {
  const image = model.bootImages.find((candidate) => candidate.name === name)!;
  return { version: PAYLOAD_SPEC_VERSION, image, bootFiles: model.bootFileSets[name]! };
}

describe("signed-grub payload", () => {
  test("shim as the boot file, GRUB beside it as grubx64.efi, the image's grub.cfg loading kernel and initrd from the TFTP server", () => {
    const tree = tempDir("tree");
    const model = lab("signed");

    const result = buildPayload(specOf(model, "signed"), tree, hostToolchain(tempDir("toolchain")));

    expect(model.clients[0]!.bootFile).toBe("signed/shimx64.efi");
    expect(result.files).toEqual(["signed/grub.cfg", "signed/grubx64.efi", "signed/initrd.img", "signed/shimx64.efi", "signed/vmlinuz"]);
    expect(readFileSync(join(tree, "signed/shimx64.efi"), "utf8")).toBe("signed shim");
    expect(readFileSync(join(tree, "signed/grubx64.efi"), "utf8")).toBe("signed network grub");
    const config = readFileSync(join(tree, "signed/grub.cfg"), "utf8");
    // The lab serves HTTP, but this GRUB has no http module and may load none under Secure Boot.
    expect(model.bootFileSets.signed!.httpBaseUrl).toBeUndefined();
    expect(config).not.toMatch(/http/);
    expect(config).toContain("  linux /signed/vmlinuz console=ttyS0 quiet\n  initrd /signed/initrd.img\n");
  });

  test("the tree's grub/grub.cfg, where the signed GRUB's built-in prefix points, hands over to the config beside the loader; every image shares it", () => {
    const tree = tempDir("tree");
    const model = lab("one", "two");
    const tools = hostToolchain(tempDir("toolchain"));

    buildPayload(specOf(model, "one"), tree, tools);
    buildPayload(specOf(model, "two"), tree, tools);

    expect(readdirSync(tree).sort()).toEqual(["grub", "one", "two"]);
    expect(readdirSync(join(tree, "grub"))).toEqual(["grub.cfg"]);
    expect(
      readFileSync(join(tree, "grub/grub.cfg"), "utf8")
        .split("\n")
        .filter((line) => line && !line.startsWith("#")),
    ).toEqual(["source $cmdpath/grub.cfg"]);
  });
});
