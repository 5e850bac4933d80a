/**
 * The VmxBundle provider as the engine runs it: serialized, loaded by Pulumi's dynamic-provider
 * plugin in a plain Node process, and called over gRPC. vmrun is VMware Fusion's; here a fake
 * one first on PATH records its arguments and fails soft stops the way a guest without VMware
 * Tools does, and a PATH without it is a machine without Fusion.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { renderVmx } from "../../lib/client/vmx";
import { macGuestWithVnc, VNC_PASSWORD } from "./fixtures";
import { registeredInputs, startDynamicProviderHost, type DynamicProviderHost } from "../support/dynamic-provider-host";

const TYPE = "pulumi-nodejs:dynamic/client:VmxBundle";
const URN = `urn:pulumi:provider-test::netboot-lab::${TYPE}::mac`;
const PASSWORD = VNC_PASSWORD;
const vmxText = renderVmx(macGuestWithVnc);
const biggerVmxText = renderVmx({ ...macGuestWithVnc, memoryMiB: 4096 });

/** `vmrun -T fusion list|start|stop` with a one-VM power state kept next to the script. */
const FAKE_VMRUN = `#!/bin/sh
here="$(dirname "$0")"
{ for arg in "$@"; do printf '%s\\t' "$arg"; done; printf '\\n'; } >> "$here/calls.log"
case "$3" in
  list) if [ -f "$here/running" ]; then echo "Total running VMs: 1"; cat "$here/running"; else echo "Total running VMs: 0"; fi ;;
  start) printf '%s\\n' "$4" > "$here/running" ;;
  stop)
    if [ "$5" = soft ]; then echo "Error: The VMware Tools are not running in the virtual machine: $4" >&2; exit 255; fi
    rm -f "$here/running" ;;
esac
`;

let workDir: string;
let provider: Record<string, unknown>;
const hosts: DynamicProviderHost[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "vmx-bundle-"));
  const { VmxBundle } = await import("../../components/client/vmx-bundle.js");
  const inputs = await registeredInputs(TYPE, () => new VmxBundle("mac", { folder: "/unused", name: "unused", vmxText: "" }));
  expect(typeof inputs.__provider).toBe("string");
  provider = { __provider: inputs.__provider };
});

afterEach(async () => {
  while (hosts.length) await hosts.pop()!.stop();
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Node, sh and the coreutils the fake needs, and no vmrun. */
const BASE_PATH = [dirname(process.execPath), "/usr/bin", "/bin"].join(":");

async function host(withVmrun: boolean): Promise<{ host: DynamicProviderHost; calls: () => string[][] }> {
  const bin = mkdtempSync(join(workDir, "bin-"));
  if (withVmrun) {
    writeFileSync(join(bin, "vmrun"), FAKE_VMRUN);
    chmodSync(join(bin, "vmrun"), 0o755);
  }
  const started = await startDynamicProviderHost({ env: { PATH: withVmrun ? `${bin}:${BASE_PATH}` : BASE_PATH, HOME: workDir } });
  hosts.push(started);
  const calls = () =>
    existsSync(join(bin, "calls.log"))
      ? readFileSync(join(bin, "calls.log"), "utf8")
          .trimEnd()
          .split("\n")
          .map((line) => line.replace(/\t$/, "").split("\t"))
      : [];
  return { host: started, calls };
}

function inputs(folder: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...provider, folder, name: "snow leopard", vmxText, start: true, generatedFiles: ["serial.log"], ...overrides };
}

describe("VmxBundle provider, serialized and run by Pulumi's dynamic-provider plugin", () => {
  test("with vmrun: create writes and starts, diff ignores VMware's own keys, update restarts with the new .vmx, delete stops and cleans up", async () => {
    const { host: plugin, calls } = await host(true);
    const folder = join(workDir, "with-vmrun");
    const bundle = join(folder, "snow leopard.vmwarevm");
    const vmx = join(bundle, "snow leopard.vmx");

    const created = await plugin.create(URN, inputs(folder));
    expect(created.id).toBe(vmx);
    expect(created.properties).toMatchObject({ vmxPath: vmx, bundlePath: bundle, started: true, createdBundle: true });
    expect(created.properties.howToStart).toMatch(/^'.*\/vmrun' -T fusion start '.*\/snow leopard\.vmx' nogui$/);
    expect(JSON.stringify(created.properties)).not.toContain(PASSWORD);
    expect(created.properties).not.toHaveProperty("vmxText");
    expect(readFileSync(vmx, "utf8")).toBe(vmxText);
    expect(statSync(vmx).mode & 0o777).toBe(0o600);
    expect(calls()).toEqual([["-T", "fusion", "start", vmx, "nogui"]]);

    // What Fusion does when it opens the VM: its own keys appended, its files beside the .vmx.
    appendFileSync(vmx, 'uuid.bios = "56 4d 12 34"\nnvram = "snow leopard.nvram"\n');
    writeFileSync(join(bundle, "snow leopard.nvram"), "nvram");
    writeFileSync(join(bundle, "vmware.log"), "log");
    writeFileSync(join(bundle, "serial.log"), "serial");

    const state = created.properties;
    expect(await plugin.diff(URN, created.id, state, inputs(folder))).toEqual({ changes: "none", replaces: [] });
    expect(await plugin.diff(URN, created.id, state, inputs(folder, { vmxText: biggerVmxText }))).toEqual({ changes: "some", replaces: [] });
    expect(await plugin.diff(URN, created.id, state, inputs(folder, { name: "lion" }))).toEqual({ changes: "some", replaces: ["name"] });
    expect(await plugin.diff(URN, created.id, state, inputs(folder, { start: false }))).toEqual({ changes: "some", replaces: [] });

    const updated = await plugin.update(URN, created.id, state, inputs(folder, { vmxText: biggerVmxText }));
    expect(updated).toMatchObject({ vmxPath: vmx, started: true, createdBundle: true });
    expect(JSON.stringify(updated)).not.toContain(PASSWORD);
    expect(readFileSync(vmx, "utf8")).toBe(`${biggerVmxText}uuid.bios = "56 4d 12 34"\nnvram = "snow leopard.nvram"\n`);
    expect(calls().slice(1)).toEqual([
      ["-T", "fusion", "list"],
      ["-T", "fusion", "stop", vmx, "soft"],
      ["-T", "fusion", "stop", vmx, "hard"],
      ["-T", "fusion", "start", vmx, "nogui"],
    ]);
    expect(await plugin.diff(URN, created.id, updated, inputs(folder, { vmxText: biggerVmxText }))).toEqual({ changes: "none", replaces: [] });

    await plugin.delete(URN, created.id, updated);
    expect(calls().slice(5)).toEqual([
      ["-T", "fusion", "list"],
      ["-T", "fusion", "stop", vmx, "soft"],
      ["-T", "fusion", "stop", vmx, "hard"],
    ]);
    expect(existsSync(bundle)).toBe(false);
    expect(existsSync(folder)).toBe(true);
    expect(plugin.output()).not.toContain(PASSWORD);
  });

  test("without vmrun: the .vmx is written, not started, and howToStart says how; delete tolerates a .vmx removed by hand and keeps the user's files", async () => {
    const { host: plugin } = await host(false);
    const folder = join(workDir, "without-vmrun");
    const bundle = join(folder, "snow leopard.vmwarevm");
    const vmx = join(bundle, "snow leopard.vmx");

    const created = await plugin.create(URN, inputs(folder));
    expect(created.properties).toMatchObject({ vmxPath: vmx, started: false });
    expect(created.properties.howToStart).toBe(
      `vmrun -T fusion start '${vmx}' nogui  (on the Mac running VMware Fusion; vmrun is in '/Applications/VMware Fusion.app/Contents/Library')`,
    );
    expect(readFileSync(vmx, "utf8")).toBe(vmxText);

    const updated = await plugin.update(URN, created.id, created.properties, inputs(folder, { vmxText: biggerVmxText }));
    expect(updated.started).toBe(false);
    expect(readFileSync(vmx, "utf8")).toBe(biggerVmxText);

    writeFileSync(join(bundle, "disk.vmdk"), "the user's disk");
    rmSync(vmx);
    expect(await plugin.diff(URN, created.id, updated, inputs(folder, { vmxText: biggerVmxText }))).toEqual({ changes: "some", replaces: [] });
    await plugin.delete(URN, created.id, updated);
    expect(readdirSync(bundle)).toEqual(["disk.vmdk"]);
  });

  test("create refuses to overwrite a .vmx it did not write, and delete keeps a bundle folder that was there before", async () => {
    const { host: plugin } = await host(false);
    const folder = join(workDir, "existing");
    const bundle = join(folder, "snow leopard.vmwarevm");
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, "snow leopard.vmx"), 'displayName = "theirs"\n');
    await expect(plugin.create(URN, inputs(folder))).rejects.toThrow(/snow leopard\.vmx already exists and this stack did not write it; move it away/);
    expect(readFileSync(join(bundle, "snow leopard.vmx"), "utf8")).toBe('displayName = "theirs"\n');

    rmSync(join(bundle, "snow leopard.vmx"));
    const created = await plugin.create(URN, inputs(folder));
    expect(created.properties.createdBundle).toBe(false);
    await plugin.delete(URN, created.id, created.properties);
    expect(existsSync(join(bundle, "snow leopard.vmx"))).toBe(false);
    expect(existsSync(bundle)).toBe(true);
  });

  test("check names the field and the fix for a relative folder, a name that is not a bundle name, and a generated file outside the bundle", async () => {
    const { host: plugin } = await host(false);
    const { failures } = await plugin.check(URN, {}, inputs("VMs", { name: "../escape", generatedFiles: ["../x.log"] }));
    expect(failures).toEqual([
      { property: "folder", reason: `"VMs" is not an absolute path; give the folder as /Users/<you>/…` },
      { property: "name", reason: `"../escape" cannot name a bundle; use letters, digits, space, '.', '_' or '-', starting with a letter or digit` },
      { property: "generatedFiles", reason: `"../x.log" is not a file name inside the bundle` },
    ]);
    expect((await plugin.check(URN, {}, inputs("/Users/lab/VMs"))).failures).toEqual([]);
  });
});
