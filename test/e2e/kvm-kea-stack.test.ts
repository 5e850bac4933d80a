/**
 * End to end on Kea: the kvm stack as kvm-stack.test.ts boots it, with `servers.dhcp.server: kea`,
 * so the pod runs kea-dhcp4 and every guest's firmware, iPXE, GRUB and pxelinux get their
 * answers from Kea. The per-stage timings go to test-results/e2e/timings.json as run `kvm-kea`,
 * beside ISC's `kvm` (README, "Kea as the lab's DHCP server").
 */
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOOTED_MARKER } from "../../lib/pxe";
import { LOG_PARSERS, type DaemonEvent } from "../../lib/watch/log-lines";
import { BOOT_TIMEOUT_MS, expectBooted, expectNothingLeft, stackE2e } from "../support/stack-e2e";

const e2e = stackE2e({ stack: "kvm", run: "kvm-kea", configOverrides: { "netboot-lab:servers": { dhcp: { server: "kea" } } } });
const booted = new Map<string, string>();

beforeAll(() => e2e.up(), 1_200_000);
afterAll(() => e2e.finish());

const keaContainer = () => `nbt${e2e.id}-nbl-kvm-kea`;

describe("pulumi up of the kvm stack on Kea boots every guest", () => {
  it("runs kea-dhcp4 in the pod and no dhcpd", () => {
    const names = e2e.resources().map((resource) => resource.name);
    expect(names).toContain("nbl-kvm-kea");
    expect(names).not.toContain("nbl-kvm-dhcpd");
  });

  it.each(e2e.clients.map((client) => client.name))(
    "%s: an address from Kea, the kernel, its root where declared, and its final marker",
    async (name) => {
      const { client, serial } = await e2e.bootClient(name);
      expectBooted(e2e, client, serial);
      booted.set(name, new RegExp(`${BOOTED_MARKER} image=\\S+ ip=(\\S+)`).exec(serial.text)![1]!);
    },
    BOOT_TIMEOUT_MS + 60_000,
  );

  it("Kea's own log shows the lease of each guest at the address the guest reported", async () => {
    const log = await execa("docker", ["logs", keaContainer()], { all: true });
    const acks = String(log.all)
      .split("\n")
      .map((line) => LOG_PARSERS.kea!(line))
      .filter((event): event is Extract<DaemonEvent, { kind: "dhcp" }> => event?.kind === "dhcp" && event.message === "DHCPACK");
    for (const client of e2e.clientOutputs().filter((output) => booted.has(output.name)))
      expect(acks, client.name).toContainEqual({ kind: "dhcp", message: "DHCPACK", mac: client.mac, ip: booted.get(client.name) });
  });
});

describe("pulumi destroy", () => {
  it("leaves no QEMU process, tap, container, network or volume of the lab", async () => {
    await e2e.teardown();
    await expectNothingLeft(e2e);
  });

  it("the bridge capture shows each guest's ACK from the lab's address with the address it reported", () => {
    for (const [name, reported] of booted) {
      const timeline = e2e.timeline(name);
      expect(timeline.dhcpAck, name).toEqual({ yiaddr: reported, server: e2e.server });
      expect(timeline.stages.firstBootFileRequest, name).not.toBeNull();
    }
  });
});
