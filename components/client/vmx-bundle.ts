/**
 * A VMware Fusion VM bundle (`<folder>/<name>.vmwarevm/<name>.vmx`) written as a real file by a
 * dynamic provider, started and stopped through `vmrun` where VMware Fusion is installed.
 *
 * The provider is serialized into the stack's state and run by the engine in another process:
 * it captures only plain data and the small pure functions below, and loads `node:fs`,
 * `node:path` and execa inside each method (../shared/docs/pulumi-typescript-notes.md).
 *
 * The .vmx may hold a VNC password, so the text never leaves the inputs (which are always a
 * secret, encrypted in state): outputs carry paths, flags and the names of the keys written.
 * VMware adds its own keys to a .vmx when it opens one (uuid, nvram, …); diff and update judge
 * only the lines this resource wrote and keep the ones VMware added.
 */
import * as pulumi from "@pulumi/pulumi";

export interface VmxBundleArgs {
  /** Folder the bundle goes in (a stack setting; the other helper resolves its default). An absolute path. */
  readonly folder: pulumi.Input<string>;
  /** Writes `<folder>/<name>.vmwarevm/<name>.vmx`. Letters, digits, space, `.`, `_`, `-`; starts with a letter or digit. */
  readonly name: pulumi.Input<string>;
  /** The rendered .vmx; a Pulumi secret when it holds a VNC password (the resource makes it one either way). */
  readonly vmxText: pulumi.Input<string>;
  /** Start through `vmrun` when it is installed (default true). */
  readonly start?: pulumi.Input<boolean>;
  /**
   * Names of further files VMware writes into the bundle for this VM, such as the serial log
   * when it lies there; delete removes them with the bundle. Default none.
   */
  readonly generatedFiles?: pulumi.Input<pulumi.Input<string>[]>;
}

/** What the provider receives: VmxBundleArgs resolved. */
interface BundleInputs {
  readonly folder: string;
  readonly name: string;
  readonly vmxText: string;
  readonly start: boolean;
  readonly generatedFiles: string[];
}

/** What the provider records in state; never the .vmx text. */
interface BundleState {
  readonly folder: string;
  readonly name: string;
  readonly start: boolean;
  readonly generatedFiles: string[];
  readonly vmxPath: string;
  readonly bundlePath: string;
  readonly started: boolean;
  readonly howToStart: string;
  /** Lower-case keys of the lines this resource wrote, so a later update knows which lines are VMware's. */
  readonly managedKeys: string[];
  /** Whether create made the bundle folder; only then may delete remove it. */
  readonly createdBundle: boolean;
}

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");

/** Pulumi's marker for a value not known until apply (runtime/rpc `unknownValue`). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Where VMware Fusion keeps vmrun; it is not on PATH unless the user puts it there. */
const FUSION_VMRUN = "/Applications/VMware Fusion.app/Contents/Library/vmrun";

/** Soft stop asks the guest through VMware Tools; a netbooted guest often has none, so it fails or hangs. */
const SOFT_STOP_TIMEOUT_MS = 60_000;

function bundlePathOf(path: Path, folder: string, name: string): string {
  return path.join(folder, `${name}.vmwarevm`);
}

function vmxPathOf(path: Path, folder: string, name: string): string {
  return path.join(bundlePathOf(path, folder, name), `${name}.vmx`);
}

function textLines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line))
    .filter((line) => line !== "");
}

/** The key of a `key = "value"` line, lower-cased as VMware compares keys. */
function lineKey(line: string): string | undefined {
  const end = line.indexOf(" = ");
  return end > 0 ? line.slice(0, end).toLowerCase() : undefined;
}

function keysOf(vmxText: string): string[] {
  return textLines(vmxText).flatMap((line) => lineKey(line) ?? []);
}

/** Whether the file holds every line of vmxText and no other value for a key this resource wrote before. */
function fileMatches(onDisk: string, vmxText: string, previouslyManaged: readonly string[]): boolean {
  const diskLines = textLines(onDisk);
  const diskSet = new Set(diskLines);
  const wanted = new Set(textLines(vmxText));
  const managed = new Set(previouslyManaged);
  if (![...wanted].every((line) => diskSet.has(line))) return false;
  return diskLines.every((line) => {
    const key = lineKey(line);
    return key === undefined || !managed.has(key) || wanted.has(line);
  });
}

/** vmxText followed by the lines VMware added to the file on disk (keys neither resource version wrote). */
function mergedText(onDisk: string | undefined, vmxText: string, previouslyManaged: readonly string[]): string {
  const ours = new Set([...previouslyManaged, ...keysOf(vmxText)]);
  const vmwareLines =
    onDisk === undefined
      ? []
      : textLines(onDisk).filter((line) => {
          const key = lineKey(line);
          return key !== undefined && !ours.has(key);
        });
  const base = vmxText.endsWith("\n") ? vmxText : `${vmxText}\n`;
  return base + vmwareLines.map((line) => `${line}\n`).join("");
}

function readIfExists(fs: Fs, file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Writes through a temporary file and a rename, so VMware never reads half a .vmx; only the owner may read it (VNC password). */
function writeVmx(fs: Fs, file: string, text: string): void {
  const temporary = `${file}.netboot-lab-tmp`;
  fs.writeFileSync(temporary, text, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

function isExecutable(fs: Fs, file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findVmrun(fs: Fs, path: Path): string | undefined {
  const onPath = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => path.join(dir, "vmrun"));
  return [...onPath, FUSION_VMRUN].find((candidate) => isExecutable(fs, candidate));
}

async function vmrun(command: string, args: string[], timeout?: number): Promise<string> {
  const { execa } = require("execa") as typeof import("execa");
  const result = await execa(command, ["-T", "fusion", ...args], { timeout });
  return result.stdout;
}

/** `vmrun list` prints a count line, then the .vmx path of every running VM. */
async function isRunning(command: string, vmxPath: string): Promise<boolean> {
  const listing = await vmrun(command, ["list"]);
  return textLines(listing)
    .slice(1)
    .some((line) => line.trim() === vmxPath);
}

async function stopVm(command: string, vmxPath: string): Promise<void> {
  try {
    await vmrun(command, ["stop", vmxPath, "soft"], SOFT_STOP_TIMEOUT_MS);
  } catch {
    await vmrun(command, ["stop", vmxPath, "hard"]);
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function howToStartText(vmrunPath: string | undefined, bundlePath: string, vmxPath: string): string {
  if (vmrunPath) return `${shellQuote(vmrunPath)} -T fusion start ${shellQuote(vmxPath)} nogui`;
  if (process.platform === "darwin") return `open ${shellQuote(bundlePath)}`;
  return `vmrun -T fusion start ${shellQuote(vmxPath)} nogui  (on the Mac running VMware Fusion; vmrun is in ${shellQuote(FUSION_VMRUN.slice(0, -"/vmrun".length))})`;
}

/** Files VMware itself writes into a bundle: logs, NVRAM, snapshot and team metadata, Fusion's window state and preview. */
function isVmwareFile(fileName: string, vmName: string, generatedFiles: readonly string[]): boolean {
  const own = [`${vmName}.nvram`, `${vmName}.vmsd`, `${vmName}.vmxf`, `${vmName}.plist`, "vmware.log", "quicklook-cache.png", ".DS_Store"];
  return own.includes(fileName) || /^vmware-[0-9]+\.log$/.test(fileName) || generatedFiles.includes(fileName);
}

/** Removes the bundle folder when it holds nothing but files VMware wrote; anything else (a disk, a user's file) keeps it. */
function removeBundleIfOnlyVmwareFiles(fs: Fs, path: Path, bundlePath: string, vmName: string, generatedFiles: readonly string[]): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = fs.readdirSync(bundlePath, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (!entries.every((entry) => entry.isFile() && isVmwareFile(entry.name, vmName, generatedFiles))) return;
  for (const entry of entries) fs.unlinkSync(path.join(bundlePath, entry.name));
  fs.rmdirSync(bundlePath);
}

function isKnown(value: unknown): boolean {
  return value !== UNKNOWN;
}

const vmxBundleProvider: pulumi.dynamic.ResourceProvider<BundleInputs, BundleState> = {
  async check(_olds: BundleInputs, news: BundleInputs) {
    const path = process.getBuiltinModule("node:path") as Path;
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (isKnown(news.folder) && !path.isAbsolute(news.folder))
      failures.push({ property: "folder", reason: `"${news.folder}" is not an absolute path; give the folder as /Users/<you>/…` });
    if (isKnown(news.name) && !/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(news.name)) {
      failures.push({
        property: "name",
        reason: `"${news.name}" cannot name a bundle; use letters, digits, space, '.', '_' or '-', starting with a letter or digit`,
      });
    }
    if (Array.isArray(news.generatedFiles)) {
      for (const file of news.generatedFiles) {
        if (isKnown(file) && (file.includes("/") || file === "" || file === "." || file === "..")) {
          failures.push({ property: "generatedFiles", reason: `"${file}" is not a file name inside the bundle` });
        }
      }
    }
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: BundleState, news: BundleInputs) {
    const fs = process.getBuiltinModule("node:fs") as Fs;
    const replaces = (["folder", "name"] as const).filter((key) => olds[key] !== news[key]);
    if (replaces.length) return { changes: true, replaces: [...replaces] };
    if (olds.start !== news.start || JSON.stringify(olds.generatedFiles) !== JSON.stringify(news.generatedFiles)) return { changes: true };
    if (!isKnown(news.vmxText)) return { changes: true };
    const onDisk = readIfExists(fs, olds.vmxPath);
    return { changes: onDisk === undefined || !fileMatches(onDisk, news.vmxText, olds.managedKeys) };
  },

  async create(inputs: BundleInputs) {
    const fs = process.getBuiltinModule("node:fs") as Fs;
    const path = process.getBuiltinModule("node:path") as Path;
    const bundlePath = bundlePathOf(path, inputs.folder, inputs.name);
    const vmxPath = vmxPathOf(path, inputs.folder, inputs.name);
    if (fs.existsSync(vmxPath)) {
      throw new Error(`${vmxPath} already exists and this stack did not write it; move it away (or delete it if it is a leftover) and run the update again`);
    }
    const createdBundle = !fs.existsSync(bundlePath);
    fs.mkdirSync(bundlePath, { recursive: true });
    writeVmx(fs, vmxPath, inputs.vmxText);
    const vmrunPath = findVmrun(fs, path);
    let started = false;
    if (inputs.start && vmrunPath) {
      try {
        await vmrun(vmrunPath, ["start", vmxPath, "nogui"]);
        started = true;
      } catch (error) {
        // Leave nothing behind that the state would not know about.
        fs.rmSync(vmxPath, { force: true });
        if (createdBundle) removeBundleIfOnlyVmwareFiles(fs, path, bundlePath, inputs.name, inputs.generatedFiles);
        throw error;
      }
    }
    const state: BundleState = {
      folder: inputs.folder,
      name: inputs.name,
      start: inputs.start,
      generatedFiles: inputs.generatedFiles,
      vmxPath,
      bundlePath,
      started,
      howToStart: howToStartText(vmrunPath, bundlePath, vmxPath),
      managedKeys: keysOf(inputs.vmxText),
      createdBundle,
    };
    return { id: vmxPath, outs: state };
  },

  async update(_id: string, olds: BundleState, news: BundleInputs) {
    const fs = process.getBuiltinModule("node:fs") as Fs;
    const path = process.getBuiltinModule("node:path") as Path;
    const vmrunPath = findVmrun(fs, path);
    const onDisk = readIfExists(fs, olds.vmxPath);
    let running = vmrunPath !== undefined && (await isRunning(vmrunPath, olds.vmxPath));
    if (onDisk === undefined || !fileMatches(onDisk, news.vmxText, olds.managedKeys)) {
      // A running VM keeps its old settings and writes them back when it stops: stop it first.
      if (running) {
        await stopVm(vmrunPath!, olds.vmxPath);
        running = false;
      }
      fs.mkdirSync(olds.bundlePath, { recursive: true });
      writeVmx(fs, olds.vmxPath, mergedText(onDisk, news.vmxText, olds.managedKeys));
    }
    if (news.start && vmrunPath && !running) {
      await vmrun(vmrunPath, ["start", olds.vmxPath, "nogui"]);
      running = true;
    }
    const state: BundleState = {
      ...olds,
      start: news.start,
      generatedFiles: news.generatedFiles,
      started: running,
      howToStart: howToStartText(vmrunPath, olds.bundlePath, olds.vmxPath),
      managedKeys: keysOf(news.vmxText),
    };
    return { outs: state };
  },

  async delete(_id: string, olds: BundleState) {
    const fs = process.getBuiltinModule("node:fs") as Fs;
    const path = process.getBuiltinModule("node:path") as Path;
    const vmrunPath = findVmrun(fs, path);
    if (vmrunPath && (await isRunning(vmrunPath, olds.vmxPath))) await stopVm(vmrunPath, olds.vmxPath);
    fs.rmSync(olds.vmxPath, { force: true });
    if (olds.createdBundle) removeBundleIfOnlyVmwareFiles(fs, path, olds.bundlePath, olds.name, olds.generatedFiles);
  },
};

/** A Fusion VM bundle holding the client's .vmx; replaced when its folder or name changes. */
export class VmxBundle extends pulumi.dynamic.Resource {
  declare public readonly vmxPath: pulumi.Output<string>;
  declare public readonly bundlePath: pulumi.Output<string>;
  /** True when the VM was started (or found running) through vmrun. */
  declare public readonly started: pulumi.Output<boolean>;
  /** How to open/start the VM by hand when vmrun is absent (e.g. `open "<bundle>"` on macOS, or `vmrun -T fusion start "<vmx>" nogui`). */
  declare public readonly howToStart: pulumi.Output<string>;

  constructor(name: string, args: VmxBundleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      vmxBundleProvider,
      name,
      {
        folder: args.folder,
        name: args.name,
        vmxText: pulumi.secret(args.vmxText),
        start: args.start ?? true,
        generatedFiles: args.generatedFiles ?? [],
        vmxPath: undefined,
        bundlePath: undefined,
        started: undefined,
        howToStart: undefined,
      },
      opts,
      "client",
      "VmxBundle",
    );
  }
}
