/** Client settings: defaults per platform, and the rules that stop a VM that could never boot. */
import { describe, expect, it } from "vitest";
import { findGuestOs, VMWARE_GUEST_OS } from "../../lib/client/guest-os";
import { validateLab } from "../../lib/model";
import { minimalLab, problemsOf } from "./fixtures";

const darwinImage = { name: "snow", kind: "darwin-nbi" as const, booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" };
const netbsdImage = { name: "bsd", kind: "netbsd" as const, pxeboot: "p", kernel: "k" };
/** A BIOS Fusion client of the NetBSD image, whose guestOS default (other) no firmware bitness changes. */
const fusionBsd = { name: "bsd", mac: "00:50:56:00:00:01", platform: "fusion" as const, bootImage: "bsd" };

describe("client defaults", () => {
  it("a QEMU client: 1 GiB, one CPU, started, accel auto, attach auto, its serial log in the run folder", () => {
    expect(validateLab(minimalLab()).clients[0]).toMatchObject({
      memoryMiB: 1024,
      cpus: 1,
      autostart: true,
      serialLog: ".netboot-lab/qemu/vm1.serial.log",
      qemu: { accel: "auto", attach: "auto", runDir: ".netboot-lab/qemu", stopTimeoutSeconds: 10 },
    });
    expect(validateLab(minimalLab()).clients[0]!.fusion).toBeUndefined();
  });

  it("stack settings and per-client values override the defaults", () => {
    const lab = validateLab(
      minimalLab({
        qemu: { accel: "tcg", attach: "bridge-helper", memoryMiB: 512, cpus: 2, runDir: "/var/lib/lab", stopTimeoutSeconds: 3 },
        clients: [{ name: "vm1", mac: "52:54:00:00:00:01", bootImage: "linux", memoryMiB: 256, accel: "kvm", autostart: false }],
      }),
    );
    expect(lab.clients[0]).toMatchObject({
      memoryMiB: 256,
      cpus: 2,
      autostart: false,
      serialLog: "/var/lib/lab/vm1.serial.log",
      qemu: { accel: "kvm", attach: "bridge-helper", runDir: "/var/lib/lab", stopTimeoutSeconds: 3 },
    });
  });

  it("a Fusion client: 2 GiB, bridged to en0, its bundle and serial log in the VM folder", () => {
    const lab = validateLab(
      minimalLab({
        bootImages: [darwinImage],
        clients: [{ name: "mac", mac: "00:50:56:00:00:01", platform: "fusion", firmware: "efi-x64", bootImage: "snow" }],
      }),
    );
    expect(lab.clients[0]).toMatchObject({
      memoryMiB: 2048,
      cpus: 1,
      serialLog: "~/Virtual Machines.localized/netboot-lab/mac.vmwarevm/serial.log",
      fusion: { displayName: "mac", vmFolder: "~/Virtual Machines.localized/netboot-lab", connection: { type: "bridged", hostInterface: "en0" } },
    });
    expect(lab.clients[0]!.qemu).toBeUndefined();
  });
});

describe("client validation names the field and the fix", () => {
  it("rejects a multicast MAC", () => {
    expect(problemsOf(minimalLab({ clients: [{ name: "vm1", mac: "01:00:5e:00:00:01", bootImage: "linux" }] }))).toEqual([
      "clients[0].mac: 01:00:5e:00:00:01 is a multicast address (lowest bit of the first byte set); use a unicast MAC such as 52:54:00:…",
    ]);
  });

  it("rejects Fusion memory that is not a multiple of 4 MiB, per client or as the stack's default", () => {
    expect(problemsOf(minimalLab({ bootImages: [netbsdImage], clients: [{ ...fusionBsd, memoryMiB: 1022 }] }))).toEqual([
      "clients[0].memoryMiB: 1022 is not a multiple of 4; VMware sizes guest memory in 4 MiB steps",
    ]);
    expect(problemsOf(minimalLab({ bootImages: [netbsdImage], fusion: { memoryMiB: 1026 }, clients: [fusionBsd] }))).toEqual([
      "fusion.memoryMiB: 1026 is not a multiple of 4; VMware sizes guest memory in 4 MiB steps",
    ]);
  });

  it("rejects a guestOS VMware does not know, listing those it does", () => {
    const ids = VMWARE_GUEST_OS.map((entry) => entry.id).join(", ");
    expect(problemsOf(minimalLab({ bootImages: [netbsdImage], clients: [{ ...fusionBsd, guestOS: "netbsd" }] }))).toEqual([
      `clients[0].guestOS: "netbsd" is not a VMware guestOS id netboot-lab knows; use one of ${ids} (default for this image: other)`,
    ]);
  });

  it("rejects a guestOS of another operating system than the image's", () => {
    expect(problemsOf(minimalLab({ bootImages: [netbsdImage], clients: [{ ...fusionBsd, guestOS: "otherlinux-64" }] }))).toEqual([
      `clients[0].guestOS: otherlinux-64 (${findGuestOs("otherlinux-64")!.label}) does not fit boot image "bsd" (netbsd); use other, or leave guestOS out for that default`,
    ]);
  });

  it("rejects an EFI ROM for a BIOS client", () => {
    expect(problemsOf(minimalLab({ bootImages: [netbsdImage], clients: [{ ...fusionBsd, efiRom: { efi64: "/roms/x64.rom" } }] }))).toEqual([
      "clients[0].efiRom: replaces EFI firmware, but the client's firmware is bios; remove efiRom or set firmware: efi-x64 / efi-ia32",
    ]);
  });

  it("rejects a Fusion MAC outside VMware's static range, suggesting one inside it", () => {
    expect(problemsOf(minimalLab({ bootImages: [netbsdImage], clients: [{ ...fusionBsd, mac: "00:50:56:80:00:01" }] }))).toEqual([
      "clients[0].mac: 00:50:56:80:00:01 is outside VMware's range for static MACs (00:50:56:00:00:00 to 00:50:56:3f:ff:ff); Fusion replaces any other with a generated one, which dhcpd does not know. Use e.g. 00:50:56:00:00:01",
    ]);
  });

  it("rejects the all-zero MAC for a QEMU guest", () => {
    expect(problemsOf(minimalLab({ clients: [{ name: "vm1", mac: "00:00:00:00:00:00", bootImage: "linux" }] }))).toEqual([
      "clients[0].mac: 00:00:00:00:00:00 is the all-zero MAC, which QEMU and dhcpd cannot tell apart from none; use a unicast MAC such as 52:54:00:…",
    ]);
  });

  it("rejects a QEMU client when the lab's Docker host is another machine", () => {
    for (const host of ["ssh://lab@far-away", "tcp://10.1.1.1:2376"]) {
      expect(problemsOf(minimalLab({ docker: { host } }))).toEqual([
        `clients[0].platform: qemu clients run on this machine and join the lab bridge here, but docker.host (${host}) puts the lab on another machine; remove docker.host, or run this stack on that machine, or use platform: fusion`,
      ]);
    }
    expect(validateLab(minimalLab({ docker: { host: "unix:///var/run/docker.sock" } })).clients).toHaveLength(1);
  });

  it("rejects a QEMU client on a macvlan lab, which has no bridge to join", () => {
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", mode: "macvlan", parentInterface: "eth1" } }))).toEqual([
      "clients[0].platform: qemu clients join the lab bridge, but network.mode is macvlan; set network.mode: bridge, or use platform: fusion",
    ]);
  });

  it("rejects an efi-ia32 QEMU guest without virtio, the only NIC OVMF's ia32 build can netboot", () => {
    const clients = [{ name: "mac", mac: "52:54:00:00:00:01", firmware: "efi-ia32" as const, bootImage: "snow" }];
    expect(problemsOf(minimalLab({ bootImages: [darwinImage], clients }))).toEqual([
      "clients[0].nic: efi-ia32 firmware (OVMF ia32) netboots only through virtio; set nic: qemu-virtio",
    ]);
    expect(validateLab(minimalLab({ bootImages: [darwinImage], clients: [{ ...clients[0]!, nic: "qemu-virtio" }] })).clients[0]!.nic).toBe("qemu-virtio");
  });

  it("rejects settings of the other platform", () => {
    const clients = [
      { name: "vm1", mac: "52:54:00:00:00:01", bootImage: "linux", guestOS: "other", vnc: { port: 5901 } },
      { name: "mac", mac: "00:50:56:00:00:02", platform: "fusion" as const, firmware: "efi-x64" as const, bootImage: "snow", accel: "tcg" as const },
    ];
    expect(problemsOf(minimalLab({ bootImages: [{ name: "linux", kind: "ipxe" }, darwinImage], clients }))).toEqual([
      "clients[0].guestOS: only applies to platform fusion; remove it, or set platform: fusion",
      "clients[0].vnc: only applies to platform fusion; remove it, or set platform: fusion",
      "clients[1].accel: only applies to platform qemu; remove it, or set platform: qemu",
    ]);
  });

  it("rejects two Fusion clients whose VM folders would be the same (macOS ignores case)", () => {
    const clients = [
      { name: "mac1", mac: "00:50:56:00:00:01", platform: "fusion" as const, firmware: "efi-x64" as const, bootImage: "snow", displayName: "Snow Leopard" },
      { name: "mac2", mac: "00:50:56:00:00:02", platform: "fusion" as const, firmware: "efi-x64" as const, bootImage: "snow", displayName: "snow leopard" },
    ];
    expect(problemsOf(minimalLab({ bootImages: [darwinImage], clients }))).toEqual([
      'clients[1].displayName: "snow leopard" names the same VM folder as clients[0] (~/virtual machines.localized/netboot-lab/snow leopard.vmwarevm; macOS ignores case); give each Fusion client its own displayName',
    ]);
  });
});
