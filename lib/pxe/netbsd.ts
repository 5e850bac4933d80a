/**
 * NetBSD's pxeboot and its serial-console variant. NetBSD selects the console of pxeboot
 * (and of the kernel it boots) from a parameter block inside pxeboot_ia32.bin, which
 * `installboot -e -o console=com0` edits; we apply the same edit, so the lab needs no
 * NetBSD host to make the com0 variant.
 */
import { UserError } from "../errors";
import type { BootImageConfig } from "../model";

export type NetbsdImage = Extract<BootImageConfig, { kind: "netbsd" }>;

/** `X86_BOOT_MAGIC(n)` of NetBSD's sys/sys/bootblock.h, with the low nibble (n) masked off. */
const X86_BOOT_MAGIC_BASE = 0x7886b6d0;
/** installboot looks for the magic 4 bytes into each of the first four 512-byte sectors. */
const SEARCHED_SECTORS = 4;
const SECTOR = 512;
/** Offsets inside `struct x86_boot_params`, which follows the magic word. */
const PARAM_LENGTH = 0;
const PARAM_CONSDEV = 12;

export const NETBSD_CONSOLES = { pc: 0, com0: 1, com1: 2, com2: 3, com3: 4 } as const;
export type NetbsdConsole = keyof typeof NETBSD_CONSOLES;

/** Offset of the boot parameter block, or undefined when the file carries none. */
export function findBootParams(pxeboot: Buffer): number | undefined {
  for (let sector = 0; sector < SEARCHED_SECTORS; sector++) {
    const magicAt = sector * SECTOR + 4;
    if (magicAt + 4 > pxeboot.length) break;
    if ((pxeboot.readUInt32LE(magicAt) | 0xf) >>> 0 === (X86_BOOT_MAGIC_BASE | 0xf) >>> 0) return magicAt + 4;
  }
  return undefined;
}

/** A copy of pxeboot whose console is `console`; the speed stays as built (0: the BIOS setting). */
export function withNetbsdConsole(pxeboot: Buffer, console: NetbsdConsole, source: string): Buffer {
  const params = findBootParams(pxeboot);
  if (params === undefined) {
    throw new UserError(
      `${source} has no NetBSD boot parameter block in its first ${SEARCHED_SECTORS * SECTOR} bytes, so its console cannot be set; ` +
        "give the pxeboot_ia32.bin of a NetBSD/i386 or amd64 release (usr/mdec/pxeboot_ia32.bin)",
    );
  }
  const patchable = pxeboot.readUInt32LE(params + PARAM_LENGTH);
  if (patchable < PARAM_CONSDEV + 4) {
    throw new UserError(`${source}: its boot parameter block holds ${patchable} bytes, too few for a console setting; use a newer NetBSD pxeboot_ia32.bin`);
  }
  const patched = Buffer.from(pxeboot);
  patched.writeUInt32LE(NETBSD_CONSOLES[console], params + PARAM_CONSDEV);
  return patched;
}

export function netbsdConsoleOf(pxeboot: Buffer): NetbsdConsole | undefined {
  const params = findBootParams(pxeboot);
  if (params === undefined) return undefined;
  const device = pxeboot.readUInt32LE(params + PARAM_CONSDEV);
  return (Object.keys(NETBSD_CONSOLES) as NetbsdConsole[]).find((name) => NETBSD_CONSOLES[name] === device);
}
