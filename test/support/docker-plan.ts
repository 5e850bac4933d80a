/**
 * Maps the inputs of declared @pulumi/docker 5.2.0 resources (as the Pulumi mocks record
 * them) onto the Docker Engine API requests the provider itself makes: terraform-provider-docker
 * for Network, Volume, Container and RemoteImage, pulumi-docker's own code for Image. Pure: no
 * engine access, so the mapping is unit-tested on its own; docker-apply.ts carries it out.
 *
 * Every input key and value must be understood. Anything else is an error listing all of
 * them, so a test that applies the component's resources cannot silently drift from what
 * `pulumi up` would create. Only inputs the components (and the harness fixture) declare are
 * mapped: a component that starts declaring a new one extends the mapping, with a test.
 */
import { isAbsolute, relative, resolve } from "node:path";
import type Dockerode from "dockerode";
import { DOCKER_TYPES } from "./provider-model";
import type { DeclaredResource } from "./pulumi-harness";

export interface PlanOptions {
  /** Labels added to every object created, next to the declared ones. */
  readonly labels: Readonly<Record<string, string>>;
  /** Merged over every docker.Image's declared `build.args` (e.g. an offline BASE_IMAGE). */
  readonly imageBuildArgs?: Readonly<Record<string, string>>;
  /**
   * Prepended to every declared network, volume and container name and to every reference to
   * them, so runs on a shared engine cannot collide. Image names are kept (images are a cache).
   */
  readonly namePrefix?: string;
  /** Where relative build contexts, Dockerfiles and upload sources are resolved (Pulumi's working directory). */
  readonly projectDir: string;
  /**
   * Host interfaces the test created (a veth end, a dummy link) that macvlan/ipvlan networks
   * may use as `parent`. Any other parent is refused: servers must never reach the machine's
   * own networks.
   */
  readonly macvlanParents?: readonly string[];
  /** The engine the test talks to; a docker.Provider naming any other host is refused. */
  readonly localDockerHost?: string;
}

export interface NetworkStep {
  readonly kind: "network";
  readonly resource: string;
  readonly create: Dockerode.NetworkCreateOptions;
}

export interface VolumeStep {
  readonly kind: "volume";
  readonly resource: string;
  readonly create: Dockerode.VolumeCreateOptions & { Name: string };
}

export interface BuildImageStep {
  readonly kind: "build-image";
  readonly resource: string;
  /** Absolute build context. */
  readonly context: string;
  /** `t` is the declared imageName; `dockerfile` is relative to the context. */
  readonly build: Dockerode.ImageBuildOptions & { t: string; dockerfile: string };
}

/** A docker.RemoteImage: the image must already be on the engine (tests never pull). */
export interface LocalImageStep {
  readonly kind: "local-image";
  readonly resource: string;
  readonly imageName: string;
}

export interface NetworkAttachment {
  readonly network: string;
  readonly endpoint: Dockerode.EndpointSettings;
}

export interface Upload {
  /** Absolute path inside the container. */
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Literal bytes, or a host file read when the container is created. */
  readonly content: Buffer | { readonly sourcePath: string };
}

export interface ContainerStep {
  readonly kind: "container";
  readonly resource: string;
  readonly create: Dockerode.ContainerCreateOptions & { name: string; HostConfig: Dockerode.HostConfig };
  /** Connected after the default bridge is left, as the provider does for `networksAdvanced`. */
  readonly networks: readonly NetworkAttachment[];
  readonly uploads: readonly Upload[];
  readonly start: boolean;
  /** The provider fails when such a container is not running after creation. */
  readonly mustRun: boolean;
  /** Wait for the container to exit (a one-shot job). */
  readonly attach: boolean;
  /** Keep the output of an attached container. */
  readonly logs: boolean;
}

/**
 * A BootImageBuild (the one dynamic resource that acts on the engine): its serialized provider runs
 * `create` with these inputs, volume names and labels mapped like every other step's.
 */
export interface DynamicStep {
  readonly kind: "dynamic";
  readonly resource: string;
  /** The serialized provider (`__provider`), run as the engine runs it. */
  readonly provider: string;
  readonly inputs: Record<string, unknown>;
}

/** Type tokens of the Client component's dynamic resources (`pulumi-nodejs:dynamic/client:QemuProcess`, …). */
const CLIENT_DYNAMIC_TYPE_PREFIX = "pulumi-nodejs:dynamic/client:";

export type DockerStep = NetworkStep | VolumeStep | BuildImageStep | LocalImageStep | ContainerStep | DynamicStep;

export class UnsupportedInputsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `The declared resources use inputs the Docker mapping does not understand (extend test/support/docker-plan.ts, or stop declaring them):\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
    );
    this.name = "UnsupportedInputsError";
  }
}

const TYPES = { ...DOCKER_TYPES, dynamic: "pulumi-nodejs:dynamic:Resource" } as const;

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";
const RESTART_POLICIES = ["no", "on-failure", "always", "unless-stopped"];
const MOUNT_TYPES = ["volume", "bind"];
/** Drivers whose networks are a new bridge on this machine, reachable only through links the test makes. */
const ISOLATED_NETWORK_DRIVERS = ["bridge"];
const PARENTED_NETWORK_DRIVERS = ["macvlan", "ipvlan"];

/**
 * Reads one object of inputs, remembering which keys were read; `finish` reports the rest.
 * Type mismatches and bad values are recorded as problems, never thrown, so one run lists all.
 */
class InputReader {
  private readonly readKeys = new Set<string>();

  constructor(
    private readonly values: Record<string, unknown>,
    private readonly where: string,
    private readonly problems: string[],
  ) {}

  problem(key: string, message: string): void {
    this.problems.push(`${this.where}.${key}: ${message}`);
  }

  private take(key: string): unknown {
    this.readKeys.add(key);
    return this.values[key];
  }

  private typed<T>(key: string, what: string, accepts: (value: unknown) => value is T): T | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (accepts(value)) return value;
    this.problem(key, `expected ${what}, got ${JSON.stringify(value)}`);
    return undefined;
  }

  string(key: string): string | undefined {
    return this.typed(key, "a string", (value): value is string => typeof value === "string");
  }

  /** A string the provider requires; its absence is a problem (reported as missing, mapped as ""). */
  requiredString(key: string, why: string): string {
    const value = this.string(key);
    if (value === undefined && this.values[key] === undefined) this.problem(key, `missing; ${why}`);
    return value ?? "";
  }

  boolean(key: string): boolean | undefined {
    return this.typed(key, "a boolean", (value): value is boolean => typeof value === "boolean");
  }

  number(key: string): number | undefined {
    return this.typed(key, "a number", (value): value is number => typeof value === "number");
  }

  strings(key: string): string[] | undefined {
    return this.typed(key, "a list of strings", (value): value is string[] => Array.isArray(value) && value.every((item) => typeof item === "string"));
  }

  stringMap(key: string): Record<string, string> | undefined {
    return this.typed(
      key,
      "a map of strings",
      (value): value is Record<string, string> => isRecord(value) && Object.values(value).every((item) => typeof item === "string"),
    );
  }

  /** A string that must be one of `allowed`. */
  choice(key: string, allowed: readonly string[]): string | undefined {
    const value = this.string(key);
    if (value !== undefined && !allowed.includes(value)) this.problem(key, `${JSON.stringify(value)} is not mapped; supported: ${allowed.join(", ")}`);
    return value;
  }

  /** A key whose only supported value is `expected` (other values change behaviour the mapping lacks). */
  expect(key: string, expected: unknown, why: string): void {
    const value = this.take(key);
    if (value !== undefined && value !== expected) this.problem(key, `${JSON.stringify(value)} is not supported: ${why}`);
  }

  /** A key that only matters after creation (destroy, preview, replacement triggers): read and ignored. */
  irrelevant(key: string): void {
    this.take(key);
  }

  /** `[{ label, value }]` as the provider declares labels. */
  labels(key: string): Record<string, string> | undefined {
    const entries = this.objects(
      key,
      (label) => [label.requiredString("label", "a label needs a key"), label.requiredString("value", "a label needs a value")] as const,
    );
    return entries && Object.fromEntries(entries);
  }

  object<T>(key: string, map: (reader: InputReader) => T): T | undefined {
    const value = this.typed(key, "an object", isRecord);
    return value && readAll(value, `${this.where}.${key}`, this.problems, map);
  }

  objects<T>(key: string, map: (reader: InputReader, index: number) => T): T[] | undefined {
    const value = this.typed(key, "a list of objects", (items): items is Record<string, unknown>[] => Array.isArray(items) && items.every(isRecord));
    return value?.map((item, index) => readAll(item, `${this.where}.${key}[${index}]`, this.problems, (reader) => map(reader, index)));
  }

  finish(): void {
    for (const [key, value] of Object.entries(this.values)) {
      if (!this.readKeys.has(key)) this.problem(key, `not understood by the mapping (value ${JSON.stringify(value)})`);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readAll<T>(values: Record<string, unknown>, where: string, problems: string[], map: (reader: InputReader) => T): T {
  const reader = new InputReader(values, where, problems);
  const result = map(reader);
  reader.finish();
  return result;
}

/** Drops undefined values so plans compare cleanly and requests carry only what was declared. */
function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/** The Docker name of a declared network, volume or container: its `name` input, else the mock's id. */
function declaredDockerName(resource: DeclaredResource): string {
  return typeof resource.inputs.name === "string" ? resource.inputs.name : (resource.id ?? resource.name);
}

/** Renames declared objects and references to them; anything else (an external network, a host path) is kept. */
export class DockerNames {
  private readonly declared: Record<"network" | "volume" | "container", Set<string>>;

  constructor(
    resources: readonly DeclaredResource[],
    private readonly prefix = "",
  ) {
    const namesOf = (type: string) => new Set(resources.filter((resource) => resource.type === type).map(declaredDockerName));
    this.declared = { network: namesOf(TYPES.network), volume: namesOf(TYPES.volume), container: namesOf(TYPES.container) };
  }

  /** The name a declared network, volume or container gets on the engine. */
  of(kind: "network" | "volume" | "container", name: string): string {
    return this.declared[kind].has(name) ? this.prefix + name : name;
  }
}

interface PlanContext {
  readonly options: PlanOptions;
  readonly names: DockerNames;
  readonly problems: string[];
}

export function planDockerApply(resources: readonly DeclaredResource[], options: PlanOptions): DockerStep[] {
  const context: PlanContext = { options, names: new DockerNames(resources, options.namePrefix), problems: [] };
  const steps: DockerStep[] = [];
  for (const resource of resources) {
    // Component resources have no physical id and create nothing themselves.
    if (resource.id === undefined) continue;
    // The clients' dynamic resources (QEMU processes, .vmx bundles) act on the machine running
    // Pulumi, not on the engine: a test creates them through their own provider (dynamic-provider-host.ts).
    if (resource.type.startsWith(CLIENT_DYNAMIC_TYPE_PREFIX)) continue;
    const step = readAll(resource.inputs, `${resource.type} ${resource.name}: inputs`, context.problems, (reader) => planResource(resource, reader, context));
    if (step) steps.push(step);
  }
  if (context.problems.length) throw new UnsupportedInputsError(context.problems);
  return orderSteps(steps);
}

function planResource(resource: DeclaredResource, reader: InputReader, context: PlanContext): DockerStep | undefined {
  switch (resource.type) {
    case TYPES.provider:
      return checkProvider(reader, context);
    case TYPES.network:
      return planNetwork(resource, reader, context);
    case TYPES.volume:
      return planVolume(resource, reader, context);
    case TYPES.image:
      return planImage(resource, reader, context);
    case TYPES.remoteImage:
      return planRemoteImage(resource, reader);
    case TYPES.container:
      return planContainer(resource, reader, context);
    case TYPES.dynamic:
      return planDynamic(resource, reader, context);
    default:
      context.problems.push(`${resource.type} ${resource.name}: this resource type has no mapping onto the Docker engine`);
      // Its inputs are not the point; don't list each of them too.
      for (const key of Object.keys(resource.inputs)) reader.irrelevant(key);
      return undefined;
  }
}

function checkProvider(reader: InputReader, context: PlanContext): undefined {
  const host = reader.string("host");
  const local = context.options.localDockerHost ?? DEFAULT_DOCKER_HOST;
  if (host !== undefined && host !== local) {
    reader.problem("host", `${JSON.stringify(host)} is not the local engine (${local}); the integration tests only run against the local engine`);
  }
  return undefined;
}

function planNetwork(resource: DeclaredResource, reader: InputReader, context: PlanContext): NetworkStep {
  const name = context.names.of("network", reader.string("name") ?? declaredDockerName(resource));
  const driver = reader.string("driver") ?? "bridge";
  const options = reader.stringMap("options");
  checkNetworkIsolation(reader, driver, options, context.options.macvlanParents ?? []);
  const ipamConfigs = reader.objects("ipamConfigs", (ipam) => defined({ Subnet: ipam.string("subnet"), Gateway: ipam.string("gateway") }));
  const create: Dockerode.NetworkCreateOptions = defined({
    Name: name,
    // The engine allows two networks of one name unless asked not to; the provider's would then be ambiguous.
    CheckDuplicate: true,
    Driver: driver,
    Options: options,
    IPAM: defined({ Driver: "default", Config: ipamConfigs }),
    Labels: { ...reader.labels("labels"), ...context.options.labels },
  });
  return { kind: "network", resource: resource.name, create };
}

/** Servers may only sit on networks the test controls: a new bridge, or macvlan/ipvlan on a link the test made. */
function checkNetworkIsolation(reader: InputReader, driver: string, options: Record<string, string> | undefined, allowedParents: readonly string[]): void {
  if (ISOLATED_NETWORK_DRIVERS.includes(driver)) return;
  if (!PARENTED_NETWORK_DRIVERS.includes(driver)) {
    reader.problem("driver", `${JSON.stringify(driver)} is not mapped; supported: ${[...ISOLATED_NETWORK_DRIVERS, ...PARENTED_NETWORK_DRIVERS].join(", ")}`);
    return;
  }
  const parent = options?.parent;
  if (parent === undefined || !allowedParents.includes(parent)) {
    reader.problem(
      "options.parent",
      `a ${driver} network on ${JSON.stringify(parent ?? "(none)")} would put the servers on a network the test does not own; ` +
        `override netboot-lab:network.parentInterface with a link the test created and pass it in macvlanParents`,
    );
  }
}

function planVolume(resource: DeclaredResource, reader: InputReader, context: PlanContext): VolumeStep {
  const create = defined({
    Name: context.names.of("volume", reader.string("name") ?? declaredDockerName(resource)),
    Labels: { ...reader.labels("labels"), ...context.options.labels },
  });
  return { kind: "volume", resource: resource.name, create };
}

function planImage(resource: DeclaredResource, reader: InputReader, context: PlanContext): BuildImageStep {
  const imageName = reader.requiredString("imageName", "containers refer to the image by it");
  reader.expect("skipPush", true, "the tests build locally and never push; declare skipPush: true");
  // The SDK sets it on every Image; it only matters to `pulumi preview`.
  reader.irrelevant("buildOnPreview");
  const build = reader.object("build", (build) => {
    // pulumi-docker resolves both against the program's working directory, the Dockerfile defaulting to <context>/Dockerfile.
    const contextDir = resolve(context.options.projectDir, build.string("context") ?? ".");
    const dockerfile = resolve(context.options.projectDir, build.string("dockerfile") ?? resolve(contextDir, "Dockerfile"));
    const relativeDockerfile = relative(contextDir, dockerfile);
    if (relativeDockerfile.startsWith("..") || isAbsolute(relativeDockerfile)) {
      build.problem("dockerfile", `${dockerfile} lies outside the build context ${contextDir}; the mapping sends only the context`);
    }
    return {
      contextDir,
      options: defined({
        dockerfile: relativeDockerfile,
        buildargs: { ...build.stringMap("args"), ...context.options.imageBuildArgs },
        platform: build.string("platform"),
      }),
    };
  });
  const { contextDir, options } = build ?? { contextDir: context.options.projectDir, options: { dockerfile: "Dockerfile" } };
  return { kind: "build-image", resource: resource.name, context: contextDir, build: { ...options, t: imageName, labels: { ...context.options.labels } } };
}

function planRemoteImage(resource: DeclaredResource, reader: InputReader): LocalImageStep {
  const imageName = reader.requiredString("name", "a RemoteImage names the image to use");
  // The tests never remove images, so how the provider would remove this one does not matter.
  reader.irrelevant("keepLocally");
  return { kind: "local-image", resource: resource.name, imageName };
}

function planContainer(resource: DeclaredResource, reader: InputReader, context: PlanContext): ContainerStep {
  const { names } = context;
  const name = names.of("container", reader.string("name") ?? declaredDockerName(resource));
  const image = reader.requiredString("image", "a container needs an image");
  const capabilities = reader.object("capabilities", (caps) => ({ add: caps.strings("adds"), drop: caps.strings("drops") }));
  const create = {
    name,
    ...defined({
      Image: image,
      // An argument naming a declared container (the keeper's --pod) follows its renaming.
      Cmd: reader.strings("command")?.map((argument) => names.of("container", argument)),
      Entrypoint: reader.strings("entrypoints"),
      Hostname: reader.string("hostname"),
      StopSignal: reader.string("stopSignal"),
      Labels: { ...reader.labels("labels"), ...context.options.labels },
    }),
    HostConfig: defined({
      NetworkMode: planNetworkMode(reader, names),
      CapAdd: capabilities?.add,
      CapDrop: capabilities?.drop,
      SecurityOpt: reader.strings("securityOpts"),
      // The provider's defaults for settings no component declares.
      Privileged: false,
      ReadonlyRootfs: false,
      Init: false,
      RestartPolicy: { Name: reader.choice("restart", RESTART_POLICIES) ?? "no", MaximumRetryCount: 0 },
      Tmpfs: reader.stringMap("tmpfs"),
      Sysctls: reader.stringMap("sysctls"),
      Mounts: reader.objects("mounts", (mount) => planMount(mount, context)),
      LogConfig: defined({ Type: "json-file", Config: reader.stringMap("logOpts") }),
    }),
  };
  return {
    kind: "container",
    resource: resource.name,
    create,
    networks: reader.objects("networksAdvanced", (network) => planAttachment(network, names)) ?? [],
    uploads: reader.objects("uploads", (upload) => planUpload(upload, context.options.projectDir)) ?? [],
    start: true,
    mustRun: reader.boolean("mustRun") ?? true,
    attach: reader.boolean("attach") ?? false,
    logs: reader.boolean("logs") ?? false,
  };
}

/** BootImageBuild's inputs: the engine must be the local one, the volume is renamed, the test's labels are added. */
function planDynamic(resource: DeclaredResource, reader: InputReader, context: PlanContext): DynamicStep {
  const provider = reader.requiredString("__provider", "a dynamic resource carries its serialized provider");
  const dockerHost = reader.string("dockerHost");
  const local = context.options.localDockerHost ?? DEFAULT_DOCKER_HOST;
  if (dockerHost && dockerHost !== local) reader.problem("dockerHost", `${JSON.stringify(dockerHost)} is not the local engine (${local})`);
  const inputs = {
    dockerHost: dockerHost ?? "",
    sshOptions: reader.strings("sshOptions") ?? [],
    builderImage: reader.requiredString("builderImage", "the build runs in the builder image"),
    // Absent for a builder image the program does not build: the engine never sends an undefined property.
    ...defined({
      builderSource: reader.object("builderSource", (source) => ({
        context: source.requiredString("context", "the builder image's build context"),
        buildArgs: source.stringMap("buildArgs") ?? {},
        platform: source.requiredString("platform", "the builder image's platform"),
      })),
    }),
    toolImage: reader.requiredString("toolImage", "refresh and delete run in it"),
    bootTreeVolume: context.names.of("volume", reader.requiredString("bootTreeVolume", "the build writes into the boot-tree volume")),
    bootTreePath: reader.requiredString("bootTreePath", "the volume's mount point"),
    mediaPath: reader.requiredString("mediaPath", "uploads land there, and delete removes the image's folder of it"),
    imageName: reader.requiredString("imageName", "the image's folder"),
    command: reader.strings("command") ?? [],
    media:
      reader.objects("media", (file) => ({
        localPath: file.requiredString("localPath", "the file to upload"),
        containerPath: file.requiredString("containerPath", "where it lands"),
        sha256: file.string("sha256"),
        size: file.number("size"),
      })) ?? [],
    generated:
      reader.objects("generated", (file) =>
        defined({
          containerPath: file.requiredString("containerPath", "where it lands"),
          localPath: file.string("localPath"),
          content: file.string("content"),
        }),
      ) ?? [],
    contentHash: reader.requiredString("contentHash", "the build reruns when it changes"),
    labels: { ...reader.stringMap("labels"), ...context.options.labels },
  };
  // Outputs the provider fills in.
  reader.irrelevant("buildLog");
  reader.irrelevant("uploaded");
  return { kind: "dynamic", resource: resource.name, provider, inputs };
}

/** The provider always sends a network mode: its schema's default is `bridge` (left at once for `networksAdvanced`). */
function planNetworkMode(reader: InputReader, names: DockerNames): string {
  const mode = reader.string("networkMode") ?? "bridge";
  if (mode === "host") {
    reader.problem("networkMode", `"host" would put the servers on the machine's own interfaces; the tests never do that`);
    return "none";
  }
  const joined = mode?.match(/^container:(.+)$/)?.[1];
  return joined ? `container:${names.of("container", joined)}` : mode;
}

function planAttachment(network: InputReader, names: DockerNames): NetworkAttachment {
  const name = network.requiredString("name", "name the network to join");
  const ipv4Address = network.string("ipv4Address");
  return { network: names.of("network", name), endpoint: defined({ IPAMConfig: ipv4Address ? { IPv4Address: ipv4Address } : undefined }) };
}

/** Volumes are renamed with the lab; the one host path a test container may bind is the local engine's socket (the keeper's). */
function planMount(mount: InputReader, context: PlanContext): Dockerode.MountSettings {
  const type = (mount.choice("type", MOUNT_TYPES) as Dockerode.MountType | undefined) ?? "volume";
  const target = mount.requiredString("target", "a mount needs a path in the container");
  const source = mount.string("source");
  if (type === "bind") {
    const engineSocket = (context.options.localDockerHost ?? DEFAULT_DOCKER_HOST).replace(/^unix:\/\//, "");
    if (source !== engineSocket)
      mount.problem("source", `${JSON.stringify(source)}: the tests bind no host path but the local engine's socket (${engineSocket})`);
  }
  // The engine takes partial option objects; dockerode's types demand every field.
  return defined({
    Type: type,
    Target: target,
    Source: source === undefined || type === "bind" ? source : context.names.of("volume", source),
    ReadOnly: mount.boolean("readOnly"),
  }) as Dockerode.MountSettings;
}

/** As the provider uploads: one tar entry per file, owned by root, 0644 (0744 when executable). */
function planUpload(upload: InputReader, projectDir: string): Upload {
  const path = upload.requiredString("file", "an upload needs a path in the container");
  if (path && !path.startsWith("/")) upload.problem("file", `${JSON.stringify(path)} must be an absolute path in the container`);
  const content = upload.string("content");
  const source = upload.string("source");
  if ((content === undefined) === (source === undefined)) upload.problem("content", "exactly one of content and source must be set");
  // Only forces a replacement when the source file changes.
  upload.irrelevant("sourceHash");
  return {
    path,
    mode: upload.boolean("executable") ? 0o744 : 0o644,
    uid: 0,
    gid: 0,
    content: source !== undefined ? { sourcePath: resolve(projectDir, source) } : Buffer.from(content ?? "", "utf8"),
  };
}

/**
 * Networks, volumes and images first, then containers in declaration order, except that a
 * container joining another's network namespace comes after it.
 */
function orderSteps(steps: readonly DockerStep[]): DockerStep[] {
  const rank: Record<DockerStep["kind"], number> = { network: 0, volume: 1, "build-image": 2, "local-image": 2, dynamic: 3, container: 4 };
  const infrastructure = steps.filter((step) => step.kind !== "container").sort((a, b) => rank[a.kind] - rank[b.kind]);
  return [...infrastructure, ...orderContainers(steps.filter((step): step is ContainerStep => step.kind === "container"))];
}

function containerDependencies(step: ContainerStep): string[] {
  const joined = step.create.HostConfig.NetworkMode?.match(/^container:(.+)$/)?.[1];
  return joined ? [joined] : [];
}

function orderContainers(containers: readonly ContainerStep[]): ContainerStep[] {
  const byName = new Map(containers.map((step) => [step.create.name, step]));
  const ordered: ContainerStep[] = [];
  const visiting = new Set<ContainerStep>();
  const visit = (step: ContainerStep) => {
    if (ordered.includes(step)) return;
    if (visiting.has(step)) throw new UnsupportedInputsError([`${step.resource}: containers join each other's namespaces in a cycle`]);
    visiting.add(step);
    for (const dependency of containerDependencies(step)) {
      const other = byName.get(dependency);
      if (other) visit(other);
    }
    visiting.delete(step);
    ordered.push(step);
  };
  containers.forEach(visit);
  return ordered;
}
