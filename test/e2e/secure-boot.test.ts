/**
 * End to end: Secure Boot in the kvm stack's lab (test/support/stack-e2e.ts), with a signed-grub
 * image beside its GRUB image. A Secure Boot client (OVMF's Secure Boot build, Microsoft's keys)
 * goes shim → Debian's signed GRUB → Debian's signed kernel → the lab's initramfs, whose marker
 * says secureboot=1; the kvm stack's efi-grub boots in the same run for the time comparison.
 * Then the same firmware is handed the lab's unsigned GRUB (a client validation would refuse,
 * its QEMU swapped in only here): the firmware refuses it and no further file is fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuLaunch } from "../../lib/client/qemu";
import { readStackConfigMap, stackFilePath, validateLab, type LabConfigInput } from "../../lib/model";
import { BOOTED_MARKER } from "../../lib/pxe";
import { fileRequest } from "../support/boot-timeline";
import type { Frame } from "../support/pcap";
import { PROJECT_DIR } from "../support/pulumi-harness";
import { BOOT_TIMEOUT_MS, expectBooted, expectNothingLeft, stackE2e, type ClientInput } from "../support/stack-e2e";

type ImageInput = NonNullable<LabConfigInput["bootImages"]>[number];

const SECURE = "efi-secure-boot";
const UNSIGNED = "efi-sb-unsigned";
const BASELINE = "efi-grub";
const REFUSED = /Access Denied|Security Violation/i;
const REFUSAL_TIMEOUT_MS = 180_000;

const kvmImages = readStackConfigMap(stackFilePath(PROJECT_DIR, "kvm"))["netboot-lab:bootImages"] as ImageInput[];
const secureClient = (net: string): ClientInput => ({
  name: SECURE,
  mac: "52:54:00:77:00:13",
  ipv4: `${net}.13`,
  firmware: "efi-x64",
  nic: "qemu-virtio",
  secureBoot: true,
  bootImage: "linux-signed",
});
/** As validation accepts it: no Secure Boot, so its boot file is the lab's GRUB core.efi. */
const unsignedClient = (net: string): ClientInput => ({
  name: UNSIGNED,
  mac: "52:54:00:77:00:14",
  ipv4: `${net}.14`,
  firmware: "efi-x64",
  nic: "qemu-virtio",
  bootImage: "linux-grub",
});

const e2e = stackE2e({
  stack: "kvm",
  run: "secure-boot",
  configOverrides: { "netboot-lab:bootImages": [...kvmImages.filter((image) => image.name === "linux-grub"), { name: "linux-signed", kind: "signed-grub" }] },
  clients: (clients, net) => [...clients.filter((client) => client.name === BASELINE), secureClient(net), unsignedClient(net)],
});

/** The QEMU command line of the unsigned client as if it were a Secure Boot client: the bypass of validation exists only here. */
function secureBootInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const client = validateLab({
    network: { subnet: `${e2e.net}.0/24`, serverAddress: e2e.server, bridge: e2e.bridge },
    bootImages: [{ name: "linux-signed", kind: "signed-grub" }],
    clients: [{ ...unsignedClient(e2e.net), secureBoot: true, bootImage: "linux-signed" }],
    qemu: { accel: "tcg", runDir: e2e.runDir, stopTimeoutSeconds: 2 },
  }).clients[0]!;
  const launch = qemuLaunch(client, e2e.bridge, e2e.runDir, { accel: "tcg", attach: "tap" });
  return { ...inputs, args: [...launch.args], copies: launch.copies.map((copy) => ({ ...copy })) };
}

/** What the guest asked for, in order: each TFTP read request's file name and each HTTP GET's path. */
const fetches = (frames: readonly Frame[], mac: string) => frames.flatMap((frame) => fileRequest(frame, mac) ?? []);

const macOf = (name: string) => e2e.clients.find((client) => client.name === name)!.mac;
const booted = new Map<string, string>();

beforeAll(() => e2e.up(), 1_200_000);
afterAll(() => e2e.finish());

describe("Secure Boot: shim, Debian's signed GRUB and kernel, the lab's initramfs", () => {
  it(
    `${SECURE}: its firmware and kernel run with Secure Boot on, and the marker says secureboot=1`,
    async () => {
      const { client, serial } = await e2e.bootClient(SECURE);
      expectBooted(e2e, client, serial);
      // The EFI stub says so at any loglevel; the kernel's own "secureboot:" line is KERN_INFO, hidden by the default loglevel=6.
      expect(serial.text).toContain("EFI stub: UEFI Secure Boot is enabled.");
      expect(serial.text).toMatch(new RegExp(`${BOOTED_MARKER} image=linux-signed ip=${client.ipv4!.replace(/\./g, "\\.")} secureboot=1\\b`));
      booted.set(SECURE, client.ipv4!);
    },
    BOOT_TIMEOUT_MS + 60_000,
  );

  it(
    `${BASELINE} (the kvm stack's, no Secure Boot) boots in the same run, for the time comparison; its marker says secureboot=0`,
    async () => {
      const { client, serial } = await e2e.bootClient(BASELINE);
      expectBooted(e2e, client, serial);
      expect(serial.text).toMatch(new RegExp(`${BOOTED_MARKER} image=linux-grub ip=\\S+ secureboot=0\\b`));
    },
    BOOT_TIMEOUT_MS + 60_000,
  );

  it(
    `${UNSIGNED}: the Secure Boot firmware handed the lab's unsigned GRUB refuses to start it`,
    async () => {
      const { serial } = await e2e.bootClient(UNSIGNED, {
        inputs: secureBootInputs,
        patterns: { refused: REFUSED },
        until: "refused",
        timeoutMs: REFUSAL_TIMEOUT_MS,
        untimed: true,
      });
      expect(serial.firstSeen.refused, `no refusal within ${REFUSAL_TIMEOUT_MS / 1000} s; serial log:\n${serial.text.slice(-3000)}`).toBeDefined();
      expect(serial.text).toMatch(/NBP filename is linux-grub\/boot\/grub\/x86_64-efi\/core\.efi/);
      expect(serial.text).toMatch(/failed to load Boot\d+ "UEFI PXEv4[^"]*" from .*: Access Denied/);
      expect(serial.text).not.toMatch(/GNU GRUB|Linux version/);
    },
    REFUSAL_TIMEOUT_MS + 60_000,
  );
});

describe("pulumi destroy, and what the guests fetched", () => {
  it("leaves no QEMU process, tap, container, network or volume of the lab", async () => {
    await e2e.teardown();
    await expectNothingLeft(e2e);
  });

  it(`${SECURE} fetched shim, then grubx64.efi beside it, the root grub/grub.cfg, the image's, then kernel and initrd, all over TFTP`, () => {
    expect(booted.get(SECURE), `${SECURE} did not boot`).toBeDefined();
    const files = fetches(e2e.frames(), macOf(SECURE));
    // OVMF reads the boot file twice (its size, then the file); shim asks for optional revocation and certificate files,
    // GRUB for module lists under its prefix, which the lab does not serve.
    expect([...new Set(files)].filter((file) => !/\/x86_64-efi\/|revocations|shim_certificate/.test(file))).toEqual([
      "tftp linux-signed/shimx64.efi",
      "tftp linux-signed/grubx64.efi",
      "tftp /grub/grub.cfg",
      // $cmdpath: the folder of the DHCP boot file, as the firmware's DHCP answer names it.
      "tftp linux-signed/grub.cfg",
      "tftp /linux-signed/vmlinuz",
      "tftp /linux-signed/initrd.img",
    ]);
    expect(e2e.timeline(SECURE).dhcpAck).toEqual({ yiaddr: booted.get(SECURE), server: e2e.server });
  });

  it(`${UNSIGNED}: nothing after the refused loader, no GRUB config and no kernel`, () => {
    expect(new Set(fetches(e2e.frames(), macOf(UNSIGNED)))).toEqual(new Set(["tftp linux-grub/boot/grub/x86_64-efi/core.efi"]));
  });
});
