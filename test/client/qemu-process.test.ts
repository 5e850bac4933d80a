/**
 * The QemuProcess provider as `pulumi up` runs it: serialized by the resource's constructor,
 * executed by Pulumi's dynamic-provider host in a plain Node process, driving a real QEMU
 * (software emulation) whose NIC sits on a bridge this test makes and nothing answers on.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QemuProcess, type QemuProcessInputs } from "../../components/client/qemu-process";
import { registeredInputs, startDynamicProviderHost, type DynamicProviderHost } from "../support/dynamic-provider-host";
import { uniqueName } from "../support/netns";
import { GUEST_RUN_DIR_PREFIX } from "../support/qemu";
import { testRunId } from "../support/test-run";

const bridge = uniqueName("br");
const runDir = mkdtempSync(join(tmpdir(), `${GUEST_RUN_DIR_PREFIX}${testRunId()}-provider-`));
const TYPE = "pulumi-nodejs:dynamic/client:QemuProcess";
const urnOf = (name: string) => `urn:pulumi:provider-test::netboot-lab::${TYPE}::${name}`;
type Properties = Record<string, unknown>;
let host: DynamicProviderHost;
let provider: string;

function inputs(name: string, overrides: Partial<QemuProcessInputs> = {}): Properties {
  return {
    __provider: provider,
    client: name,
    binary: "qemu-system-x86_64",
    // A real guest: SeaBIOS and QEMU's iPXE ROM asking DHCP on a bridge where nobody answers.
    args: [
      "-name",
      `guest=${name}`,
      "-accel",
      "tcg",
      "-m",
      "64",
      "-display",
      "none",
      "-monitor",
      "none",
      "-serial",
      `file:${join(runDir, `${name}.serial.log`)}`,
      "-qmp",
      `unix:${join(runDir, `${name}.qmp.sock`)},server=on,wait=off`,
      "-boot",
      "n",
      "-netdev",
      `tap,id=lab,ifname=${tapOf(name)},script=no,downscript=no`,
      "-device",
      "e1000,netdev=lab,mac=52:54:00:6c:01:01",
    ],
    bridge,
    tap: tapOf(name),
    serialLog: join(runDir, `${name}.serial.log`),
    processLog: join(runDir, `${name}.qemu.log`),
    qmpSocket: join(runDir, `${name}.qmp.sock`),
    copies: [],
    stopTimeoutSeconds: 1,
    skipIpxePrompt: false,
    start: true,
    ...overrides,
  };
}

function tapOf(name: string): string {
  return `${bridge.slice(0, 9)}${name}`.slice(0, 15);
}

const pidOf = (state: Properties) => (state.process as { pid: number } | undefined)?.pid;
/** Running and not a zombie; a process reaped while its stat is read is gone too. */
const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return false;
  }
};
const onBridge = (tap: string) => existsSync(`/sys/class/net/${bridge}/brif/${tap}`);

beforeAll(async () => {
  await execa("ip", ["link", "add", bridge, "type", "bridge"]);
  await execa("ip", ["link", "set", bridge, "up"]);
  const declared = await registeredInputs(
    TYPE,
    () => new QemuProcess("guest", { ...(inputs("guest") as unknown as QemuProcessInputs), args: [...(inputs("guest").args as string[])], copies: [] }),
  );
  provider = declared.__provider as string;
  host = await startDynamicProviderHost({ env: process.env });
});

afterAll(async () => {
  await host?.stop();
  await execa("ip", ["link", "del", bridge], { reject: false });
  rmSync(runDir, { recursive: true, force: true });
});

describe("the serialized provider", () => {
  it("is self-contained text: no test-runner module or imported module captured", () => {
    expect(typeof provider).toBe("string");
    expect(provider).toContain("system_powerdown");
    expect(provider).not.toMatch(/__vi_import|vitest/);
  });
});

describe("QemuProcess through Pulumi's dynamic-provider host", () => {
  it("create starts a detached QEMU, records its PID and start identity, and puts its tap on the bridge", async () => {
    const { id, properties: outs } = await host.create(urnOf("a"), inputs("a"));
    try {
      expect(outs).toMatchObject({
        running: true,
        note: "",
        process: { pid: expect.any(Number), startTicks: expect.stringMatching(/^\d+$/), bootId: expect.any(String) },
      });
      const pid = pidOf(outs)!;
      expect(alive(pid)).toBe(true);
      expect(readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0")[0]).toBe("qemu-system-x86_64");
      expect(onBridge(tapOf("a"))).toBe(true);
      // Not a child of the host: it survives the provider process that started it.
      expect(readFileSync(`/proc/${pid}/stat`, "latin1")).toBeTruthy();
    } finally {
      await host.delete(urnOf("a"), id, outs);
    }
    expect(alive(pidOf(outs))).toBe(false);
    expect(existsSync(`/sys/class/net/${tapOf("a")}`)).toBe(false);
  });

  it("create presses Enter at the iPXE ROM's 2 s Ctrl-B prompt: the guest is already asking DHCP when create returns", async () => {
    const framesFromGuest = (name: string) => Number(readFileSync(`/sys/class/net/${tapOf(name)}/statistics/rx_packets`, "latin1"));
    const waiting = await host.create(urnOf("prompt-waits"), inputs("prompt-waits"));
    try {
      // Without the key the ROM is still counting down its prompt: not a frame yet.
      expect(framesFromGuest("prompt-waits")).toBe(0);
    } finally {
      await host.delete(urnOf("prompt-waits"), waiting.id, waiting.properties);
    }
    const skipping = await host.create(urnOf("prompt-skips"), inputs("prompt-skips", { skipIpxePrompt: true }));
    try {
      expect(framesFromGuest("prompt-skips")).toBeGreaterThan(0);
    } finally {
      await host.delete(urnOf("prompt-skips"), skipping.id, skipping.properties);
    }
  });

  it("diff: nothing for equal inputs, a delete-first replacement for a new command line, an update for start", async () => {
    const { id, properties: outs } = await host.create(urnOf("b"), inputs("b"));
    try {
      expect(await host.diff(urnOf("b"), id, outs, inputs("b"))).toEqual({ changes: "none", replaces: [] });
      const bigger = inputs("b", { args: [...(inputs("b").args as string[]).map((arg) => (arg === "64" ? "128" : arg))] });
      expect(await host.diff(urnOf("b"), id, outs, bigger)).toEqual({ changes: "some", replaces: ["args"], deleteBeforeReplace: true });
      expect(await host.diff(urnOf("b"), id, outs, inputs("b", { start: false }))).toEqual({ changes: "some", replaces: [] });
    } finally {
      await host.delete(urnOf("b"), id, outs);
    }
  });

  it("update stops the guest for start: false and starts a new process for start: true", async () => {
    const { id, properties: outs } = await host.create(urnOf("c"), inputs("c"));
    const first = pidOf(outs);
    const stopped = await host.update(urnOf("c"), id, outs, inputs("c", { start: false }));
    expect(stopped).toMatchObject({ running: false });
    expect(alive(first)).toBe(false);
    expect(existsSync(`/sys/class/net/${tapOf("c")}`)).toBe(false);
    const started = await host.update(urnOf("c"), id, stopped, inputs("c"));
    try {
      expect(started).toMatchObject({ running: true });
      expect(pidOf(started)).not.toBe(first);
      expect(alive(pidOf(started))).toBe(true);
    } finally {
      await host.delete(urnOf("c"), id, started);
    }
    expect(alive(pidOf(started))).toBe(false);
  });

  it("autostart off: create declares the guest without a process", async () => {
    const { id, properties: outs } = await host.create(urnOf("d"), inputs("d", { start: false }));
    expect(outs).toMatchObject({ running: false, note: "" });
    expect(outs.process).toBeUndefined();
    expect(existsSync(`/sys/class/net/${tapOf("d")}`)).toBe(false);
    await host.delete(urnOf("d"), id, outs);
  });

  it("a guest that died: refresh reports it, up starts it again, delete tolerates it and signals nothing", async () => {
    const { id, properties: outs } = await host.create(urnOf("e"), inputs("e"));
    process.kill(pidOf(outs)!, "SIGKILL");
    while (alive(pidOf(outs))) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    expect((await host.read(urnOf("e"), id, outs)).properties).toMatchObject({
      running: false,
      note: expect.stringContaining(`PID ${pidOf(outs)} has exited`),
    });
    expect((await host.diff(urnOf("e"), id, outs, inputs("e"))).changes).toBe("some");
    const restarted = await host.update(urnOf("e"), id, outs, inputs("e"));
    expect(restarted).toMatchObject({ running: true, note: expect.stringContaining("started it again") });
    process.kill(pidOf(restarted)!, "SIGKILL");
    while (alive(pidOf(restarted))) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    await host.delete(urnOf("e"), id, restarted);
    expect(host.output()).toContain(`QEMU of client e was not running any more (PID ${pidOf(restarted)} has exited); nothing was signalled`);
    expect(existsSync(`/sys/class/net/${tapOf("e")}`)).toBe(false);
  });

  it("never signals a process that merely has the recorded PID", async () => {
    const bystander = execa("sleep", ["300"], { reject: false });
    try {
      const pid = bystander.pid!;
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const startTicks = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
      const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      const recorded = (process: { pid: number; startTicks: string; bootId: string }) => ({ ...inputs("f"), process, running: true, note: "" });
      // Same PID, another start time: the PID was reused after our QEMU exited.
      const reused = recorded({ pid, startTicks: String(Number(startTicks) - 1), bootId });
      expect((await host.read(urnOf("f"), "f", reused)).properties).toMatchObject({ running: false, note: expect.stringContaining("started later") });
      await host.delete(urnOf("f"), "f", reused);
      // Same PID and start time, another command line: not QEMU.
      const other = recorded({ pid, startTicks, bootId });
      expect((await host.read(urnOf("f"), "f", other)).properties).toMatchObject({ running: false, note: expect.stringContaining("runs another command") });
      await host.delete(urnOf("f"), "f", other);
      // Recorded in an earlier boot of the host.
      await host.delete(urnOf("f"), "f", recorded({ pid, startTicks, bootId: "an-earlier-boot" }));
      expect(alive(pid)).toBe(true);
    } finally {
      bystander.kill("SIGKILL");
      await bystander;
    }
  });

  it("a failed start reports QEMU's own error", async () => {
    const broken = inputs("g", {
      args: ["-accel", "tcg", "-display", "none", "-qmp", `unix:${join(runDir, "g.qmp.sock")},server=on,wait=off`, "-no-such-option"],
    });
    await expect(host.create(urnOf("g"), broken)).rejects.toThrow(/QEMU exited at start-up:[\s\S]*no-such-option/);
    expect(existsSync(`/sys/class/net/${tapOf("g")}`)).toBe(false);
  });
});
