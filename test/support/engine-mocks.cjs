// What stands in for the Pulumi engine in every test that runs the program or a component: the
// project and stack config as the engine passes them, and the ids and state the Docker provider
// reports. CommonJS, so the language-host check (plain Node, outside vitest) shares it with
// pulumi-harness.ts. Ids are what Docker accepts where the provider's real ids go: a network,
// volume or container is known by its Docker name, so `container:<id>` and volume and network
// references resolve on a real engine as they would after `pulumi up`.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const yaml = require("js-yaml");

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Pulumi.yaml's project name and stack folder. */
function readProject(projectDir) {
  const document = yaml.load(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8"));
  if (typeof document?.name !== "string") throw new Error(`${projectDir}/Pulumi.yaml has no project name`);
  return { name: document.name, stackConfigDir: typeof document.stackConfigDir === "string" ? document.stackConfigDir : "." };
}

/** Objects merge key by key, anything else replaces; `undefined` removes the key. */
function mergeConfig(base, overrides) {
  const merged = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete merged[key];
    else merged[key] = isPlainObject(value) && isPlainObject(merged[key]) ? mergeConfig(merged[key], value) : value;
  }
  return merged;
}

/** Config the way the Pulumi engine hands it to a program: namespaced keys, strings, objects as JSON. */
function engineConfig(config, projectName) {
  const engine = {};
  for (const [key, value] of Object.entries(config)) {
    if (isPlainObject(value) && "secure" in value) {
      throw new Error(`config ${key} is a secret; the harness cannot decrypt it without the Pulumi CLI: give test stacks plain values`);
    }
    engine[key.includes(":") ? key : `${projectName}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return engine;
}

const DOCKER_NAMED_TYPES = new Set(["docker:index/network:Network", "docker:index/volume:Volume", "docker:index/container:Container"]);

/**
 * Ids and state as the real provider would report them. `dynamicState` is merged into every
 * dynamic resource's state: what its provider's create returns.
 */
function mockResource(args, dynamicState = {}) {
  const inputs = args.inputs;
  if (DOCKER_NAMED_TYPES.has(args.type)) {
    const name = typeof inputs.name === "string" ? inputs.name : args.name;
    return { id: name, state: { ...inputs, name } };
  }
  if (args.type === "docker:index/image:Image") {
    const imageName = String(inputs.imageName);
    return { id: imageName, state: { ...inputs, imageName, baseImageName: imageName, repoDigest: imageName } };
  }
  if (args.type === "docker:index/remoteImage:RemoteImage") {
    const name = String(inputs.name);
    return { id: name, state: { ...inputs, imageId: name, repoDigest: name } };
  }
  if (args.type.startsWith("pulumi-nodejs:dynamic")) return { id: args.name, state: { ...inputs, ...dynamicState } };
  return { id: args.custom ? args.name : undefined, state: inputs };
}

module.exports = { readProject, mergeConfig, engineConfig, mockResource };
