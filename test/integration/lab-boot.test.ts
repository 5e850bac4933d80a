/**
 * The whole kvm lab as the stack program declares it (servers, builder, boot images) applied to
 * the local Docker engine, and QEMU guests on the lab bridge netbooting from it: firmware PXE or
 * iPXE, our dhcpd, TFTP and HTTP, Debian's kernel, and the root mounted from our NFS server.
 */
import { randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOOTED_MARKER, NFS_ROOT_MARKER, POWEROFF_PARAMETER } from "../../lib/pxe";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { createTap } from "../support/netns";
import { runStack } from "../support/pulumi-harness";
import { bootGuest, tapNetwork } from "../support/qemu";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";

const id = randomBytes(3).toString("hex");
const net = `10.215.${randomInt(0, 256)}`;
const server = `${net}.2`;
const bridge = `nbtbr${id}`;
const labels = testCaseLabels(`lab-boot-${id}`);
const cmdline = `console=ttyS0 ${POWEROFF_PARAMETER}`;

const GUESTS = {
  "bios-ipxe": { mac: "52:54:00:6c:00:10", ipv4: `${net}.10`, firmware: "bios", bootImage: "linux-ipxe" },
  "efi-ipxe": { mac: "52:54:00:6c:00:11", ipv4: `${net}.11`, firmware: "efi-x64", bootImage: "linux-ipxe" },
  "efi-grub": { mac: "52:54:00:6c:00:12", ipv4: `${net}.12`, firmware: "efi-x64", bootImage: "linux-grub" },
} as const;

let lab: AppliedLab | undefined;

beforeAll(async () => {
  const { resources } = await runStack("kvm", {
    configOverrides: {
      "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge },
      "netboot-lab:docker": { baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm", namePrefix: `nbt${id}` },
      "netboot-lab:bootImages": [
        { name: "linux-ipxe", kind: "ipxe", nfsRoot: true, linux: { cmdline } },
        { name: "linux-grub", kind: "grub", nfsRoot: true, linux: { cmdline } },
      ],
      "netboot-lab:clients": Object.entries(GUESTS).map(([name, guest]) => ({ name, ...guest })),
    },
  });
  lab = await applyToDocker(resources, { labels });
}, 900_000);

afterAll(async () => {
  await lab?.teardown();
});

/** Boots the named client's QEMU guest on a tap of the lab bridge until its NFS root marker. */
async function bootClient(name: keyof typeof GUESTS): Promise<string> {
  const guest = GUESTS[name];
  const tap = await createTap(bridge);
  try {
    return await bootGuest({
      firmware: guest.firmware === "bios" ? "bios" : "efi",
      network: tapNetwork(tap.name, guest.mac),
      until: new RegExp(NFS_ROOT_MARKER),
      timeoutMs: 240_000,
    });
  } finally {
    await tap.destroy();
  }
}

describe("QEMU guests netboot from the deployed kvm lab", () => {
  it("BIOS: QEMU's iPXE ROM gets the boot script over HTTP at once, boots Linux and mounts its NFS root", async () => {
    const console = await bootClient("bios-ipxe");
    expect(console).toMatch(new RegExp(`${BOOTED_MARKER} image=linux-ipxe ip=${GUESTS["bios-ipxe"].ipv4.replace(/\./g, "\\.")}\\b`));
    expect(console).toMatch(new RegExp(`${NFS_ROOT_MARKER} ${server}:/netboot/linux-ipxe/root netboot-lab NFS root of boot image linux-ipxe`));
  }, 300_000);

  it("EFI x64: firmware PXE loads ipxe.efi over TFTP, and iPXE is handed its script instead of itself again", async () => {
    const console = await bootClient("efi-ipxe");
    expect(console).toMatch(new RegExp(`${BOOTED_MARKER} image=linux-ipxe ip=${GUESTS["efi-ipxe"].ipv4.replace(/\./g, "\\.")}\\b`));
    expect(console).toContain(NFS_ROOT_MARKER);
  }, 300_000);

  it("EFI x64: GRUB's net_bootp, Debian's kernel and the NFS root, all at the client's one reserved address", async () => {
    const console = await bootClient("efi-grub");
    expect(console).toMatch(new RegExp(`${BOOTED_MARKER} image=linux-grub ip=${GUESTS["efi-grub"].ipv4.replace(/\./g, "\\.")}\\b`));
    expect(console).toMatch(new RegExp(`${NFS_ROOT_MARKER} ${server}:/netboot/linux-grub/root`));
  }, 300_000);
});

describe("teardown", () => {
  it("removes the lab's containers, networks and volumes", async () => {
    await lab?.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
