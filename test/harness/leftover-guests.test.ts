/** A crashed run's detached QEMU guests are found by their run folder and removed, with their taps; a live run's are left alone. */
import { existsSync, rmSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/netns";
import { GUEST_RUN_DIR_PREFIX, removeLeftoverGuests } from "../support/qemu";

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
    const { qemu: crashed } = await detachedGuest("run-999999991", crashedTap);
    const { qemu: live } = await detachedGuest("run-999999992", liveTap);
    try {
      await new Promise((resolveWait) => setTimeout(resolveWait, 500));
      await removeLeftoverGuests((runId) => runId === "run-999999991");
      expect((await crashed).signal).toBe("SIGKILL");
      expect(existsSync(`/sys/class/net/${crashedTap}`)).toBe(false);
      expect(live.exitCode).toBeNull();
      expect(existsSync(`/sys/class/net/${liveTap}`)).toBe(true);
    } finally {
      crashed.kill("SIGKILL");
      live.kill("SIGKILL");
      await Promise.all([crashed, live]);
      for (const tap of [crashedTap, liveTap]) await execa("ip", ["link", "del", tap], { reject: false });
      for (const runId of ["run-999999991", "run-999999992"]) rmSync(`/tmp/${GUEST_RUN_DIR_PREFIX}${runId}-leftover.serial.log`, { force: true });
    }
  });
});
