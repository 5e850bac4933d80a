import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeNbi } from "../../lib/darwin/nbi";
import { NBI_FILES, bootImageSchema, darwinRootPath, httpBaseUrl, NIC_MODELS, type NicModel } from "../../lib/model";
import { buildDarwinMkexts, checkClientNics, requireUserFile } from "../../lib/boot-image";
import { checkOutputPath, CliError, inContext, type Command } from "../cli-error";

const USAGE =
  "nbi build --out DIR --name NAME --booter FILE --kernel FILE --extensions PATH... --root-image FILE --server IP " +
  "[--protocol nfs|http] [--export PATH] [--http-url URL] [--served-as PATH] [--pxe-booter FILE] [--description TEXT] [--index N] " +
  "[--boot-arg ARG...] [--no-verbose] [--serial] [--debug 0xFLAGS] [--format 1|2] [--arch i386|x86_64] " +
  "[--local-root] [--no-network-root] [--safe-boot] [--kext PATH...] [--nic MODEL]";

const OPTIONS = {
  out: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  index: { type: "string" },
  booter: { type: "string" },
  "pxe-booter": { type: "string" },
  kernel: { type: "string" },
  extensions: { type: "string", multiple: true },
  kext: { type: "string", multiple: true },
  "root-image": { type: "string" },
  protocol: { type: "string", default: "nfs" },
  server: { type: "string" },
  export: { type: "string", default: "/netboot" },
  "http-url": { type: "string" },
  "served-as": { type: "string" },
  "boot-arg": { type: "string", multiple: true },
  "no-verbose": { type: "boolean", default: false },
  serial: { type: "boolean", default: false },
  debug: { type: "string" },
  format: { type: "string", default: "2" },
  arch: { type: "string", default: "i386" },
  "local-root": { type: "boolean", default: false },
  "no-network-root": { type: "boolean", default: false },
  "safe-boot": { type: "boolean", default: false },
  nic: { type: "string" },
} as const;

/** Flag of each schema field the flags fill, for error messages. */
const FLAG_OF_FIELD: Record<string, string> = {
  nbiName: "--name",
  description: "--description",
  index: "--index",
  booter: "--booter",
  pxeBooter: "--pxe-booter",
  kernel: "--kernel",
  extensions: "--extensions",
  rootImage: "--root-image",
  protocol: "--protocol",
  bootArgs: "--boot-arg",
  debugFlags: "--debug",
  "mkext.format": "--format",
  "mkext.arch": "--arch",
  "mkext.kexts": "--kext",
};

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>["values"];

function required(values: Values, flag: "out" | "name" | "booter" | "kernel" | "root-image" | "server", what: string): string {
  const value = values[flag];
  if (!value) throw new CliError(`nbi build: --${flag} is required (${what})`, 2);
  return value;
}

/** The flags as a darwin-nbi boot image, validated by the same schema as a stack's bootImages entry. */
function imageFromFlags(values: Values) {
  const folderName = required(values, "name", "the image name; the folder is NAME.nbi");
  const raw = {
    // The stack-style identifier only seeds the default BSDP index; the folder keeps the name as given.
    name: `nbi-${folderName.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`.slice(0, 31),
    nbiName: folderName,
    kind: "darwin-nbi",
    ...(values.description ? { description: values.description } : {}),
    ...(values.index ? { index: Number(values.index) } : {}),
    booter: resolve(required(values, "booter", "boot.efi from your Mac OS X media")),
    ...(values["pxe-booter"] ? { pxeBooter: resolve(values["pxe-booter"]) } : {}),
    kernel: resolve(required(values, "kernel", "mach_kernel from your media")),
    extensions: (values.extensions ?? []).map((path) => resolve(path)),
    rootImage: resolve(required(values, "root-image", "NetInstall.dmg or NetBoot.dmg")),
    protocol: values.protocol,
    bootArgs: values["boot-arg"] ?? [],
    verbose: !values["no-verbose"],
    serialConsole: values.serial,
    ...(values.debug ? { debugFlags: values.debug } : {}),
    mkext: {
      format: Number(values.format),
      arch: values.arch,
      localRoot: values["local-root"],
      networkRoot: !values["no-network-root"],
      safeBoot: values["safe-boot"],
      kexts: (values.kext ?? []).map((path) => resolve(path)),
    },
  };
  const parsed = bootImageSchema.safeParse(raw);
  if (!parsed.success) {
    const flag = (path: readonly PropertyKey[]) => FLAG_OF_FIELD[path.filter((part) => typeof part === "string").join(".")] ?? path.join(".");
    throw new CliError(`nbi build: ${parsed.error.issues.map((issue) => `${flag(issue.path)}: ${issue.message}`).join("; ")}`, 2);
  }
  if (parsed.data.kind !== "darwin-nbi") throw new Error("unreachable: kind is darwin-nbi");
  return parsed.data;
}

/** The root path a stack's image gets (lib/model's darwinRootPath), for the server the flags name. */
function rootPathFromFlags(values: Values, protocol: "nfs" | "http", servedAs: string, rootImage: string): string {
  const server = required(values, "server", "the NFS/HTTP server's address the client mounts its root from");
  const httpUrl = (values["http-url"] ?? httpBaseUrl(server, 80)).replace(/\/+$/, "");
  return darwinRootPath(protocol, { serverAddress: server, nfsExportPath: values.export, httpBaseUrl: httpUrl }, servedAs, rootImage);
}

function parseNic(text: string | undefined): NicModel | undefined {
  if (text === undefined) return undefined;
  if (!(NIC_MODELS as readonly string[]).includes(text))
    throw new CliError(`nbi build: --nic ${text} is not a known NIC model; use one of ${NIC_MODELS.join(", ")}`, 2);
  return text as NicModel;
}

/** Builds the image the flags describe; NIC check first, so a failing check writes nothing. */
function buildNbi(values: Values): void {
  const outDir = resolve(required(values, "out", "the folder that receives NAME.nbi"));
  checkOutputPath("nbi build", "--out", outDir, "folder");
  const nic = parseNic(values.nic);
  if (!values.extensions?.length)
    throw new CliError("nbi build: --extensions PATH is required (System/Library/Extensions or single .kext bundles; repeat the flag)", 2);
  const image = imageFromFlags(values);
  const files = { booter: image.booter, kernel: image.kernel, rootImage: image.rootImage, pxeBooter: image.pxeBooter };
  for (const [flag, path] of [
    ["--booter", files.booter],
    ["--kernel", files.kernel],
    ["--root-image", files.rootImage],
    ["--pxe-booter", files.pxeBooter],
  ] as const) {
    if (path) requireUserFile(path, flag, "give the path of the file copied from your Mac OS X media");
  }
  const folder = `${image.nbiName ?? image.name}.nbi`;
  const rootPath = rootPathFromFlags(values, image.protocol, values["served-as"] ?? folder, image.rootImage);

  const { mkexts, kexts } = buildDarwinMkexts(image, process.cwd());
  if (nic) {
    const [check] = checkClientNics(image, mkexts, [{ name: "--nic", nic }]);
    process.stdout.write(`NIC check (${nic}): ${check!.message}\n`);
    if (!check!.ok) {
      throw new CliError(
        `nbi build: not writing ${folder}: no driver for ${nic}; build with network-root drivers (the default; drop --no-network-root) or add the driver with --kext`,
        3,
      );
    }
  }
  const written = writeNbi({ nbiDir: resolve(outDir, folder), image, files, mkexts, rootPath });
  process.stdout.write(
    [
      `built ${resolve(outDir, folder)} (${kexts.length} kexts in ${NBI_FILES.booterDir}/${NBI_FILES.mkext})`,
      `  root path: ${rootPath}`,
      ...written.map((file) => `  ${file}`),
      "",
    ].join("\n"),
  );
}

export const nbiCommand: Command = {
  usage: USAGE,
  actions: { build: USAGE },
  summary: "build a NetBoot image folder NAME.nbi (booter, kernel, mkext, plists, root image) from your own Mac OS X files",
  async run(args) {
    const { values } = parseArgs({ args: args.slice(1), options: OPTIONS, strict: true });
    try {
      buildNbi(values);
    } catch (error) {
      throw inContext("nbi build", error);
    }
    return 0;
  },
};
