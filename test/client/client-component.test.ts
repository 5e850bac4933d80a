/**
 * The Client component in the real stack program under Pulumi's mocks: one per client of each
 * stack, what its QemuProcess or VmxBundle child is asked to run or write, the stack outputs,
 * and the client problems that stop the program before anything is declared.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { tapName } from "../../lib/client/qemu";
import { parseVmx } from "../../lib/client/vmx";
import { isSecretInput } from "../support/dynamic-provider-host";
import { fusionMedia } from "../support/fake-media";
import { PROJECT_DIR, runStack, runStackExpectingError, type DeclaredResource } from "../support/pulumi-harness";
import { optionPairs } from "./fixtures";

// The stack program plans QEMU guests against the machine it runs on; here against one that has
// QEMU and OVMF, no usable KVM, and root, so these tests say the same on every machine.
vi.mock("../../lib/client/qemu-host", async (importOriginal) => {
  const { fakeQemuHost } = await vi.importActual<typeof import("./fixtures")>("./fixtures");
  return { ...(await importOriginal<typeof import("../../lib/client/qemu-host")>()), probeQemuHost: () => fakeQemuHost({ kvmUsable: false, isRoot: true }) };
});

const media = fusionMedia();
afterAll(() => media.cleanup());
const withMedia = { "netboot-lab:mediaDir": media.dir };

const QEMU_PROCESS = "pulumi-nodejs:dynamic/client:QemuProcess";
const VMX_BUNDLE = "pulumi-nodejs:dynamic/client:VmxBundle";
const runDir = join(PROJECT_DIR, ".netboot-lab", "qemu");

function child(resources: DeclaredResource[], parent: string, type: string): DeclaredResource {
  const found = resources.find((resource) => resource.parent === parent && resource.type === type);
  if (!found) throw new Error(`no ${type} under ${parent}`);
  return found;
}

describe("kvm stack: each client a QEMU guest that pulumi up starts", async () => {
  const { resources, outputs } = await runStack("kvm");

  it("declares one Client per client at the top of the stack, each with its QemuProcess", () => {
    const clients = resources.filter((resource) => resource.type === "netboot-lab:index:Client");
    expect(clients.map((client) => [client.name, client.parent])).toEqual([
      ["nbl-kvm-bios-ipxe", undefined],
      ["nbl-kvm-efi-grub", undefined],
      ["nbl-kvm-bios-pxelinux", undefined],
    ]);
    expect(resources.filter((resource) => resource.type === QEMU_PROCESS).map((resource) => [resource.name, resource.parent])).toEqual([
      ["nbl-kvm-bios-ipxe-qemu", "nbl-kvm-bios-ipxe"],
      ["nbl-kvm-efi-grub-qemu", "nbl-kvm-efi-grub"],
      ["nbl-kvm-bios-pxelinux-qemu", "nbl-kvm-bios-pxelinux"],
    ]);
  });

  it("runs each guest headless from the network (its NIC first in OVMF's boot order) on a tap of nblab0 with its MAC, serial console to its log", () => {
    const qemu = child(resources, "nbl-kvm-efi-grub", QEMU_PROCESS).inputs;
    expect(qemu).toMatchObject({
      client: "efi-grub",
      binary: "qemu-system-x86_64",
      bridge: "nblab0",
      tap: tapName("nblab0", "efi-grub"),
      serialLog: join(runDir, "efi-grub.serial.log"),
      processLog: join(runDir, "efi-grub.qemu.log"),
      qmpSocket: join(runDir, "efi-grub.qmp.sock"),
      copies: [],
      stopTimeoutSeconds: 10,
      start: true,
    });
    // Every argument is spelled out in qemu.test.ts; here, what this stack and this machine decide.
    expect(optionPairs(qemu.args)).toEqual(
      expect.arrayContaining([
        // auto: the injected host has no usable KVM, and runs as root (so a tap).
        "-accel tcg",
        `-chardev file,id=serial0,path=${join(runDir, "efi-grub.serial.log")}`,
        "-bios /usr/share/qemu/OVMF.fd",
        `-netdev tap,id=lab,ifname=${tapName("nblab0", "efi-grub")},script=no,downscript=no`,
        "-device virtio-net-pci,netdev=lab,mac=52:54:00:77:00:11,bootindex=0",
      ]),
    );
    expect(typeof qemu.__provider).toBe("string");
  });

  it("outputs per client the address it will get, its boot file, serial log and QEMU command", () => {
    const clients = outputs.clients as Record<string, unknown>[];
    expect(clients.map(({ name, address, bootFile, serialLog }) => ({ name, address, bootFile, serialLog }))).toEqual([
      { name: "bios-ipxe", address: "10.77.0.10", bootFile: "linux-ipxe/undionly.kpxe", serialLog: join(runDir, "bios-ipxe.serial.log") },
      { name: "efi-grub", address: "10.77.0.11", bootFile: "linux-grub/boot/grub/x86_64-efi/core.efi", serialLog: join(runDir, "efi-grub.serial.log") },
      {
        name: "bios-pxelinux",
        address: "dynamic, from 10.77.0.128-10.77.0.254",
        bootFile: "linux-pxelinux/pxelinux.0",
        serialLog: join(runDir, "bios-pxelinux.serial.log"),
      },
    ]);
    expect(clients[0]).toMatchObject({
      platform: "qemu",
      nic: "qemu-virtio",
      qemuCommand: expect.stringContaining("exec qemu-system-x86_64 \\\n  -name guest=bios-ipxe"),
    });
  });

  it("autostart: false declares the guest without starting it; accel and memory come from the stack's qemu settings", async () => {
    const run = await runStack("kvm", {
      configOverrides: {
        "netboot-lab:qemu": { memoryMiB: 512 },
        "netboot-lab:clients": [{ name: "idle", mac: "52:54:00:77:00:20", ipv4: "10.77.0.20", bootImage: "linux-ipxe", autostart: false, cpus: 2 }],
      },
    });
    const qemu = child(run.resources, "nbl-kvm-idle", QEMU_PROCESS).inputs;
    expect(qemu.start).toBe(false);
    expect(optionPairs(qemu.args)).toEqual(expect.arrayContaining(["-m 512", "-smp 2"]));
  });
});

describe("netbsd-kvm stack: iPXE ROM, pxeboot_ia32_com0.bin, the kernel, an NFS root, all on the serial console", async () => {
  const { resources, outputs } = await runStack("netbsd-kvm", { configOverrides: withMedia });

  it("boots the NetBSD guest from the network on a tap of nblab1 with an e1000 NetBSD drives", () => {
    const qemu = child(resources, "nbl-netbsd-kvm-netbsd", QEMU_PROCESS).inputs;
    expect(optionPairs(qemu.args)).toEqual(
      expect.arrayContaining([
        "-boot n",
        `-chardev file,id=serial0,path=${join(runDir, "netbsd.serial.log")}`,
        `-netdev tap,id=lab,ifname=${tapName("nblab1", "netbsd")},script=no,downscript=no`,
        "-device e1000,autonegotiation=off,netdev=lab,mac=52:54:00:78:00:10",
      ]),
    );
    expect(outputs.clients).toEqual([
      expect.objectContaining({ name: "netbsd", address: "10.78.0.10", bootFile: "netbsd/pxeboot_ia32_com0.bin", rootPath: "10.78.0.2:/netboot/netbsd/root" }),
    ]);
  });

  it("reads the user's NetBSD files from mediaDir into the build", () => {
    const build = resources.find((resource) => resource.name === "nbl-netbsd-kvm-netbsd-build")!;
    const sources = (build.inputs.media as { localPath: string }[]).map((file) => file.localPath);
    expect(sources).toEqual([join(media.dir, "media/netbsd-5/pxeboot_ia32.bin"), join(media.dir, "media/netbsd-5/netbsd-GENERIC")]);
  });
});

describe("fusion stack: each client a .vmwarevm bundle on this Mac", async () => {
  const { resources, outputs } = await runStack("fusion", { configOverrides: { ...withMedia, "netboot-lab:vncPassword": "Vnc8pass" } });
  const bundle = (parent: string) => child(resources, parent, VMX_BUNDLE).inputs;
  const vmxOf = (parent: string) => {
    const text = bundle(parent).vmxText;
    expect(isSecretInput(text), `${parent}: the .vmx is a secret input`).toBe(true);
    return parseVmx((text as { value: string }).value);
  };

  it("writes the Mac OS X 10.6 guest's bundle in the VM folder, with its MAC, NIC, 64-bit EFI (efi-x64: darwin10-64), HPET and VNC", () => {
    expect(bundle("nbl-fusion-snowleopard-server")).toMatchObject({
      folder: join(homedir(), "Virtual Machines.localized", "netboot-lab"),
      name: "Snow Leopard Server",
      start: true,
      generatedFiles: ["serial.log"],
    });
    const vmx = vmxOf("nbl-fusion-snowleopard-server");
    expect(
      Object.fromEntries(
        [
          "displayName",
          "guestOS",
          "firmware",
          "memsize",
          "ethernet0.virtualDev",
          "ethernet0.addressType",
          "ethernet0.address",
          "ethernet0.connectionType",
          "ethernet0.bsdName",
          "hpet0.present",
          "serial0.fileName",
          "answer.msg.serial.file.open",
          "RemoteDisplay.vnc.port",
          "RemoteDisplay.vnc.password",
        ].map((key) => [key, vmx.get(key)]),
      ),
    ).toEqual({
      displayName: "Snow Leopard Server",
      guestOS: "darwin10-64",
      firmware: "efi",
      memsize: "2048",
      "ethernet0.virtualDev": "e1000",
      "ethernet0.addressType": "static",
      "ethernet0.address": "00:50:56:00:00:28",
      "ethernet0.connectionType": "bridged",
      "ethernet0.bsdName": "en0",
      "hpet0.present": "TRUE",
      "serial0.fileName": "serial.log",
      "answer.msg.serial.file.open": "Append",
      "RemoteDisplay.vnc.port": "5901",
      "RemoteDisplay.vnc.password": "Vnc8pass",
    });
  });

  it("writes the NetBSD guest's bundle: BIOS, vlance, the NetBSD guest type, no VNC", () => {
    const vmx = vmxOf("nbl-fusion-netbsd5");
    expect([vmx.get("firmware"), vmx.get("guestOS"), vmx.get("ethernet0.virtualDev"), vmx.get("RemoteDisplay.vnc.enabled")]).toEqual([
      "bios",
      "other",
      "vlance",
      undefined,
    ]);
  });

  it("outputs the serial log in the bundle and no QEMU command", () => {
    const clients = outputs.clients as Record<string, unknown>[];
    expect(clients[0]).toMatchObject({
      platform: "fusion",
      address: "10.0.0.40",
      serialLog: join(homedir(), "Virtual Machines.localized", "netboot-lab", "Snow Leopard Server.vmwarevm", "serial.log"),
    });
    expect(clients[0]).not.toHaveProperty("qemuCommand");
  });
});

describe("client problems stop the program before anything is declared", () => {
  it("a Fusion MAC outside VMware's static range, and a guestOS that does not fit the image", async () => {
    const { error, resources } = await runStackExpectingError("fusion", {
      configOverrides: {
        ...withMedia,
        "netboot-lab:clients": [
          { name: "mac", platform: "fusion", mac: "00:50:56:80:00:28", ipv4: "10.0.0.40", firmware: "efi-x64", bootImage: "snow-leopard" },
          { name: "bsd", platform: "fusion", mac: "00:50:56:00:00:29", ipv4: "10.0.0.41", bootImage: "netbsd", guestOS: "darwin10" },
        ],
      },
    });
    expect(error.message).toContain("clients[0].mac: 00:50:56:80:00:28 is outside VMware's range for static MACs (00:50:56:00:00:00 to 00:50:56:3f:ff:ff)");
    expect(error.message).toContain(
      'clients[1].guestOS: darwin10 (Mac OS X / Mac OS X Server 10.6 (Darwin 10), 32-bit) does not fit boot image "netbsd" (netbsd); use other',
    );
    expect(resources).toEqual([]);
  });

  it("a VNC server without the secret netboot-lab:vncPassword, unless the client allows it", async () => {
    const { error, resources } = await runStackExpectingError("fusion", { configOverrides: withMedia });
    expect(error.message).toContain(
      "clients[0].vnc: a VNC server on port 5901 without a password shows the guest's console to anyone who reaches the port; set one (pulumi config set --secret netboot-lab:vncPassword <1 to 8 characters>), or set vnc.allowWithoutPassword: true on this client to run it open",
    );
    expect(resources).toEqual([]);

    const open = await runStack("fusion", {
      configOverrides: {
        ...withMedia,
        "netboot-lab:clients": [
          {
            name: "mac",
            platform: "fusion",
            mac: "00:50:56:00:00:28",
            ipv4: "10.0.0.40",
            firmware: "efi-x64",
            bootImage: "snow-leopard",
            vnc: { port: 5901, allowWithoutPassword: true },
          },
        ],
      },
    });
    const vmx = parseVmx((child(open.resources, "nbl-fusion-mac", VMX_BUNDLE).inputs.vmxText as { value: string }).value);
    expect([vmx.get("RemoteDisplay.vnc.enabled"), vmx.has("RemoteDisplay.vnc.password")]).toEqual(["TRUE", false]);
  });

  it("a QEMU client whose QMP socket path would be longer than a UNIX socket path may be", async () => {
    const runDir = `/tmp/${"d".repeat(88)}`;
    const { error, resources } = await runStackExpectingError("kvm", { configOverrides: { "netboot-lab:qemu": { runDir } } });
    expect(error.message).toContain(
      `client "bios-ipxe": its QMP socket ${runDir}/bios-ipxe.qmp.sock is 112 bytes long, over the 107 a UNIX socket path may have, so QEMU would exit at start; set netboot-lab:qemu.runDir to a folder at least 5 bytes shorter`,
    );
    expect(resources).toEqual([]);
  });

  it("a QEMU client in a stack whose Docker host is another machine", async () => {
    const { error, resources } = await runStackExpectingError("fusion", {
      configOverrides: { ...withMedia, "netboot-lab:clients": [{ name: "vm", mac: "52:54:00:00:00:28", ipv4: "10.0.0.40", bootImage: "netbsd" }] },
    });
    expect(error.message).toContain(
      "clients[0].platform: qemu clients run on this machine and join the lab bridge here, but docker.host (ssh://lab@netboot-host.local) puts the lab on another machine",
    );
    expect(resources).toEqual([]);
  });
});
