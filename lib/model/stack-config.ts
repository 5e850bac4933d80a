/** Reading a lab description from a Pulumi stack file or from Pulumi's config, without Pulumi itself. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { CONFIG_KEYS, CONFIG_NAMESPACE, SECRET_CONFIG_KEYS } from "./schema";
import { LabConfigError } from "./errors";
import { validateLab, type LabModel } from "./validate";

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

/** Reads and validates `stacks/Pulumi.<stack>.yaml`; throws LabConfigError naming the file. */
export function loadStackLab(projectDir: string, stack: string): LabModel {
  const path = stackFilePath(projectDir, stack);
  const map = readStackConfigMap(path);
  const known: readonly string[] = [...CONFIG_KEYS, ...SECRET_CONFIG_KEYS];
  const unknownKeys = Object.keys(map).filter((key) => key.startsWith(`${CONFIG_NAMESPACE}:`) && !known.includes(key.slice(CONFIG_NAMESPACE.length + 1)));
  if (unknownKeys.length) {
    throw new LabConfigError(
      unknownKeys.map((key) => ({ field: key, message: `unknown key; the lab reads ${known.map((name) => `${CONFIG_NAMESPACE}:${name}`).join(", ")}` })),
      path,
    );
  }
  return validateLab(labConfigFrom((key) => map[`${CONFIG_NAMESPACE}:${key}`]), path);
}
