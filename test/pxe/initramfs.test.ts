import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, test } from "vitest";
import { BOOTED_MARKER, NFS_ROOT_MARKER, buildInitramfs, moduleLoadOrder, parseModuleIndex, renderInitScript, writeCpioNewc } from "../../lib/pxe";

const scratch: string[] = [];
afterEach(() => scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Unpacks an archive with GNU cpio, as a check that the kernel's newc reader will accept it too. */
function unpack(archive: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "nbl-cpio-"));
  scratch.push(dir);
  execFileSync("cpio", ["-id", "--quiet", "--no-absolute-filenames"], { cwd: dir, input: archive });
  return dir;
}

describe("cpio newc writer", () => {
  test("GNU cpio unpacks files, modes, directories and symlinks as written", () => {
    const archive = writeCpioNewc([
      { kind: "dir", path: "bin" },
      { kind: "file", path: "/bin/tool", data: Buffer.from("#!/bin/sh\necho hi\n"), mode: 0o755 },
      { kind: "symlink", path: "bin/alias", target: "tool" },
      { kind: "file", path: "odd-name.txt", data: Buffer.from("x") },
    ]);

    const dir = unpack(archive);
    expect(readFileSync(join(dir, "bin/tool"), "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect(statSync(join(dir, "bin/tool")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dir, "bin/alias"))).toBe("tool");
    expect(lstatSync(join(dir, "odd-name.txt")).size).toBe(1);
    expect(archive.length % 4).toBe(0);
    expect(archive.subarray(-124).toString("latin1")).toContain("TRAILER!!!");
  });

  test("identical input gives identical bytes (no timestamps or inode numbers from the machine)", () => {
    const entries = [{ kind: "file", path: "a", data: Buffer.from("same") }] as const;

    expect(writeCpioNewc(entries).equals(writeCpioNewc(entries))).toBe(true);
  });
});

const MODULES_DEP = [
  "kernel/drivers/net/ethernet/intel/e1000/e1000.ko:",
  "kernel/fs/nfs/nfsv3.ko: kernel/fs/nfs/nfs.ko kernel/fs/lockd/lockd.ko kernel/net/sunrpc/sunrpc.ko kernel/fs/netfs/netfs.ko",
  "kernel/fs/nfs/nfs.ko: kernel/fs/lockd/lockd.ko kernel/net/sunrpc/sunrpc.ko kernel/fs/netfs/netfs.ko",
  "kernel/fs/lockd/lockd.ko: kernel/net/sunrpc/sunrpc.ko",
  "kernel/net/sunrpc/sunrpc.ko:",
  "kernel/fs/netfs/netfs.ko:",
].join("\n");

describe("module load order", () => {
  test("loads each dependency once, before the modules that need it", () => {
    const index = parseModuleIndex(MODULES_DEP, "kernel/drivers/virtio/virtio_pci.ko\n");

    expect(moduleLoadOrder(index, ["e1000", "nfsv3", "virtio-pci"], "6.1.0-test")).toEqual([
      "kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
      "kernel/net/sunrpc/sunrpc.ko",
      "kernel/fs/lockd/lockd.ko",
      "kernel/fs/netfs/netfs.ko",
      "kernel/fs/nfs/nfs.ko",
      "kernel/fs/nfs/nfsv3.ko",
    ]);
  });

  test("an unknown module names the kernel to check", () => {
    expect(() => moduleLoadOrder(parseModuleIndex(MODULES_DEP), ["e1001"], "6.1.0-test")).toThrow(
      'kernel 6.1.0-test has no module "e1001" (not in modules.dep or modules.builtin)',
    );
  });
});

describe("busybox initramfs", () => {
  test("holds busybox, /init, the udhcpc script and the modules listed in load order", () => {
    const busybox = readFileSync("/bin/busybox");
    const archive = buildInitramfs({
      imageName: "kvm-linux",
      busybox,
      modules: [
        { path: "kernel/net/sunrpc/sunrpc.ko", data: Buffer.from("sunrpc module") },
        { path: "kernel/fs/nfs/nfs.ko", data: Buffer.from("nfs module") },
      ],
    });

    const dir = unpack(gunzipSync(archive));
    expect(readFileSync(join(dir, "bin/busybox")).equals(busybox)).toBe(true);
    expect(readlinkSync(join(dir, "bin/sh"))).toBe("busybox");
    expect(statSync(join(dir, "init")).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(dir, "etc/netboot-lab/modules"), "utf8")).toBe("kernel/net/sunrpc/sunrpc.ko\nkernel/fs/nfs/nfs.ko\n");
    expect(readFileSync(join(dir, "etc/netboot-lab/modules-nfs"), "utf8")).toBe("");
    expect(readFileSync(join(dir, "lib/modules/kernel/fs/nfs/nfs.ko"), "utf8")).toBe("nfs module");
    expect(statSync(join(dir, "etc/netboot-lab/udhcpc.script")).mode & 0o111).not.toBe(0);
  });

  test("/init is valid shell that prints the markers tests and users wait for", () => {
    const script = renderInitScript("kvm-linux");

    execFileSync("busybox", ["sh", "-n"], { input: script });
    expect(script).toContain(`mark "${BOOTED_MARKER} image=$image ip=$ip secureboot=$(secure_boot_state)"`);
    expect(script).toContain(`mark "${NFS_ROOT_MARKER} $nfsroot`);
    expect(script).toContain("image='kvm-linux'");
  });
});
