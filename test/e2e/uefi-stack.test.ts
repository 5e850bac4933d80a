/**
 * End to end: the uefi stack (stacks/Pulumi.uefi.yaml) realized on the local Docker engine the
 * way `pulumi up` would (test/support/stack-e2e.ts): a UEFI HTTP Boot x64 guest, whose firmware
 * fetches GRUB by URL and which must send no TFTP packet at all, a Secure Boot guest whose marker
 * must report Secure Boot on, and an ARM64 guest (AAVMF on qemu-system-aarch64) booting an arm64
 * kernel and the lab's initramfs. Timings go to run `uefi`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeDhcpPacket, summarizePacket } from "../../lib/net/dhcp";
import { BOOTED_MARKER } from "../../lib/pxe";
import { BOOT_TIMEOUT_MS, expectBooted, expectNothingLeft, stackE2e } from "../support/stack-e2e";

const e2e = stackE2e({ stack: "uefi", run: "uefi" });
const booted = new Map<string, string>();

/**
 * What each client's serial log must show besides the lab's markers: the firmware's own words
 * for how it booted, and the kernel's architecture. A client of the stack without a row has
 * only the common checks.
 */
const EXTRA_SERIAL_CHECKS: Record<string, readonly RegExp[]> = {
  "http-x64": [/Start HTTP Boot over IPv4/, /URI: http:\/\/\S+\/core-http\.efi/, /Linux version \S+-amd64 /],
  "efi-secure-boot": [/EFI stub: UEFI Secure Boot is enabled\./, new RegExp(`${BOOTED_MARKER} image=linux-signed ip=\\S+ secureboot=1\\b`)],
  arm64: [/Linux version \S+-arm64 /],
};

const httpClients = e2e.clients.filter((client) => client.netboot === "http").map((client) => client.name);

beforeAll(() => e2e.up(), 1_200_000);
afterAll(() => e2e.finish());

describe("pulumi up of the uefi stack boots every guest", () => {
  it("declares an HTTP Boot client, a Secure Boot client and an ARM64 client", () => {
    expect(httpClients).toEqual(["http-x64"]);
    expect(e2e.clients.filter((client) => client.secureBoot).map((client) => client.name)).toEqual(["efi-secure-boot"]);
    expect(e2e.clients.filter((client) => client.firmware === "efi-arm64").map((client) => client.name)).toEqual(["arm64"]);
  });

  it.each(e2e.clients.map((client) => client.name))(
    "%s: an address from the lab's dhcpd, its kernel and its final marker",
    async (name) => {
      const { client, serial } = await e2e.bootClient(name);
      expectBooted(e2e, client, serial);
      for (const check of EXTRA_SERIAL_CHECKS[name] ?? []) expect(serial.text, name).toMatch(check);
      booted.set(name, new RegExp(`${BOOTED_MARKER} image=\\S+ ip=(\\S+)`).exec(serial.text)![1]!);
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});

describe("pulumi destroy", () => {
  it("leaves no QEMU process, tap, container, network or volume of the lab", async () => {
    await e2e.teardown();
    await expectNothingLeft(e2e);
  });

  it("the DHCP answers came from the lab's server with the address each guest reported", () => {
    expect([...booted.keys()].sort()).toEqual(e2e.clients.map((client) => client.name).sort());
    for (const [name, reported] of booted) {
      const timeline = e2e.timeline(name);
      expect(timeline.dhcpAck, name).toEqual({ yiaddr: reported, server: e2e.server });
      expect(timeline.stages.firstBootFileRequest, name).not.toBeNull();
    }
  });

  it.each(httpClients)("%s: HTTP Boot only: its DHCP answer echoes HTTPClient with a URL, and it sent no TFTP packet", (name) => {
    const mac = e2e.clientOutputs().find((client) => client.name === name)!.mac;
    const fromClient = e2e.frames().filter((frame) => frame.srcMac === mac);
    expect(fromClient.length, `no frame of ${name} in the capture`).toBeGreaterThan(0);
    expect(fromClient.filter((frame) => frame.udp?.dstPort === 69)).toEqual([]);
    const answers = e2e
      .frames()
      .filter((frame) => frame.udp?.srcPort === 67)
      .map((frame) => summarizePacket(decodeDhcpPacket(frame.udp!.payload)))
      .filter((packet) => packet.chaddr === mac && packet.messageType === "DHCPACK");
    expect(answers.length).toBeGreaterThan(0);
    expect(answers[0]!.options?.["vendor-class-identifier"]).toBe("HTTPClient");
    expect(answers[0]!.file).toMatch(new RegExp(`^http://${e2e.server.replace(/\./g, "\\.")}/\\S+core-http\\.efi$`));
  });
});
