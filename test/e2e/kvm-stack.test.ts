/**
 * End to end: the whole kvm stack (stacks/Pulumi.kvm.yaml, its real boot images and clients)
 * realized on the local Docker engine the way `pulumi up` would: the program under Pulumi's
 * mocks, its Docker resources applied to the engine, and each client's QemuProcess created by
 * Pulumi's own dynamic-provider host, which starts QEMU (software emulation) on the lab
 * bridge. Every guest must netboot to its final marker; the serial logs, per-stage timings and
 * a capture of the lab bridge land in test-results/e2e/. Afterwards nothing of the lab remains, even when a boot failed.
 *
 * Only the lab's addresses and names are randomized (bridge, subnet, Docker names, run folder),
 * so parallel runs and the real nblab0 are never touched.
 */
import { randomBytes, randomInt } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tapName } from "../../lib/client/qemu";
import { readStackConfigMap, stackFilePath, type LabConfigInput } from "../../lib/model";
import { BOOTED_MARKER, NFS_ROOT_MARKER } from "../../lib/pxe";
import {
  bootSerialPatterns,
  bootTimeline,
  E2E_RESULTS_DIR,
  recordBootTimings,
  watchSerialLog,
  type BootTimeline,
  type SerialWatch,
} from "../support/boot-timeline";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { startDynamicProviderHost, type DynamicProviderHost } from "../support/dynamic-provider-host";
import { captureOn, type Capture, type Frame } from "../support/pcap";
import { PROJECT_DIR, runStack, type DeclaredResource } from "../support/pulumi-harness";
import { GUEST_RUN_DIR_PREFIX } from "../support/qemu";
import { dockerObjectsOf, testCaseLabels, testRunId } from "../support/test-run";

const id = randomBytes(3).toString("hex");
const net = `10.216.${randomInt(0, 256)}`;
const server = `${net}.2`;
const bridge = `nbtbr${id}`;
const labels = testCaseLabels(`e2e-${id}`);
const runDir = mkdtempSync(join(tmpdir(), `${GUEST_RUN_DIR_PREFIX}${testRunId()}-e2e-`));
const resultsDir = E2E_RESULTS_DIR;
const QEMU_PROCESS = "pulumi-nodejs:dynamic/client:QemuProcess";
const BOOT_TIMEOUT_MS = 240_000;

type ClientInput = NonNullable<LabConfigInput["clients"]>[number];
/** The kvm stack's own clients, moved onto this run's subnet. */
const stackClients = (readStackConfigMap(stackFilePath(PROJECT_DIR, "kvm"))["netboot-lab:clients"] as ClientInput[]).map((client) => ({
  ...client,
  ...(client.ipv4 ? { ipv4: `${net}.${client.ipv4.split(".")[3]}` } : {}),
}));

interface StackClientOutput {
  name: string;
  mac: string;
  ipv4?: string;
  bootFile: string;
  rootPath?: string;
  serialLog: string;
}

interface Created {
  readonly resource: DeclaredResource;
  readonly id: string;
  readonly state: Record<string, unknown>;
}

let lab: AppliedLab | undefined;
let host: DynamicProviderHost | undefined;
let capture: Capture | undefined;
let frames: Frame[] | undefined;
let outputs: Record<string, unknown> = {};
let qemuResources: DeclaredResource[] = [];
const created: Created[] = [];
const boots = new Map<string, { startedMs: number; serial: SerialWatch }>();
const timings: Record<string, BootTimeline> = {};

const urnOf = (resource: DeclaredResource) => `urn:pulumi:kvm::netboot-lab::${resource.type}::${resource.name}`;
const clientOutputs = () => outputs.clients as StackClientOutput[];

beforeAll(async () => {
  mkdirSync(resultsDir, { recursive: true });
  // Only this run's own files: other e2e files leave theirs beside them.
  for (const client of stackClients) rmSync(join(resultsDir, `${client.name}.log`), { force: true });
  const run = await runStack("kvm", {
    configOverrides: {
      "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge },
      "netboot-lab:docker": { baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm" },
      // TCG explicitly: the targets are for software emulation, whatever this machine's KVM can do.
      "netboot-lab:qemu": { accel: "tcg", runDir, stopTimeoutSeconds: 2 },
      "netboot-lab:clients": stackClients,
    },
  });
  outputs = run.outputs;
  qemuResources = run.resources.filter((resource) => resource.type === QEMU_PROCESS);
  // Every Docker name gets this run's prefix, the one-shot build containers' too: other runs share the engine.
  lab = await applyToDocker(run.resources, { labels, namePrefix: `nbt${id}-` });
  // Kept with the logs: every DHCP, TFTP, HTTP and NDP exchange of the boots, for a look with tcpdump -r.
  capture = await captureOn(bridge, join(resultsDir, "lab-bridge.pcap"));
  host = await startDynamicProviderHost({ env: process.env });
}, 1_200_000);

/** Removes the guests through their provider's delete, then the Docker objects; safe to call twice. */
async function teardown(): Promise<void> {
  const failures: unknown[] = [];
  for (const guest of created.splice(0).reverse()) {
    await host!.delete(urnOf(guest.resource), guest.id, guest.state).catch((error: unknown) => failures.push(error));
  }
  await host?.stop();
  host = undefined;
  if (capture) frames = await capture.stop();
  capture = undefined;
  await lab?.teardown().catch((error: unknown) => failures.push(error));
  if (failures.length) throw new AggregateError(failures, `teardown failed: ${failures.map(String).join("; ")}`);
}

afterAll(async () => {
  try {
    await teardown();
  } finally {
    // The timings are worth keeping even when a boot failed: they show where it stalled.
    for (const [name, boot] of boots)
      timings[name] = bootTimeline(frames ?? [], clientOutputs().find((client) => client.name === name)!.mac, boot.startedMs, boot.serial);
    recordBootTimings("kvm", { accel: "tcg", clients: timings });
    rmSync(runDir, { recursive: true, force: true });
  }
});

/** Creates the client's QemuProcess as the engine would and follows its serial log to its final marker. */
async function bootClient(name: string): Promise<{ client: StackClientOutput; serial: SerialWatch }> {
  const client = clientOutputs().find((candidate) => candidate.name === name)!;
  const resource = qemuResources.find((candidate) => candidate.parent === `nbl-kvm-${name}`)!;
  const marker = client.rootPath ? NFS_ROOT_MARKER : BOOTED_MARKER;
  const startedMs = Date.now();
  const { id: resourceId, properties: state } = await host!.create(urnOf(resource), resource.inputs);
  created.push({ resource, id: resourceId, state });
  const serial = await watchSerialLog(client.serialLog, bootSerialPatterns(marker), "marker", BOOT_TIMEOUT_MS);
  boots.set(name, { startedMs, serial });
  if (existsSync(client.serialLog)) copyFileSync(client.serialLog, join(resultsDir, `${name}.log`));
  return { client, serial };
}

describe("pulumi up of the kvm stack boots every guest", () => {
  it("builds every boot image (a failed build fails the update, and the setup above)", () => {
    const builds = Object.values(lab!.dynamicResults);
    expect(builds).toHaveLength(3);
    for (const build of builds) expect(String(build.outs.buildLog)).toMatch(/built boot image/);
  });

  it("declares one QemuProcess per client, on this run's bridge, started by up", () => {
    expect(qemuResources.map((resource) => resource.parent).sort()).toEqual(stackClients.map((client) => `nbl-kvm-${client.name}`).sort());
    for (const resource of qemuResources) expect(resource.inputs).toMatchObject({ bridge, start: true, tap: tapName(bridge, String(resource.inputs.client)) });
  });

  it.each(stackClients.map((client) => client.name))(
    "%s: an address from the lab's dhcpd, the kernel, its root where declared, and its final marker",
    async (name) => {
      const { client, serial } = await bootClient(name);
      const address = client.ipv4?.replace(/\./g, "\\.") ?? `${net.replace(/\./g, "\\.")}\\.\\d+`;
      expect(serial.text).toMatch(/Linux version \d/);
      expect(serial.text).toMatch(new RegExp(`${BOOTED_MARKER} image=\\S+ ip=${address}\\b`));
      if (client.rootPath) {
        expect(serial.text).toMatch(new RegExp(`netboot-lab: NFS root mounted: ${client.rootPath} /mnt nfs4? ro[,\\s]`));
        expect(serial.text).toMatch(new RegExp(`${NFS_ROOT_MARKER} ${client.rootPath} netboot-lab NFS root of boot image`));
      }
      expect(serial.firstSeen.marker, `no final marker within ${BOOT_TIMEOUT_MS / 1000} s; serial log:\n${serial.text.slice(-3000)}`).toBeDefined();
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});

describe("pulumi destroy", () => {
  it("leaves no QEMU process, tap, container, network or volume of the lab", async () => {
    await teardown();
    const qemuProcesses = readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(runDir);
        } catch {
          return false;
        }
      });
    expect(qemuProcesses).toEqual([]);
    expect(stackClients.map((client) => tapName(bridge, client.name)).filter((tap) => existsSync(`/sys/class/net/${tap}`))).toEqual([]);
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
    expect((await execa("ip", ["netns", "list"])).stdout).not.toContain(id);
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });

  it("the DHCP answers came from the lab's server with the address each guest reported, and its router solicitations were answered", () => {
    for (const [name, boot] of boots) {
      const client = clientOutputs().find((candidate) => candidate.name === name)!;
      const timeline = bootTimeline(frames ?? [], client.mac, boot.startedMs, boot.serial);
      const reported = new RegExp(`${BOOTED_MARKER} image=\\S+ ip=(\\S+)`).exec(boot.serial.text)?.[1];
      expect(timeline.dhcpAck, name).toEqual({ yiaddr: reported, server });
      expect(timeline.stages.firstBootFileRequest, name).not.toBeNull();
      // radvd on the lab bridge answered: iPXE's wait for an IPv6 router is over at once.
      if (timeline.routerSolicitations > 0) expect(timeline.routerAdvertisements, name).toBeGreaterThan(0);
    }
  });
});
