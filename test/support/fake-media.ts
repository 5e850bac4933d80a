/**
 * Stand-ins for the files a user copies from their own install media, at exactly the paths
 * stacks/Pulumi.fusion.yaml names, so the fusion stack runs with its real config (only
 * `netboot-lab:mediaDir` points at these). We never ship Apple's or NetBSD's binaries.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { writeSnowLeopardExtensions } from "../darwin/fixtures";

/** NetBSD's boot parameter block magic, found in a real pxeboot_ia32.bin's second sector. */
const NETBSD_BOOT_PARAMS_MAGIC = 0x7886b6d3;

function write(root: string, path: string, content: string | Buffer): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

function fakePxeboot(): Buffer {
  const pxeboot = Buffer.alloc(4096, 0x90);
  pxeboot.writeUInt32LE(NETBSD_BOOT_PARAMS_MAGIC, 516);
  pxeboot.writeUInt32LE(100, 520);
  return pxeboot;
}

/** Writes the fusion stack's media into a new folder; returns it and its cleanup. */
export function fusionMedia(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "nbt-media-"));
  write(dir, "media/10.6/usr/standalone/i386/boot.efi", "fake EFI booter");
  write(dir, "media/10.6/mach_kernel", "fake mach_kernel");
  write(dir, "media/10.6/NetInstall.dmg", "fake root image");
  writeSnowLeopardExtensions(join(dir, "media/10.6"));
  write(dir, "media/netbsd-5/pxeboot_ia32.bin", fakePxeboot());
  write(dir, "media/netbsd-5/netbsd-GENERIC", "fake NetBSD kernel");
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
