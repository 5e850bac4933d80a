/**
 * A test run is known by machine, boot, PID namespace, PID and start time: global setup removes
 * only what runs that have provably ended left behind, never the objects of a run on another
 * machine sharing the engine or in another PID namespace, whose processes it cannot see.
 */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { removeDockerObjectsOf } from "../global-setup";
import { currentSurroundings, formatRunId, isRunStale, parseRunId, processStart, TEST_LABEL, testRunId, type RunSurroundings } from "../support/test-run";

/** This machine as a test pictures it: PID 100 runs since tick 5000, nothing else does. */
const here: RunSurroundings = { host: "0a0b0c0d", boot: "11223344", pidNamespace: "effffffc", processStart: (pid) => (pid === 100 ? 5000 : undefined) };
const run = (changes: Partial<{ host: string; boot: string; pidNamespace: string; pid: number; start: number }>) =>
  formatRunId({ host: here.host, boot: here.boot, pidNamespace: here.pidNamespace, pid: 100, start: 5000, ...changes });

describe("isRunStale", () => {
  it("keeps a run whose process still runs", () => {
    expect(isRunStale(run({}), here)).toBe(false);
  });

  it("removes a run of this boot and PID namespace whose process is gone, or whose PID another process took", () => {
    expect(isRunStale(run({ pid: 200 }), here)).toBe(true);
    expect(isRunStale(run({ start: 4000 }), here)).toBe(true);
  });

  it("removes a run of an earlier boot of this machine, whatever runs under its PID now", () => {
    expect(isRunStale(run({ boot: "99887766" }), here)).toBe(true);
  });

  it("leaves alone a run in another PID namespace of this machine, though its PID is not to be seen here", () => {
    expect(isRunStale(run({ pidNamespace: "effffff0", pid: 200 }), here)).toBe(false);
  });

  it("leaves alone a run of another machine sharing the engine, and ids it cannot read (the bare run-<pid> of older runs)", () => {
    expect(isRunStale(run({ host: "ffffffff", pid: 200 }), here)).toBe(false);
    expect(isRunStale(run({ host: "ffffffff", boot: "99887766" }), here)).toBe(false);
    expect(isRunStale("run-12345", here)).toBe(false);
    expect(isRunStale("", here)).toBe(false);
  });
});

describe("this run's id", () => {
  it("names this machine, boot, PID namespace and a process that runs, so it is never stale here", () => {
    const id = parseRunId(testRunId())!;
    const surroundings = currentSurroundings();
    expect(id).toMatchObject({ host: surroundings.host, boot: surroundings.boot, pidNamespace: surroundings.pidNamespace });
    expect(processStart(id.pid)).toBe(id.start);
    expect(isRunStale(testRunId())).toBe(false);
  });

  it("turns stale once its process has ended", async () => {
    const child = execa("sleep", ["30"]);
    const surroundings = currentSurroundings();
    const childRun = formatRunId({ ...surroundings, pid: child.pid!, start: processStart(child.pid!)! });
    expect(isRunStale(childRun)).toBe(false);
    child.kill("SIGKILL");
    await child.catch(() => undefined);
    expect(isRunStale(childRun)).toBe(true);
  });
});

describe("global setup's Docker cleanup", () => {
  it("removes a stale run's objects and keeps those of another PID namespace and another machine", async () => {
    const surroundings = currentSurroundings();
    const runs = {
      stale: formatRunId({ ...surroundings, pid: 999999990, start: 1 }),
      otherNamespace: formatRunId({ ...surroundings, pidNamespace: "1", pid: 999999990, start: 1 }),
      otherMachine: formatRunId({ ...surroundings, host: surroundings.host === "00000000" ? "00000001" : "00000000", pid: 999999990, start: 1 }),
    };
    const volumes = Object.fromEntries(Object.keys(runs).map((kind) => [kind, `nbt-run-${kind}-${process.pid}`]));
    try {
      for (const [kind, runId] of Object.entries(runs)) await execa("docker", ["volume", "create", "--label", `${TEST_LABEL}=${runId}`, volumes[kind]!]);
      await removeDockerObjectsOf((runId) => isRunStale(runId));
      const left = (await execa("docker", ["volume", "ls", "--format", "{{.Name}}"])).stdout.split("\n");
      expect(Object.values(volumes).filter((volume) => left.includes(volume))).toEqual([volumes.otherNamespace, volumes.otherMachine]);
    } finally {
      await execa("docker", ["volume", "rm", "-f", ...Object.values(volumes)], { reject: false });
    }
  });
});
