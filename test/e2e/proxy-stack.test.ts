/**
 * End to end: the proxy stack (stacks/Pulumi.proxy.yaml) realized the way `pulumi up` would
 * (test/support/stack-e2e.ts) beside a real foreign DHCP server, an ISC dhcpd of the test's own
 * in a namespace on the lab bridge (its own pool, no boot options) playing the site's server.
 * BIOS iPXE and EFI -> iPXE guests reach their final marker with an address from the site's pool,
 * every reply of the lab on the bridge carries yiaddr 0.0.0.0, and an undeclared MAC gets no boot
 * answer from the lab. The same clients then boot in authoritative mode, for the side-by-side
 * boot-stage table (timings.json runs `proxy` and `proxy-authoritative`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOption } from "../../lib/net/dhcp";
import { BOOTED_MARKER } from "../../lib/pxe";
import { probeDhcp } from "../support/dhcp-clients";
import { startForeignDhcpd, type ForeignDhcpd } from "../support/foreign-dhcpd";
import { createTestHost, type TestHost } from "../support/netns";
import { dhcpReplies } from "../support/pcap";
import { BOOT_TIMEOUT_MS, expectBooted, expectNothingLeft, stackE2e, type StackE2e } from "../support/stack-e2e";

const SITE_POOL = { start: 150, end: 199 };
const STRANGER_MAC = "52:54:00:78:00:99";

function bootsEveryClient(e2e: StackE2e, addresses: Map<string, string>): void {
  it.each(e2e.clients.map((client) => client.name))(
    "%s: an address, the kernel, its NFS root and its final marker",
    async (name) => {
      const { client, serial } = await e2e.bootClient(name);
      expectBooted(e2e, client, serial);
      addresses.set(name, new RegExp(`${BOOTED_MARKER} image=\\S+ ip=(\\S+)`).exec(serial.text)![1]!);
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
}

describe("proxy mode beside the site's DHCP server", () => {
  const e2e = stackE2e({ stack: "proxy", run: "proxy" });
  const addresses = new Map<string, string>();
  let site: ForeignDhcpd | undefined;
  let stranger: TestHost | undefined;

  beforeAll(async () => {
    await e2e.up();
    site = await startForeignDhcpd({ bridge: e2e.bridge, net: e2e.net, host: 3, poolStart: SITE_POOL.start, poolEnd: SITE_POOL.end });
  }, 1_200_000);
  afterAll(async () => {
    await stranger?.destroy();
    await site?.stop();
    await e2e.finish();
  });

  bootsEveryClient(e2e, addresses);

  it("an undeclared MAC gets its address from the site's server and nothing from the lab", async () => {
    stranger = await createTestHost({ bridge: e2e.bridge, mac: STRANGER_MAC });
    const reply = await probeDhcp(stranger, { arch: "bios", timeoutMs: 4000 });
    expect(reply?.options?.["dhcp-server-identifier"]).toBe(site!.address);
    // The bridge capture's last frames come in with libpcap's buffer timeout: before teardown stops it.
    await new Promise((resolveWait) => setTimeout(resolveWait, 2000));
  }, 60_000);

  describe("after pulumi destroy", () => {
    it("leaves nothing of the lab", async () => {
      await stranger?.destroy();
      await site?.stop();
      await e2e.teardown();
      await expectNothingLeft(e2e);
    });

    it("every guest took the site's address; every reply of the lab carried yiaddr 0.0.0.0 and PXEClient; the stranger got none", () => {
      const replies = dhcpReplies(e2e.frames());
      for (const [name, address] of addresses) {
        expect(Number(address.split(".")[3]), `${name} ${address}`).toBeGreaterThanOrEqual(SITE_POOL.start);
        expect(Number(address.split(".")[3]), `${name} ${address}`).toBeLessThanOrEqual(SITE_POOL.end);
        expect(e2e.timeline(name).dhcpAck, name).toEqual({ yiaddr: address, server: site!.address });
      }
      const fromLab = replies.filter((reply) => reply.from === e2e.server);
      expect(fromLab.length).toBeGreaterThan(0);
      for (const { packet } of fromLab) {
        expect(packet.yiaddr).toBe("0.0.0.0");
        expect(readOption(packet, "vendor-class-identifier")).toBe("PXEClient");
      }
      expect(new Set(fromLab.map((reply) => reply.packet.chaddr))).toEqual(new Set(e2e.clients.map((client) => client.mac)));
      expect(replies.filter((reply) => reply.packet.chaddr === STRANGER_MAC).map((reply) => reply.from)).toEqual(expect.arrayContaining([site!.address]));
      expect(fromLab.filter((reply) => reply.packet.chaddr === STRANGER_MAC)).toEqual([]);
    });
  });
});

describe("the same clients with the lab authoritative (for the side-by-side timings)", () => {
  const e2e = stackE2e({ stack: "proxy", run: "proxy-authoritative", configOverrides: { "netboot-lab:servers": { dhcp: { mode: "authoritative" } } } });
  const addresses = new Map<string, string>();

  beforeAll(() => e2e.up(), 1_200_000);
  afterAll(() => e2e.finish());

  bootsEveryClient(e2e, addresses);

  it("leaves nothing of the lab after pulumi destroy, and the lab's dhcpd gave every address", async () => {
    await e2e.teardown();
    await expectNothingLeft(e2e);
    for (const name of addresses.keys()) expect(e2e.timeline(name).dhcpAck?.server, name).toBe(e2e.server);
  });
});
