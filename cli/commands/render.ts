import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadStackLab } from "../../lib/model";
import { renderLabFiles } from "../../lib/render-lab";
import { CliError, type Command } from "../cli-error";

export const renderCommand: Command = {
  usage: "render --stack NAME --out DIR [--project DIR]",
  summary: "validate stacks/Pulumi.NAME.yaml and write every rendered config (dhcpd/dhcpd.conf, …) and lab.json to DIR",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { stack: { type: "string" }, out: { type: "string" }, project: { type: "string", default: "." } },
      strict: true,
    });
    if (!values.stack) throw new CliError("render: --stack NAME is required (a stack file stacks/Pulumi.NAME.yaml)", 2);
    if (!values.out) throw new CliError("render: --out DIR is required", 2);
    const lab = loadStackLab(resolve(values.project), values.stack);
    const outDir = resolve(values.out);
    for (const file of renderLabFiles(lab)) {
      const target = join(outDir, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
    process.stdout.write(`rendered stack ${values.stack} into ${outDir}\n`);
    return 0;
  },
};
