/**
 * The VNC password inside a .vmx never reaches state, outputs or logs in plain text. Pulumi's
 * mocks stand in for the engine; the engine's part of calling the provider is played by the
 * real provider in Pulumi's dynamic-provider plugin, so what the mocks record as the resource's
 * state is exactly what the provider returns.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, expect, test } from "vitest";
import { renderVmx } from "../../lib/client/vmx";
import { macGuestWithVnc, VNC_PASSWORD } from "./fixtures";
import { isSecretInput, startDynamicProviderHost, withoutSecretWrappers, type DynamicProviderHost } from "../support/dynamic-provider-host";
import { mockResource } from "../support/pulumi-harness";

const TYPE = "pulumi-nodejs:dynamic/client:VmxBundle";
const PASSWORD = VNC_PASSWORD;

let workDir: string;
let plugin: DynamicProviderHost;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "vmx-bundle-mocks-"));
  plugin = await startDynamicProviderHost({ env: { PATH: [dirname(process.execPath), "/usr/bin", "/bin"].join(":"), HOME: workDir } });
});

afterAll(async () => {
  await plugin?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

interface Recorded {
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly state: Record<string, unknown>;
  readonly id: string;
}

test("the .vmx with a VNC password is a secret input, and neither the recorded state, the outputs nor the plugin's logs hold the password", async () => {
  const vmxText = renderVmx(macGuestWithVnc);
  const recorded: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        if (args.type !== TYPE) return mockResource(args);
        const urn = `urn:pulumi:mocks::netboot-lab::${TYPE}::${args.name}`;
        const { id, properties } = await plugin.create(urn, withoutSecretWrappers(args.inputs));
        recorded.push({ name: args.name, inputs: args.inputs, state: properties, id });
        return { id, state: properties };
      },
      call(args) {
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "netboot-lab",
    "mocks",
    false,
  );
  const { VmxBundle } = await import("../../components/client/vmx-bundle.js");
  const echoedInputs: pulumi.Output<unknown>[] = [];
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    // One caller marks the text secret, one forgets: the resource makes it a secret either way.
    const marked = new VmxBundle("marked", { folder: workDir, name: "marked", vmxText: pulumi.secret(vmxText) });
    const plain = new VmxBundle("plain", { folder: workDir, name: "plain", vmxText });
    // The SDK mirrors every input on the resource object; the mirror of the text is a secret too.
    echoedInputs.push(...[marked, plain].map((bundle) => (bundle as unknown as { vmxText: pulumi.Output<unknown> }).vmxText));
    return Object.fromEntries(
      [marked, plain].flatMap((bundle, index) => [
        [`vmxPath${index}`, bundle.vmxPath],
        [`bundlePath${index}`, bundle.bundlePath],
        [`started${index}`, bundle.started],
        [`howToStart${index}`, bundle.howToStart],
      ]),
    );
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();

  expect(recorded.map((resource) => resource.name).sort()).toEqual(["marked", "plain"]);
  for (const resource of recorded) {
    expect(isSecretInput(resource.inputs.vmxText)).toBe(true);
    expect(resource.state).not.toHaveProperty("vmxText");
    expect(JSON.stringify(resource.state)).not.toContain(PASSWORD);
    const onDisk = String(resource.state.vmxPath);
    expect(readFileSync(onDisk, "utf8")).toContain(`RemoteDisplay.vnc.password = "${PASSWORD}"`);
    expect(statSync(onDisk).mode & 0o777).toBe(0o600);
  }
  expect(outputs).toMatchObject({
    vmxPath0: join(workDir, "marked.vmwarevm", "marked.vmx"),
    started0: false,
    vmxPath1: join(workDir, "plain.vmwarevm", "plain.vmx"),
  });
  for (const echoed of echoedInputs) expect(await pulumi.isSecret(echoed)).toBe(true);
  expect(JSON.stringify(outputs)).not.toContain(PASSWORD);
  expect(plugin.output()).not.toContain(PASSWORD);

  for (const resource of recorded) await plugin.delete(`urn:pulumi:mocks::netboot-lab::${TYPE}::${resource.name}`, resource.id, resource.state);
});
