/**
 * The end-to-end runner every stack e2e shares: a stack file's program realized on the local
 * Docker engine the way `pulumi up` would (the program under Pulumi's mocks, its Docker resources
 * applied to the engine, each client's QemuProcess created by Pulumi's own dynamic-provider host,
 * which starts QEMU under TCG on the lab bridge), its guests followed on their serial logs, and
 * everything torn down again, even when a boot failed.
 *
 * Only the lab's addresses and names are randomized (bridge, subnet, Docker names, run folder),
 * so parallel runs and the real lab bridges are never touched. Serial logs, a capture of the lab
 * bridge and the per-stage timings land in test-results/e2e/, named after the run.
 */
import { randomBytes, randomInt } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { tapName } from "../../lib/client/qemu";
import { readStackConfigMap, stackFilePath, type LabConfigInput } from "../../lib/model";
import { BOOTED_MARKER, NFS_ROOT_MARKER } from "../../lib/pxe";
import { bootSerialPatterns, bootTimeline, E2E_RESULTS_DIR, recordBootTimings, watchSerialLog, type BootTimeline, type SerialWatch } from "./boot-timeline";
import { applyToDocker, type AppliedLab } from "./docker-apply";
import { startDynamicProviderHost, type DynamicProviderHost } from "./dynamic-provider-host";
import { captureOn, type Capture, type Frame } from "./pcap";
import { PROJECT_DIR, runStack, type DeclaredResource } from "./pulumi-harness";
import { GUEST_RUN_DIR_PREFIX } from "./qemu";
import { dockerObjectsOf, testCaseLabels, testRunId } from "./test-run";

export type ClientInput = NonNullable<LabConfigInput["clients"]>[number];

/** How long one guest may take to its final marker under TCG on a loaded 2-core machine. */
export const BOOT_TIMEOUT_MS = 240_000;
const QEMU_PROCESS = "pulumi-nodejs:dynamic/client:QemuProcess";

export interface StackClientOutput {
  name: string;
  mac: string;
  ipv4?: string;
  bootFile: string;
  rootPath?: string;
  serialLog: string;
}

export interface StackE2eOptions {
  /** The stack file booted: `stacks/Pulumi.<stack>.yaml`. */
  readonly stack: string;
  /** The run's name in timings.json and its files' prefix in test-results/e2e (`kvm`, `kvm-kea`, `uefi`, ...). */
  readonly run: string;
  /** Config merged over the stack file's after the runner's own (network, docker, qemu, clients). */
  readonly configOverrides?: Record<string, unknown>;
  /** Changes the stack's clients (already moved onto the run's subnet) before the program runs. */
  readonly clients?: (clients: ClientInput[], net: string) => ClientInput[];
}

export interface StackE2e {
  /** The run's random id, in its bridge's, Docker objects' and namespaces' names. */
  readonly id: string;
  /** The labels on every Docker object of the run. */
  readonly labels: Record<string, string>;
  /** The run's first three octets (`10.216.x`), its lab server and bridge. */
  readonly net: string;
  readonly server: string;
  readonly bridge: string;
  readonly runDir: string;
  /** The clients the program was given. */
  readonly clients: ClientInput[];
  /** The stack outputs' clients. */
  clientOutputs(): StackClientOutput[];
  /** Every resource the program declared. */
  resources(): DeclaredResource[];
  lab(): AppliedLab;
  /** Realizes the lab (servers and boot images; no guest yet) and starts capturing its bridge. */
  up(): Promise<void>;
  /** Starts the client's QEMU as the engine would and follows its serial log to `until` (default: its final marker). */
  bootClient(name: string, options?: BootOptions): Promise<{ client: StackClientOutput; serial: SerialWatch }>;
  /** The boot's stages from the capture (complete after teardown) and its serial log. */
  timeline(name: string): BootTimeline;
  /** The bridge capture's frames, read when it stopped at teardown. */
  frames(): readonly Frame[];
  /** Removes the guests through their provider's delete, then the Docker objects; safe to call twice. */
  teardown(): Promise<void>;
  /** afterAll: teardown, then the run's timings into timings.json and the run folder removed. */
  finish(): Promise<void>;
}

export interface BootOptions {
  /** Serial-log patterns to time besides the kernel, NFS root and marker. */
  readonly patterns?: Record<string, RegExp>;
  /** The pattern that ends the watch; default `marker`. */
  readonly until?: string;
  readonly timeoutMs?: number;
  /** Leave this boot out of timings.json (a boot meant to fail). */
  readonly untimed?: boolean;
  /** Changes the QemuProcess's inputs before it is created: a guest validation would refuse, run only in a test. */
  readonly inputs?: (inputs: Record<string, unknown>) => Record<string, unknown>;
}

export function stackE2e(options: StackE2eOptions): StackE2e {
  const id = randomBytes(3).toString("hex");
  const net = `10.216.${randomInt(0, 256)}`;
  const server = `${net}.2`;
  const bridge = `nbtbr${id}`;
  const labels = testCaseLabels(`e2e-${id}`);
  const runDir = mkdtempSync(join(tmpdir(), `${GUEST_RUN_DIR_PREFIX}${testRunId()}-e2e-`));
  const stackClients = (readStackConfigMap(stackFilePath(PROJECT_DIR, options.stack))["netboot-lab:clients"] as ClientInput[]).map((client) => ({
    ...client,
    ...(client.ipv4 ? { ipv4: `${net}.${client.ipv4.split(".")[3]}` } : {}),
  }));
  const clients = options.clients ? options.clients(stackClients, net) : stackClients;
  const urnOf = (resource: DeclaredResource) => `urn:pulumi:${options.stack}::netboot-lab::${resource.type}::${resource.name}`;

  let lab: AppliedLab | undefined;
  let host: DynamicProviderHost | undefined;
  let capture: Capture | undefined;
  let frames: Frame[] = [];
  let outputs: Record<string, unknown> = {};
  let resources: DeclaredResource[] = [];
  const created: { resource: DeclaredResource; id: string; state: Record<string, unknown> }[] = [];
  const boots = new Map<string, { startedMs: number; serial: SerialWatch; untimed: boolean }>();
  const clientOutputs = () => outputs.clients as StackClientOutput[];
  const outputOf = (name: string) => clientOutputs().find((client) => client.name === name)!;

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

  const timeline = (name: string) => {
    const boot = boots.get(name);
    if (!boot) throw new Error(`${name} was not booted in this run`);
    return bootTimeline(frames, outputOf(name).mac, boot.startedMs, boot.serial);
  };

  return {
    id,
    labels,
    net,
    server,
    bridge,
    runDir,
    clients,
    clientOutputs,
    resources: () => resources,
    lab: () => lab!,
    frames: () => frames,
    timeline,
    teardown,

    async up() {
      mkdirSync(E2E_RESULTS_DIR, { recursive: true });
      // Only this run's own files: other e2e files leave theirs beside them.
      for (const client of clients) rmSync(join(E2E_RESULTS_DIR, `${client.name}.log`), { force: true });
      const run = await runStack(options.stack, {
        configOverrides: {
          "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge },
          "netboot-lab:docker": { baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm" },
          // TCG explicitly: the targets are for software emulation, whatever this machine's KVM can do.
          "netboot-lab:qemu": { accel: "tcg", runDir, stopTimeoutSeconds: 2 },
          "netboot-lab:clients": clients,
          ...options.configOverrides,
        },
      });
      outputs = run.outputs;
      resources = run.resources;
      // Every Docker name gets this run's prefix, the one-shot build containers' too: other runs share the engine.
      lab = await applyToDocker(run.resources, { labels, namePrefix: `nbt${id}-` });
      // Kept with the logs: every DHCP, TFTP, HTTP and NDP exchange of the boots, for a look with tcpdump -r.
      capture = await captureOn(bridge, join(E2E_RESULTS_DIR, `${options.run}-lab-bridge.pcap`));
      host = await startDynamicProviderHost({ env: process.env });
    },

    async bootClient(name, boot = {}) {
      const client = outputOf(name);
      const resource = resources.find((candidate) => candidate.type === QEMU_PROCESS && candidate.parent === `nbl-${options.stack}-${name}`);
      if (!resource) throw new Error(`the ${options.stack} stack declares no QemuProcess for ${name}`);
      const marker = client.rootPath ? NFS_ROOT_MARKER : BOOTED_MARKER;
      const startedMs = Date.now();
      const inputs = boot.inputs ? boot.inputs(resource.inputs) : resource.inputs;
      const { id: resourceId, properties: state } = await host!.create(urnOf(resource), inputs);
      created.push({ resource: { ...resource, inputs }, id: resourceId, state });
      const serial = await watchSerialLog(
        client.serialLog,
        { ...bootSerialPatterns(marker), ...boot.patterns },
        boot.until ?? "marker",
        boot.timeoutMs ?? BOOT_TIMEOUT_MS,
      );
      boots.set(name, { startedMs, serial, untimed: boot.untimed ?? false });
      if (existsSync(client.serialLog)) copyFileSync(client.serialLog, join(E2E_RESULTS_DIR, `${name}.log`));
      return { client, serial };
    },

    async finish() {
      try {
        await teardown();
      } finally {
        // The timings are worth keeping even when a boot failed: they show where it stalled.
        const timings: Record<string, BootTimeline> = {};
        for (const [name, boot] of boots) if (!boot.untimed) timings[name] = timeline(name);
        if (Object.keys(timings).length) recordBootTimings(options.run, { accel: "tcg", clients: timings });
        rmSync(runDir, { recursive: true, force: true });
      }
    },
  };
}

/** What a user sees of a good boot: an address from the lab's range (the declared one where set), the kernel, the NFS root where declared, the final marker. */
export function expectBooted(e2e: StackE2e, client: StackClientOutput, serial: SerialWatch): void {
  const address = client.ipv4?.replace(/\./g, "\\.") ?? `${e2e.net.replace(/\./g, "\\.")}\\.\\d+`;
  expect(serial.text).toMatch(/Linux version \d/);
  expect(serial.text).toMatch(new RegExp(`${BOOTED_MARKER} image=\\S+ ip=${address}\\b`));
  if (client.rootPath) {
    expect(serial.text).toMatch(new RegExp(`netboot-lab: NFS root mounted: ${client.rootPath} /mnt nfs4? ro[,\\s]`));
    expect(serial.text).toMatch(new RegExp(`${NFS_ROOT_MARKER} ${client.rootPath} netboot-lab NFS root of boot image`));
  }
  expect(serial.firstSeen.marker, `no final marker within ${BOOT_TIMEOUT_MS / 1000} s; serial log:\n${serial.text.slice(-3000)}`).toBeDefined();
}

/** After `pulumi destroy`: no QEMU process of the run, no tap, bridge, namespace, container, network or volume. */
export async function expectNothingLeft(e2e: StackE2e): Promise<void> {
  const qemuProcesses = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(e2e.runDir);
      } catch {
        return false;
      }
    });
  expect(qemuProcesses).toEqual([]);
  expect(e2e.clients.map((client) => tapName(e2e.bridge, client.name)).filter((tap) => existsSync(`/sys/class/net/${tap}`))).toEqual([]);
  expect(existsSync(`/sys/class/net/${e2e.bridge}`)).toBe(false);
  expect((await execa("ip", ["netns", "list"])).stdout).not.toContain(e2e.id);
  expect(await dockerObjectsOf(e2e.labels)).toEqual([]);
}
