import { randomBytes, randomInt } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";
import { applyToDocker, demuxLogs, type AppliedLab } from "../support/docker-apply";
import { runStack, type DeclaredResource } from "../support/pulumi-harness";

/** A run of the fixture stack with names, label and subnet of its own, so parallel runs never meet. */
function uniqueRun() {
  const id = randomBytes(3).toString("hex");
  const octet = randomInt(0, 256);
  return {
    labels: testCaseLabels(`harness-${id}`),
    namePrefix: `nbt${id}-`,
    address: `10.231.${octet}.2`,
    config: { "netboot-lab:fixture": { subnet: `10.231.${octet}.0/24`, address: `10.231.${octet}.2` } },
  };
}

async function docker(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout;
}

describe("the fixture stack applied to the local engine", () => {
  const run = uniqueRun();
  let lab: AppliedLab;

  beforeAll(async () => {
    const { resources } = await runStack("fixture", { projectDir: "test/harness/fixtures/project", configOverrides: run.config });
    lab = await applyToDocker(resources, { labels: run.labels, namePrefix: run.namePrefix });
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  test("the one-shot container printed the file uploaded into it", async () => {
    const printer = lab.dockerName("container", "nbt-fixture-printer");

    expect(printer).toBe(`${run.namePrefix}nbt-fixture-printer`);
    expect(await docker("logs", printer)).toBe("hello from the fixture");
    expect(lab.containerLogs[printer]).toBe("hello from the fixture");
  });

  test("the pod holds the declared address on the declared network only", async () => {
    const networks = JSON.parse(await docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", lab.dockerName("container", "nbt-fixture-pod")));

    expect(Object.keys(networks)).toEqual([lab.dockerName("network", "nbt-fixture")]);
    expect(networks[lab.dockerName("network", "nbt-fixture")].IPAddress).toBe(run.address);
  });

  test("the printer ran in the pod's network namespace", async () => {
    const podId = await docker("inspect", "-f", "{{.Id}}", lab.dockerName("container", "nbt-fixture-pod"));

    expect(await docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", lab.dockerName("container", "nbt-fixture-printer"))).toBe(`container:${podId}`);
  });

  test("every container, network and volume carries the test's label", async () => {
    expect(await dockerObjectsOf(run.labels)).toEqual(
      [`${run.namePrefix}nbt-fixture`, `${run.namePrefix}nbt-fixture-data`, `${run.namePrefix}nbt-fixture-pod`, `${run.namePrefix}nbt-fixture-printer`].sort(),
    );
  });

  test("teardown removes all of it and is safe to repeat", async () => {
    await lab.teardown();
    await lab.teardown();

    expect(await dockerObjectsOf(run.labels)).toEqual([]);
  });
});

describe("a failure halfway", () => {
  test("is reported with the resource at fault, and leaves nothing behind", async () => {
    const run = uniqueRun();
    const { resources } = await runStack("fixture", { projectDir: "test/harness/fixtures/project", configOverrides: run.config });
    const withMissingImage = resources.map((resource): DeclaredResource =>
      resource.name === "fixture-printer" ? { ...resource, inputs: { ...resource.inputs, image: "netboot-lab-test/missing:none" } } : resource,
    );

    await expect(applyToDocker(withMissingImage, { labels: run.labels, namePrefix: run.namePrefix })).rejects.toThrow(
      `applying container fixture-printer failed: container ${run.namePrefix}nbt-fixture-printer (fixture-printer): image netboot-lab-test/missing:none is neither built by the stack nor on the engine; the tests never pull`,
    );
    expect(await dockerObjectsOf(run.labels)).toEqual([]);
  });
});

describe("demuxLogs", () => {
  const frame = (stream: number, text: string) => {
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([header, Buffer.from(text)]);
  };

  test("joins the payloads of the engine's stdout and stderr frames", () => {
    expect(demuxLogs(Buffer.concat([frame(1, "out "), frame(2, "err"), frame(1, "\n")]))).toBe("out err\n");
  });

  test("passes a TTY container's unframed output through", () => {
    expect(demuxLogs(Buffer.from("plain text from a tty\n"))).toBe("plain text from a tty\n");
  });
});
