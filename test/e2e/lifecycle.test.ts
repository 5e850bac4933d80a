/**
 * The life of a deployed lab, step by step as pulumi-eks and pulumi-awsx prove theirs: the kvm
 * stack (its three boot images and its guests, declared but not started) goes up on the local
 * Docker engine through the lifecycle engine (test/support/lab-engine.ts), which diffs, reads
 * and replaces as the real engine and docker provider do; then a refresh and a preview of the
 * unchanged program must find nothing to do, and each kind of change must touch exactly the
 * resources the README's lifecycle section names. The project runs from a copy, so a step can
 * edit a CLI source file without touching the repository.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStackConfigMap, stackFilePath, type LabConfigInput } from "../../lib/model";
import { changeDetails, changeLines, LabEngine, type EngineRun, type ResourceChange } from "../support/lab-engine";
import { labPlacement } from "../support/lab-servers";
import { PROJECT_DIR } from "../support/pulumi-harness";
import { GUEST_RUN_DIR_PREFIX } from "../support/qemu";
import { dockerObjectsOf, testRunId } from "../support/test-run";

type ClientInput = NonNullable<LabConfigInput["clients"]>[number];
type BootImageInput = NonNullable<LabConfigInput["bootImages"]>[number];

const placement = labPlacement("lifecycle", 218);
const { net, server, bridge, prefix, labels } = placement;
const runDir = mkdtempSync(join(tmpdir(), `${GUEST_RUN_DIR_PREFIX}${testRunId()}-lifecycle-`));
const projectCopy = mkdtempSync(join(tmpdir(), "netboot-lab-lifecycle-project-"));
const stackConfig = readStackConfigMap(stackFilePath(PROJECT_DIR, "kvm"));

/** The kvm stack's clients on this run's subnet; declared, never started, so no guest competes with the builds for the CPU. */
const stackClients = (stackConfig["netboot-lab:clients"] as ClientInput[]).map((client) => ({
  ...client,
  ...(client.ipv4 ? { ipv4: `${net}.${client.ipv4.split(".")[3]}` } : {}),
  autostart: false,
}));
const stackImages = stackConfig["netboot-lab:bootImages"] as BootImageInput[];
const addedClient = { name: "bios-ipxe-2", mac: "52:54:00:77:00:20", firmware: "bios", bootImage: "linux-ipxe", autostart: false };

const config = (clients: readonly Record<string, unknown>[], bootImages: readonly Record<string, unknown>[] = stackImages, serverAddress = server) => ({
  configOverrides: {
    "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress, bridge },
    "netboot-lab:docker": { baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm", namePrefix: prefix },
    "netboot-lab:qemu": { accel: "tcg", runDir, stopTimeoutSeconds: 2 },
    "netboot-lab:clients": clients,
    "netboot-lab:bootImages": bootImages,
  },
});

const unchanged = config(stackClients);
const withAddedClient = config([...stackClients, addedClient]);
/** linux-ipxe with one more kernel argument: a change of that boot image alone. */
const withChangedImage = config(
  [...stackClients, addedClient],
  stackImages.map((image) => (image.name === "linux-ipxe" ? { ...image, linux: { cmdline: "console=ttyS0 netboot-lab.test=1" } } : image)),
);

/** The lab's servers on another address of the subnet: the pod owns the address. */
const withMovedServer = config([...stackClients, addedClient], withChangedImage.configOverrides["netboot-lab:bootImages"], `${net}.3`);

/** And linux-grub with one more kernel argument. */
const withMovedServerAndImage = config(
  [...stackClients, addedClient],
  withMovedServer.configOverrides["netboot-lab:bootImages"].map((image) =>
    image.name === "linux-grub" ? { ...image, linux: { cmdline: "console=ttyS0 netboot-lab.test=2" } } : image,
  ),
  `${net}.3`,
);

const engine = new LabEngine({ stack: "kvm", labels, projectDir: projectCopy });
let firstUp: EngineRun;

const builderImage = () => String(engine.resource("nbl-kvm-builder-image").inputs.imageName);

/** Runs the preview, then the up, of one change: both must name exactly `expected`, and a preview after it nothing. */
async function change(options: ReturnType<typeof config>, expected: string[]): Promise<EngineRun> {
  expectChanges((await engine.preview(options)).changes, expected, "the preview");
  const applied = await engine.up(options);
  expectChanges(applied.changes, expected, "the up");
  expectChanges([...(await engine.refresh()), ...(await engine.preview(options)).changes], [], "refresh and preview after the up");
  return applied;
}

/** The exact set of changes, with the fields behind each in the message when it differs. */
function expectChanges(changes: readonly ResourceChange[], expected: readonly string[], what: string): void {
  expect(changeLines(changes), `${what}: ${changeDetails(changes)}`).toEqual([...expected].sort());
}

beforeAll(async () => {
  // The project as a user has it, without its history, results and dependencies (linked, not copied).
  cpSync(PROJECT_DIR, projectCopy, {
    recursive: true,
    filter: (source) => !/\/(node_modules|\.git|test-results|\.netboot-lab)(\/|$)/.test(source.slice(PROJECT_DIR.length)),
  });
  symlinkSync(join(PROJECT_DIR, "node_modules"), join(projectCopy, "node_modules"));
  mkdirSync(join(projectCopy, "dist"), { recursive: true });
  await execa("node", ["scripts/build-cli.mjs", "--quiet"], { cwd: projectCopy });
  firstUp = await engine.up(unchanged);
}, 1_800_000);

afterAll(async () => {
  try {
    await engine.destroy();
  } finally {
    rmSync(projectCopy, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
}, 600_000);

describe("an unchanged lab stays untouched", () => {
  it("the first up creates every resource the program declares, and nothing else", () => {
    const declared = firstUp.run.resources.filter((resource) => resource.id !== undefined).map((resource) => `create ${resource.name}`);
    expect(changeLines(firstUp.changes)).toEqual(declared.sort());
    expect(firstUp.changes.every((change) => change.op === "create")).toBe(true);
  });

  it("a refresh reads every resource back from the engine and finds it as up left it", async () => {
    expectChanges(await engine.refresh(), [], "the refresh");
  });

  it("a preview of the unchanged program proposes no create, update, replace or delete", async () => {
    expectChanges((await engine.preview(unchanged)).changes, [], "the preview");
  });

  it("an up of the unchanged program changes nothing: every container keeps its id", async () => {
    const containerIds = () =>
      engine
        .resources()
        .filter((entry) => entry.type === "docker:index/container:Container")
        .map((entry) => `${entry.name} ${entry.id}`);
    const before = containerIds();
    expectChanges((await engine.up(unchanged)).changes, [], "the up");
    expect(containerIds()).toEqual(before);
  });
});

describe("a change touches only what depends on it", () => {
  it("adding a client replaces only dhcpd's container (its config names the client) and creates the client", async () => {
    const applied = await change(withAddedClient, ["replace nbl-kvm-dhcpd", `create nbl-kvm-${addedClient.name}-qemu`]);
    const dhcpdConf = String((applied.run.outputs.configs as Record<string, string>)["dhcpd/dhcpd.conf"]);
    expect(dhcpdConf).toContain(addedClient.mac);
  });

  it("changing one boot image reruns only its build; no daemon is replaced", async () => {
    await change(withChangedImage, ["update nbl-kvm-linux-ipxe-build"]);
  });

  it("moving the server address replaces the pod, and with it every daemon in its namespace, now joined to the new pod's id", async () => {
    const oldPod = engine.resource("nbl-kvm-pod").id;
    await change(withMovedServer, [
      "replace nbl-kvm-pod",
      ...["dhcpd", "tftp", "nfs", "http", "radvd"].map((role) => `replace nbl-kvm-${role}`),
      // Their payloads name the server: iPXE and GRUB fetch over HTTP from it, the NFS root is on it.
      ...stackImages.filter((image) => image.kind !== "pxelinux").map((image) => `update nbl-kvm-${image.name}-build`),
    ]);
    const pod = engine.resource("nbl-kvm-pod").id;
    expect(pod).not.toBe(oldPod);
    for (const role of ["dhcpd", "tftp", "nfs", "http", "radvd"]) {
      const { stdout } = await execa("docker", ["inspect", "-f", "{{.HostConfig.NetworkMode}} {{.State.Running}}", engine.resource(`nbl-kvm-${role}`).id]);
      expect(stdout, role).toBe(`container:${pod} true`);
    }
  });

  it("editing a CLI source file that no daemon or build runs rebuilds no boot image and replaces no container", async () => {
    const watchCommand = join(projectCopy, "cli", "commands", "watch.ts");
    // A statement with an effect, so no bundler can drop it: the CLI that users run changes.
    writeFileSync(watchCommand, `${readFileSync(watchCommand, "utf8")}\nprocess.env.NETBOOT_LAB_LIFECYCLE_EDIT ??= "watch";\n`);
    await execa("node", ["scripts/build-cli.mjs", "--quiet"], { cwd: projectCopy });
    expect(readFileSync(join(projectCopy, "dist", "netboot-lab.cjs"), "utf8")).toContain("NETBOOT_LAB_LIFECYCLE_EDIT");
    expectChanges((await engine.preview(withMovedServer)).changes, [], "the preview");
    expectChanges((await engine.up(withMovedServer)).changes, [], "the up");
  });

  it("with the builder image deleted from the engine (docker image prune -a), refresh and up change nothing, and the next boot image change builds it again first", async () => {
    await execa("docker", ["rmi", "--force", builderImage()]);
    expectChanges(await engine.refresh(), [], "the refresh");
    expectChanges((await engine.up(withMovedServer)).changes, [], "the up");
    // The docker provider's image read never looks at the engine, so only the build that needs it can notice.
    await change(withMovedServerAndImage, ["update nbl-kvm-linux-grub-build"]);
    expect(String(engine.resource("nbl-kvm-linux-grub-build").outputs.buildLog)).toMatch(/built boot image/);
    await execa("docker", ["image", "inspect", builderImage()]);
  });

  it("destroy, without the builder image, removes every resource and leaves nothing of the lab on the engine", async () => {
    await execa("docker", ["rmi", "--force", builderImage()]);
    const deleted = await engine.destroy();
    expect(deleted.length).toBeGreaterThan(0);
    expect(engine.resources()).toEqual([]);
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
