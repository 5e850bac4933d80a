/**
 * The .vmx files of stacks/Pulumi.fusion.yaml as readers nobody on this project wrote see them:
 * VMware's own line codec and Packer's parser (test/client/vmx-reader.ts states their rules).
 */
import { afterAll, describe, expect, it } from "vitest";
import { vmxSpecFor, withVncPassword } from "../../lib/client/fusion";
import { renderVmx } from "../../lib/client/vmx";
import { loadStackLab } from "../../lib/model";
import { stackWithVncPassword } from "../support/stack-files";
import { readVmxAsPacker, readVmxAsVmware, repeatedKeys, vmwareValue } from "./vmx-reader";

describe("the readers follow VMware's line codec", () => {
  it("quoted and bare values, comments, spacing, a byte order mark and |XX escapes in either case", () => {
    const reading = readVmxAsVmware(
      ["\uFEFF# written by hand", '.encoding = "UTF-8"', "\tmemsize=512   # MiB", 'displayName = "lab |22one|22 |7c two é"', 'path = "a||7Cb|7"', ""].join(
        "\n",
      ),
    );
    expect(reading.notUnderstood).toEqual([]);
    expect(reading.entries.map(({ key, value }) => [key, value])).toEqual([
      [".encoding", "UTF-8"],
      ["memsize", "512"],
      ["displayName", 'lab "one" | two é'],
      // A `|` after a `|` is itself, not the start of an escape; a `|` without two hex digits stays.
      ["path", "a||7Cb|7"],
    ]);
  });

  it("lines VMware does not understand are set apart; keys are found and repeated without regard to case", () => {
    const reading = readVmxAsVmware(['memsize = "512"', "no equals sign", 'guestOS = "darwin10', 'MemSize = "1024"', 'a = "b" c'].join("\n"));
    expect(reading.notUnderstood).toEqual(["no equals sign", 'guestOS = "darwin10', 'a = "b" c']);
    expect(vmwareValue(reading, "MEMSIZE")).toBe("512");
    expect(repeatedKeys(reading)).toEqual({ memsize: [1, 4] });
  });

  it("Packer lower-cases keys and keeps values as written", () => {
    expect([...readVmxAsPacker('GuestOS = "darwin10"\ndisplayName="a|22b"\n# c\n')]).toEqual([
      ["guestos", "darwin10"],
      ["displayname", "a|22b"],
    ]);
  });
});

describe("rendering the fusion stack gives .vmx files third-party readers read exactly as intended", () => {
  const fusion = stackWithVncPassword("fusion");
  const lab = loadStackLab(fusion.dir, "fusion");
  afterAll(() => fusion.cleanup());
  // A password with the two characters VMware escapes in a value, as `pulumi up` writes it.
  const password = 'Vn"c|8#p';
  const vmxOf = (name: string) => renderVmx(withVncPassword(vmxSpecFor(lab.clients.find((client) => client.name === name)!), password));

  const common = {
    ".encoding": "UTF-8",
    "config.version": "8",
    "virtualHW.version": "7",
    numvcpus: "1",
    "ethernet0.present": "TRUE",
    "ethernet0.startConnected": "TRUE",
    "ethernet0.addressType": "static",
    "ethernet0.connectionType": "bridged",
    "ethernet0.bsdName": "en0",
    "serial0.present": "TRUE",
    "serial0.fileType": "file",
    "serial0.fileName": "serial.log",
    "answer.msg.serial.file.open": "Append",
    "msg.autoAnswer": "TRUE",
  };
  const intended: Record<string, Record<string, string>> = {
    "snowleopard-server": {
      ...common,
      displayName: "Snow Leopard Server",
      // firmware efi-x64: the 64-bit guest type, so VMware runs its 64-bit EFI.
      guestOS: "darwin10-64",
      firmware: "efi",
      memsize: "2048",
      "smc.present": "TRUE",
      "ich7m.present": "TRUE",
      "hpet0.present": "TRUE",
      "ethernet0.virtualDev": "e1000",
      "ethernet0.address": "00:50:56:00:00:28",
      "bios.bootDeviceClasses": "allow:net",
      "RemoteDisplay.vnc.enabled": "TRUE",
      "RemoteDisplay.vnc.port": "5901",
      "RemoteDisplay.vnc.password": password,
    },
    netbsd5: {
      ...common,
      displayName: "netbsd5",
      guestOS: "other",
      firmware: "bios",
      memsize: "2048",
      "ethernet0.virtualDev": "vlance",
      "ethernet0.address": "00:50:56:00:00:29",
      "bios.bootOrder": "ethernet0",
    },
  };

  it.each(Object.keys(intended))("%s: VMware's codec reads every line, each key once, with exactly the intended values", (name) => {
    const reading = readVmxAsVmware(vmxOf(name));
    expect(reading.notUnderstood).toEqual([]);
    expect(repeatedKeys(reading)).toEqual({});
    expect(Object.fromEntries(reading.entries.map(({ key, value }) => [key, value]))).toEqual(intended[name]);
    expect(vmwareValue(reading, "GUESTOS")).toBe(intended[name]!.guestOS);
  });

  it.each(Object.keys(intended))("%s: Packer finds the same keys, and every value that needs no escape as intended", (name) => {
    const packer = readVmxAsPacker(vmxOf(name));
    const expected = Object.entries(intended[name]!);
    expect([...packer.keys()].sort()).toEqual(expected.map(([key]) => key.toLowerCase()).sort());
    for (const [key, value] of expected) {
      expect(packer.get(key.toLowerCase()), key).toBe(/["|]/.test(value) ? value.replaceAll("|", "|7C").replaceAll('"', "|22") : value);
    }
  });
});
