/**
 * What a Fusion client's stack entry becomes, and what validation refuses before any .vmx is
 * written: the guest type's bitness against the firmware's, the EFI ROM of the other bitness,
 * and a VNC server without a password.
 */
import { describe, expect, it } from "vitest";
import { vmxSpecFor, vncPasswordProblems, vncWithoutPassword } from "../../lib/client/fusion";
import { parseVmx, renderVmx } from "../../lib/client/vmx";
import { validateLab, type LabConfigInput } from "../../lib/model";
import { minimalLab, problemsOf } from "../model/fixtures";

type ClientInput = NonNullable<LabConfigInput["clients"]>[number];

const bootImages: LabConfigInput["bootImages"] = [
  { name: "linux", kind: "ipxe" },
  { name: "snow", kind: "darwin-nbi", booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" },
];

function fusionLab(client: Partial<ClientInput>): LabConfigInput {
  return minimalLab({
    bootImages,
    clients: [{ name: "mac", platform: "fusion", mac: "00:50:56:00:00:10", ipv4: "10.77.0.10", firmware: "efi-x64", bootImage: "snow", ...client }],
  });
}

const fusionClient = (client: Partial<ClientInput>) => validateLab(fusionLab(client)).clients[0]!;

describe("guestOS and the bitness of VMware's EFI", () => {
  it("an efi-x64 Mac OS X 10.6 client gets the 64-bit guest type, so VMware runs its 64-bit EFI; efi-ia32 and BIOS keep the 32-bit one", () => {
    expect(fusionClient({}).fusion!.guestOS).toBe("darwin10-64");
    expect(fusionClient({ firmware: "efi-ia32" }).fusion!.guestOS).toBe("darwin10");
    expect(fusionClient({ firmware: "bios", bootImage: "linux" }).fusion!.guestOS).toBe("otherlinux-64");
  });

  it("the .vmx of an efi-x64 Mac client says EFI and a 64-bit guest", () => {
    const vmx = parseVmx(renderVmx(vmxSpecFor(fusionClient({}))));
    expect([vmx.get("firmware"), vmx.get("guestOS")]).toEqual(["efi", "darwin10-64"]);
  });

  it("an explicit guestOS of the other bitness is refused, naming the field, the id to use and the other fix", () => {
    expect(problemsOf(fusionLab({ guestOS: "darwin10" }))).toEqual([
      "clients[0].guestOS: darwin10 is a 32-bit guest type, so VMware would run its 32-bit EFI and the guest would ask for efi-ia32 boot files, not the efi-x64 ones the lab serves it; use darwin10-64 (or leave guestOS out), or set firmware: efi-ia32",
    ]);
    expect(problemsOf(fusionLab({ firmware: "efi-ia32", guestOS: "darwin-64" }))).toEqual([
      "clients[0].guestOS: darwin-64 is a 64-bit guest type, so VMware would run its 64-bit EFI and the guest would ask for efi-x64 boot files, not the efi-ia32 ones the lab serves it; use darwin (or leave guestOS out), or set firmware: efi-x64",
    ]);
  });

  it("with BIOS firmware either bitness is accepted: no EFI runs", () => {
    expect(fusionClient({ firmware: "bios", bootImage: "linux", guestOS: "otherlinux" }).fusion!.guestOS).toBe("otherlinux");
  });
});

describe("efiRom: only the ROM VMware reads for the firmware's bitness", () => {
  it("efi-x64 takes efiRom.efi64 and writes efi64.filename", () => {
    const client = fusionClient({ efiRom: { efi64: "/Users/lab/EFI64.ROM" } });
    const vmx = parseVmx(renderVmx(vmxSpecFor(client)));
    expect(vmx.get("efi64.filename")).toBe("/Users/lab/EFI64.ROM");
    expect(vmx.has("efi32.filename")).toBe(false);
  });

  it("a ROM for the other bitness is refused with the field and the fix, not silently ignored", () => {
    expect(problemsOf(fusionLab({ efiRom: { efi32: "/Users/lab/EFI32.ROM" } }))).toEqual([
      "clients[0].efiRom.efi32: firmware efi-x64 runs VMware's 64-bit EFI, which reads only efi64.filename and would ignore this ROM; give it as efiRom.efi64, or set firmware: efi-ia32 if the ROM is 32-bit",
    ]);
    expect(problemsOf(fusionLab({ firmware: "efi-ia32", efiRom: { efi32: "/a.rom", efi64: "/b.rom" } }))).toEqual([
      "clients[0].efiRom.efi64: firmware efi-ia32 runs VMware's 32-bit EFI, which reads only efi32.filename and would ignore this ROM; give it as efiRom.efi32, or set firmware: efi-x64 if the ROM is 64-bit",
    ]);
  });
});

describe("a VNC server needs a password unless the stack accepts an open console", () => {
  it("allowWithoutPassword defaults to false", () => {
    expect(fusionClient({ vnc: { port: 5901 } }).fusion!.vnc).toEqual({ port: 5901, allowWithoutPassword: false });
  });

  it("without the secret netboot-lab:vncPassword the client's vnc is refused, saying how to set it or allow it", () => {
    const lab = validateLab(
      minimalLab({
        bootImages,
        clients: [
          { name: "plain", platform: "fusion", mac: "00:50:56:00:00:10", ipv4: "10.77.0.10", firmware: "efi-x64", bootImage: "snow" },
          { name: "vnc", platform: "fusion", mac: "00:50:56:00:00:11", ipv4: "10.77.0.11", firmware: "efi-x64", bootImage: "snow", vnc: { port: 5901 } },
        ],
      }),
    );
    expect(vncPasswordProblems(lab.clients, false)).toEqual([
      {
        field: "clients[1].vnc",
        message:
          "a VNC server on port 5901 without a password shows the guest's console to anyone who reaches the port; set one (pulumi config set --secret netboot-lab:vncPassword <1 to 8 characters>), or set vnc.allowWithoutPassword: true on this client to run it open",
      },
    ]);
    expect(vncPasswordProblems(lab.clients, true)).toEqual([]);
  });

  it("vnc.allowWithoutPassword: true runs it open on purpose", () => {
    const client = fusionClient({ vnc: { port: 5901, allowWithoutPassword: true } });
    expect(vncWithoutPassword(client, false)).toBeUndefined();
    const vmx = parseVmx(renderVmx(vmxSpecFor(client)));
    expect([vmx.get("RemoteDisplay.vnc.enabled"), vmx.get("RemoteDisplay.vnc.password")]).toEqual(["TRUE", undefined]);
  });
});
