/**
 * The docker provider's read and diff as the lifecycle engine models them, on what Docker 20.10
 * answered for a daemon container created as the lab creates one (`docker inspect`, trimmed to
 * the fields the provider reads).
 */
import type Dockerode from "dockerode";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { diffBridged, diffImage, DOCKER_TYPES, readContainer, readNetwork, readVolume } from "../support/provider-model";

const POD_ID = "1561381343fc1e1cd014737cea4d650e25764f4689f7caf91a0db2d9b81e886d";

/** A dhcpd container as the engine reports it after the provider created it. */
const inspected = {
  Id: "d9e686c181e4aa",
  Name: "/lab-dhcpd",
  State: { Running: true },
  Config: { Image: "netboot-lab/server:abc", Hostname: "d9e686c181e4", Cmd: ["-f", "-cf", "/etc/netboot-lab/dhcpd.conf"], Entrypoint: ["dhcpd"] },
  HostConfig: {
    NetworkMode: `container:${POD_ID}`,
    CapAdd: ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
    CapDrop: ["ALL"],
    SecurityOpt: null,
    Tmpfs: { "/run": "rw,size=1m" },
    Mounts: [{ Type: "volume", Source: "lab-leases", Target: "/var/lib/dhcp" }],
    LogConfig: { Type: "json-file", Config: { "max-file": "3", "max-size": "10m" } },
    RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
    Init: null,
    Sysctls: null,
  },
} as unknown as Dockerode.ContainerInspectInfo;

/** The same container as the program declares it (inputs as the engine receives them). */
const declared = (capabilities: string[]) => ({
  name: "lab-dhcpd",
  image: "netboot-lab/server:abc",
  entrypoints: ["dhcpd"],
  command: ["-f", "-cf", "/etc/netboot-lab/dhcpd.conf"],
  restart: "unless-stopped",
  labels: [{ label: "io.netboot-lab.lab", value: "lab" }],
  logOpts: { "max-size": "10m", "max-file": "3" },
  networkMode: `container:${POD_ID}`,
  capabilities: { drops: ["ALL"], adds: capabilities },
  tmpfs: { "/run": "rw,size=1m" },
  mounts: [{ type: "volume", source: "lab-leases", target: "/var/lib/dhcp", readOnly: false }],
  uploads: [{ file: "/etc/netboot-lab/dhcpd.conf", content: "subnet …", executable: false }],
});

const afterCreate = (inputs: Record<string, unknown>) => readContainer(inspected, inputs);

describe("the container read", () => {
  it("reports capabilities as the engine stores them, with the CAP_ prefix", () => {
    expect(afterCreate(declared(["NET_RAW", "NET_BIND_SERVICE"])).capabilities).toEqual({ adds: ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"], drops: ["ALL"] });
  });

  it("keeps what the provider never reads (labels, uploads) and reads log options only when declared", () => {
    const inputs = declared(["CAP_NET_RAW"]);
    const state = afterCreate(inputs);
    expect(state.labels).toEqual(inputs.labels);
    expect(state.uploads).toEqual(inputs.uploads);
    expect(afterCreate({ ...inputs, logOpts: undefined }).logOpts).toBeUndefined();
  });

  it("turns mustRun off for a container that stopped, so the next up starts it again", () => {
    const stopped = { ...inspected, State: { Running: false } } as unknown as Dockerode.ContainerInspectInfo;
    const state = readContainer(stopped, declared(["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]));
    expect(state.mustRun).toBe(false);
    expect(diffBridged(DOCKER_TYPES.container, declared(["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]), state, pulumi.isUnknown)).toMatchObject({
      change: "update",
      fields: ["mustRun"],
    });
  });
});

describe("the container diff", () => {
  it("replaces a container whose capabilities were declared without the prefix", () => {
    const inputs = declared(["NET_RAW", "NET_BIND_SERVICE"]);
    expect(diffBridged(DOCKER_TYPES.container, inputs, afterCreate(inputs), pulumi.isUnknown)).toEqual({
      change: "replace",
      fields: ["capabilities"],
      replaceFields: ["capabilities"],
    });
  });

  it("finds nothing to do for capabilities declared as the engine stores them, in any order", () => {
    const inputs = declared(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
    expect(diffBridged(DOCKER_TYPES.container, inputs, afterCreate(inputs), pulumi.isUnknown)).toMatchObject({ change: "same" });
  });

  it("replaces a daemon whose pod id is unknown (the pod is being replaced) or another", () => {
    const inputs = declared(["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]);
    const state = afterCreate(inputs);
    expect(diffBridged(DOCKER_TYPES.container, { ...inputs, networkMode: pulumi.unknown }, state, pulumi.isUnknown).replaceFields).toEqual(["networkMode"]);
    expect(diffBridged(DOCKER_TYPES.container, { ...inputs, networkMode: "container:0123" }, state, pulumi.isUnknown).change).toBe("replace");
  });

  it("updates the restart policy in place, and replaces for a new config file", () => {
    const inputs = declared(["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]);
    const state = afterCreate(inputs);
    expect(diffBridged(DOCKER_TYPES.container, { ...inputs, restart: "always" }, state, pulumi.isUnknown).change).toBe("update");
    const newConfig = [{ ...inputs.uploads[0]!, content: "subnet … host vm3 …" }];
    expect(diffBridged(DOCKER_TYPES.container, { ...inputs, uploads: newConfig }, state, pulumi.isUnknown).replaceFields).toEqual(["uploads"]);
  });

  it("refuses a declared field it has no rule for, instead of guessing", () => {
    const inputs = { ...declared(["CAP_NET_RAW"]), privileged: true };
    expect(() => diffBridged(DOCKER_TYPES.container, inputs, afterCreate(inputs), pulumi.isUnknown)).toThrow(/declares privileged, which .* does not model/);
  });
});

describe("networks, volumes and images", () => {
  const harnessLabels = { "io.netboot-lab.test": "run-1" };

  it("reads a network back without the test's own labels and with the gateway Docker chose, which is no difference", () => {
    const inputs = {
      name: "lab-net",
      driver: "bridge",
      options: { "com.docker.network.bridge.name": "nbt0" },
      ipamConfigs: [{ subnet: "10.9.0.0/24" }],
      labels: [{ label: "io.netboot-lab.lab", value: "lab" }],
    };
    const state = readNetwork(
      {
        Name: "lab-net",
        Driver: "bridge",
        Options: { "com.docker.network.bridge.name": "nbt0" },
        Labels: { "io.netboot-lab.lab": "lab", ...harnessLabels },
        IPAM: { Driver: "default", Config: [{ Subnet: "10.9.0.0/24", Gateway: "10.9.0.1" }] },
      } as unknown as Dockerode.NetworkInspectInfo,
      inputs,
      harnessLabels,
    );
    expect(state.labels).toEqual(inputs.labels);
    expect(diffBridged(DOCKER_TYPES.network, inputs, state, pulumi.isUnknown).change).toBe("same");
    expect(diffBridged(DOCKER_TYPES.network, { ...inputs, ipamConfigs: [{ subnet: "10.9.1.0/24" }] }, state, pulumi.isUnknown).change).toBe("replace");
  });

  it("replaces a volume whose labels changed", () => {
    const inputs = { name: "lab-leases", labels: [{ label: "io.netboot-lab.role", value: "leases" }] };
    const state = readVolume(
      { Name: "lab-leases", Driver: "local", Labels: { "io.netboot-lab.role": "leases", ...harnessLabels } } as unknown as Dockerode.VolumeInspectInfo,
      inputs,
      harnessLabels,
    );
    expect(diffBridged(DOCKER_TYPES.volume, inputs, state, pulumi.isUnknown).change).toBe("same");
    expect(diffBridged(DOCKER_TYPES.volume, { ...inputs, labels: [] }, state, pulumi.isUnknown).change).toBe("replace");
  });

  it("rebuilds an image in place when its inputs or its context's digest change", () => {
    const inputs = { imageName: "netboot-lab/server:abc", build: { context: "/p/images/server", contextDigest: "1" }, skipPush: true };
    expect(diffImage(inputs, inputs).change).toBe("same");
    expect(diffImage({ ...inputs, build: { ...inputs.build, contextDigest: "2" } }, inputs)).toMatchObject({ change: "update", fields: ["build"] });
  });
});
