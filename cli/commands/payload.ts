import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildPayload, parsePayloadSpec } from "../../lib/boot-image";
import { checkOutputPath, CliError, inContext, type Command } from "../cli-error";

const USAGE = "payload build --spec FILE --out DIR";

/** The BootImage builder container's entry point: builds one boot image into the mounted boot tree. */
export const payloadCommand: Command = {
  usage: USAGE,
  actions: { build: USAGE },
  summary: "build one boot image's files (loaders, kernel + initrd, NetBoot image) from a payload spec into the boot tree DIR",
  async run(args) {
    const [, ...rest] = args;
    const { values } = parseArgs({ args: rest, options: { spec: { type: "string" }, out: { type: "string" } }, strict: true });
    if (!values.spec) throw new CliError("payload build: --spec FILE is required (the JSON the BootImage component uploads)", 2);
    if (!values.out) throw new CliError("payload build: --out DIR is required (the boot tree, e.g. the mounted boot-tree volume)", 2);
    const specPath = resolve(values.spec);
    const outDir = resolve(values.out);
    checkOutputPath("payload build", "--out", outDir, "folder");
    let text: string;
    try {
      text = readFileSync(specPath, "utf8");
    } catch (error) {
      throw new CliError(`payload build: cannot read --spec ${specPath}: ${(error as Error).message}`);
    }
    try {
      const spec = parsePayloadSpec(text, specPath);
      const result = buildPayload(spec, outDir);
      const bootFiles = Object.entries(spec.bootFiles.files).map(([requester, file]) => `  ${requester}: ${file}`);
      // The builder never holds media in memory (inputs are hard-linked); its peak shows that in every build log.
      const peak = `  builder peak memory: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`;
      const lines = [`built boot image ${spec.image.name} (${result.files.length} files):`, ...result.notes.map((note) => `  ${note}`), ...bootFiles, peak];
      process.stdout.write(`${lines.join("\n")}\n`);
    } catch (error) {
      throw inContext("payload build", error);
    }
    return 0;
  },
};
