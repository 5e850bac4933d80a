/**
 * Stack config read the way Pulumi hands it to the program: `netboot-lab render` (loadStackLab)
 * and the stack program under `pulumi up` must agree on every form Pulumi writes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_KEYS, LabConfigError, loadStackLab, SECRET_CONFIG_KEYS } from "../../lib/model";
import { runStack, runStackExpectingError } from "../support/pulumi-harness";

const projects = mkdtempSync(join(tmpdir(), "nbl-stack-config-"));
afterAll(() => rmSync(projects, { recursive: true, force: true }));

/** A project folder holding one stack file with `lines` under `config:`. */
function stackProject(name: string, lines: readonly string[]): string {
  const dir = join(projects, name);
  mkdirSync(join(dir, "stacks"), { recursive: true });
  writeFileSync(join(dir, "stacks", "Pulumi.lab.yaml"), ["config:", ...lines.map((line) => `  ${line}`), ""].join("\n"));
  return dir;
}

const NETWORK = ["netboot-lab:network:", "  subnet: 10.77.0.0/24"];

function loadError(dir: string): LabConfigError {
  try {
    loadStackLab(dir, "lab");
  } catch (error) {
    if (error instanceof LabConfigError) return error;
    throw error;
  }
  throw new Error("expected a LabConfigError");
}

describe("loadStackLab reads stack files as Pulumi does", () => {
  const yaml = loadStackLab(stackProject("yaml", [...NETWORK, "netboot-lab:docker:", "  baseImage: local/debian:bookworm", "  namePrefix: lab1"]), "lab");

  it("takes a structured key stored as a JSON string, as `pulumi config set` writes it, like the YAML structure", () => {
    const json = loadStackLab(stackProject("json", [...NETWORK, `netboot-lab:docker: '{"baseImage": "local/debian:bookworm", "namePrefix": "lab1"}'`]), "lab");
    expect(json.docker).toEqual(yaml.docker);
    expect(json).toEqual(yaml);
  });

  it("takes keys without a namespace as the project's (netboot-lab:)", () => {
    const bare = loadStackLab(
      stackProject("bare", ["network:", "  subnet: 10.77.0.0/24", "docker:", "  baseImage: local/debian:bookworm", "  namePrefix: lab1"]),
      "lab",
    );
    expect(bare).toEqual(yaml);
  });

  it("reports a structured key whose text is not JSON, naming the key", () => {
    const error = loadError(stackProject("not-json", [...NETWORK, "netboot-lab:docker: baseImage=local/debian"]));
    expect(error.problems).toEqual([
      {
        field: "docker",
        message:
          "is the text \"baseImage=local/debian\", not JSON; write it as YAML in the stack file, or set it with pulumi config set netboot-lab:docker '<JSON>'",
      },
    ]);
  });

  it("recognises encrypted values, top-level and nested, and says it does not decrypt them", () => {
    const error = loadError(
      stackProject("secure", [...NETWORK, "netboot-lab:mediaDir:", "  secure: v1:abc:def", "netboot-lab:docker:", "  host:", "    secure: v1:ghi:jkl"]),
    );
    const message =
      "is an encrypted value (secure:), which only the Pulumi CLI decrypts, so netboot-lab does not read it here; only netboot-lab:vncPassword may be secret: store this one in plain text (pulumi config set without --secret)";
    expect(error.problems).toEqual([
      { field: "mediaDir", message },
      { field: "docker.host", message },
    ]);
    expect(error.message).toContain("stacks/Pulumi.lab.yaml");
  });

  it("names a file without a config: map", () => {
    const dir = stackProject("no-config", []);
    writeFileSync(join(dir, "stacks", "Pulumi.lab.yaml"), "encryptionsalt: v1:abc\n");
    expect(loadError(dir).problems).toEqual([
      { field: "config", message: `${join(dir, "stacks", "Pulumi.lab.yaml")} has no "config:" map; see stacks/Pulumi.kvm.yaml for an example` },
    ]);
  });

  it("leaves the encrypted VNC password to the program: the lab reads without it", () => {
    const lab = loadStackLab(
      stackProject("vnc-secret", [
        ...NETWORK,
        "netboot-lab:docker:",
        "  baseImage: local/debian:bookworm",
        "  namePrefix: lab1",
        "netboot-lab:vncPassword:",
        "  secure: v1:abc:def",
      ]),
      "lab",
    );
    expect(lab).toEqual(yaml);
  });
});

describe("the stack program reads the same config", () => {
  it("accepts the docker key as a JSON string and builds the lab render shows", async () => {
    const { resources } = await runStack("kvm", {
      configOverrides: { "netboot-lab:docker": JSON.stringify({ baseImage: "local/debian:bookworm", namePrefix: "nbtjson" }) },
    });
    const network = resources.find((resource) => resource.type === "docker:index/network:Network")!;
    expect(network.inputs.name).toBe("nbtjson");
    const server = resources.find((resource) => resource.type === "docker:index/image:Image" && resource.name === "nbl-kvm-image")!;
    expect(server.inputs.build).toMatchObject({ args: { BASE_IMAGE: "local/debian:bookworm" } });
  });

  it("stops on a structured key that is not JSON with the field named, before declaring anything", async () => {
    const { error, resources } = await runStackExpectingError("kvm", { configOverrides: { "netboot-lab:docker": "baseImage=local/debian" } });
    expect(error.message).toContain('docker: is the text "baseImage=local/debian", not JSON');
    expect(resources.filter((resource) => resource.type.startsWith("docker:"))).toEqual([]);
  });
});

describe("one reading: `pulumi up` and `render` refuse the same stacks, naming the key", () => {
  const known = [...CONFIG_KEYS, ...SECRET_CONFIG_KEYS].map((key) => `netboot-lab:${key}`).join(", ");
  const expected = [
    `netboot-lab:bootImage: unknown key; the lab reads ${known}`,
    "docker:host: is a setting of Pulumi's docker provider, which the lab does not take: its boot-image builds reach Docker on a connection of their own, so the lab would end up on two engines; name the lab's Docker host with netboot-lab:docker.host (netboot-lab:docker: {host: ssh://user@host}) and remove docker:host",
  ];

  it("render (loadStackLab) refuses an unknown netboot-lab key and a docker provider key", () => {
    const error = loadError(stackProject("foreign-keys", [...NETWORK, "netboot-lab:bootImage: []", "docker:host: ssh://lab@elsewhere"]));
    expect(error.problems.map((problem) => `${problem.field}: ${problem.message}`)).toEqual(expected);
  });

  it("the program refuses them too, with the same words, before declaring anything", async () => {
    const { error, resources } = await runStackExpectingError("kvm", {
      configOverrides: { "netboot-lab:bootImage": [], "docker:host": "ssh://lab@elsewhere" },
    });
    for (const line of expected) expect(error.message).toContain(`  - ${line}`);
    expect(resources.filter((resource) => resource.type.startsWith("docker:"))).toEqual([]);
  });
});
