import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { load } from "js-yaml";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { fusionMedia } from "../support/fake-media";

const PROJECT_DIR = resolve(__dirname, "..", "..");

/** The program run by Pulumi's own entry point in a plain Node process (no vitest transforms). */
async function languageHost(stack: string, overrides: Record<string, unknown> = {}) {
  const result = await execa("node", [resolve(__dirname, "../support/language-host.cjs"), PROJECT_DIR, stack, JSON.stringify(overrides)], {
    reject: false,
    all: true,
  });
  const summary = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}") as { declared: string[] };
  return { code: result.exitCode, declared: summary.declared, output: result.all ?? "" };
}

describe("the program under Pulumi's Node.js language host", () => {
  const media = fusionMedia();
  afterAll(() => media.cleanup());

  // A client of each stack: its dynamic provider serialized under ts-node, as `pulumi up` does it.
  const clients = {
    kvm: "QemuProcess nbl-kvm-bios-ipxe-qemu",
    fusion: "VmxBundle nbl-fusion-netbsd5-vmx",
    "netbsd-kvm": "QemuProcess nbl-netbsd-kvm-netbsd-qemu",
  };
  for (const [stack, client] of Object.entries(clients)) {
    it(`loads through ts-node with tsconfig.pulumi.json and declares the ${stack} lab`, async () => {
      // The fusion stack's VNC server needs its password set, as each user sets it.
      const { code, declared, output } = await languageHost(stack, { "netboot-lab:mediaDir": media.dir, "netboot-lab:vncPassword": "lab-vnc" });
      expect(code, output).toBe(0);
      expect(declared).toContain(`netboot-lab:index:NetbootServer nbl-${stack}`);
      expect(declared).toContain(`docker:index/container:Container nbl-${stack}-dhcpd`);
      expect(declared).toContain(`pulumi-nodejs:dynamic/client:${client}`);
    });
  }

  it("reports an invalid stack as the validation message and declares nothing but the stack", async () => {
    const { code, declared, output } = await languageHost("kvm", { "netboot-lab:network": { subnet: "10.77.0.0/33" } });
    expect(code).not.toBe(0);
    expect(output).toContain('network.subnet: "10.77.0.0/33" is not an IPv4 subnet');
    expect(output, "a validation error is shown without a stack trace").not.toMatch(/\n\s+at /);
    expect(declared).toEqual(["pulumi:pulumi:Stack netboot-lab-kvm"]);
  });
});

describe("Pulumi.yaml", () => {
  it("names the project, the Node.js runtime with TypeScript, and the stacks folder the stack files live in", () => {
    const project = load(readFileSync(resolve(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
      name: string;
      runtime: { name: string; options: { typescript: boolean; packagemanager: string; tsconfig: string } };
      stackConfigDir: string;
    };
    expect(project).toMatchObject({
      name: "netboot-lab",
      runtime: { name: "nodejs", options: { typescript: true, packagemanager: "npm" } },
      stackConfigDir: "stacks",
    });
    expect(existsSync(resolve(PROJECT_DIR, project.runtime.options.tsconfig))).toBe(true);
    for (const stack of ["kvm", "fusion", "netbsd-kvm"]) expect(existsSync(resolve(PROJECT_DIR, project.stackConfigDir, `Pulumi.${stack}.yaml`))).toBe(true);
  });
});
