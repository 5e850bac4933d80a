/** A crashed run's detached QEMU guests are found by their run folder and removed, with their taps; a live run's are left alone. */
import { existsSync, rmSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/netns";
import { GUEST_RUN_DIR_PREFIX, removeLeftoverGuests } from "../support/qemu";
import { currentSurroundings, formatRunId } from "../support/test-run";

/** Run ids of this machine's boot and PID namespace: a process that does not exist, and this one, which runs. */
const here = currentSurroundings();
const CRASHED_RUN = formatRunId({ ...here, pid: 999999991, start: 1 });
const LIVE_RUN = formatRunId({ ...here, pid: process.pid, start: here.processStart(process.pid)! });

async function detachedGuest(runId: string, tap: string) {
  await execa("ip", ["tuntap", "add", "dev", tap, "mode", "tap"]);
  const folder = `/tmp/${GUEST_RUN_DIR_PREFIX}${runId}-leftover`;
  // Wrapped: an async function would otherwise wait for the returned (thenable) process to end.
  const qemu = execa(
    "qemu-system-x86_64",
    [
      "-accel",
      "tcg",
      "-m",
      "32",
      "-display",
      "none",
      "-monitor",
      "none",
      "-serial",
      `file:${folder}.serial.log`,
      "-netdev",
      `tap,id=lab,ifname=${tap},script=no,downscript=no`,
      "-device",
      "e1000,netdev=lab",
      "-S",
    ],
    { reject: false },
  );
  return { qemu };
}

describe("removeLeftoverGuests", () => {
  it("kills the guests of finished runs by PID and removes their taps, and keeps those of running ones", async () => {
    const crashedTap = uniqueName("t");
    const liveTap = uniqueName("t");
    const { qemu: crashed } = await detachedGuest(CRASHED_RUN, crashedTap);
    const { qemu: live } = await detachedGuest(LIVE_RUN, liveTap);
    try {
      await new Promise((resolveWait) => setTimeout(resolveWait, 500));
      await removeLeftoverGuests((runId) => runId === CRASHED_RUN);
      expect((await crashed).signal).toBe("SIGKILL");
      expect(existsSync(`/sys/class/net/${crashedTap}`)).toBe(false);
      expect(live.exitCode).toBeNull();
      expect(existsSync(`/sys/class/net/${liveTap}`)).toBe(true);
    } finally {
      crashed.kill("SIGKILL");
      live.kill("SIGKILL");
      await Promise.all([crashed, live]);
      for (const tap of [crashedTap, liveTap]) await execa("ip", ["link", "del", tap], { reject: false });
      for (const runId of [CRASHED_RUN, LIVE_RUN]) rmSync(`/tmp/${GUEST_RUN_DIR_PREFIX}${runId}-leftover.serial.log`, { force: true });
    }
  });
});
