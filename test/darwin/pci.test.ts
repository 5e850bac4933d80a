import { describe, expect, it } from "vitest";
import { describeNic, nicModel } from "../../lib/hardware/nics";
import { matchPciPersonality, parseMatchItems, pciDeviceNames } from "../../lib/darwin/pci";
import type { PciDevice } from "../../lib/hardware/pci-device";
import { NIC_MODELS } from "../../lib/model/schema";

const e1000: PciDevice = { vendorId: 0x8086, deviceId: 0x100f, subsystemVendorId: 0x15ad, subsystemId: 0x0750, classCode: 0x020000, revision: 0x01 };
const matches = (personality: Record<string, string | string[]>, device = e1000) =>
  matchPciPersonality({ IOProviderClass: "IOPCIDevice", ...personality }, device).matched;

describe("PCI match strings", () => {
  it("parses space-separated items with optional masks, 0x prefixes and spaces around &", () => {
    expect(parseMatchItems("0x100f8086 100e8086&0xffff0000  0x20001022 & ffffffff ", 0xffffffff)).toEqual([
      { value: 0x100f8086, mask: 0xffffffff },
      { value: 0x100e8086, mask: 0xffff0000 },
      { value: 0x20001022, mask: 0xffffffff },
    ]);
    expect(parseMatchItems("0x02000000", 0xffffff00)).toEqual([{ value: 0x02000000, mask: 0xffffff00 }]);
    for (const bad of ["", "   ", "0x100f8086,0x100e8086", "zz", "0x123456789", "0x1234&"])
      expect(parseMatchItems(bad, 0xffffffff), JSON.stringify(bad)).toBeUndefined();
  });
});

describe("PCI personality matching", () => {
  it("IOPCIMatch tries the device dword, then the subsystem dword", () => {
    expect(matches({ IOPCIMatch: "0x100f8086" })).toBe(true);
    expect(matches({ IOPCIMatch: "0x075015ad" })).toBe(true);
    expect(matches({ IOPCIMatch: "0x100e8086" })).toBe(false);
  });

  it("IOPCIPrimaryMatch and IOPCISecondaryMatch look at one dword each", () => {
    expect(matches({ IOPCIPrimaryMatch: "0x075015ad" })).toBe(false);
    expect(matches({ IOPCISecondaryMatch: "0x075015ad" })).toBe(true);
    expect(matches({ IOPCISecondaryMatch: "0x100f8086" })).toBe(false);
  });

  it("applies masks; any item of a key may match", () => {
    expect(matches({ IOPCIMatch: "0x10008086&0xff00ffff" })).toBe(true); // any 10xx Intel device
    expect(matches({ IOPCIMatch: "0x00008086&0x0000ffff" })).toBe(true); // any Intel device
    expect(matches({ IOPCIMatch: "0x10d38086 0x813910ec 0x100f8086" })).toBe(true);
    expect(matches({ IOPCIMatch: "0x10d38086 0x813910ec" })).toBe(false);
  });

  it("IOPCIClassMatch ignores the revision by default", () => {
    expect(matches({ IOPCIClassMatch: "0x02000000" })).toBe(true);
    expect(matches({ IOPCIClassMatch: "0x02000000&0xffff0000" })).toBe(true);
    expect(matches({ IOPCIClassMatch: "0x02000005&0xffffffff" })).toBe(false);
    expect(matches({ IOPCIClassMatch: "0x01060100" })).toBe(false);
  });

  it("requires every key present to match", () => {
    expect(matches({ IOPCIMatch: "0x100f8086", IOPCIClassMatch: "0x02000000" })).toBe(true);
    expect(matches({ IOPCIMatch: "0x100f8086", IOPCIClassMatch: "0x01060100" })).toBe(false);
  });

  it("matches IONameMatch against the names IOKit gives PCI devices", () => {
    expect(pciDeviceNames(e1000)).toEqual(["pci15ad,750", "pci8086,100f", "pciclass,020000"]);
    expect(matches({ IONameMatch: "pci8086,100f" })).toBe(true);
    expect(matches({ IONameMatch: ["pci1022,2000", "pciclass,020000"] })).toBe(true);
    expect(matches({ IONameMatch: "pci8086,100e" })).toBe(false);
  });

  it("never matches a personality without match keys or with an unparseable value, and says why", () => {
    expect(matches({})).toBe(false);
    const outcome = matchPciPersonality({ IOProviderClass: "IOPCIDevice", IOPCIMatch: "0x100f8086,0x100e8086" }, e1000);
    expect(outcome.matched).toBe(false);
    expect(outcome.keys).toEqual([
      { key: "IOPCIMatch", value: "0x100f8086,0x100e8086", matched: false, invalid: "not a list of hex values with optional &mask" },
    ]);
  });
});

describe("emulated NICs", () => {
  it("has the PCI IDs of every model the stack config accepts", () => {
    const ids = Object.fromEntries(NIC_MODELS.map((model) => [model, describeNic(model).matchString]));
    expect(ids).toEqual({
      "qemu-e1000": "0x100e8086",
      "qemu-e1000e": "0x10d38086",
      "qemu-rtl8139": "0x813910ec",
      "qemu-virtio": "0x10001af4",
      "qemu-pcnet": "0x20001022",
      "qemu-vmxnet3": "0x07b015ad",
      "vmware-e1000": "0x100f8086",
      "vmware-e1000e": "0x10d38086",
      "vmware-vlance": "0x20001022",
      "vmware-vmxnet3": "0x07b015ad",
    });
    expect(describeNic("vmware-e1000")).toMatchObject({ pciId: "8086:100F", subsystem: "15AD:0750", classCode: 0x020000 });
  });

  it("rejects an unknown model name and lists the known ones", () => {
    expect(() => nicModel("e1000")).toThrow(`unknown NIC model "e1000"; known models: ${NIC_MODELS.join(", ")}`);
  });
});
