/** UEFI HTTP Boot and ARM64 clients: what they are handed, their defaults, and the combinations refused with the field and the fix. */
import { describe, expect, it } from "vitest";
import { validateLab, type LabConfigInput } from "../../lib/model";
import { renderGrubConfig } from "../../lib/pxe/grub";
import { grubHttpCores } from "../../lib/pxe/grub-http";
import { minimalLab, problemsOf } from "./fixtures";

const grubArm64 = { name: "arm", kind: "grub" as const, arch: "arm64" as const, linux: { cmdline: "console=ttyAMA0" } };
const grub = { name: "grub", kind: "grub" as const };
const ipxe = { name: "linux", kind: "ipxe" as const };
type Client = NonNullable<LabConfigInput["clients"]>[number];

function lab(bootImages: LabConfigInput["bootImages"], client: Partial<Client>, extra: Partial<LabConfigInput> = {}): LabConfigInput {
  return minimalLab({ bootImages, clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux", ...client }], ...extra });
}

describe("UEFI HTTP Boot clients", () => {
  it("an ipxe image hands an efi-x64 HTTP client iPXE's snponly.efi by URL, and its NIC defaults to virtio", () => {
    const client = validateLab(lab([ipxe], { firmware: "efi-x64", netboot: "http" })).clients[0]!;
    expect(client).toMatchObject({ netboot: "http", nic: "qemu-virtio", bootFile: "http://10.77.0.2/linux/snponly.efi" });
  });

  it("a grub image hands it a GRUB core built for HTTP, on the lab's HTTP server", () => {
    const client = validateLab(lab([grub], { firmware: "efi-x64", netboot: "http", bootImage: "grub" })).clients[0]!;
    expect(client.bootFile).toBe("http://10.77.0.2/grub/boot/grub/x86_64-efi/core-http.efi");
  });

  it("pxe stays the default, with the platform's NIC", () => {
    expect(validateLab(lab([ipxe], { firmware: "efi-x64" })).clients[0]).toMatchObject({ netboot: "pxe", nic: "qemu-e1000", bootFile: "linux/ipxe.efi" });
  });

  it("refuses http on firmware without an HTTP Boot client", () => {
    expect(problemsOf(lab([ipxe], { firmware: "bios", netboot: "http" }))).toEqual([
      "clients[0].netboot: http (UEFI HTTP Boot) needs UEFI firmware with an HTTP Boot client; set firmware: efi-x64 or efi-arm64, or netboot: pxe",
    ]);
  });

  it("refuses http when the lab's HTTP server is off, naming the setting", () => {
    expect(problemsOf(lab([grub], { firmware: "efi-x64", netboot: "http", bootImage: "grub" }, { servers: { http: { enabled: false } } }))).toEqual([
      "clients[0].netboot: boot image \"grub\" (grub) is HTTP-booted from the lab's HTTP server on port 80 (GRUB's http device takes no port); set servers.http.enabled: true and port: 80, or netboot: pxe",
    ]);
  });

  it("refuses a pxelinux image over HTTP", () => {
    expect(problemsOf(lab([{ name: "linux", kind: "pxelinux" }], { firmware: "efi-x64", netboot: "http" }))).toEqual([
      'clients[0].netboot: boot image "linux" (pxelinux) cannot be HTTP-booted by efi-x64 firmware (it supports bios, efi-x64); use an ipxe or grub image with servers.http enabled, or netboot: pxe',
    ]);
  });

  it("refuses a NIC OVMF can drive only through its option ROM", () => {
    expect(problemsOf(lab([ipxe], { firmware: "efi-x64", netboot: "http", nic: "qemu-e1000" }))).toEqual([
      "clients[0].nic: netboot http runs OVMF's own HTTP Boot, whose only NIC driver is virtio; set nic: qemu-virtio or leave nic out",
    ]);
  });

  it("refuses http and efi-arm64 on Fusion", () => {
    expect(problemsOf(lab([ipxe], { firmware: "efi-x64", netboot: "http", platform: "fusion", mac: "00:50:56:00:00:01" }))).toContain(
      "clients[0].platform: netboot http runs on QEMU only (OVMF/AAVMF); set platform: qemu, or use firmware efi-x64 with netboot: pxe on Fusion",
    );
  });
});

describe("ARM64 clients", () => {
  it("a grub image with arch arm64 hands PXE its arm64 GRUB core, and HTTP Boot its HTTP core; the NIC defaults to virtio", () => {
    const pxe = validateLab(lab([grubArm64], { firmware: "efi-arm64", bootImage: "arm" })).clients[0]!;
    expect(pxe).toMatchObject({ firmware: "efi-arm64", nic: "qemu-virtio", bootFile: "arm/boot/grub/arm64-efi/core.efi" });
    const http = validateLab(lab([grubArm64], { firmware: "efi-arm64", netboot: "http", bootImage: "arm" })).clients[0]!;
    expect(http.bootFile).toBe("http://10.77.0.2/arm/boot/grub/arm64-efi/core-http.efi");
  });

  it("refuses an x86 image for an arm64 client, and an arm64 image for an x86 one", () => {
    expect(problemsOf(lab([grub], { firmware: "efi-arm64", bootImage: "grub" }))).toEqual([
      'clients[0].firmware: boot image "grub" is built for x86_64; efi-arm64 clients need a grub image with arch: arm64',
    ]);
    expect(problemsOf(lab([ipxe], { firmware: "efi-arm64" }))).toEqual([
      'clients[0].firmware: boot image "linux" (ipxe) has no arm64 loader; efi-arm64 clients boot a grub image with arch: arm64',
    ]);
    expect(problemsOf(lab([grubArm64], { firmware: "efi-x64", bootImage: "arm" }))).toEqual([
      'clients[0].firmware: boot image "arm" is built for arm64; only efi-arm64 clients can boot it: use an x86_64 image or set firmware: efi-arm64',
    ]);
  });

  it("refuses arm64 on kinds without an arm64 loader, and the x86 serial console on arm64", () => {
    expect(problemsOf(minimalLab({ bootImages: [{ name: "linux", kind: "ipxe", arch: "arm64" }], clients: [] }))).toEqual([
      "bootImages[0].arch: arm64 needs an arm64 loader, which only grub images have here (Debian ships x86 ipxe binaries only); use kind: grub",
    ]);
    expect(problemsOf(minimalLab({ bootImages: [{ name: "arm", kind: "grub", arch: "arm64" }], clients: [] }))).toEqual([
      "bootImages[0].linux.cmdline: console=ttyS0 does not exist on QEMU's arm64 virt machine, so the serial log would stay empty; set linux.cmdline: console=ttyAMA0",
    ]);
  });

  it("refuses a NIC other than virtio", () => {
    expect(problemsOf(lab([grubArm64], { firmware: "efi-arm64", bootImage: "arm", nic: "qemu-e1000" }))).toEqual([
      "clients[0].nic: efi-arm64 firmware (AAVMF on QEMU's virt machine) netboots only through virtio; set nic: qemu-virtio or leave nic out",
    ]);
  });
});

describe("arm64 GRUB", () => {
  it("its grub.cfg leaves the console to AAVMF (arm64 GRUB has no com0) and fetches the kernel over HTTP", () => {
    const model = validateLab(minimalLab({ bootImages: [grubArm64], clients: [] }));
    const config = renderGrubConfig(grubArm64Image(model), model.bootFileSets.arm!);
    expect(config).not.toMatch(/serial|terminal_/);
    expect(config).toContain("linux (http,10.77.0.2)/arm/vmlinuz console=ttyAMA0");
  });

  it("its HTTP core has its prefix on the lab's HTTP server and GRUB's modules for grub.cfg built in", () => {
    const model = validateLab(minimalLab({ bootImages: [grubArm64], clients: [] }));
    expect(grubHttpCores(grubArm64Image(model), model.bootFileSets.arm!, "/usr/lib/grub")).toEqual([
      {
        path: "arm/boot/grub/arm64-efi/core-http.efi",
        args: [
          "-O",
          "arm64-efi",
          "-d",
          "/usr/lib/grub/arm64-efi",
          "-p",
          "(http,10.77.0.2)/arm/boot/grub",
          "efinet",
          "net",
          "http",
          "normal",
          "linux",
          "echo",
          "serial",
          "terminfo",
          "terminal",
        ],
      },
    ]);
  });
});

function grubArm64Image(model: ReturnType<typeof validateLab>) {
  const image = model.bootImages[0]!;
  if (image.kind !== "grub") throw new Error("expected the grub image");
  return image;
}
