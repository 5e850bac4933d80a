import { describe, expect, test } from "vitest";
import { kernelCommandLine, renderGrubConfig, renderIpxeScript, renderPxelinuxConfig, findBootParams, netbsdConsoleOf, withNetbsdConsole } from "../../lib/pxe";
import { imageOf, labWith } from "./fixtures";

describe("kernel command line", () => {
  test("is the user's cmdline when the image has no NFS root", () => {
    const { image, bootFiles } = imageOf(labWith({ name: "k", kind: "ipxe", linux: { cmdline: "console=ttyS0 quiet" } }), "ipxe");

    expect(kernelCommandLine(image, bootFiles)).toBe("console=ttyS0 quiet");
  });

  test("names the image's NFS root so the initramfs does not depend on DHCP sending root-path", () => {
    const { image, bootFiles } = imageOf(labWith({ name: "k", kind: "grub", nfsRoot: true }), "grub");

    expect(kernelCommandLine(image, bootFiles)).toBe("console=ttyS0 loglevel=6 cryptomgr.notests nfsroot=10.77.0.2:/netboot/k/root");
  });
});

describe("iPXE script", () => {
  test("loads the kernel and initrd beside itself and falls back to a shell with the reason", () => {
    const { image, bootFiles } = imageOf(labWith({ name: "kvm-linux", kind: "ipxe" }), "ipxe");

    expect(renderIpxeScript(image, bootFiles)).toBe(
      [
        "#!ipxe",
        "# netboot-lab boot image kvm-linux: the kernel and initrd live beside this script.",
        "echo netboot-lab: booting kvm-linux",
        "kernel vmlinuz initrd=initrd.img console=ttyS0 loglevel=6 cryptomgr.notests || goto failed",
        "initrd initrd.img || goto failed",
        "boot || goto failed",
        ":failed",
        "echo netboot-lab: could not boot kvm-linux; check that vmlinuz and initrd.img are served beside boot.ipxe",
        "shell",
        "",
      ].join("\n"),
    );
  });
});

describe("grub.cfg", () => {
  test("fetches the kernel and initrd from the lab's HTTP server, with a serial terminal", () => {
    const { image, bootFiles } = imageOf(labWith({ name: "g", kind: "grub", nfsRoot: true }), "grub");

    expect(renderGrubConfig(image, bootFiles).split("\n").slice(8, 13)).toEqual([
      '  echo "netboot-lab: loading g"',
      "  insmod http",
      "  linux (http,10.77.0.2)/g/vmlinuz console=ttyS0 loglevel=6 cryptomgr.notests nfsroot=10.77.0.2:/netboot/g/root",
      "  initrd (http,10.77.0.2)/g/initrd.img",
      "}",
    ]);
  });

  test("boots the kernel from the TFTP root when the lab has no HTTP server on port 80", () => {
    const { image, bootFiles } = imageOf(labWith({ name: "g", kind: "grub", nfsRoot: true }, { http: { enabled: false } }), "grub");

    expect(renderGrubConfig(image, bootFiles)).toBe(
      [
        "# netboot-lab boot image g",
        "serial --unit=0 --speed=115200",
        "terminal_input console serial",
        "terminal_output console serial",
        "set timeout=0",
        "set default=0",
        "",
        'menuentry "g (netboot-lab)" {',
        '  echo "netboot-lab: loading g"',
        "  linux /g/vmlinuz console=ttyS0 loglevel=6 cryptomgr.notests nfsroot=10.77.0.2:/netboot/g/root",
        "  initrd /g/initrd.img",
        "}",
        "",
      ].join("\n"),
    );
  });
});

describe("pxelinux config", () => {
  test("uses ::paths from the TFTP root, so the BIOS and efi64 loaders share one config", () => {
    const { image, bootFiles } = imageOf(labWith({ name: "p", kind: "pxelinux", linux: { cmdline: "console=ttyS0,115200" } }), "pxelinux");

    expect(renderPxelinuxConfig(image, bootFiles)).toBe(
      [
        "# netboot-lab boot image p",
        "SERIAL 0 115200",
        "DEFAULT p",
        "PROMPT 0",
        "TIMEOUT 10",
        "",
        "LABEL p",
        "  KERNEL ::p/vmlinuz",
        "  INITRD ::p/initrd.img",
        "  APPEND console=ttyS0,115200",
        "",
      ].join("\n"),
    );
  });
});

/** A pxeboot-like file: code bytes, then NetBSD's x86_boot_params block 4 bytes into the second sector. */
function fakePxeboot(paramsLength = 100): Buffer {
  const file = Buffer.alloc(4096, 0x90);
  file.writeUInt32LE(0x7886b6d3, 512 + 4); // X86_BOOT_MAGIC_PXE
  file.writeUInt32LE(paramsLength, 512 + 8); // bp_length
  file.writeUInt32LE(0, 512 + 8 + 12); // bp_consdev: pc
  return file;
}

describe("NetBSD pxeboot console", () => {
  test("com0 sets bp_consdev to 1 and changes nothing else", () => {
    const original = fakePxeboot();

    const patched = withNetbsdConsole(original, "com0", "pxeboot_ia32.bin");

    expect(findBootParams(patched)).toBe(520);
    expect(netbsdConsoleOf(patched)).toBe("com0");
    expect(patched.readUInt32LE(520 + 12)).toBe(1);
    const changed = [...patched].flatMap((byte, offset) => (byte === original[offset] ? [] : [offset]));
    expect(changed).toEqual([532]);
    expect(netbsdConsoleOf(original)).toBe("pc");
  });

  test("a file without the parameter block is refused with what to use instead", () => {
    expect(() => withNetbsdConsole(Buffer.alloc(4096), "com0", "bootimages/pxeboot.bin")).toThrow(
      /bootimages\/pxeboot\.bin has no NetBSD boot parameter block in its first 2048 bytes.*pxeboot_ia32\.bin of a NetBSD\/i386 or amd64 release/,
    );
  });

  test("a parameter block too short for a console is refused", () => {
    expect(() => withNetbsdConsole(fakePxeboot(8), "com0", "old.bin")).toThrow(/old\.bin: its boot parameter block holds 8 bytes/);
  });
});
