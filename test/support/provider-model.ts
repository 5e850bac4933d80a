/**
 * What @pulumi/docker 5.2.0 does on `pulumi refresh` and `pulumi preview` for the resources the
 * lab declares, as pure functions: the state its read builds from the engine's answer
 * (terraform-provider-docker v4.5.0, which the provider bridges: resourceDockerContainerRead,
 * the network and volume reads; pulumi-docker's own Image, whose read returns the state as it
 * was), and the diff of declared inputs against that state, field by field, with the schema's
 * ForceNew, Computed and Default markings. The lifecycle engine (lab-engine.ts) runs them
 * against a real Docker engine; their own tests pin each rule to what the provider does.
 *
 * Only fields some resource of the lab declares are modelled. Any other declared field is an
 * error, so a component that starts declaring one extends this model (with the provider's rule)
 * before a test can pass on a guess.
 */
import type Dockerode from "dockerode";

type Properties = Record<string, unknown>;

/** How one input field behaves: which change replaces the resource, and what the provider fills in. */
interface FieldRule {
  /** A change replaces the resource (ForceNew); otherwise it is an in-place update. */
  readonly replaces: boolean;
  /** `set`: order does not matter (TypeSet); `list`: it does; `scalar` and `map` compare as values. */
  readonly kind: "scalar" | "list" | "set" | "map";
  /** Computed: when the program leaves it out, whatever the read found stands. */
  readonly computed?: boolean;
  /** Default: what an absent input means. */
  readonly default?: unknown;
  /** For sets of objects: members whose absence in the declaration leaves the provider's value standing (a Computed nested field). */
  readonly computedMembers?: readonly string[];
}

const replaces = (kind: FieldRule["kind"], extra: Partial<FieldRule> = {}): FieldRule => ({ replaces: true, kind, ...extra });
const updates = (kind: FieldRule["kind"], extra: Partial<FieldRule> = {}): FieldRule => ({ replaces: false, kind, ...extra });

/** docker_container's schema for the fields the lab declares. */
const CONTAINER_FIELDS: Record<string, FieldRule> = {
  name: replaces("scalar"),
  image: replaces("scalar"),
  hostname: replaces("scalar", { computed: true }),
  command: replaces("list", { computed: true }),
  entrypoints: replaces("list", { computed: true }),
  restart: updates("scalar", { default: "no" }),
  maxRetryCount: updates("scalar"),
  // A block of two sets (adds, drops): order within each does not matter.
  capabilities: replaces("map"),
  securityOpts: replaces("set", { computed: true }),
  // Not ForceNew in the provider's schema, and its update never touches it.
  tmpfs: updates("map"),
  mounts: replaces("set"),
  uploads: replaces("set"),
  labels: replaces("set", { computed: true }),
  logDriver: replaces("scalar", { computed: true }),
  logOpts: replaces("map"),
  networkMode: replaces("scalar", { default: "bridge" }),
  networksAdvanced: replaces("set"),
  sysctls: replaces("map"),
  stopSignal: replaces("scalar", { computed: true }),
  init: updates("scalar", { computed: true }),
  mustRun: updates("scalar", { default: true }),
  start: updates("scalar", { default: true }),
  attach: updates("scalar", { default: false }),
  logs: updates("scalar", { default: false }),
};

const NETWORK_FIELDS: Record<string, FieldRule> = {
  name: replaces("scalar"),
  driver: replaces("scalar", { computed: true }),
  options: replaces("map", { computed: true }),
  // Docker picks the gateway when none is declared; the provider then keeps the one it found.
  ipamConfigs: replaces("set", { computedMembers: ["gateway"] }),
  labels: replaces("set", { computed: true }),
};

const VOLUME_FIELDS: Record<string, FieldRule> = {
  name: replaces("scalar", { computed: true }),
  labels: replaces("set", { computed: true }),
  driver: replaces("scalar", { computed: true }),
};

export const DOCKER_TYPES = {
  provider: "pulumi:providers:docker",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
} as const;

const FIELDS: Record<string, Record<string, FieldRule>> = {
  [DOCKER_TYPES.container]: CONTAINER_FIELDS,
  [DOCKER_TYPES.network]: NETWORK_FIELDS,
  [DOCKER_TYPES.volume]: VOLUME_FIELDS,
};

export type Change = "same" | "update" | "replace";

export interface FieldDiff {
  readonly change: Change;
  /** The fields that differ (`capabilities`, `mounts`, …), for a test's message. */
  readonly fields: readonly string[];
  /** Of those, the ones that force replacement. */
  readonly replaceFields: readonly string[];
  /** A dynamic provider's diff asked for the old resource to go before its replacement is created. */
  readonly deleteBeforeReplace?: boolean;
}

/** Marks a value the program did not know at preview time (an output of a resource being created or replaced). */
export interface UnknownChecker {
  (value: unknown): boolean;
}

/**
 * The bridged provider's diff of a Network, Volume or Container: each declared field against the
 * state the last create or refresh left. An unknown declared value counts as a change (the
 * engine shows it as one in a preview).
 */
export function diffBridged(type: string, declared: Properties, state: Properties, isUnknown: UnknownChecker): FieldDiff {
  const fields = FIELDS[type];
  if (!fields) throw new Error(`${type}: no field rules in test/support/provider-model.ts`);
  const unmodelled = Object.keys(declared).filter((key) => !(key in fields));
  if (unmodelled.length) {
    throw new Error(
      `${type}: the program declares ${unmodelled.join(", ")}, which test/support/provider-model.ts does not model; add the provider's rule for it`,
    );
  }
  const changed: string[] = [];
  for (const [field, rule] of Object.entries(fields)) {
    // The provider stores a default in the state when it creates the resource, as if declared.
    const value = declared[field] ?? rule.default;
    const stateValue = state[field] ?? rule.default;
    if (value === undefined && (rule.computed || isZero(stateValue))) continue;
    if (containsUnknown(value, isUnknown) || !sameValue(rule, value, stateValue)) changed.push(field);
  }
  const replaceFields = changed.filter((field) => fields[field]!.replaces);
  return { change: replaceFields.length ? "replace" : changed.length ? "update" : "same", fields: changed, replaceFields };
}

function containsUnknown(value: unknown, isUnknown: UnknownChecker): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some((item) => containsUnknown(item, isUnknown));
  if (isRecord(value)) return Object.values(value).some((item) => containsUnknown(item, isUnknown));
  return false;
}

function sameValue(rule: FieldRule, declared: unknown, state: unknown): boolean {
  switch (rule.kind) {
    case "scalar":
      return (isZero(declared) && isZero(state)) || declared === state;
    case "list":
      return canonical(declared ?? []) === canonical(state ?? []);
    case "map":
      return canonical(withoutZeros(sortedLists(declared))) === canonical(withoutZeros(sortedLists(state)));
    case "set": {
      const declaredMembers = asArray(declared).map(withoutZeros);
      // A nested Computed field no declared member sets keeps whatever the provider found: it is no difference.
      const undeclared = (rule.computedMembers ?? []).filter((key) => declaredMembers.every((member) => !isRecord(member) || member[key] === undefined));
      const stateMembers = asArray(state)
        .map(withoutZeros)
        .map((member) => (isRecord(member) ? Object.fromEntries(Object.entries(member).filter(([key]) => !undeclared.includes(key))) : member));
      const members = (list: unknown[]) => JSON.stringify(list.map(canonical).sort());
      return members(declaredMembers) === members(stateMembers);
    }
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

/** The provider's zero values (false, 0, "", empty list or map) stand for "not set". */
function isZero(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === false ||
    value === 0 ||
    value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (isRecord(value) && Object.keys(value).length === 0)
  );
}

function withoutZeros(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutZeros);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, member]) => !isZero(member))
      .map(([key, member]) => [key, withoutZeros(member)]),
  );
}

/** A map's list members sorted: in the fields of kind "map" they are sets (capabilities' adds and drops). */
function sortedLists(value: unknown): unknown {
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, Array.isArray(member) ? [...member].map(String).sort() : member]));
}

/** JSON with object keys sorted, so equal values print alike. */
export function canonical(value: unknown): string {
  const sortKeys = (item: unknown): unknown =>
    Array.isArray(item)
      ? item.map(sortKeys)
      : isRecord(item)
        ? Object.fromEntries(
            Object.keys(item)
              .sort()
              .map((key) => [key, sortKeys(item[key])]),
          )
        : item;
  return JSON.stringify(sortKeys(value));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `[{ label, value }]`, the provider's shape for labels, from the engine's map less the labels the test harness adds. */
function labelSet(labels: Record<string, string> | null | undefined, harnessLabels: Readonly<Record<string, string>>): { label: string; value: string }[] {
  return Object.entries(labels ?? {})
    .filter(([key]) => !(key in harnessLabels))
    .map(([label, value]) => ({ label, value }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * The state resourceDockerContainerRead leaves: what it sets from `docker inspect`, over the
 * prior state for what it does not read (labels, uploads, networks once set, start, attach,
 * logs). Capabilities come back as the engine stores them, with the CAP_ prefix; the network
 * mode `container:<name>` comes back with the container's id. A container that stopped while
 * it must run reads back `mustRun: false`, which the next update starts again.
 */
export function readContainer(inspect: Dockerode.ContainerInspectInfo, prior: Properties): Properties {
  const { Config: config, HostConfig: host } = inspect;
  const state: Properties = {
    ...prior,
    name: inspect.Name.replace(/^\//, ""),
    image: config.Image,
    hostname: config.Hostname,
    command: config.Cmd ?? [],
    entrypoints: config.Entrypoint ?? [],
    securityOpts: host.SecurityOpt ?? [],
    restart: host.RestartPolicy?.Name ?? "no",
    maxRetryCount: host.RestartPolicy?.MaximumRetryCount ?? 0,
    init: (host as { Init?: boolean | null }).Init ?? false,
    mounts: (host.Mounts ?? []).map((mount) => ({ target: mount.Target, source: mount.Source, type: mount.Type, readOnly: mount.ReadOnly ?? false })),
    tmpfs: host.Tmpfs ?? {},
    logDriver: host.LogConfig?.Type ?? "",
    // Read only when the program declared log options.
    logOpts: prior.logOpts === undefined ? undefined : (host.LogConfig?.Config ?? {}),
    networkMode: host.NetworkMode ?? "",
    sysctls: (host as { Sysctls?: Record<string, string> }).Sysctls ?? {},
    stopSignal: (config as { StopSignal?: string }).StopSignal ?? "",
  };
  const adds = host.CapAdd ?? [];
  const drops = host.CapDrop ?? [];
  if (adds.length || drops.length) state.capabilities = { ...(adds.length ? { adds } : {}), ...(drops.length ? { drops } : {}) };
  if (!inspect.State.Running && prior.mustRun !== false) state.mustRun = false;
  return withoutUndefined(state);
}

export function readNetwork(inspect: Dockerode.NetworkInspectInfo, prior: Properties, harnessLabels: Readonly<Record<string, string>>): Properties {
  return withoutUndefined({
    ...prior,
    name: inspect.Name,
    driver: inspect.Driver,
    options: inspect.Options ?? {},
    labels: labelSet(inspect.Labels, harnessLabels),
    ipamConfigs: (inspect.IPAM?.Config ?? []).map((config) =>
      withoutUndefined({ subnet: config.Subnet, gateway: config.Gateway, ipRange: (config as { IPRange?: string }).IPRange }),
    ),
  });
}

export function readVolume(inspect: Dockerode.VolumeInspectInfo, prior: Properties, harnessLabels: Readonly<Record<string, string>>): Properties {
  return withoutUndefined({ ...prior, name: inspect.Name, driver: inspect.Driver, labels: labelSet(inspect.Labels, harnessLabels) });
}

function withoutUndefined(properties: Properties): Properties {
  return Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined));
}

/**
 * pulumi-docker's own Image: its check adds `build.contextDigest` (a hash of the build context),
 * its diff compares the inputs so completed with the old ones (any change rebuilds, in place),
 * and its read returns the state as it was: an image removed from the engine goes unnoticed.
 */
export function diffImage(declared: Properties, oldInputs: Properties): FieldDiff {
  const fields = [...new Set([...Object.keys(declared), ...Object.keys(oldInputs)])].filter((key) => canonical(declared[key]) !== canonical(oldInputs[key]));
  return { change: fields.length ? "update" : "same", fields, replaceFields: [] };
}
