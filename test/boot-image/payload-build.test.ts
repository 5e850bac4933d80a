import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, test } from "vitest";
import { PAYLOAD_SPEC_VERSION, buildPayload, type PayloadSpec } from "../../lib/boot-image";
import { netbsdConsoleOf } from "../../lib/pxe";
import { labWith } from "../pxe/fixtures";
import { hostToolchain, netbsdFiles } from "./fixtures";

const scratch: string[] = [];
afterEach(() => scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nbl-${prefix}-`));
  scratch.push(dir);
  return dir;
}

function specFor(lab: ReturnType<typeof labWith>): PayloadSpec {
  const image = lab.bootImages[0]!;
  return { version: PAYLOAD_SPEC_VERSION, image, bootFiles: lab.bootFileSets[image.name]! };
}

describe("Linux payloads", () => {
  test("ipxe: iPXE binaries, boot.ipxe, kernel, busybox initrd and the NFS root marker, at the paths dhcpd hands out", () => {
    const tree = tempDir("tree");
    const lab = labWith({ name: "kvm-linux", kind: "ipxe", nfsRoot: true });

    const result = buildPayload(specFor(lab), tree, hostToolchain(tempDir("kernel")));

    expect(result.files).toEqual([
      "kvm-linux/boot.ipxe",
      "kvm-linux/initrd.img",
      "kvm-linux/ipxe.efi",
      "kvm-linux/root/netboot-lab-root.txt",
      "kvm-linux/snponly.efi",
      "kvm-linux/undionly.kpxe",
      "kvm-linux/vmlinuz",
    ]);
    expect(lab.clients[0]!.bootFile).toBe("kvm-linux/undionly.kpxe");
    expect(readFileSync(join(tree, "kvm-linux/undionly.kpxe")).equals(readFileSync("/usr/lib/ipxe/undionly.kpxe"))).toBe(true);
    expect(readFileSync(join(tree, "kvm-linux/vmlinuz"), "utf8")).toBe("fake kernel");
    expect(result.notes).toContain("initrd: busybox initramfs with the modules of kernel 6.1.0-test");
    const initrd = tempDir("initrd");
    execFileSync("cpio", ["-id", "--quiet"], { cwd: initrd, input: gunzipSync(readFileSync(join(tree, "kvm-linux/initrd.img"))) });
    // The NIC driver at start; the NFS client only before an NFS root is mounted.
    expect(readFileSync(join(initrd, "etc/netboot-lab/modules"), "utf8")).toBe("kernel/e1000.ko\n");
    expect(readFileSync(join(initrd, "etc/netboot-lab/modules-nfs"), "utf8")).toBe("kernel/sunrpc.ko\nkernel/nfsv3.ko\n");
    expect(readdirSync(tree)).toEqual(["kvm-linux"]);
  });

  test("grub: grub-mknetdir's core images for BIOS and EFI x64 and our grub.cfg beside them", () => {
    const tree = tempDir("tree");
    const lab = labWith({ name: "g", kind: "grub" });

    const result = buildPayload(specFor(lab), tree, hostToolchain(tempDir("kernel")));

    expect(lab.bootFileSets.g!.files).toEqual({
      bios: "g/boot/grub/i386-pc/core.0",
      "efi-x64": "g/boot/grub/x86_64-efi/core.efi",
      "http-efi-x64": "http://10.77.0.2/g/boot/grub/x86_64-efi/core-http.efi",
    });
    expect(result.files).toEqual(
      expect.arrayContaining([
        "g/boot/grub/i386-pc/core.0",
        "g/boot/grub/x86_64-efi/core.efi",
        "g/boot/grub/x86_64-efi/core-http.efi",
        "g/boot/grub/grub.cfg",
        "g/vmlinuz",
        "g/initrd.img",
      ]),
    );
    // The HTTP Boot core is an EFI application (PE, "MZ") with its prefix on the lab's HTTP server.
    const httpCore = readFileSync(join(tree, "g/boot/grub/x86_64-efi/core-http.efi"));
    expect(httpCore.subarray(0, 2).toString("latin1")).toBe("MZ");
    expect(httpCore.toString("latin1")).toContain("(http,10.77.0.2)/g/boot/grub");
    expect(readFileSync(join(tree, "g/boot/grub/grub.cfg"), "utf8")).toContain("linux (http,10.77.0.2)/g/vmlinuz console=ttyS0");
  });

  test("pxelinux: BIOS loader with ldlinux.c32, efi64 loader with ldlinux.e64, one config in both folders", () => {
    const tree = tempDir("tree");

    const result = buildPayload(specFor(labWith({ name: "p", kind: "pxelinux" })), tree, hostToolchain(tempDir("kernel")));

    expect(result.files).toEqual([
      "p/efi64/ldlinux.e64",
      "p/efi64/pxelinux.cfg/default",
      "p/efi64/syslinux.efi",
      "p/initrd.img",
      "p/ldlinux.c32",
      "p/pxelinux.0",
      "p/pxelinux.cfg/default",
      "p/vmlinuz",
    ]);
    expect(readFileSync(join(tree, "p/efi64/pxelinux.cfg/default"), "utf8")).toBe(readFileSync(join(tree, "p/pxelinux.cfg/default"), "utf8"));
  });

  test("an image without an NFS root carries no NFS client in its initramfs", () => {
    const tree = tempDir("tree");
    buildPayload(specFor(labWith({ name: "plain", kind: "ipxe" })), tree, hostToolchain(tempDir("kernel")));
    const initrd = tempDir("initrd");
    execFileSync("cpio", ["-id", "--quiet"], { cwd: initrd, input: gunzipSync(readFileSync(join(tree, "plain/initrd.img"))) });
    expect(readFileSync(join(initrd, "etc/netboot-lab/modules"), "utf8")).toBe("kernel/e1000.ko\n");
    expect(readFileSync(join(initrd, "etc/netboot-lab/modules-nfs"), "utf8")).toBe("");
    expect(readdirSync(join(initrd, "lib/modules/kernel"))).toEqual(["e1000.ko"]);
  });

  test("a user's own kernel and initrd are served instead of Debian's", () => {
    const tree = tempDir("tree");
    const own = tempDir("own");
    writeFileSync(join(own, "bzImage"), "my kernel");
    writeFileSync(join(own, "initramfs.gz"), "my initrd");
    const lab = labWith({ name: "mine", kind: "ipxe", linux: { kernel: join(own, "bzImage"), initrd: join(own, "initramfs.gz") } });

    buildPayload(specFor(lab), tree, hostToolchain(tempDir("kernel")));

    expect(readFileSync(join(tree, "mine/vmlinuz"), "utf8")).toBe("my kernel");
    expect(readFileSync(join(tree, "mine/initrd.img"), "utf8")).toBe("my initrd");
  });
});

describe("rebuilding", () => {
  test("a rebuild replaces the image's folder whole: files of the previous build do not linger", () => {
    const tree = tempDir("tree");
    const toolchain = hostToolchain(tempDir("kernel"));
    buildPayload(specFor(labWith({ name: "k", kind: "ipxe", nfsRoot: true })), tree, toolchain);

    buildPayload(specFor(labWith({ name: "k", kind: "ipxe" })), tree, toolchain);

    expect(existsSync(join(tree, "k/root"))).toBe(false);
    expect(readdirSync(tree)).toEqual(["k"]);
  });

  test("a failed build leaves the previous image in place and no staging folder behind", () => {
    const tree = tempDir("tree");
    const toolchain = hostToolchain(tempDir("kernel"));
    buildPayload(specFor(labWith({ name: "k", kind: "ipxe" })), tree, toolchain);

    const broken = labWith({ name: "k", kind: "ipxe", linux: { kernel: "/nonexistent/bzImage" } });
    expect(() => buildPayload(specFor(broken), tree, toolchain)).toThrow(/nonexistent\/bzImage/);

    expect(readdirSync(tree)).toEqual(["k"]);
    expect(readFileSync(join(tree, "k/vmlinuz"), "utf8")).toBe("fake kernel");
  });

  test("a boot tree that is not a folder is named with how to mount it", () => {
    expect(() => buildPayload(specFor(labWith({ name: "k", kind: "ipxe" })), "/nonexistent/tree", hostToolchain(tempDir("kernel")))).toThrow(
      "boot tree /nonexistent/tree is not a folder; mount the boot-tree volume there (docker run -v VOLUME:/nonexistent/tree)",
    );
  });
});

describe("NetBSD payload", () => {
  test("the serial-console variant is pxeboot with its console set to com0; the kernel is served over TFTP and in the NFS root", () => {
    const tree = tempDir("tree");
    const lab = labWith({ name: "nb", kind: "netbsd", serialConsole: true, ...netbsdFiles(tempDir("netbsd")) });

    const result = buildPayload(specFor(lab), tree, hostToolchain(tempDir("kernel")));

    expect(lab.clients[0]!.bootFile).toBe("nb/pxeboot_ia32_com0.bin");
    expect(result.files).toEqual(["nb/netbsd", "nb/pxeboot_ia32_com0.bin", "nb/root/netbsd"]);
    expect(netbsdConsoleOf(readFileSync(join(tree, "nb/pxeboot_ia32_com0.bin")))).toBe("com0");
  });

  test("without serialConsole pxeboot is served unchanged", () => {
    const tree = tempDir("tree");
    const files = netbsdFiles(tempDir("netbsd"));

    buildPayload(specFor(labWith({ name: "nb", kind: "netbsd", ...files })), tree, hostToolchain(tempDir("kernel")));

    expect(readFileSync(join(tree, "nb/pxeboot_ia32.bin")).equals(readFileSync(files.pxeboot))).toBe(true);
  });
});

describe("payload build command", () => {
  test("builds from a spec file and lists the boot files; a bad spec names the field", () => {
    const dir = tempDir("cli");
    const tree = join(dir, "tree");
    mkdirSync(tree);
    writeFileSync(
      join(dir, "spec.json"),
      JSON.stringify(specFor(labWith({ name: "nb", kind: "netbsd", serialConsole: true, ...netbsdFiles(tempDir("netbsd")) }))),
    );
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ version: 1, image: { name: "nb", kind: "netbsd" }, bootFiles: { files: {} } }));
    const cli = (spec: string) => {
      try {
        return {
          code: 0,
          output: execFileSync("node", ["bin/netboot-lab.cjs", "payload", "build", "--spec", join(dir, spec), "--out", tree], {
            encoding: "utf8",
            stdio: "pipe",
          }),
        };
      } catch (error) {
        const failure = error as { status: number; stderr: string };
        return { code: failure.status, output: failure.stderr };
      }
    };

    expect(cli("spec.json")).toEqual({
      code: 0,
      output: expect.stringMatching(
        /^built boot image nb \(3 files\):\n {2}pxeboot: console set to com0 \(installboot -e -o console=com0\)\n {2}bios: nb\/pxeboot_ia32_com0\.bin\n {2}netbsd-libsa: tftp:nb\/netbsd\n {2}builder peak memory: \d+ MiB\n$/,
      ),
    });
    const bad = cli("bad.json");
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(`${join(dir, "bad.json")} is not a valid payload spec:`);
    expect(bad.output).toContain("image.pxeboot:");
  });
});
