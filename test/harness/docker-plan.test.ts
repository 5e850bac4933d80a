import { describe, expect, test } from "vitest";
import { fusionMedia } from "../support/fake-media";
import { planDockerApply, UnsupportedInputsError, type ContainerStep, type DockerStep, type PlanOptions } from "../support/docker-plan";
import { runStack, type DeclaredResource } from "../support/pulumi-harness";

const OPTIONS: PlanOptions = { labels: { "io.netboot-lab.test": "run-1" }, projectDir: "/project" };

const resource = (type: string, name: string, inputs: Record<string, unknown>): DeclaredResource => ({
  type,
  name,
  inputs,
  id: typeof inputs.name === "string" ? inputs.name : name,
});
const network = (inputs: Record<string, unknown>) => resource("docker:index/network:Network", "lab-network", inputs);
const volume = (inputs: Record<string, unknown>) => resource("docker:index/volume:Volume", "lab-volume", inputs);
const image = (inputs: Record<string, unknown>) => resource("docker:index/image:Image", "lab-image", inputs);
const container = (name: string, inputs: Record<string, unknown>) => resource("docker:index/container:Container", name, { name, image: "img", ...inputs });

function containerStep(steps: readonly DockerStep[], name: string): ContainerStep {
  const step = steps.find((candidate): candidate is ContainerStep => candidate.kind === "container" && candidate.create.name === name);
  if (!step) throw new Error(`no container step ${name}`);
  return step;
}

function problemsOf(resources: readonly DeclaredResource[], options: PlanOptions = OPTIONS): readonly string[] {
  try {
    planDockerApply(resources, options);
  } catch (error) {
    if (error instanceof UnsupportedInputsError) return error.problems;
    throw error;
  }
  throw new Error("expected the plan to fail");
}

describe("networks and volumes", () => {
  test("a bridge network becomes a network create request with the declared and the test labels", () => {
    const [step] = planDockerApply(
      [
        network({
          name: "lab",
          driver: "bridge",
          options: { "com.docker.network.bridge.name": "nbt0" },
          ipamConfigs: [{ subnet: "10.77.0.0/24", gateway: "10.77.0.1" }],
          labels: [{ label: "io.netboot-lab.role", value: "network" }],
        }),
      ],
      OPTIONS,
    );

    expect(step).toEqual({
      kind: "network",
      resource: "lab-network",
      create: {
        Name: "lab",
        CheckDuplicate: true,
        Driver: "bridge",
        Options: { "com.docker.network.bridge.name": "nbt0" },
        IPAM: { Driver: "default", Config: [{ Subnet: "10.77.0.0/24", Gateway: "10.77.0.1" }] },
        Labels: { "io.netboot-lab.role": "network", "io.netboot-lab.test": "run-1" },
      },
    });
  });

  test("a volume keeps its name and labels", () => {
    const [step] = planDockerApply([volume({ name: "leases", labels: [{ label: "a", value: "b" }] })], OPTIONS);

    expect(step).toEqual({
      kind: "volume",
      resource: "lab-volume",
      create: { Name: "leases", Labels: { a: "b", "io.netboot-lab.test": "run-1" } },
    });
  });

  test("a macvlan network is refused unless its parent is a link the test created", () => {
    const macvlan = network({ name: "lab", driver: "macvlan", options: { parent: "eth1" } });

    expect(problemsOf([macvlan])).toEqual([
      `docker:index/network:Network lab-network: inputs.options.parent: a macvlan network on "eth1" would put the servers on a network the test does not own; ` +
        `override netboot-lab:network.parentInterface with a link the test created and pass it in macvlanParents`,
    ]);
    expect(planDockerApply([macvlan], { ...OPTIONS, macvlanParents: ["eth1"] })).toHaveLength(1);
  });
});

describe("images", () => {
  test("a build resolves context and Dockerfile against the project and merges the test's build args", () => {
    const [step] = planDockerApply(
      [
        image({
          imageName: "netboot-lab/server:abc",
          build: {
            context: "images/server",
            dockerfile: "images/server/Dockerfile",
            args: { BASE_IMAGE: "debian:bookworm-slim", KEEP: "1" },
            platform: "linux/amd64",
          },
          skipPush: true,
          buildOnPreview: false,
        }),
      ],
      { ...OPTIONS, imageBuildArgs: { BASE_IMAGE: "local/debian:bookworm" } },
    );

    expect(step).toEqual({
      kind: "build-image",
      resource: "lab-image",
      context: "/project/images/server",
      build: {
        t: "netboot-lab/server:abc",
        dockerfile: "Dockerfile",
        buildargs: { BASE_IMAGE: "local/debian:bookworm", KEEP: "1" },
        platform: "linux/amd64",
        labels: { "io.netboot-lab.test": "run-1" },
      },
    });
  });

  test("pushing and a Dockerfile outside the context are refused", () => {
    expect(problemsOf([image({ imageName: "x", build: { context: "/a", dockerfile: "/b/Dockerfile" }, skipPush: false })])).toEqual([
      "docker:index/image:Image lab-image: inputs.skipPush: false is not supported: the tests build locally and never push; declare skipPush: true",
      "docker:index/image:Image lab-image: inputs.build.dockerfile: /b/Dockerfile lies outside the build context /a; the mapping sends only the context",
    ]);
  });

  test("a RemoteImage must already be on the engine", () => {
    expect(planDockerApply([resource("docker:index/remoteImage:RemoteImage", "base", { name: "local/debian:bookworm", keepLocally: true })], OPTIONS)).toEqual([
      { kind: "local-image", resource: "base", imageName: "local/debian:bookworm" },
    ]);
  });
});

describe("containers", () => {
  const daemon = container("lab-dhcpd", {
    entrypoints: ["/bin/sh", "-c", "exec dhcpd"],
    command: ["-4", "-f"],
    capabilities: { drops: ["ALL"], adds: ["NET_RAW"] },
    securityOpts: ["seccomp=unconfined"],
    tmpfs: { "/run": "rw,mode=0755" },
    mounts: [{ type: "volume", source: "lab-leases", target: "/var/lib/dhcp", readOnly: false }],
    networkMode: "container:lab-pod",
    restart: "unless-stopped",
    labels: [{ label: "io.netboot-lab.role", value: "dhcpd" }],
    uploads: [
      { file: "/etc/dhcpd.conf", content: "subnet {}", executable: false },
      { file: "/usr/local/bin/run", content: "#!/bin/sh", executable: true },
      { file: "/etc/boot/kernel", source: "media/vmlinuz", sourceHash: "abc" },
    ],
  });

  test("a daemon container becomes a create request as the provider makes it", () => {
    const step = containerStep(planDockerApply([daemon], OPTIONS), "lab-dhcpd");

    expect(step.create).toEqual({
      name: "lab-dhcpd",
      Image: "img",
      Cmd: ["-4", "-f"],
      Entrypoint: ["/bin/sh", "-c", "exec dhcpd"],
      Labels: { "io.netboot-lab.role": "dhcpd", "io.netboot-lab.test": "run-1" },
      HostConfig: {
        NetworkMode: "container:lab-pod",
        CapAdd: ["NET_RAW"],
        CapDrop: ["ALL"],
        SecurityOpt: ["seccomp=unconfined"],
        Privileged: false,
        ReadonlyRootfs: false,
        Init: false,
        RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
        Tmpfs: { "/run": "rw,mode=0755" },
        Mounts: [{ Type: "volume", Target: "/var/lib/dhcp", Source: "lab-leases", ReadOnly: false }],
        LogConfig: { Type: "json-file" },
      },
    });
    expect({ start: step.start, mustRun: step.mustRun, attach: step.attach, logs: step.logs, networks: step.networks }).toEqual({
      start: true,
      mustRun: true,
      attach: false,
      logs: false,
      networks: [],
    });
  });

  test("uploads get the provider's modes, 0644 or 0744 when executable; a source file is read from the project", () => {
    const { uploads } = containerStep(planDockerApply([daemon], OPTIONS), "lab-dhcpd");

    expect(uploads).toEqual([
      { path: "/etc/dhcpd.conf", mode: 0o644, uid: 0, gid: 0, content: Buffer.from("subnet {}") },
      { path: "/usr/local/bin/run", mode: 0o744, uid: 0, gid: 0, content: Buffer.from("#!/bin/sh") },
      { path: "/etc/boot/kernel", mode: 0o644, uid: 0, gid: 0, content: { sourcePath: "/project/media/vmlinuz" } },
    ]);
  });

  test("networksAdvanced become attachments with a fixed address", () => {
    const step = containerStep(planDockerApply([container("lab-pod", { networksAdvanced: [{ name: "lab", ipv4Address: "10.77.0.2" }] })], OPTIONS), "lab-pod");

    expect(step.networks).toEqual([{ network: "lab", endpoint: { IPAMConfig: { IPv4Address: "10.77.0.2" } } }]);
  });

  test("a name prefix renames declared objects and every reference to them, and nothing else", () => {
    const steps = planDockerApply(
      [
        network({ name: "lab" }),
        volume({ name: "lab-leases" }),
        container("lab-pod", { networksAdvanced: [{ name: "lab" }, { name: "external" }] }),
        container("lab-dhcpd", {
          networkMode: "container:lab-pod",
          mounts: [
            { type: "volume", source: "lab-leases", target: "/a" },
            { type: "volume", source: "external-volume", target: "/b" },
          ],
        }),
      ],
      { ...OPTIONS, namePrefix: "nbt1-" },
    );

    const dhcpd = containerStep(steps, "nbt1-lab-dhcpd");
    expect(
      steps.map((step) =>
        step.kind === "network" ? step.create.Name : step.kind === "volume" ? step.create.Name : step.kind === "container" ? step.create.name : "",
      ),
    ).toEqual(["nbt1-lab", "nbt1-lab-leases", "nbt1-lab-pod", "nbt1-lab-dhcpd"]);
    expect(containerStep(steps, "nbt1-lab-pod").networks.map((attachment) => attachment.network)).toEqual(["nbt1-lab", "external"]);
    expect(dhcpd.create.HostConfig).toMatchObject({
      NetworkMode: "container:nbt1-lab-pod",
      Mounts: [{ Source: "nbt1-lab-leases" }, { Source: "external-volume" }],
    });
  });

  test("the keeper's --pod argument follows the pod's renaming, and its bind of the engine socket is kept as it is", () => {
    const steps = planDockerApply(
      [
        container("lab-pod", {}),
        container("lab-keeper", {
          command: ["keep", "--pod", "lab-pod", "--socket", "/run/docker.sock"],
          networkMode: "none",
          mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/run/docker.sock" }],
        }),
      ],
      { ...OPTIONS, namePrefix: "nbt1-" },
    );

    expect(containerStep(steps, "nbt1-lab-keeper").create).toMatchObject({
      Cmd: ["keep", "--pod", "nbt1-lab-pod", "--socket", "/run/docker.sock"],
      HostConfig: { NetworkMode: "none", Mounts: [{ Type: "bind", Source: "/var/run/docker.sock", Target: "/run/docker.sock" }] },
    });
  });

  test("a bind of any host path but the local engine's socket is refused", () => {
    expect(problemsOf([container("lab-keeper", { mounts: [{ type: "bind", source: "/etc", target: "/host-etc" }] })])).toEqual([
      `docker:index/container:Container lab-keeper: inputs.mounts[0].source: "/etc": the tests bind no host path but the local engine's socket (/var/run/docker.sock)`,
    ]);
  });

  test("a container joining another's namespace is created after it, whatever the declaration order", () => {
    const steps = planDockerApply([container("lab-dhcpd", { networkMode: "container:lab-pod" }), volume({ name: "v" }), container("lab-pod", {})], OPTIONS);

    expect(steps.map((step) => `${step.kind} ${step.resource}`)).toEqual(["volume lab-volume", "container lab-pod", "container lab-dhcpd"]);
  });

  test("host networking is refused: servers never listen on the machine's own interfaces", () => {
    expect(problemsOf([container("lab-pod", { networkMode: "host" })])).toEqual([
      `docker:index/container:Container lab-pod: inputs.networkMode: "host" would put the servers on the machine's own interfaces; the tests never do that`,
    ]);
  });
});

describe("what the mapping does not understand", () => {
  test("every unknown key, nested or not, and every unsupported value is listed at once", () => {
    const problems = problemsOf([
      container("lab-pod", {
        ports: [{ internal: 80 }],
        restart: "sometimes",
        capabilities: { drops: ["ALL"], ambient: ["NET_RAW"] },
        mounts: [{ type: "npipe", target: "/x" }],
        uploads: [{ file: "relative/path", content: "a", source: "/etc/hosts", owner: "nobody" }],
        networksAdvanced: [{ name: "lab", gwPriority: 1 }],
      }),
      network({ name: "lab", driver: "overlay", scope: "swarm" }),
      resource("docker:index/service:Service", "svc", { name: "svc" }),
    ]);

    const pod = "docker:index/container:Container lab-pod: inputs";
    expect(problems).toEqual(
      expect.arrayContaining([
        `${pod}.ports: not understood by the mapping (value [{"internal":80}])`,
        `${pod}.restart: "sometimes" is not mapped; supported: no, on-failure, always, unless-stopped`,
        `${pod}.capabilities.ambient: not understood by the mapping (value ["NET_RAW"])`,
        `${pod}.mounts[0].type: "npipe" is not mapped; supported: volume, bind`,
        `${pod}.uploads[0].file: "relative/path" must be an absolute path in the container`,
        `${pod}.uploads[0].content: exactly one of content and source must be set`,
        `${pod}.uploads[0].owner: not understood by the mapping (value "nobody")`,
        `${pod}.networksAdvanced[0].gwPriority: not understood by the mapping (value 1)`,
        `docker:index/network:Network lab-network: inputs.driver: "overlay" is not mapped; supported: bridge, macvlan, ipvlan`,
        `docker:index/network:Network lab-network: inputs.scope: not understood by the mapping (value "swarm")`,
        "docker:index/service:Service svc: this resource type has no mapping onto the Docker engine",
      ]),
    );
    expect(problems).toHaveLength(11);
  });

  test("a value of the wrong type and a missing required input are problems too", () => {
    expect(problemsOf([resource("docker:index/container:Container", "c", { name: "c", attach: "yes", labels: [{ label: "a" }] })])).toEqual([
      `docker:index/container:Container c: inputs.image: missing; a container needs an image`,
      `docker:index/container:Container c: inputs.labels[0].value: missing; a label needs a value`,
      `docker:index/container:Container c: inputs.attach: expected a boolean, got "yes"`,
    ]);
  });

  test("the error message says where to extend the mapping", () => {
    expect(() => planDockerApply([container("c", { gpus: "all" })], OPTIONS)).toThrow(
      /use inputs the Docker mapping does not understand \(extend test\/support\/docker-plan\.ts, or stop declaring them\):\n {2}- docker:index\/container:Container c: inputs\.gpus/,
    );
  });

  test("a provider for another Docker host is refused; the local engine is accepted", () => {
    const provider = (host: string) => resource("pulumi:providers:docker", "docker-host", { host });

    expect(planDockerApply([provider("unix:///var/run/docker.sock")], OPTIONS)).toEqual([]);
    expect(problemsOf([provider("ssh://lab@netboot-host.local")])).toEqual([
      `pulumi:providers:docker docker-host: inputs.host: "ssh://lab@netboot-host.local" is not the local engine (unix:///var/run/docker.sock); the integration tests only run against the local engine`,
    ]);
  });
});

describe("the real stacks", () => {
  test("every input the kvm stack declares is understood", async () => {
    const { resources } = await runStack("kvm");

    const steps = planDockerApply(resources, { ...OPTIONS, projectDir: process.cwd() });
    expect(steps.filter((step) => step.kind === "container").length).toBeGreaterThan(1);
  });

  test("the fusion stack is refused as it stands: a remote Docker host and a macvlan on a real interface", async () => {
    const media = fusionMedia();
    const { resources } = await runStack("fusion", { configOverrides: { "netboot-lab:mediaDir": media.dir, "netboot-lab:vncPassword": "Vnc8pass" } }).finally(
      media.cleanup,
    );

    const problems = problemsOf(resources, { ...OPTIONS, projectDir: process.cwd() });
    expect(problems.some((problem) => problem.includes("inputs.host:") && problem.includes("is not the local engine"))).toBe(true);
    expect(problems.some((problem) => problem.includes("inputs.options.parent: a macvlan network"))).toBe(true);
  });
});
