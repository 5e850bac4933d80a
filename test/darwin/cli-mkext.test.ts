import { execa } from "execa";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIC_MODELS } from "../../lib/model/schema";
import { scratchDir, writeKext, writeSnowLeopardExtensions } from "./fixtures";

const scratch = scratchDir("cli");
afterAll(scratch.cleanup);
const extensions = writeSnowLeopardExtensions(scratch.dir);

/** The CLI as users run it: the bundled bin entry. */
function netbootLab(...args: string[]) {
  return execa("node", ["bin/netboot-lab.cjs", ...args], { reject: false });
}

beforeAll(async () => {
  // The suite's global setup bundles the CLI too; this keeps the file runnable on its own.
  await execa("node", ["scripts/build-cli.mjs", "--quiet"]);
});

describe("netboot-lab mkext build", () => {
  it("builds a network-root archive and prints each kext with the reason it is in", async () => {
    const out = join(scratch.dir, "out", "network.mkext");
    const result = await netbootLab("mkext", "build", "--out", out, "--network-root", extensions);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^wrote ${out}: format 2, i386, 9 kexts, \\d+ bytes$`));
    expect(lines[1]).toMatch(/^ {2}BUNDLE ID +VERSION +OSBundleRequired +EXECUTABLE +INCLUDED BECAUSE$/);
    expect(result.stdout).toMatch(/ {2}com\.apple\.driver\.AppleIntel8254XEthernet +2\.1\.2b1 +Network-Root +i386 4096 +OSBundleRequired Network-Root\n/);
    expect(result.stdout).toMatch(/ {2}com\.apple\.kpi\.bsd +10\.0\.0 +Root +\(codeless\) +OSBundleRequired Root\n/);
    expect(result.stdout).toContain("left out by the OSBundleRequired filter (2): com.apple.driver.AppleHDA, com.apple.iokit.IOAHCIFamily");
    expect(readFileSync(out).subarray(0, 8).toString("latin1")).toBe("MKXTMOSX");
  });

  it("reports libraries added by the closure and kexts skipped for an architecture", async () => {
    const extra = join(scratch.dir, "extra");
    writeKext(extra, { id: "com.example.Helper", version: "1.1", compatibleVersion: "1.0", arches: ["i386"], libraries: {} });
    const driver = writeKext(extra, { id: "com.example.Driver", arches: ["i386"], libraries: { "com.example.Helper": "1.0" } });
    const out = join(scratch.dir, "closure.mkext");
    const result = await netbootLab(
      "mkext",
      "build",
      "--out",
      out,
      "--format",
      "1",
      "--arch",
      "i386",
      "--arch",
      "x86_64",
      "--local-root",
      extensions,
      driver,
      extra,
    );
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^wrote .*closure\.mkext: format 1, fat i386 \+ x86_64, \d+ kexts, \d+ bytes\n/);
    expect(result.stdout).toMatch(/com\.example\.Driver +1\.0\.0 +- +i386 4096 +named\n/);
    expect(result.stdout).toMatch(/com\.example\.Helper +1\.1 +- +i386 4096 +library of com\.example\.Driver\n/);
    expect(result.stdout).toMatch(
      /notes:\n(.*\n)* {2}i386: added com\.example\.Helper 1\.1 \(.*Helper\.kext\): library of com\.example\.Driver \(its OSBundleRequired, none, would have left it out\)\n/,
    );
    expect(result.stdout).toMatch(/ {2}x86_64: skipped com\.example\.Driver 1\.0\.0 \(.*Driver\.kext\): has no x86_64 code \(its executable holds i386\)\n/);
  });

  it("fails with both kexts named when a library is missing", async () => {
    const dir = join(scratch.dir, "missing");
    writeKext(dir, { id: "com.example.Lonely", version: "2.0", required: "Root", arches: ["i386"], libraries: { "com.example.Gone": "1.0" } });
    const result = await netbootLab("mkext", "build", "--out", join(scratch.dir, "x.mkext"), dir);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^netboot-lab: mkext build: missing or incompatible libraries for i386:\n {2}- com\.example\.Lonely 2\.0 \(.*Lonely\.kext\) needs library com\.example\.Gone 1\.0, which is in none of the folders and kexts given; add the folder or \.kext that provides it$/,
    );
  });

  it("rejects bad options with usage errors (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["mkext", "build", extensions], "mkext build: --out FILE is required"],
      [["mkext", "build", "--out", "x.mkext"], "mkext build: give at least one folder of kexts or .kext bundle"],
      [["mkext", "build", "--out", "x.mkext", "--format", "3", extensions], 'mkext build: --format must be 1 (Mac OS X 10.4/10.5) or 2 (10.6), not "3"'],
      [["mkext", "build", "--out", "x.mkext", "--arch", "ppc", extensions], 'mkext build: --arch must be i386 or x86_64, not "ppc"'],
      [["mkext", "build", "--out", "x.mkext", "--bogus", extensions], "mkext build: Unknown option '--bogus'"],
      [["mkext", "frobnicate"], 'mkext: unknown action "frobnicate"; usage:'],
    ];
    for (const [args, message] of cases) {
      const result = await netbootLab(...args);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(`netboot-lab: ${message}`);
    }
  });
});

describe("netboot-lab mkext inspect", () => {
  it("lists kexts with versions, OSBundleRequired and executable sizes per architecture", async () => {
    const out = join(scratch.dir, "fat.mkext");
    expect((await netbootLab("mkext", "build", "--out", out, "--network-root", "--arch", "i386", "--arch", "x86_64", extensions)).exitCode).toBe(0);
    const text = await netbootLab("mkext", "inspect", out);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `^${out}: \\d+ bytes, fat with 2 slices\n {2}i386: format 2, 9 kexts, \\d+ bytes, adler32 0x[0-9a-f]{8} at offset 48\n {2}x86_64: format 2, 8 kexts`,
      ),
    );
    expect(text.stdout).toMatch(/\ncom\.apple\.iokit\.IONetworkingFamily +1\.9 +Root +i386 4096, x86_64 4112\n/);
    expect(text.stdout).toMatch(/\ncom\.apple\.driver\.AppleRTL8139Ethernet +1\.0\.0 +Network-Root +i386 4096\n/);

    const json = await netbootLab("mkext", "inspect", out, "--json");
    expect(json.exitCode).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({
      file: out,
      fat: true,
      slices: [
        { arch: "i386", format: 2, kextCount: 9 },
        { arch: "x86_64", format: 2, kextCount: 8 },
      ],
    });
    expect(parsed.kexts).toContainEqual({
      bundleId: "com.apple.driver.AppleIntel8254XEthernet",
      version: "2.1.2b1",
      required: "Network-Root",
      bundlePath: "/System/Library/Extensions/IONetworkingFamily.kext/Contents/PlugIns/AppleIntel8254XEthernet.kext",
      executableSizes: { i386: 4096, x86_64: 4112 },
    });
  });

  it("exits non-zero and says what is wrong with a corrupt archive", async () => {
    const good = join(scratch.dir, "good.mkext");
    expect((await netbootLab("mkext", "build", "--out", good, extensions)).exitCode).toBe(0);
    const corrupt = join(scratch.dir, "corrupt.mkext");
    const bytes = readFileSync(good);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(corrupt, bytes);
    const result = await netbootLab("mkext", "inspect", corrupt);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^netboot-lab: mkext inspect: mkext is invalid at file offset 0xc: Adler-32 checksum is 0x[0-9a-f]+ but bytes 0x10…0x[0-9a-f]+ sum to 0x[0-9a-f]+; the archive is corrupt$/,
    );

    const missing = await netbootLab("mkext", "inspect", join(scratch.dir, "nope.mkext"));
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`netboot-lab: mkext inspect: cannot read ${join(scratch.dir, "nope.mkext")}: no such file`);
  });
});

describe("netboot-lab mkext check", () => {
  it("exits 1 with the explanation for a local-root archive and 0 for a network-root one", async () => {
    const local = join(scratch.dir, "local.mkext");
    const network = join(scratch.dir, "network2.mkext");
    expect((await netbootLab("mkext", "build", "--out", local, "--local-root", extensions)).exitCode).toBe(0);
    expect((await netbootLab("mkext", "build", "--out", network, "--network-root", extensions)).exitCode).toBe(0);

    const miss = await netbootLab("mkext", "check", local, "--nic", "vmware-e1000");
    expect(miss.exitCode).toBe(1);
    expect(miss.stderr).toContain("netboot-lab: mkext check: no driver in the archive matches NIC vmware-e1000 — VMware e1000 (Intel 82545EM), PCI 8086:100F");
    expect(miss.stderr).toContain("To fix: build the mkext with --network-root");

    const hit = await netbootLab("mkext", "check", network, "--nic", "vmware-e1000");
    expect(hit.exitCode).toBe(0);
    expect(hit.stdout).toMatch(
      /^NIC vmware-e1000 — .*: driver found in the archive:\n {2}com\.apple\.driver\.AppleIntel8254XEthernet "Intel8254X" \(IOPCIMatch "0x10008086 /,
    );
  });

  it("lists the known models for an unknown one", async () => {
    const result = await netbootLab("mkext", "check", join(scratch.dir, "good.mkext"), "--nic", "e1000");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`netboot-lab: mkext check: unknown NIC model "e1000"; known models: ${NIC_MODELS.join(", ")}`);
    const noNic = await netbootLab("mkext", "check", join(scratch.dir, "good.mkext"));
    expect(noNic.exitCode).toBe(2);
    expect(noNic.stderr).toContain("mkext check: --nic MODEL is required");
  });
});
