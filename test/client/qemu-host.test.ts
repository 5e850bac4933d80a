/** What the machine running the guests must offer, checked before anything is declared. */
import { describe, expect, it } from "vitest";
import { BRIDGE_HELPER, probeQemuHost, qemuHostProblems, resolveQemuChoices, type QemuHost } from "../../lib/client/qemu-host";
import { validateLab, type LabConfigInput } from "../../lib/model";
import { minimalLab } from "../model/fixtures";
import { fakeQemuHost } from "./fixtures";

const everything = fakeQemuHost();

function clients(list: NonNullable<LabConfigInput["clients"]>) {
  return validateLab(
    minimalLab({
      bootImages: [
        { name: "linux", kind: "ipxe" },
        { name: "snow", kind: "darwin-nbi", booter: "b", kernel: "k", extensions: ["E"], rootImage: "r" },
      ],
      clients: list,
    }),
  ).clients;
}

describe("resolveQemuChoices", () => {
  it("auto: KVM only when usable, a tap only as root", () => {
    expect(resolveQemuChoices("auto", "auto", everything)).toEqual({ accel: "kvm", attach: "tap" });
    expect(resolveQemuChoices("auto", "auto", { ...everything, kvmUsable: false, isRoot: false })).toEqual({ accel: "tcg", attach: "bridge-helper" });
    expect(resolveQemuChoices("tcg", "bridge-helper", everything)).toEqual({ accel: "tcg", attach: "bridge-helper" });
  });

  it("probes this machine: an answer of the right shape, whatever this machine has (the other tests inject theirs)", () => {
    const host = probeQemuHost();
    expect([typeof host.kvmUsable, typeof host.isRoot, typeof host.bridgeHelperSetuid]).toEqual(["boolean", "boolean", "boolean"]);
    expect(host.isRoot).toBe(process.getuid?.() === 0);
    expect(host.fileExists("/")).toBe(true);
    expect(host.which("sh")).toMatch(/^\/.*\/sh$/);
    expect(host.which("no-such-program-netboot-lab")).toBeUndefined();
    expect(typeof host.bridgeHelperAllows("nblab0")).toBe("boolean");
    const choices = resolveQemuChoices("auto", "auto", host);
    expect(choices.accel).toBe(host.kvmUsable ? "kvm" : "tcg");
    expect(choices.attach).toBe(host.isRoot ? "tap" : "bridge-helper");
  });
});

describe("qemuHostProblems", () => {
  const guests = clients([
    { name: "bios", mac: "52:54:00:00:00:01", bootImage: "linux" },
    { name: "efi", mac: "52:54:00:00:00:02", firmware: "efi-x64", bootImage: "linux" },
    { name: "ia32", mac: "52:54:00:00:00:03", firmware: "efi-ia32", nic: "qemu-virtio", bootImage: "snow", accel: "kvm" },
  ]);

  it("none when QEMU, the firmware and KVM are there", () => {
    expect(qemuHostProblems(guests, "nblab0", everything)).toEqual([]);
  });

  it("names the Debian package of each missing program and firmware, and what to set instead of kvm", () => {
    const bare: QemuHost = { ...everything, kvmUsable: false, fileExists: () => false, which: () => undefined };
    expect(qemuHostProblems(guests, "nblab0", bare)).toEqual([
      'clients "bios": qemu-system-x86_64 is not on PATH; install the Debian package qemu-system-x86',
      'clients "efi": qemu-system-x86_64 is not on PATH; install the Debian package qemu-system-x86',
      'clients "efi": the x64 UEFI firmware /usr/share/qemu/OVMF.fd is missing; install the Debian package ovmf (apt-get install ovmf)',
      'clients "ia32": qemu-system-i386 is not on PATH; install the Debian package qemu-system-x86',
      'clients "ia32": the ia32 UEFI firmware /usr/share/OVMF/OVMF32_CODE_4M.secboot.fd is missing; install the Debian package ovmf-ia32 (apt-get install ovmf-ia32)',
      'clients "ia32": accel is kvm but KVM is not usable here (/dev/kvm missing, not writable, or not backed by kvm_intel/kvm_amd); set netboot-lab:qemu.accel (or the client\'s accel) to auto or tcg',
    ]);
  });

  it("without root: the bridge helper must be setuid root, with the command that makes it so (Debian installs it 0755)", () => {
    const user = fakeQemuHost({ isRoot: false, bridgeHelperSetuid: false });
    expect(qemuHostProblems(guests.slice(0, 1), "nblab0", user)).toEqual([
      `clients "bios": QEMU's bridge helper ${BRIDGE_HELPER} is not setuid root (Debian installs it 0755), so it cannot put the guest on nblab0 for your user; run (as root) chmod u+s ${BRIDGE_HELPER}, or run as root so the lab uses a tap`,
    ]);
    expect(qemuHostProblems(guests.slice(0, 1), "nblab0", fakeQemuHost({ isRoot: false, fileExists: (path) => path !== BRIDGE_HELPER }))).toEqual([
      `clients "bios": QEMU's bridge helper ${BRIDGE_HELPER} is missing; install the Debian package qemu-system-common (apt-get install qemu-system-common)`,
    ]);
    // Root runs the helper as root: no setuid bit needed.
    const forcedHelper = guests.slice(0, 1).map((client) => ({ ...client, qemu: { ...client.qemu!, attach: "bridge-helper" as const } }));
    expect(qemuHostProblems(forcedHelper, "nblab0", fakeQemuHost({ bridgeHelperSetuid: false }))).toEqual([]);
  });

  it("without root: the bridge helper must be allowed on the lab bridge, and a forced tap is refused", () => {
    const user: QemuHost = { ...everything, isRoot: false, bridgeHelperAllows: () => false };
    expect(qemuHostProblems(guests.slice(0, 1), "nblab0", user)).toEqual([
      'clients "bios": QEMU\'s bridge helper may not attach to nblab0; add the line "allow nblab0" to /etc/qemu/bridge.conf (as root), or run as root so the lab uses a tap',
    ]);
    const forcedTap = clients([{ name: "bios", mac: "52:54:00:00:00:01", bootImage: "linux" }]).map((client) => ({
      ...client,
      qemu: { ...client.qemu!, attach: "tap" as const },
    }));
    expect(qemuHostProblems(forcedTap, "nblab0", user)).toEqual([
      'clients "bios": attach is tap, which needs root to create the tap; run as root, or set netboot-lab:qemu.attach: bridge-helper (with "allow nblab0" in /etc/qemu/bridge.conf)',
    ]);
  });
});
