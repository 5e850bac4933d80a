/**
 * QEMU guests for boot tests: software emulation (TCG), serial console on stdout, no display.
 * A guest is killed by its own PID as soon as its console shows what the test waits for.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { execa } from "execa";
import type { QemuLaunch } from "../../lib/client/qemu";
import { RUN_ID_PATTERN } from "./test-run";

export interface GuestBoot {
  /** `bios` (SeaBIOS with QEMU's iPXE option ROM) or `efi` (OVMF). */
  readonly firmware: "bios" | "efi";
  /** QEMU arguments that give the guest its network interface (`-nic …` or `-netdev …` + `-device …`). */
  readonly network: readonly string[];
  /** The console line to wait for; the boot fails if QEMU exits or the time runs out first. */
  readonly until: RegExp;
  readonly timeoutMs?: number;
}

/** Boots a guest from the network and resolves with its serial console once `until` matches a whole line. */
export async function bootGuest(boot: GuestBoot): Promise<string> {
  const timeoutMs = boot.timeoutMs ?? 150_000;
  const qemu = execa(
    "qemu-system-x86_64",
    [
      "-accel",
      "tcg",
      "-m",
      "1024",
      "-display",
      "none",
      "-monitor",
      "none",
      "-serial",
      "stdio",
      "-no-reboot",
      "-boot",
      "n",
      ...(boot.firmware === "efi" ? ["-bios", "/usr/share/qemu/OVMF.fd"] : []),
      ...boot.network,
    ],
    { reject: false, buffer: false },
  );
  let console = "";
  const line = new RegExp(`${boot.until.source}[^\\n]*\\n`);
  try {
    return await new Promise<string>((resolveBoot, rejectBoot) => {
      const timer = setTimeout(
        () => rejectBoot(new Error(`no ${boot.until} within ${timeoutMs / 1000} s; serial console:\n${console.slice(-3000)}`)),
        timeoutMs,
      );
      qemu.stdout!.on("data", (chunk: Buffer) => {
        console += chunk.toString("latin1");
        // Wait for the whole line: it may arrive in pieces.
        if (line.test(console)) {
          clearTimeout(timer);
          resolveBoot(console);
        }
      });
      void qemu.then((result) => {
        clearTimeout(timer);
        rejectBoot(new Error(`QEMU exited (${result.exitCode}) before ${boot.until}; serial console:\n${console.slice(-3000)}`));
      });
    });
  } finally {
    qemu.kill("SIGKILL");
    await qemu;
  }
}

/** QEMU arguments for an e1000 NIC with a given MAC on an existing tap device. */
export function tapNetwork(tap: string, mac: string): string[] {
  return ["-netdev", `tap,id=lab,ifname=${tap},script=no,downscript=no`, "-device", `e1000,netdev=lab,mac=${mac}`];
}

/** Prefix of the run folders of QEMU guests the tests start through the lab's provider; the run id follows it. */
export const GUEST_RUN_DIR_PREFIX = "nbt-guests-";

/**
 * Guests started through the QemuProcess provider run detached, so a crashed run (killed before
 * its afterAll) leaves them running. Their command lines name their run folder, which carries
 * the run id: kill those of finished runs, by PID, and remove the tap each one named.
 */
export async function removeLeftoverGuests(isFinished: (runId: string) => boolean): Promise<void> {
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
    } catch {
      continue;
    }
    if (!/^qemu-system-/.test(argv[0]?.split("/").pop() ?? "")) continue;
    const runId = argv.map((arg) => new RegExp(`${GUEST_RUN_DIR_PREFIX}(${RUN_ID_PATTERN})-`).exec(arg)?.[1]).find(Boolean);
    if (!runId || !isFinished(runId)) continue;
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      continue;
    }
    const tap = argv.map((arg) => /ifname=([^,]+)/.exec(arg)?.[1]).find(Boolean);
    // The tap goes once QEMU has closed it.
    for (let tries = 0; tap && tries < 20; tries++) {
      if ((await execa("ip", ["link", "del", tap], { reject: false })).exitCode === 0) break;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
  }
}

/**
 * Starts a lab QEMU command stopped before its first instruction (-S: QEMU has parsed and set up
 * everything by then, and answers on QMP) on its own tap, to show that QEMU accepts the command
 * line; kills it and removes the tap. `running`: its QMP socket appeared.
 */
export async function startPaused(launch: QemuLaunch): Promise<{ running: boolean; stderr: string }> {
  for (const copy of launch.copies) await execa("cp", [copy.from, copy.to]);
  await execa("ip", ["tuntap", "add", "dev", launch.tap!, "mode", "tap"]);
  try {
    const qemu = execa(launch.binary, [...launch.args, "-S"], { reject: false });
    const deadline = Date.now() + 20_000;
    while (!existsSync(launch.qmpSocket) && qemu.exitCode === null && Date.now() < deadline) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    const running = existsSync(launch.qmpSocket);
    qemu.kill("SIGKILL");
    return { running, stderr: String((await qemu).stderr) };
  } finally {
    await execa("ip", ["link", "del", launch.tap!], { reject: false });
    rmSync(launch.qmpSocket, { force: true });
  }
}
