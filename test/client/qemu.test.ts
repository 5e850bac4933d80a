/** The QEMU command line of a lab client: every argument per firmware and NIC, and QEMU itself accepting each. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { QemuLaunchError, qemuLaunch, renderQemuScript, tapName, type QemuHostChoices } from "../../lib/client/qemu";
import { validateLab, type ClientModel, type LabConfigInput } from "../../lib/model";
import { minimalLab } from "../model/fixtures";
import { optionPairs } from "./fixtures";
import { uniqueName } from "../support/netns";
import { startPaused } from "../support/qemu";

const TCG_TAP: QemuHostChoices = { accel: "tcg", attach: "tap" };

function client(overrides: Partial<NonNullable<LabConfigInput["clients"]>[number]> = {}, lab: Partial<LabConfigInput> = {}): ClientModel {
  const bootImages: LabConfigInput["bootImages"] = [
    { name: "linux", kind: "ipxe" },
    { name: "snow", kind: "darwin-nbi", booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" },
  ];
  return validateLab(minimalLab({ bootImages, clients: [{ name: "vm1", mac: "52:54:00:77:00:10", bootImage: "linux", ...overrides }], ...lab })).clients[0]!;
}

describe("qemuLaunch", () => {
  it("BIOS, e1000, tap, TCG: SeaBIOS with QEMU's iPXE ROM, network boot, serial to a file, QMP for power-off", () => {
    const launch = qemuLaunch(client(), "nblab0", "/run/lab", TCG_TAP);
    const tap = tapName("nblab0", "vm1");
    expect(tap).toMatch(/^nbl[0-9a-f]{10}$/);
    expect(launch.binary).toBe("qemu-system-x86_64");
    expect(optionPairs(launch.args)).toEqual([
      "-name guest=vm1",
      "-machine pc",
      "-accel tcg",
      "-m 1024",
      "-smp 1",
      "-display none",
      "-vga none",
      "-monitor none",
      "-chardev file,id=serial0,path=/run/lab/vm1.serial.log",
      "-serial chardev:serial0",
      "-qmp unix:/run/lab/vm1.qmp.sock,server=on,wait=off",
      "-boot n",
      `-netdev tap,id=lab,ifname=${tap},script=no,downscript=no`,
      "-device e1000,autonegotiation=off,netdev=lab,mac=52:54:00:77:00:10",
    ]);
    expect(launch).toMatchObject({
      bridge: "nblab0",
      tap,
      serialLog: "/run/lab/vm1.serial.log",
      processLog: "/run/lab/vm1.qemu.log",
      qmpSocket: "/run/lab/vm1.qmp.sock",
      copies: [],
      stopTimeoutSeconds: 10,
      skipIpxePrompt: true,
    });
  });

  it("skips the iPXE ROM's Ctrl-B prompt only where there is one and the provider sees the guest's tap", () => {
    const skips = (overrides: Parameters<typeof client>[0], host = TCG_TAP) => qemuLaunch(client(overrides), "nblab0", "/run/lab", host).skipIpxePrompt;
    expect(skips({ nic: "qemu-virtio" })).toBe(true);
    // OVMF runs the ROM as an EFI driver, which has no prompt.
    expect(skips({ firmware: "efi-x64" })).toBe(false);
    // The bridge helper makes the tap, so nothing shows when the guest has spoken.
    expect(skips({}, { accel: "tcg", attach: "bridge-helper" })).toBe(false);
  });

  it("EFI x64: OVMF as the BIOS image, network boot first through the NIC's bootindex (OVMF ignores -boot)", () => {
    const args = optionPairs(qemuLaunch(client({ firmware: "efi-x64" }), "nblab0", "/run/lab", TCG_TAP).args);
    expect(args).toContain("-bios /usr/share/qemu/OVMF.fd");
    expect(args.at(-1)).toBe("-device e1000,autonegotiation=off,netdev=lab,mac=52:54:00:77:00:10,bootindex=0");
    expect(args.filter((arg) => arg.startsWith("-boot"))).toEqual([]);
  });

  it("EFI ia32: qemu-system-i386, q35 with SMM, OVMF ia32 code read-only and the guest's own copy of its variable store", () => {
    const launch = qemuLaunch(client({ firmware: "efi-ia32", nic: "qemu-virtio", bootImage: "snow" }), "nblab0", "/run/lab", TCG_TAP);
    expect(launch.binary).toBe("qemu-system-i386");
    expect(optionPairs(launch.args)).toEqual(
      expect.arrayContaining([
        "-machine q35,smm=on",
        "-global driver=cfi.pflash01,property=secure,value=on",
        "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd",
        "-drive if=pflash,format=raw,unit=1,file=/run/lab/vm1.efivars.fd",
        "-device virtio-net-pci,netdev=lab,mac=52:54:00:77:00:10,bootindex=0",
      ]),
    );
    expect(launch.copies).toEqual([{ from: "/usr/share/OVMF/OVMF32_VARS_4M.fd", to: "/run/lab/vm1.efivars.fd" }]);
  });

  it("maps each qemu-* NIC model to its QEMU device", () => {
    const devices = (["qemu-e1000", "qemu-e1000e", "qemu-rtl8139", "qemu-virtio", "qemu-pcnet", "qemu-vmxnet3"] as const).map((nic) =>
      optionPairs(qemuLaunch(client({ nic }), "nblab0", "/run/lab", TCG_TAP).args).at(-1),
    );
    expect(devices).toEqual([
      "-device e1000,autonegotiation=off,netdev=lab,mac=52:54:00:77:00:10",
      "-device e1000e,netdev=lab,mac=52:54:00:77:00:10",
      "-device rtl8139,netdev=lab,mac=52:54:00:77:00:10",
      "-device virtio-net-pci,netdev=lab,mac=52:54:00:77:00:10",
      "-device pcnet,netdev=lab,mac=52:54:00:77:00:10",
      "-device vmxnet3,netdev=lab,mac=52:54:00:77:00:10",
    ]);
  });

  it("KVM, memory, CPUs and the bridge helper come from the model and the host's choices", () => {
    const launch = qemuLaunch(client({ memoryMiB: 2048, cpus: 2 }), "labbr", "/run/lab", { accel: "kvm", attach: "bridge-helper" });
    expect(optionPairs(launch.args)).toEqual(expect.arrayContaining(["-accel kvm", "-m 2048", "-smp 2", "-netdev bridge,id=lab,br=labbr"]));
    expect(launch.tap).toBeUndefined();
  });

  it("doubles every comma of a path inside an option value, as QEMU reads ',,' as one comma", () => {
    const launch = qemuLaunch(client({ firmware: "efi-ia32", nic: "qemu-virtio", bootImage: "snow" }), "nblab0", "/run/lab,1", TCG_TAP);
    expect(optionPairs(launch.args)).toEqual(
      expect.arrayContaining([
        "-chardev file,id=serial0,path=/run/lab,,1/vm1.serial.log",
        "-qmp unix:/run/lab,,1/vm1.qmp.sock,server=on,wait=off",
        "-drive if=pflash,format=raw,unit=1,file=/run/lab,,1/vm1.efivars.fd",
      ]),
    );
    // What the provider opens and copies itself is the path as it is.
    expect([launch.serialLog, launch.qmpSocket, launch.copies[0]!.to]).toEqual([
      "/run/lab,1/vm1.serial.log",
      "/run/lab,1/vm1.qmp.sock",
      "/run/lab,1/vm1.efivars.fd",
    ]);
  });

  it("a QMP socket path over the 107 bytes of a UNIX socket path is refused, naming the client, the length and the fix", () => {
    const name = "a-thirty-one-character-client-x";
    const fits = `/${"d".repeat(107 - `/${name}.qmp.sock`.length - 1)}`;
    expect(qemuLaunch(client({ name }), "nblab0", fits, TCG_TAP).qmpSocket).toHaveLength(107);
    expect(() => qemuLaunch(client({ name }), "nblab0", `${fits}é`, TCG_TAP)).toThrow(
      new QemuLaunchError(
        `client "${name}": its QMP socket ${fits}é/${name}.qmp.sock is 109 bytes long, over the 107 a UNIX socket path may have, so QEMU would exit at start; ` +
          "set netboot-lab:qemu.runDir to a folder at least 2 bytes shorter (e.g. /var/tmp/netboot-lab), or give the client a shorter name",
      ),
    );
  });

  it("refuses a Fusion client", () => {
    const fusion = client({ platform: "fusion", mac: "00:50:56:00:00:01", firmware: "efi-x64", bootImage: "snow" });
    expect(() => qemuLaunch(fusion, "nblab0", "/run/lab", TCG_TAP)).toThrow('client "vm1" is not a QEMU client (platform fusion, nic vmware-e1000)');
  });
});

describe("renderQemuScript", () => {
  it("makes the tap, then execs exactly the provider's command, one option per line", () => {
    const launch = qemuLaunch(client(), "nblab0", "/run/lab", TCG_TAP);
    const tap = tapName("nblab0", "vm1");
    expect(renderQemuScript(launch)).toBe(
      [
        "#!/bin/sh",
        "# netboot-lab client vm1: what `pulumi up` runs (the provider also records the PID and stops it on destroy).",
        "set -e",
        "mkdir -p /run/lab",
        `ip link show ${tap} >/dev/null 2>&1 || ip tuntap add dev ${tap} mode tap`,
        `ip link set ${tap} master nblab0 up`,
        "exec qemu-system-x86_64 \\",
        "  -name guest=vm1 \\",
        "  -machine pc \\",
        "  -accel tcg \\",
        "  -m 1024 \\",
        "  -smp 1 \\",
        "  -display none \\",
        "  -vga none \\",
        "  -monitor none \\",
        "  -chardev file,id=serial0,path=/run/lab/vm1.serial.log \\",
        "  -serial chardev:serial0 \\",
        "  -qmp unix:/run/lab/vm1.qmp.sock,server=on,wait=off \\",
        "  -boot n \\",
        `  -netdev tap,id=lab,ifname=${tap},script=no,downscript=no \\`,
        "  -device e1000,autonegotiation=off,netdev=lab,mac=52:54:00:77:00:10",
        "",
      ].join("\n"),
    );
  });

  it("quotes paths with spaces, and says what the bridge helper needs", () => {
    const script = renderQemuScript(qemuLaunch(client(), "nblab0", "/run/my lab", { accel: "tcg", attach: "bridge-helper" }));
    expect(script).toContain("mkdir -p '/run/my lab'");
    expect(script).toContain("  -chardev 'file,id=serial0,path=/run/my lab/vm1.serial.log' \\");
    expect(script).toContain('# QEMU\'s bridge helper attaches the NIC to nblab0: it needs "allow nblab0" in /etc/qemu/bridge.conf');
  });
});

describe("QEMU accepts every rendered command line, from a run folder with a comma in its path", () => {
  const bridge = uniqueName("br");
  // Every path QEMU reads from an option value (serial log, QMP socket, EFI variable store) lies in it.
  const runDir = mkdtempSync(join(tmpdir(), "nbt-qemu-args,"));
  afterAll(async () => {
    await execa("ip", ["link", "del", bridge], { reject: false });
    rmSync(runDir, { recursive: true, force: true });
  });

  const variants = [
    ...(["qemu-e1000", "qemu-e1000e", "qemu-rtl8139", "qemu-virtio", "qemu-pcnet", "qemu-vmxnet3"] as const).map((nic) => ({
      firmware: "bios" as const,
      nic,
      bootImage: "linux",
    })),
    { firmware: "efi-x64" as const, nic: "qemu-e1000" as const, bootImage: "linux" },
    { firmware: "efi-ia32" as const, nic: "qemu-virtio" as const, bootImage: "snow" },
  ];

  it.each(variants)("$firmware with $nic starts (paused) on a tap of a test bridge", async (variant) => {
    if (!existsSync(`/sys/class/net/${bridge}`)) await execa("ip", ["link", "add", bridge, "type", "bridge"]);
    const launch = qemuLaunch(client({ ...variant, name: `vm-${variant.nic.slice(5)}` }), bridge, runDir, TCG_TAP);
    const { running, stderr } = await startPaused(launch);
    expect(running, `QEMU exited: ${stderr}`).toBe(true);
    expect(existsSync(launch.serialLog), "QEMU opened the serial log at the folder's real path").toBe(true);
  });
});
