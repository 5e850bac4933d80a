import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { probeQemuHost } from "../../lib/client/qemu-host";
import { renderClientFiles } from "../../lib/client/render";
import { loadStackLab } from "../../lib/model";
import { renderLabFiles } from "../../lib/render-lab";
import { notOnKea } from "../../lib/servers/kea";
import { checkOutputPath, CliError, inContext, type Command } from "../cli-error";

export const renderCommand: Command = {
  usage: "render --stack NAME --out DIR [--project DIR]",
  summary:
    "validate stacks/Pulumi.NAME.yaml and write every rendered config (dhcpd/dhcpd.conf, kea/kea-dhcp4.conf, …), lab.json and each client's clients/NAME.qemu.sh or clients/NAME.vmx to DIR",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { stack: { type: "string" }, out: { type: "string" }, project: { type: "string", default: "." } },
      strict: true,
    });
    if (!values.stack) throw new CliError("render: --stack NAME is required (a stack file stacks/Pulumi.NAME.yaml)", 2);
    if (!values.out) throw new CliError("render: --out DIR is required", 2);
    const projectDir = resolve(values.project);
    const outDir = resolve(values.out);
    checkOutputPath("render", "--out", outDir, "folder");
    const lab = loadStackLab(projectDir, values.stack);
    try {
      // Relative QEMU run folders resolve from the project folder, as they do for `pulumi up` there.
      for (const file of [...renderLabFiles(lab), ...renderClientFiles(lab, projectDir, probeQemuHost())]) {
        const target = join(outDir, file.path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, file.content);
        if ("executable" in file && file.executable) chmodSync(target, 0o755);
      }
    } catch (error) {
      throw inContext("render", error);
    }
    process.stdout.write(`rendered stack ${values.stack} into ${outDir}\n`);
    // Both DHCP configs are written whichever the stack runs: say what a move to Kea gives up.
    process.stdout.write(`not on Kea (kea/kea-dhcp4.conf):\n${notOnKea(lab).map((item) => `  - ${item}\n`).join("")}`);
    return 0;
  },
};
