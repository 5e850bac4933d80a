import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildMkext, type MkextBuildOptions } from "../../lib/darwin/build";
import { readMkext } from "../../lib/darwin/mkext";
import { checkNicDriver, checkNicDriverInGroups } from "../../lib/darwin/nic-check";
import { parseInfoPlist } from "../../lib/darwin/plist-xml";
import { infoPlistText, INTEL_8254X_MATCH, scratchDir, writeKext, writeSnowLeopardExtensions } from "./fixtures";

const scratch = scratchDir("nic");
afterAll(scratch.cleanup);
const extensions = writeSnowLeopardExtensions(scratch.dir);

function check(options: Partial<MkextBuildOptions>, nic: Parameters<typeof checkNicDriver>[1]) {
  const { archive } = buildMkext({ paths: [extensions], format: 2, arch: "i386", ...options });
  return checkNicDriver(readMkext(archive), nic);
}

describe("the Mac OS X 10.6 'finding root' case", () => {
  it("fails for VMware's e1000 when the mkext was built for a local root, and says what to do", () => {
    const result = check({ localRoot: true }, "vmware-e1000");
    expect(result.ok).toBe(false);
    expect(result.matches).toEqual([]);
    expect(result.message).toBe(
      'no driver in the archive matches NIC vmware-e1000 — VMware e1000 (Intel 82545EM), PCI 8086:100F, subsystem 15AD:0750, class 020000 (IOPCIMatch 0x100f8086). A Mac OS X client with this NIC stalls at "finding root" (Still waiting for root device).\n' +
        "no kext has a PCI driver personality (IOProviderClass IOPCIDevice).\n" +
        "To fix: build the mkext with --network-root (network drivers such as AppleIntel8254XEthernet declare OSBundleRequired Network-Root, which --local-root alone leaves out), or name the driver's .kext explicitly (e.g. …/IONetworkingFamily.kext/Contents/PlugIns/AppleIntel8254XEthernet.kext).",
    );
  });

  it("passes for VMware's and QEMU's e1000 when built for a network root, in both formats", () => {
    for (const format of [1, 2] as const) {
      for (const nic of ["vmware-e1000", "qemu-e1000"] as const) {
        const result = check({ networkRoot: true, format }, nic);
        expect(result.ok, `${nic} format ${format}`).toBe(true);
        expect(result.matches).toEqual([`com.apple.driver.AppleIntel8254XEthernet "Intel8254X" (IOPCIMatch "${INTEL_8254X_MATCH}")`]);
        expect(result.message).toContain(`NIC ${nic} — `);
        expect(result.message).toContain("driver found in the archive");
      }
    }
  });

  it("passes with local-root when the driver kext is named", () => {
    const intel = join(extensions, "IONetworkingFamily.kext", "Contents", "PlugIns", "AppleIntel8254XEthernet.kext");
    const { archive, kexts } = buildMkext({ paths: [extensions, intel], format: 2, arch: "i386", localRoot: true });
    expect(kexts.find((kext) => kext.bundleId === "com.apple.driver.AppleIntel8254XEthernet")!.reason).toBe("named");
    expect(checkNicDriver(readMkext(archive), "vmware-e1000").ok).toBe(true);
  });

  it("lists the drivers it considered when none matches", () => {
    const result = check({ networkRoot: true }, "vmware-vlance");
    expect(result.ok).toBe(false);
    expect(result.message).toContain("PCI 1022:2000");
    expect(result.message).toContain("PCI driver personalities considered:\n");
    expect(result.message).toContain(`  - com.apple.driver.AppleIntel8254XEthernet "Intel8254X" (IOPCIMatch "${INTEL_8254X_MATCH}"): does not match\n`);
    expect(result.message).toContain('  - com.apple.driver.AppleRTL8139Ethernet "RTL8139" (IOPCIMatch "0x813910ec"): does not match\n');
    expect(result.message).toMatch(/or give the client a NIC model that one of the drivers above supports\.$/);
  });

  it("requires a driver in every slice of a fat archive and names the slice that lacks one", () => {
    const result = check({ networkRoot: true, arch: ["i386", "x86_64"] }, "qemu-rtl8139");
    expect(result.ok).toBe(false);
    expect(result.matches).toEqual(['[i386] com.apple.driver.AppleRTL8139Ethernet "RTL8139" (IOPCIMatch "0x813910ec")']);
    expect(result.message).toMatch(/^no driver in the archive for x86_64 matches NIC qemu-rtl8139 — /);
    expect(result.message).toContain("x86_64: PCI driver personalities considered:");
    expect(check({ networkRoot: true, arch: ["i386", "x86_64"] }, "vmware-e1000").matches).toHaveLength(2);
  });
});

describe("personalities that cannot load", () => {
  const group = (personalityBundle: string | undefined, hasExecutable = true) => {
    const family = parseInfoPlist(
      Buffer.from(
        infoPlistText({
          id: "com.example.Family",
          personalities: {
            E1000: { IOProviderClass: "IOPCIDevice", IOPCIMatch: "0x100f8086", ...(personalityBundle ? { CFBundleIdentifier: personalityBundle } : {}) },
          },
        }),
      ),
      "Family",
    );
    return [{ arch: "i386", kexts: [{ bundleId: "com.example.Family", info: family, hasExecutable }] }];
  };

  it("does not count a personality whose driver kext is absent or codeless", () => {
    const absent = checkNicDriverInGroups(group("com.example.Driver"), "vmware-e1000");
    expect(absent.ok).toBe(false);
    expect(absent.message).toContain('  - com.example.Driver "E1000" (IOPCIMatch "0x100f8086"): matches, but its driver com.example.Driver is not included');
    const codeless = checkNicDriverInGroups(group(undefined, false), "vmware-e1000");
    expect(codeless.message).toContain("matches, but its driver com.example.Family has no executable");
    expect(checkNicDriverInGroups(group(undefined, true), "vmware-e1000").ok).toBe(true);
  });

  it("ignores personalities for other provider classes", () => {
    const dir = join(scratch.dir, "usb");
    writeKext(dir, {
      id: "com.example.usb",
      required: "Root",
      arches: ["i386"],
      libraries: {},
      personalities: { Usb: { IOProviderClass: "IOUSBDevice", IOPCIMatch: "0x100f8086" } },
    });
    const { archive } = buildMkext({ paths: [dir], format: 1, arch: "i386" });
    expect(checkNicDriver(readMkext(archive), "vmware-e1000").message).toContain("no kext has a PCI driver personality");
  });
});
