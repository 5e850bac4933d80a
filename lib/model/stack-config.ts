/** Reading a lab description from a Pulumi stack file or from Pulumi's config, without Pulumi itself. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { CONFIG_KEYS, CONFIG_NAMESPACE, SECRET_CONFIG_KEYS } from "./schema";
import { LabConfigError, type ConfigProblem } from "./errors";
import { probeHostInterface } from "./host-interface";
import { vncPasswordProblems } from "../client/fusion";
import { validateLab, type LabModel, type ValidateOptions } from "./validate";

/** Folder of the per-stack files, as Pulumi.yaml's `stackConfigDir` names it. */
export const STACKS_DIR = "stacks";

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, STACKS_DIR, `Pulumi.${stack}.yaml`);
}

/** The `config:` map of a stack file, keys as written (`netboot-lab:network`, …). */
export function readStackConfigMap(path: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = load(readFileSync(path, "utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new LabConfigError([{ field: "(file)", message: `cannot read ${path}: ${reason}` }], path);
  }
  const config = (document as { config?: unknown } | null)?.config;
  if (config === undefined || config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new LabConfigError([{ field: "config", message: `${path} has no "config:" map; see stacks/Pulumi.kvm.yaml for an example` }], path);
  }
  return config as Record<string, unknown>;
}

/** Collects the lab keys from a config source into the raw object validateLab expects. */
export function labConfigFrom(get: (key: string) => unknown): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = get(key);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

/** Keys the program reads with `config.get` (a plain string); every other key is read with `config.getObject`. */
const STRING_KEYS: ReadonlySet<string> = new Set<(typeof CONFIG_KEYS)[number]>(["mediaDir"]);

/**
 * The lab keys as the stack program reads them from Pulumi's config, which hands every value
 * over as text: `mediaDir` as it is, every other key parsed as JSON, as `config.getObject`
 * does. So a key stored as a JSON string (what `pulumi config set netboot-lab:docker '{…}'`
 * writes) means the same as the YAML structure. Text that is not JSON is a LabConfigError
 * naming the key, where `getObject` would throw a bare type error.
 */
export function labConfigFromEngine(get: (key: string) => string | undefined, source = "stack config"): Record<string, unknown> {
  const problems: ConfigProblem[] = [];
  const raw = labConfigFrom((key) => {
    const text = get(key);
    if (text === undefined || STRING_KEYS.has(key)) return text;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      problems.push({
        field: key,
        message: `is the text ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}, not JSON; write it as YAML in the stack file, or set it with pulumi config set ${CONFIG_NAMESPACE}:${key} '<JSON>'`,
      });
      return undefined;
    }
  });
  if (problems.length) throw new LabConfigError(problems, source);
  return raw;
}

/** Pulumi's form of an encrypted value in a stack file: `{ secure: "v1:…" }`. */
function isSecureValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { secure?: unknown }).secure === "string"
  );
}

/** Field paths of every `secure:` value in a stack-file value, nested ones included (`pulumi config set --path --secret`). */
function securePaths(value: unknown, path: string): string[] {
  if (isSecureValue(value)) return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => securePaths(item, `${path}[${index}]`));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([key, item]) => securePaths(item, `${path}.${key}`));
  return [];
}

/** A stack-file value as the engine passes it to the program: strings as written, everything else as JSON. */
export function engineConfigText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Validation as `pulumi up` and `render` run it: a bridge name is checked against this machine's interfaces. */
const ON_THIS_MACHINE: ValidateOptions = { hostInterface: probeHostInterface };

/**
 * Reads and validates `stacks/Pulumi.<stack>.yaml` the way the stack program reads it under
 * `pulumi up` (labFromEngineConfig): keys without a namespace belong to the project
 * (`netboot-lab`), values reach the program as text and structured keys are parsed as JSON.
 * Encrypted (`secure:`) values are recognised and reported: only the Pulumi CLI can decrypt
 * them. Throws LabConfigError naming the file.
 */
export function loadStackLab(projectDir: string, stack: string, options: ValidateOptions = ON_THIS_MACHINE): LabModel {
  const path = stackFilePath(projectDir, stack);
  return withSecretsChecked(validateLab(readLabConfig(path), path, options), namespacedStackConfig(path), path);
}

/**
 * The stack program's reading of its config: `config` is every key the engine passes
 * (`pulumi.runtime.allConfig()`: namespaced keys, text values, secrets decrypted).
 */
export function labFromEngineConfig(config: Readonly<Record<string, string>>, source: string, options: ValidateOptions = ON_THIS_MACHINE): LabModel {
  return withSecretsChecked(validateLab(labConfigFromStack(config, source), source, options), config, source);
}

/**
 * The rules on the secrets, which the model never holds: whether a secret is set is known from
 * its key alone, encrypted or not, so `render` (which cannot decrypt it) and the program refuse
 * the same stacks. A Fusion client's VNC server needs `netboot-lab:vncPassword`.
 */
function withSecretsChecked(lab: LabModel, config: Readonly<Record<string, unknown>>, source: string): LabModel {
  const problems = vncPasswordProblems(lab.clients, config[`${CONFIG_NAMESPACE}:vncPassword`] !== undefined);
  if (problems.length) throw new LabConfigError(problems, source);
  return lab;
}

/** A stack file's config with every key namespaced (`network` → `netboot-lab:network`), as the engine passes it. */
function namespacedStackConfig(path: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(readStackConfigMap(path)).map(([key, value]) => [key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`, value]));
}

/**
 * The lab keys of a stack file (`netboot-lab:*` without the prefix) as the program receives them
 * under `pulumi up`, unvalidated; the keys labConfigFromStack refuses and encrypted values are errors.
 */
export function readLabConfig(path: string): Record<string, unknown> {
  const map = namespacedStackConfig(path);
  // Secret keys (the VNC password) are the program's to decrypt; they are never part of the model.
  const modelKeys = Object.keys(map).filter((key) => (CONFIG_KEYS as readonly string[]).includes(key.slice(CONFIG_NAMESPACE.length + 1)));
  const secrets = modelKeys.flatMap((key) => securePaths(map[key], key.slice(CONFIG_NAMESPACE.length + 1)));
  const encrypted = secrets.map((field) => ({
    field,
    message:
      "is an encrypted value (secure:), which only the Pulumi CLI decrypts, so netboot-lab does not read it here; " +
      `only ${SECRET_CONFIG_KEYS.map((key) => `${CONFIG_NAMESPACE}:${key}`).join(", ")} may be secret: store this one in plain text (pulumi config set without --secret)`,
  }));
  return labConfigFromStack(Object.fromEntries(Object.entries(map).map(([key, value]) => [key, engineConfigText(value)])), path, encrypted);
}

/**
 * The lab keys of a stack's whole config (namespaced keys, text values, as the engine passes
 * them), unvalidated. What the program reads and what `render` reads agree key for key, so both
 * refuse the same keys: an unknown `netboot-lab:` key, and any `docker:` key. Pulumi's docker
 * provider would take those as its default settings and move the lab's containers, while the
 * boot-image builds reach the engine on a connection of their own (netboot-lab:docker.host), so
 * the lab would be split across two engines. `more` adds problems the caller found first.
 */
export function labConfigFromStack(config: Readonly<Record<string, string>>, source: string, more: readonly ConfigProblem[] = []): Record<string, unknown> {
  const known: readonly string[] = [...CONFIG_KEYS, ...SECRET_CONFIG_KEYS];
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(config)) {
    if (key.startsWith(`${CONFIG_NAMESPACE}:`) && !known.includes(key.slice(CONFIG_NAMESPACE.length + 1))) {
      problems.push({ field: key, message: `unknown key; the lab reads ${known.map((name) => `${CONFIG_NAMESPACE}:${name}`).join(", ")}` });
    }
    if (key.startsWith("docker:")) {
      problems.push({
        field: key,
        message: `is a setting of Pulumi's docker provider, which the lab does not take: its boot-image builds reach Docker on a connection of their own, so the lab would end up on two engines; name the lab's Docker host with netboot-lab:docker.host (netboot-lab:docker: {host: ssh://user@host}) and remove ${key}`,
      });
    }
  }
  problems.push(...more);
  if (problems.length) throw new LabConfigError(problems, source);
  return labConfigFromEngine((key) => config[`${CONFIG_NAMESPACE}:${key}`], source);
}
