/** Secure Boot clients: what validation refuses before anything boots, and what a signed-grub image hands out. */
import { describe, expect, it } from "vitest";
import { validateLab, type LabConfigInput } from "../../lib/model";
import { minimalLab, problemsOf } from "./fixtures";

type ClientInput = NonNullable<LabConfigInput["clients"]>[number];
type ImageInput = NonNullable<LabConfigInput["bootImages"]>[number];

const signed: ImageInput = { name: "signed", kind: "signed-grub" };
const secureClient: ClientInput = {
  name: "sb",
  mac: "52:54:00:00:00:13",
  ipv4: "10.77.0.13",
  firmware: "efi-x64",
  nic: "qemu-virtio",
  secureBoot: true,
  bootImage: "signed",
};

function lab(image: ImageInput, client: Partial<ClientInput> = {}): LabConfigInput {
  return minimalLab({ bootImages: [image], clients: [{ ...secureClient, bootImage: image.name, ...client }] });
}

describe("a Secure Boot client of a signed-grub image", () => {
  it("is accepted, and its firmware is handed shim from the image's folder", () => {
    const client = validateLab(lab(signed)).clients[0]!;
    expect(client).toMatchObject({ secureBoot: true, firmware: "efi-x64", nic: "qemu-virtio", bootFile: "signed/shimx64.efi" });
  });

  it("secureBoot is off unless the client says so", () => {
    expect(validateLab(minimalLab()).clients[0]!.secureBoot).toBe(false);
  });

  it("a signed-grub image also boots a client without Secure Boot (shim then loads GRUB unchecked)", () => {
    const client = validateLab(lab(signed, { secureBoot: false, nic: "qemu-e1000" })).clients[0]!;
    expect(client).toMatchObject({ secureBoot: false, bootFile: "signed/shimx64.efi" });
  });

  it("a signed-grub image boots efi-x64 only", () => {
    expect(problemsOf(lab(signed, { secureBoot: false, firmware: "bios" }))).toEqual([
      'clients[0].firmware: boot image "signed" (signed-grub) cannot boot bios firmware; it supports efi-x64',
    ]);
  });
});

describe("Secure Boot refuses what cannot boot signed", () => {
  it.each([
    [{ name: "ipxe", kind: "ipxe" }, "the lab's iPXE (ipxe.efi) is not signed"],
    [{ name: "grub", kind: "grub" }, "the lab's GRUB (core.efi made by grub-mknetdir) is not signed"],
    [{ name: "pxelinux", kind: "pxelinux" }, "syslinux.efi is not signed"],
  ] as [ImageInput, string][])("a %o image", (image, why) => {
    expect(problemsOf(lab(image))).toEqual([
      `clients[0].bootImage: "${image.name}" (${image.kind}) cannot boot with Secure Boot on: ${why}, and the firmware refuses unsigned loaders; use a boot image of kind signed-grub (shim, then Debian's signed GRUB and kernel), or remove secureBoot`,
    ]);
  });

  it("a NetBSD image (a BIOS loader: the firmware error comes too)", () => {
    expect(problemsOf(lab({ name: "bsd", kind: "netbsd", pxeboot: "p", kernel: "k" }))).toEqual([
      `clients[0].bootImage: "bsd" (netbsd) cannot boot with Secure Boot on: NetBSD's pxeboot is a BIOS loader and is not signed, and the firmware refuses unsigned loaders; use a boot image of kind signed-grub (shim, then Debian's signed GRUB and kernel), or remove secureBoot`,
      'clients[0].firmware: boot image "bsd" (netbsd) cannot boot efi-x64 firmware; it supports bios',
    ]);
  });

  it("a Darwin image", () => {
    const snow: ImageInput = { name: "snow", kind: "darwin-nbi", booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" };
    expect(problemsOf(lab(snow))).toContain(
      `clients[0].bootImage: "snow" (darwin-nbi) cannot boot with Secure Boot on: Apple's boot.efi is not signed by a key OVMF trusts, and the firmware refuses unsigned loaders; use a boot image of kind signed-grub (shim, then Debian's signed GRUB and kernel), or remove secureBoot`,
    );
  });

  it("UEFI HTTP Boot: the signed GRUB has no http module", () => {
    expect(problemsOf(lab(signed, { netboot: "http" }))).toContain(
      "clients[0].netboot: is http, but the signed chain cannot HTTP-boot: Debian's signed GRUB has no http module built in and may load none with Secure Boot on, and the lab's HTTP Boot loaders are unsigned; set netboot: pxe (shim and GRUB come over TFTP), or remove secureBoot",
    );
  });

  it("firmware other than efi-x64", () => {
    expect(problemsOf(lab(signed, { firmware: "efi-ia32" }))).toEqual([
      "clients[0].secureBoot: needs firmware efi-x64 (OVMF's Secure Boot build with Microsoft's keys), but the client's firmware is efi-ia32; set firmware: efi-x64, or remove secureBoot",
      'clients[0].firmware: boot image "signed" (signed-grub) cannot boot efi-ia32 firmware; it supports efi-x64',
    ]);
  });

  it("a NIC netbooting through QEMU's unsigned iPXE ROM, named or by default", () => {
    const fix =
      "netboots through QEMU's iPXE option ROM, which is not signed, so a Secure Boot firmware refuses it and has no network; set nic: qemu-virtio, which OVMF drives itself";
    expect(problemsOf(lab(signed, { nic: "qemu-e1000e" }))).toEqual([`clients[0].nic: qemu-e1000e ${fix}`]);
    expect(problemsOf(lab(signed, { nic: undefined }))).toEqual([`clients[0].nic: qemu-e1000 (the default) ${fix}`]);
  });

  it("a Fusion client", () => {
    expect(problemsOf(lab(signed, { platform: "fusion", mac: "00:50:56:00:00:13", nic: undefined }))).toEqual([
      "clients[0].secureBoot: is implemented for QEMU clients only (OVMF's Secure Boot build); remove secureBoot, or set platform: qemu",
    ]);
  });
});

describe("the boot tree's grub folder", () => {
  it("belongs to the signed GRUB's first config when a signed-grub image is declared", () => {
    const config = minimalLab({ bootImages: [signed, { name: "grub", kind: "grub" }], clients: [secureClient] });
    expect(problemsOf(config)).toEqual([
      `bootImages[1].name: "grub" is the boot tree's folder where Debian's signed GRUB (of signed-grub image "signed") reads its first config, under the /grub prefix built into it; give this image another name`,
    ]);
    expect(validateLab(minimalLab({ bootImages: [{ name: "grub", kind: "grub" }], clients: [] })).bootImages).toHaveLength(1);
  });
});
