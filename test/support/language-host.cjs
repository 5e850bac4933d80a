// Runs the stack program through Pulumi's own language-host entry point (@pulumi/pulumi/cmd/run,
// what `pulumi up` starts), with the settings Pulumi.yaml gives it (TypeScript through ts-node
// and tsconfig.pulumi.json), against Pulumi's mocks instead of an engine. Outside vitest on
// purpose: it proves the program loads the way the real language host loads it.
// Usage: node language-host.cjs PROJECT_DIR STACK [CONFIG_OVERRIDES_JSON]
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const { engineConfig, mergeConfig, mockResource, readProject } = require("./engine-mocks.cjs");

const [projectDir, stack, overridesJson] = process.argv.slice(2);
const fromProject = (name) => require(path.join(projectDir, "node_modules", name));
const pulumi = fromProject("@pulumi/pulumi");
const yaml = fromProject("js-yaml");

const project = readProject(projectDir);
const stackFile = yaml.load(fs.readFileSync(path.join(projectDir, project.stackConfigDir, `Pulumi.${stack}.yaml`), "utf8"));
pulumi.runtime.setAllConfig(engineConfig(mergeConfig(stackFile.config, JSON.parse(overridesJson || "{}")), project.name));

const declared = [];
pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      declared.push(`${args.type} ${args.name}`);
      return mockResource(args);
    },
    call: (args) => {
      throw new Error(`no mock for the invoke ${args.token}; add one to test/support/engine-mocks.cjs`);
    },
  },
  project.name,
  stack,
  false,
);

// The language host turns Pulumi.yaml's runtime options into these variables.
const { runtime } = yaml.load(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8"));
process.env.PULUMI_NODEJS_TYPESCRIPT = String(runtime.options.typescript);
process.env.PULUMI_NODEJS_TSCONFIG_PATH = runtime.options.tsconfig;
// Peak memory too: the program hashes the user's media, which must not cost memory in proportion.
process.on("exit", () => process.stdout.write(`${JSON.stringify({ declared, maxRssKiB: process.resourceUsage().maxRSS })}\n`));
// cmd/run parses process.argv as the language host passes it; the monitor address is never
// dialled because the mocks stand in for it.
process.argv = [process.argv[0], "run", "--monitor=127.0.0.1:1", `--project=${project.name}`, `--stack=${stack}`, `--pwd=${projectDir}`, "."];
require(path.join(projectDir, "node_modules", "@pulumi", "pulumi", "cmd", "run"));
