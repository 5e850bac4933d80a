/** A Secure Boot client's QEMU: OVMF's Secure Boot build from flash with Microsoft's keys, no unsigned NIC ROM, and QEMU accepting it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { qemuLaunch, type QemuHostChoices } from "../../lib/client/qemu";
import { qemuHostProblems } from "../../lib/client/qemu-host";
import { validateLab, type ClientModel } from "../../lib/model";
import { minimalLab } from "../model/fixtures";
import { uniqueName } from "../support/netns";
import { startPaused } from "../support/qemu";
import { fakeQemuHost, optionPairs } from "./fixtures";

const TCG_TAP: QemuHostChoices = { accel: "tcg", attach: "tap" };

function secureClient(secureBoot = true): ClientModel {
  return validateLab(
    minimalLab({
      bootImages: [{ name: "signed", kind: "signed-grub" }],
      clients: [{ name: "sb", mac: "52:54:00:77:00:13", firmware: "efi-x64", nic: "qemu-virtio", secureBoot, bootImage: "signed" }],
    }),
  ).clients[0]!;
}

describe("qemuLaunch of a Secure Boot client", () => {
  it("q35 with SMM, secure flash, OVMF's Secure Boot code read-only, its own copy of the Microsoft-enrolled variables, a NIC without option ROM", () => {
    const launch = qemuLaunch(secureClient(), "nblab0", "/run/lab", TCG_TAP);
    expect(launch.binary).toBe("qemu-system-x86_64");
    const args = optionPairs(launch.args);
    expect(args).toEqual(
      expect.arrayContaining([
        "-machine q35,smm=on",
        "-global driver=cfi.pflash01,property=secure,value=on",
        "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        "-drive if=pflash,format=raw,unit=1,file=/run/lab/sb.efivars.fd",
        "-device virtio-net-pci,netdev=lab,mac=52:54:00:77:00:13,romfile=,bootindex=0",
      ]),
    );
    expect(args.filter((arg) => arg.startsWith("-bios"))).toEqual([]);
    expect(launch.copies).toEqual([{ from: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", to: "/run/lab/sb.efivars.fd" }]);
  });

  it("the same client without Secure Boot runs plain OVMF with the NIC's ROM", () => {
    const args = optionPairs(qemuLaunch(secureClient(false), "nblab0", "/run/lab", TCG_TAP).args);
    expect(args).toEqual(
      expect.arrayContaining(["-machine pc", "-bios /usr/share/qemu/OVMF.fd", "-device virtio-net-pci,netdev=lab,mac=52:54:00:77:00:13,bootindex=0"]),
    );
  });

  it("the host check names the Secure Boot firmware's package", () => {
    expect(qemuHostProblems([secureClient()], "nblab0", fakeQemuHost({ fileExists: () => false }))).toEqual([
      'clients "sb": the x64 Secure Boot UEFI firmware /usr/share/OVMF/OVMF_CODE_4M.secboot.fd is missing; install the Debian package ovmf (apt-get install ovmf)',
    ]);
  });
});

describe("QEMU accepts the Secure Boot command line", () => {
  const bridge = uniqueName("br");
  const runDir = mkdtempSync(join(tmpdir(), "nbt-qemu-sb-"));
  afterAll(async () => {
    await execa("ip", ["link", "del", bridge], { reject: false });
    rmSync(runDir, { recursive: true, force: true });
  });

  it("starts (paused) on a tap of a test bridge", async () => {
    await execa("ip", ["link", "add", bridge, "type", "bridge"]);
    const launch = qemuLaunch(secureClient(), bridge, runDir, TCG_TAP);
    const { running, stderr } = await startPaused(launch);
    expect(running, `QEMU exited: ${stderr}`).toBe(true);
  });
});
