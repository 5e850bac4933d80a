/**
 * A writer for the cpio "newc" format, the only archive format the Linux kernel unpacks
 * as an initramfs. Output is deterministic (fixed inode numbers, mtime 0, root owner), so
 * an unchanged payload produces an unchanged initrd and does not trigger a rebuild.
 */

export type CpioEntry =
  | { readonly kind: "dir"; readonly path: string; readonly mode?: number }
  | { readonly kind: "file"; readonly path: string; readonly data: Buffer; readonly mode?: number }
  | { readonly kind: "symlink"; readonly path: string; readonly target: string }
  | { readonly kind: "chardev"; readonly path: string; readonly major: number; readonly minor: number; readonly mode?: number };

const FILE_TYPE = { dir: 0o040000, file: 0o100000, symlink: 0o120000, chardev: 0o020000 } as const;
const DEFAULT_PERMISSIONS = { dir: 0o755, file: 0o644, symlink: 0o777, chardev: 0o600 } as const;
const TRAILER = "TRAILER!!!";

function hex8(value: number): string {
  return value.toString(16).padStart(8, "0");
}

function padTo4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

interface RawEntry {
  readonly name: string;
  readonly mode: number;
  readonly data: Buffer;
  readonly nlink: number;
  readonly rdev: readonly [number, number];
}

function header(entry: RawEntry, ino: number): Buffer {
  const nameBytes = Buffer.byteLength(entry.name) + 1;
  const fields = [ino, entry.mode, 0, 0, entry.nlink, 0, entry.data.length, 0, 0, entry.rdev[0], entry.rdev[1], nameBytes, 0];
  return Buffer.from("070701" + fields.map(hex8).join(""), "ascii");
}

function toRaw(entry: CpioEntry): RawEntry {
  // The kernel's unpacker wants names without a leading slash, like `cpio -H newc` writes them.
  const name = entry.path.replace(/^\/+/, "");
  if (!name) throw new Error(`cpio entry path "${entry.path}" names the archive root; give a path such as bin/sh`);
  const permissions = entry.kind === "symlink" ? DEFAULT_PERMISSIONS.symlink : (entry.mode ?? DEFAULT_PERMISSIONS[entry.kind]);
  const mode = FILE_TYPE[entry.kind] | (permissions & 0o7777);
  switch (entry.kind) {
    case "dir":
      return { name, mode, data: Buffer.alloc(0), nlink: 2, rdev: [0, 0] };
    case "file":
      return { name, mode, data: entry.data, nlink: 1, rdev: [0, 0] };
    case "symlink":
      return { name, mode, data: Buffer.from(entry.target), nlink: 1, rdev: [0, 0] };
    case "chardev":
      return { name, mode, data: Buffer.alloc(0), nlink: 1, rdev: [entry.major, entry.minor] };
  }
}

/** Serialises entries in the given order (parents before children) followed by the trailer. */
export function writeCpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const raw = [...entries.map(toRaw), { name: TRAILER, mode: 0, data: Buffer.alloc(0), nlink: 1, rdev: [0, 0] as const }];
  raw.forEach((entry, index) => {
    const head = header(entry, entry.name === TRAILER ? 0 : index + 1);
    const name = Buffer.from(`${entry.name}\0`);
    parts.push(head, name, padTo4(head.length + name.length), entry.data, padTo4(entry.data.length));
  });
  return Buffer.concat(parts);
}
