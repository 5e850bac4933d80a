import { describe, expect, test } from "vitest";
import { fusionMedia } from "../support/fake-media";
import { engineConfig, mergeConfig, runStack, runStackExpectingError, type DeclaredResource } from "../support/pulumi-harness";

const fixture = { projectDir: "test/harness/fixtures/project" } as const;

function byName(resources: readonly DeclaredResource[], name: string): DeclaredResource {
  const resource = resources.find((candidate) => candidate.name === name);
  if (!resource) throw new Error(`no resource ${name} among ${resources.map((candidate) => candidate.name).join(", ")}`);
  return resource;
}

describe("runStack on the fixture program", () => {
  test("records every resource in declaration order with its type and parent", async () => {
    const { resources } = await runStack("fixture", fixture);

    expect(resources.map(({ type, name, parent }) => ({ type, name, parent }))).toEqual([
      { type: "netboot-lab:test:FixtureLab", name: "fixture", parent: undefined },
      { type: "docker:index/network:Network", name: "fixture-network", parent: "fixture" },
      { type: "docker:index/volume:Volume", name: "fixture-data", parent: "fixture" },
      { type: "docker:index/remoteImage:RemoteImage", name: "fixture-base", parent: "fixture" },
      { type: "docker:index/image:Image", name: "fixture-image", parent: "fixture" },
      { type: "docker:index/container:Container", name: "fixture-pod", parent: "fixture" },
      { type: "docker:index/container:Container", name: "fixture-printer", parent: "fixture" },
    ]);
  });

  test("resolves cross-references to the names Docker would use", async () => {
    const { resources } = await runStack("fixture", fixture);

    const printer = byName(resources, "fixture-printer");
    expect(printer.id).toBe("nbt-fixture-printer");
    expect(printer.inputs).toMatchObject({
      image: "netboot-lab-test/fixture:dev",
      networkMode: "container:nbt-fixture-pod",
      mounts: [{ type: "volume", source: "nbt-fixture-data", target: "/data" }],
      uploads: [{ file: "/etc/fixture/greeting.txt", content: "hello from the fixture" }],
    });
    expect(byName(resources, "fixture-pod").inputs).toMatchObject({
      image: "local/debian:bookworm",
      networksAdvanced: [{ name: "nbt-fixture", ipv4Address: "10.231.0.2" }],
    });
    expect(byName(resources, "fixture-image").inputs).toMatchObject({ build: { args: { BASE_IMAGE: "local/debian:bookworm" } } });
    expect(byName(resources, "fixture").id).toBeUndefined();
  });

  test("returns the stack outputs unwrapped", async () => {
    const { outputs } = await runStack("fixture", fixture);

    expect(outputs).toEqual({ podName: "nbt-fixture-pod", printerName: "nbt-fixture-printer" });
  });

  test("merges config overrides over the stack file and evaluates the program afresh", async () => {
    const first = await runStack("fixture", { ...fixture, configOverrides: { "netboot-lab:fixture": { prefix: "first" } } });
    const second = await runStack("fixture", { ...fixture, configOverrides: { "netboot-lab:fixture": { prefix: "second" } } });

    expect(first.outputs.podName).toBe("first-pod");
    expect(second.outputs.podName).toBe("second-pod");
    // Keys the override leaves out still come from the stack file.
    expect(byName(second.resources, "fixture-pod").inputs).toMatchObject({ networksAdvanced: [{ ipv4Address: "10.231.0.2" }] });
  });

  test("names the explicit provider of each resource, and none for the default provider", async () => {
    const explicit = await runStack("fixture", { ...fixture, configOverrides: { "netboot-lab:fixture": { dockerHost: "ssh://lab@example.invalid" } } });
    const implicit = await runStack("fixture", fixture);

    expect(byName(explicit.resources, "docker-host")).toMatchObject({ type: "pulumi:providers:docker", inputs: { host: "ssh://lab@example.invalid" } });
    expect(byName(explicit.resources, "fixture-pod").provider).toBe("docker-host");
    expect(byName(implicit.resources, "fixture-pod").provider).toBeUndefined();
  });

  test("rejects with the failing input and the resources that never registered", async () => {
    const run = runStack("fixture", { ...fixture, configOverrides: { "netboot-lab:fixture": { rejectInput: true } } });

    await expect(run).rejects.toThrow(/error serializing property "name": fixture: rejected input/);
    await expect(run).rejects.toThrow(/never registered.*docker:index\/volume:Volume fixture-data/);
  });
});

describe("runStackExpectingError", () => {
  test("returns the program's error and that nothing was registered", async () => {
    const { error, resources } = await runStackExpectingError("fixture", { ...fixture, configOverrides: { "netboot-lab:fixture": { prefix: "Bad Prefix" } } });

    expect(error.message).toBe(`netboot-lab:fixture.prefix "Bad Prefix" must start with a letter and use only a-z, 0-9 and '-'`);
    expect(resources).toHaveLength(0);
  });

  test("rejects when the program succeeds", async () => {
    await expect(runStackExpectingError("fixture", fixture)).rejects.toThrow(
      /expected the program to fail for stack "fixture", but it succeeded and declared 7 resources/,
    );
  });
});

describe("runStack on the real program", () => {
  test("evaluates index.ts with each stack's own config", async () => {
    const kvm = await runStack("kvm");
    const media = fusionMedia();
    const fusion = await runStack("fusion", { configOverrides: { "netboot-lab:mediaDir": media.dir, "netboot-lab:vncPassword": "Vnc8pass" } }).finally(
      media.cleanup,
    );

    expect(kvm.resources.some((resource) => resource.type === "docker:index/container:Container")).toBe(true);
    expect(kvm.resources.filter((resource) => resource.type.startsWith("docker:")).every((resource) => resource.parent !== undefined)).toBe(true);
    expect((kvm.outputs.network as { subnet: string }).subnet).toBe("10.77.0.0/24");
    expect((fusion.outputs.network as { subnet: string }).subnet).toBe("10.0.0.0/24");
  });
});

describe("engineConfig", () => {
  test("passes strings as they are and everything else as JSON, under the project namespace", () => {
    expect(engineConfig({ "netboot-lab:network": { subnet: "10.0.0.0/24" }, leaseTime: 60, debug: true, "aws:region": "x" }, "netboot-lab")).toEqual({
      "netboot-lab:network": `{"subnet":"10.0.0.0/24"}`,
      "netboot-lab:leaseTime": "60",
      "netboot-lab:debug": "true",
      "aws:region": "x",
    });
  });

  test("refuses secrets it cannot decrypt, naming the key", () => {
    expect(() => engineConfig({ "netboot-lab:password": { secure: "AAAB" } }, "netboot-lab")).toThrow(
      "config netboot-lab:password is a secret; the harness cannot decrypt it without the Pulumi CLI: give test stacks plain values",
    );
  });
});

describe("mergeConfig", () => {
  test("merges objects key by key, replaces lists and scalars, and removes keys set to undefined", () => {
    const base = { network: { subnet: "10.0.0.0/24", bridge: "nblab0" }, clients: [{ name: "a" }], docker: { host: "ssh://x" } };

    expect(mergeConfig(base, { network: { bridge: "nbt1" }, clients: [], docker: undefined })).toEqual({
      network: { subnet: "10.0.0.0/24", bridge: "nbt1" },
      clients: [],
    });
  });
});
