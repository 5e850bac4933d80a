/**
 * The Secure Boot state the initramfs prints in its marker, from the /init it really runs: the
 * function is run by busybox in a private mount namespace whose /sys/firmware is a tmpfs laid out
 * as the kernel lays it out, with the firmware's variable as efivarfs shows it.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SECURE_BOOT_VARIABLE, renderInitScript } from "../../lib/pxe";

const script = renderInitScript("linux-signed");
const secureBootState = /^secure_boot_state\(\) \{\n[\s\S]*?\n\}\n/m.exec(script)?.[0];

/** `setup` runs first in the namespace (as root); then the function prints the state. */
function stateAfter(setup: string): string {
  return execFileSync(
    "unshare",
    ["-m", "busybox", "sh", "-c", `set -e; mount -t tmpfs firmware /sys/firmware; ${setup}; set +e; ${secureBootState}secure_boot_state`],
    {
      encoding: "utf8",
    },
  ).trim();
}

/** efivarfs as the guest sees it, mounted: a tmpfs there stands in for it (the test host has no EFI). */
const efivars = "mkdir -p /sys/firmware/efi/efivars; mount -t tmpfs efivarfs /sys/firmware/efi/efivars";
/** The variable's file: 4 bytes of attributes (non-volatile, boot service, runtime access), then its one-byte value. */
const variable = (value: number) => `printf '\\007\\000\\000\\000\\${value.toString(8).padStart(3, "0")}' >/sys/firmware/efi/efivars/${SECURE_BOOT_VARIABLE}`;

describe("secure_boot_state in /init", () => {
  it("is part of the script, and the marker prints it", () => {
    expect(secureBootState).toBeDefined();
    expect(script).toContain("secureboot=$(secure_boot_state)");
  });

  it("1 when the firmware's SecureBoot variable says so, 0 when it says off", () => {
    expect(stateAfter(`${efivars}; ${variable(1)}`)).toBe("1");
    expect(stateAfter(`${efivars}; ${variable(0)}`)).toBe("0");
  });

  it("0 on an EFI without the variable (no Secure Boot support), and on a BIOS (no /sys/firmware/efi)", () => {
    expect(stateAfter(efivars)).toBe("0");
    expect(stateAfter("true")).toBe("0");
  });

  it("unknown when efivarfs cannot be mounted", () => {
    expect(stateAfter("mkdir -p /sys/firmware/efi/efivars")).toBe("unknown");
  });
});

describe("efivarfs in /init's module list", () => {
  const loadModules = /^load_modules\(\) \{\n[\s\S]*?\n\}\n/m.exec(script)?.[0];

  it("is loaded only when the kernel booted from EFI: a BIOS boot skips it without an error line", () => {
    const run = (setup: string) =>
      execFileSync(
        "unshare",
        [
          "-m",
          "busybox",
          "sh",
          "-c",
          `mount -t tmpfs firmware /sys/firmware; ${setup}; say() { echo "netboot-lab: $*"; }; insmod() { echo "insmod $1"; }; list=$(mktemp); printf 'kernel/drivers/net/virtio_net.ko\\nkernel/fs/efivarfs/efivarfs.ko\\n' >"$list"; ${loadModules}load_modules "$list"; rm -f "$list"`,
        ],
        { encoding: "utf8" },
      ).trim();
    expect(run("true")).toBe("insmod /lib/modules/kernel/drivers/net/virtio_net.ko");
    expect(run("mkdir -p /sys/firmware/efi")).toBe("insmod /lib/modules/kernel/drivers/net/virtio_net.ko\ninsmod /lib/modules/kernel/fs/efivarfs/efivarfs.ko");
  });
});
