/**
 * End to end: the whole kvm stack (stacks/Pulumi.kvm.yaml, its real boot images and clients)
 * realized on the local Docker engine the way `pulumi up` would (test/support/stack-e2e.ts).
 * Every guest must netboot to its final marker; the serial logs, per-stage timings and a capture
 * of the lab bridge land in test-results/e2e/. Afterwards nothing of the lab remains, even when a
 * boot failed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tapName } from "../../lib/client/qemu";
import { BOOTED_MARKER } from "../../lib/pxe";
import { BOOT_TIMEOUT_MS, expectBooted, expectNothingLeft, stackE2e } from "../support/stack-e2e";

const QEMU_PROCESS = "pulumi-nodejs:dynamic/client:QemuProcess";
const e2e = stackE2e({ stack: "kvm", run: "kvm" });
const booted = new Map<string, string>();

beforeAll(() => e2e.up(), 1_200_000);
afterAll(() => e2e.finish());

describe("pulumi up of the kvm stack boots every guest", () => {
  it("builds every boot image (a failed build fails the update, and the setup above)", () => {
    const builds = Object.values(e2e.lab().dynamicResults);
    expect(builds).toHaveLength(3);
    for (const build of builds) expect(String(build.outs.buildLog)).toMatch(/built boot image/);
  });

  it("declares one QemuProcess per client, on this run's bridge, started by up", () => {
    const qemuResources = e2e.resources().filter((resource) => resource.type === QEMU_PROCESS);
    expect(qemuResources.map((resource) => resource.parent).sort()).toEqual(e2e.clients.map((client) => `nbl-kvm-${client.name}`).sort());
    for (const resource of qemuResources)
      expect(resource.inputs).toMatchObject({ bridge: e2e.bridge, start: true, tap: tapName(e2e.bridge, String(resource.inputs.client)) });
  });

  it.each(e2e.clients.map((client) => client.name))(
    "%s: an address from the lab's dhcpd, the kernel, its root where declared, and its final marker",
    async (name) => {
      const { client, serial } = await e2e.bootClient(name);
      expectBooted(e2e, client, serial);
      booted.set(name, new RegExp(`${BOOTED_MARKER} image=\\S+ ip=(\\S+)`).exec(serial.text)![1]);
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});

describe("pulumi destroy", () => {
  it("leaves no QEMU process, tap, container, network or volume of the lab", async () => {
    await e2e.teardown();
    await expectNothingLeft(e2e);
  });

  it("the DHCP answers came from the lab's server with the address each guest reported, and its router solicitations were answered", () => {
    for (const [name, reported] of booted) {
      const timeline = e2e.timeline(name);
      expect(timeline.dhcpAck, name).toEqual({ yiaddr: reported, server: e2e.server });
      expect(timeline.stages.firstBootFileRequest, name).not.toBeNull();
      // radvd on the lab bridge answered: iPXE's wait for an IPv6 router is over at once.
      if (timeline.routerSolicitations > 0) expect(timeline.routerAdvertisements, name).toBeGreaterThan(0);
    }
  });
});
