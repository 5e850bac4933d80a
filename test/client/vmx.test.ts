import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { UserError } from "../../lib/errors";
import { NIC_MODELS, type NicModel } from "../../lib/model/schema";
import { defaultGuestOs, findGuestOs, guestOsFitsImage, guestOsWithArch, VMWARE_GUEST_OS } from "../../lib/client/guest-os";
import { escapeVmxValue, isVmwareStaticMac, parseVmx, renderVmx, unescapeVmxValue, VmxError, vmxVirtualDev, type VmxSpec } from "../../lib/client/vmx";

const snowLeopard: VmxSpec = {
  displayName: "snow-leopard",
  guestOS: "darwin10",
  firmware: "efi",
  memoryMiB: 2048,
  cpus: 2,
  nic: { virtualDev: "e1000", mac: "00:50:56:3F:00:10", connection: { type: "bridged", hostInterface: "en0" } },
  serialLogPath: "/Users/lab/Virtual Machines.localized/snow-leopard.vmwarevm/serial.log",
  vnc: { port: 5901, password: "s3cret" },
  efiRom: { efi32: "/Users/lab/roms/EFI32.ROM" },
};

const netbsd: VmxSpec = {
  displayName: "netbsd5",
  guestOS: "other",
  firmware: "bios",
  memoryMiB: 256,
  cpus: 1,
  nic: { virtualDev: "vlance", mac: "00:50:56:00:00:20", connection: { type: "custom", vnet: "vmnet2" } },
  serialLogPath: "netbsd5-serial.log",
};

describe("renderVmx", () => {
  test("an EFI Mac OS X 10.6 guest bridged to en0, with VNC and a replacement 32-bit EFI ROM", () => {
    expect(renderVmx(snowLeopard)).toBe(
      [
        '.encoding = "UTF-8"',
        'config.version = "8"',
        'virtualHW.version = "7"',
        'displayName = "snow-leopard"',
        'guestOS = "darwin10"',
        'firmware = "efi"',
        'memsize = "2048"',
        'numvcpus = "2"',
        'smc.present = "TRUE"',
        'ich7m.present = "TRUE"',
        'hpet0.present = "TRUE"',
        'ethernet0.present = "TRUE"',
        'ethernet0.startConnected = "TRUE"',
        'ethernet0.virtualDev = "e1000"',
        'ethernet0.addressType = "static"',
        'ethernet0.address = "00:50:56:3f:00:10"',
        'ethernet0.connectionType = "bridged"',
        'ethernet0.bsdName = "en0"',
        'bios.bootDeviceClasses = "allow:net"',
        'serial0.present = "TRUE"',
        'serial0.fileType = "file"',
        'serial0.fileName = "/Users/lab/Virtual Machines.localized/snow-leopard.vmwarevm/serial.log"',
        'answer.msg.serial.file.open = "Append"',
        'msg.autoAnswer = "TRUE"',
        'RemoteDisplay.vnc.enabled = "TRUE"',
        'RemoteDisplay.vnc.port = "5901"',
        'RemoteDisplay.vnc.password = "s3cret"',
        'efi32.filename = "/Users/lab/roms/EFI32.ROM"',
        "",
      ].join("\n"),
    );
  });

  test("a BIOS NetBSD guest on a custom vmnet boots from ethernet0 first and has no Apple SMC or HPET", () => {
    expect(renderVmx(netbsd)).toBe(
      [
        '.encoding = "UTF-8"',
        'config.version = "8"',
        'virtualHW.version = "7"',
        'displayName = "netbsd5"',
        'guestOS = "other"',
        'firmware = "bios"',
        'memsize = "256"',
        'numvcpus = "1"',
        'ethernet0.present = "TRUE"',
        'ethernet0.startConnected = "TRUE"',
        'ethernet0.virtualDev = "vlance"',
        'ethernet0.addressType = "static"',
        'ethernet0.address = "00:50:56:00:00:20"',
        'ethernet0.connectionType = "custom"',
        'ethernet0.vnet = "vmnet2"',
        'bios.bootOrder = "ethernet0"',
        'serial0.present = "TRUE"',
        'serial0.fileType = "file"',
        'serial0.fileName = "netbsd5-serial.log"',
        'answer.msg.serial.file.open = "Append"',
        'msg.autoAnswer = "TRUE"',
        "",
      ].join("\n"),
    );
  });

  test("the serial log's \"Append or Replace?\" question is answered in the file: Append, so a nogui start never waits and every boot's log is kept", () => {
    for (const spec of [snowLeopard, netbsd]) {
      const vmx = parseVmx(renderVmx(spec));
      expect(vmx.get("serial0.fileType")).toBe("file");
      expect(vmx.get("answer.msg.serial.file.open")).toBe("Append");
      expect(vmx.get("msg.autoAnswer")).toBe("TRUE");
    }
  });

  test("only Mac guests get the HPET Mac OS X's power management expects", () => {
    for (const guestOS of VMWARE_GUEST_OS.map((entry) => entry.id)) {
      const vmx = parseVmx(renderVmx({ ...netbsd, guestOS }));
      expect(vmx.get("hpet0.present"), guestOS).toBe(guestOS.startsWith("darwin") ? "TRUE" : undefined);
    }
  });

  test("the EFI ROM key follows the guest's bitness; a ROM for the other one is refused, naming the field and the fix", () => {
    const mac64: VmxSpec = { ...snowLeopard, guestOS: "darwin10-64", efiRom: { efi64: "/Users/lab/roms/EFI64.ROM" } };
    const vmx = parseVmx(renderVmx(mac64));
    expect(vmx.get("efi64.filename")).toBe("/Users/lab/roms/EFI64.ROM");
    expect(vmx.has("efi32.filename")).toBe(false);
    expect(() => renderVmx({ ...mac64, efiRom: { efi32: "/Users/lab/roms/EFI32.ROM" } })).toThrow(
      "  - efiRom.efi32: guestOS darwin10-64 is 64-bit, so VMware runs its 64-bit EFI and reads efi64.filename, never efi32.filename; give the ROM as efiRom.efi64, or pick a guestOS of the ROM's bitness",
    );
    expect(() => renderVmx({ ...snowLeopard, efiRom: { efi32: "/a.rom", efi64: "/b.rom" } })).toThrow(
      /efiRom\.efi64: guestOS darwin10 is 32-bit, so VMware runs its 32-bit EFI and reads efi32\.filename/,
    );
  });

  test("VNC without a password writes no password key; a newer hardware version is kept", () => {
    const vmx = parseVmx(renderVmx({ ...netbsd, vnc: { port: 5999 }, virtualHWVersion: 21 }));
    expect(vmx.get("RemoteDisplay.vnc.enabled")).toBe("TRUE");
    expect(vmx.get("RemoteDisplay.vnc.port")).toBe("5999");
    expect(vmx.has("RemoteDisplay.vnc.password")).toBe(false);
    expect(vmx.get("virtualHW.version")).toBe("21");
  });

  test("values are escaped the way VMware writes them: quote, pipe, DEL and control characters but tab as |XX", () => {
    const vmx = renderVmx({ ...netbsd, displayName: 'lab "one" | two\tthree\x01\x7f é' });
    expect(vmx).toContain('displayName = "lab |22one|22 |7C two\tthree|01|7F é"\n');
    expect(parseVmx(vmx).get("displayName")).toBe('lab "one" | two\tthree\x01\x7f é');
    expect(escapeVmxValue("a\nb\rc")).toBe("a|0Ab|0Dc");
  });

  test("a spec VMware would refuse is one error naming every field and the fix", () => {
    const bad: VmxSpec = {
      ...snowLeopard,
      guestOS: "windows9-64",
      firmware: "bios",
      memoryMiB: 1023,
      cpus: 0,
      nic: { virtualDev: "virtio", mac: "00:50:56:40:00:01", connection: { type: "bridged", hostInterface: "en 0" } },
      vnc: { port: 70000, password: "longer than eight" },
    };
    let error: unknown;
    try {
      renderVmx(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(VmxError);
    expect(error).toBeInstanceOf(UserError);
    const message = (error as Error).message;
    for (const field of ["guestOS", "memoryMiB", "cpus", "nic.virtualDev", "nic.mac", "nic.connection.hostInterface", "vnc.port", "vnc.password", "efiRom"]) {
      expect(message).toContain(`  - ${field}: `);
    }
    expect(message).toContain("00:50:56:00:00:00–00:50:56:3F:FF:FF");
    expect(message).not.toContain("longer than eight");
    expect(() => renderVmx({ ...netbsd, nic: { ...netbsd.nic, connection: { type: "custom", vnet: "lab" } } })).toThrow(
      /nic\.connection\.vnet: "lab" is not a VMware network such as vmnet2/,
    );
  });
});

describe("parseVmx", () => {
  test('reads every key = "value" line; blank lines and comments carry no key', () => {
    const vmx = parseVmx('# made by hand\n.encoding = "UTF-8"\n\nmemsize = "512"\r\nethernet0.bsdName = "en|7C0"\n');
    expect([...vmx]).toEqual([
      [".encoding", "UTF-8"],
      ["memsize", "512"],
      ["ethernet0.bsdName", "en|0"],
    ]);
  });

  test("a malformed line or a key given twice (VMware ignores case) is a VmxError naming the line", () => {
    expect(() => parseVmx('memsize = "512"\nmemsize = 512\n')).toThrow(/line 2 is not key = "value": "memsize = 512"/);
    expect(() => parseVmx('memsize = "512"\nMemSize = "1024"\n')).toThrow(/line 2 sets MemSize again \(first set on line 1\)/);
    expect(() => parseVmx('displayName = "a"b"\n')).toThrow(VmxError);
    expect(() => parseVmx('RemoteDisplay.vnc.password = "abc\n')).toThrow(/^line 1 is not key = "value"$/);
  });

  const specs = fc.record({
    displayName: fc.string({ minLength: 1, maxLength: 40 }).filter((name) => name.trim() !== ""),
    guestOS: fc.constantFrom(...VMWARE_GUEST_OS.map((entry) => entry.id)),
    firmware: fc.constantFrom("efi" as const, "bios" as const),
    memoryMiB: fc.integer({ min: 1, max: 16384 }).map((units) => units * 4),
    cpus: fc.integer({ min: 1, max: 8 }),
    nic: fc.record({
      virtualDev: fc.constantFrom("e1000", "e1000e", "vlance", "vmxnet3"),
      mac: fc
        .tuple(fc.integer({ min: 0, max: 0x3f }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
        .map((bytes) => `00:50:56:${bytes.map((byte) => byte.toString(16).padStart(2, "0")).join(":")}`),
      connection: fc.oneof(
        fc.record({ type: fc.constant("bridged" as const), hostInterface: fc.constantFrom("en0", "en1", "bridge100") }),
        fc.record({ type: fc.constant("custom" as const), vnet: fc.integer({ min: 0, max: 19 }).map((n) => `vmnet${n}`) }),
      ),
    }),
    serialLogPath: fc.string({ minLength: 1, maxLength: 60 }).filter((path) => path.trim() !== ""),
    vnc: fc.option(
      fc.record({ port: fc.integer({ min: 5901, max: 6001 }), password: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,8}$/), { nil: undefined }) }),
      { nil: undefined },
    ),
  });

  test("every rendered spec reads back line for line, with no key twice and every value intact", () => {
    fc.assert(
      fc.property(specs, (spec) => {
        const text = renderVmx(spec);
        const lines = text.split("\n");
        expect(lines.pop()).toBe("");
        for (const line of lines) expect(line).toMatch(/^[^\s="#]+ = "[^"]*"$/);
        const vmx = parseVmx(text);
        expect(vmx.size).toBe(lines.length);
        expect(vmx.get("displayName")).toBe(spec.displayName);
        expect(vmx.get("serial0.fileName")).toBe(spec.serialLogPath);
        expect(vmx.get("ethernet0.address")).toBe(spec.nic.mac);
        expect(vmx.get("RemoteDisplay.vnc.password")).toBe(spec.vnc?.password);
        expect(vmx.get(spec.firmware === "bios" ? "bios.bootOrder" : "bios.bootDeviceClasses")).toBe(spec.firmware === "bios" ? "ethernet0" : "allow:net");
      }),
      { seed: 6, numRuns: 300 },
    );
  });

  test("escaping round-trips any text and leaves no quote or line break in the value", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (value) => {
        const escaped = escapeVmxValue(value);
        expect(escaped).not.toMatch(/["\n\r]/);
        expect(unescapeVmxValue(escaped)).toBe(value);
      }),
      { seed: 6, numRuns: 200 },
    );
  });
});

describe("NICs and MACs", () => {
  test("each VMware NIC model maps to its virtualDev; a QEMU model is refused", () => {
    expect(vmxVirtualDev("vmware-e1000")).toBe("e1000");
    expect(vmxVirtualDev("vmware-e1000e")).toBe("e1000e");
    expect(vmxVirtualDev("vmware-vlance")).toBe("vlance");
    expect(vmxVirtualDev("vmware-vmxnet3")).toBe("vmxnet3");
    const qemuModels = NIC_MODELS.filter((model): model is NicModel => model.startsWith("qemu-"));
    for (const model of qemuModels) expect(() => vmxVirtualDev(model)).toThrow(`${model} is not a VMware NIC`);
  });

  test("only 00:50:56:00:00:00–00:50:56:3F:FF:FF is a VMware static MAC", () => {
    expect(isVmwareStaticMac("00:50:56:00:00:00")).toBe(true);
    expect(isVmwareStaticMac("00:50:56:3F:FF:FF")).toBe(true);
    expect(isVmwareStaticMac("00-50-56-12-34-56")).toBe(true);
    expect(isVmwareStaticMac("00:50:56:40:00:00")).toBe(false);
    expect(isVmwareStaticMac("00:0c:29:12:34:56")).toBe(false);
    expect(isVmwareStaticMac("52:54:00:12:34:56")).toBe(false);
    expect(isVmwareStaticMac("00:50:56:00:00")).toBe(false);
  });
});

describe("guest OS", () => {
  test("defaults per image kind and arch", () => {
    expect(defaultGuestOs("darwin-nbi")).toBe("darwin10");
    expect(defaultGuestOs("darwin-nbi", "x86_64")).toBe("darwin10-64");
    expect(defaultGuestOs("netbsd")).toBe("other");
    expect(defaultGuestOs("netbsd", "x86_64")).toBe("other-64");
    for (const kind of ["ipxe", "grub", "pxelinux"] as const) {
      expect(defaultGuestOs(kind)).toBe("otherlinux-64");
      expect(defaultGuestOs(kind, "i386")).toBe("otherlinux");
    }
  });

  test("the table holds Mac OS X 10.5 and 10.6 in 32 and 64 bits, NetBSD and Linux, each id once", () => {
    const ids = VMWARE_GUEST_OS.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(VMWARE_GUEST_OS.filter((entry) => entry.family === "darwin").map((entry) => entry.id)).toEqual(["darwin", "darwin-64", "darwin10", "darwin10-64"]);
    expect(VMWARE_GUEST_OS.filter((entry) => entry.family === "netbsd").map((entry) => entry.id)).toEqual(["other", "other-64"]);
    expect(VMWARE_GUEST_OS.some((entry) => entry.family === "linux" && entry.arch === "x86_64")).toBe(true);
  });

  test("each guest type has a counterpart of the other bitness (VMware's -64 id), which decides the bitness of VMware's EFI", () => {
    for (const entry of VMWARE_GUEST_OS) {
      const other = entry.arch === "i386" ? "x86_64" : "i386";
      const counterpart = findGuestOs(guestOsWithArch(entry.id, other) ?? "");
      expect([counterpart?.family, counterpart?.arch], entry.id).toEqual([entry.family, other]);
    }
    expect(guestOsWithArch("DARWIN10", "x86_64")).toBe("darwin10-64");
    expect(guestOsWithArch("darwin10-64", "x86_64")).toBe("darwin10-64");
    expect(guestOsWithArch("windows9-64", "i386")).toBeUndefined();
  });

  test("a guest OS fits only the images of its own family", () => {
    expect(guestOsFitsImage("darwin10", "darwin-nbi")).toBe(true);
    expect(guestOsFitsImage("DARWIN-64", "darwin-nbi")).toBe(true);
    expect(guestOsFitsImage("darwin10", "netbsd")).toBe(false);
    expect(guestOsFitsImage("other", "netbsd")).toBe(true);
    expect(guestOsFitsImage("otherlinux-64", "grub")).toBe(true);
    expect(guestOsFitsImage("otherlinux-64", "darwin-nbi")).toBe(false);
    expect(guestOsFitsImage("windows9-64", "ipxe")).toBe(false);
    expect(guestOsFitsImage("darwin10", "toString")).toBe(false);
  });
});
