/** What the lab's proxyDHCP server answers, decided from the lab model (no sockets: lib/proxy-dhcp/server.ts), and the container it runs in. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { macInform } from "../../lib/bsdp/client";
import { validateLab } from "../../lib/model";
import { clientRequest, decodeDhcpPacket, encodeDhcpPacket, PXE_CLIENT_ARCH, readOption, summarizePacket, type ClientIdentity } from "../../lib/net/dhcp";
import { answerProxyDhcp, PXE_PROXY_PORT } from "../../lib/proxy-dhcp/server";
import { renderLabFiles } from "../../lib/render-lab";
import { labServers } from "../../lib/servers";
import { proxyDhcpConfig } from "../../lib/servers/proxy-dhcp";

const BIOS = "52:54:00:00:00:01";
const EFI = "52:54:00:00:00:02";
const STRANGER = "52:54:00:00:00:99";
const lab = validateLab({
  network: { subnet: "10.77.0.0/24", serverAddress: "10.77.0.2" },
  servers: { dhcp: { mode: "proxy" } },
  bootImages: [{ name: "linux", kind: "ipxe", nfsRoot: true }],
  clients: [
    { name: "bios-ipxe", mac: BIOS, bootImage: "linux" },
    { name: "efi-ipxe", mac: EFI, firmware: "efi-x64", bootImage: "linux" },
  ],
});
const config = proxyDhcpConfig(lab);
const SITE_CLIENT = { address: "0.0.0.0", port: 68 };
const UUID = Uint8Array.of(0, ...Array.from({ length: 16 }, (_, index) => index));

function pxe(mac: string, extra: Partial<ClientIdentity> = {}): ClientIdentity {
  return { mac, clientArch: PXE_CLIENT_ARCH.bios, parameterRequestList: [1, 3, 43, 60, 66, 67], ...extra };
}

function ask(identity: ClientIdentity, type: "DHCPDISCOVER" | "DHCPREQUEST" = "DHCPDISCOVER", port = 67, from = SITE_CLIENT) {
  const message = type === "DHCPDISCOVER" ? ({ type } as const) : ({ type, requestedAddress: "10.77.0.150", serverIdentifier: "10.77.0.2" } as const);
  const request = clientRequest(identity, message, 0x1234);
  // PXE ROMs send their UUID (option 97); the proxy echoes it.
  const bytes = encodeDhcpPacket({ ...request, options: [...request.options!, { code: 97, data: UUID }] });
  return answerProxyDhcp(bytes, port, from, config);
}

describe("proxyDHCP answers", () => {
  it("offers a declared BIOS PXE client its boot file with no address, broadcast to port 68", () => {
    const decision = ask(pxe(BIOS));
    expect(decision).toMatchObject({ kind: "reply", address: "255.255.255.255", port: 68 });
    if (decision.kind !== "reply") return;
    const reply = decodeDhcpPacket(encodeDhcpPacket(decision.reply));
    expect(summarizePacket(reply)).toMatchObject({
      messageType: "DHCPOFFER",
      xid: "0x00001234",
      chaddr: BIOS,
      yiaddr: "0.0.0.0",
      siaddr: "10.77.0.2",
      file: "linux/undionly.kpxe",
      options: {
        "dhcp-server-identifier": "10.77.0.2",
        "vendor-class-identifier": "PXEClient",
        "root-path": "10.77.0.2:/netboot/linux/root",
        "pxe-client-id": "00:00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f",
      },
    });
    // Nothing a site server hands out: no mask, router, lease time.
    expect(reply.options!.map((option) => option.code).sort((a, b) => a - b)).toEqual([17, 53, 54, 60, 97]);
    expect(decision.log).toBe(
      "bios-ipxe 52:54:00:00:00:01 DHCPDISCOVER on port 67 (bios) -> 255.255.255.255:68: DHCPOFFER yiaddr 0.0.0.0, next-server 10.77.0.2, file linux/undionly.kpxe, root-path 10.77.0.2:/netboot/linux/root",
    );
  });

  it("gives EFI x64 firmware (arch 7 or 9) ipxe.efi and iPXE (user class) its script, not its own binary again", () => {
    for (const arch of [PXE_CLIENT_ARCH["efi-bc"], PXE_CLIENT_ARCH["efi-x64"]]) {
      const decision = ask(pxe(EFI, { clientArch: arch }));
      expect(decision.kind === "reply" && decision.reply.file, `arch ${arch}`).toBe("linux/ipxe.efi");
    }
    const ipxe = ask(pxe(EFI, { clientArch: PXE_CLIENT_ARCH["efi-bc"], userClass: "iPXE" }));
    expect(ipxe.kind === "reply" && ipxe.reply.file).toBe("http://10.77.0.2/linux/boot.ipxe");
    // No option 93: the client's declared firmware decides.
    const noArch = ask({ mac: EFI, vendorClass: "PXEClient", parameterRequestList: [67] });
    expect(noArch.kind === "reply" && noArch.reply.file).toBe("linux/ipxe.efi");
  });

  it("reads option 93 by the codes dhcpd.conf matches: an ARM64 PXE firmware (arch 11) is not handed the x86 BIOS file", () => {
    const arm64 = ask(pxe(BIOS, { clientArch: PXE_CLIENT_ARCH["efi-arm64"] }));
    expect(arm64).toEqual({
      kind: "ignore",
      log: "bios-ipxe 52:54:00:00:00:01 DHCPDISCOVER on port 67: its boot image has no file for efi-arm64: no answer",
    });
    // Some 32-bit EFI firmwares send Itanium's code; the ipxe image has no ia32 loader either.
    expect(ask(pxe(BIOS, { clientArch: 2 }))).toMatchObject({ kind: "ignore", log: expect.stringMatching(/no file for efi-ia32: no answer$/) });
  });

  it("answers the follow-up DHCPREQUEST on port 4011 with an ACK to where it came from", () => {
    const decision = ask(pxe(EFI, { clientArch: PXE_CLIENT_ARCH["efi-bc"] }), "DHCPREQUEST", PXE_PROXY_PORT, { address: "10.77.0.150", port: 68 });
    expect(decision).toMatchObject({ kind: "reply", address: "10.77.0.150", port: 68 });
    if (decision.kind !== "reply") return;
    expect(readOption(decision.reply, "dhcp-message-type")).toBe("DHCPACK");
    expect(decision.reply).toMatchObject({ yiaddr: "0.0.0.0", siaddr: "10.77.0.2", file: "linux/ipxe.efi" });
  });

  it("stays silent for an undeclared MAC, saying why, and for what is not a PXE client's DISCOVER on 67 or REQUEST on 4011", () => {
    expect(ask(pxe(STRANGER))).toEqual({
      kind: "ignore",
      log: "52:54:00:00:00:99 DHCPDISCOVER on port 67: not a client of the stack: no answer (the site's server alone answers it)",
    });
    // dhclient-like (no PXEClient), a REQUEST on 67 (the site server's), a DISCOVER on 4011, a Mac's BSDP INFORM, garbage.
    expect(ask({ mac: BIOS, parameterRequestList: [1, 3] })).toEqual({ kind: "ignore" });
    expect(ask(pxe(BIOS), "DHCPREQUEST")).toEqual({ kind: "ignore" });
    expect(ask(pxe(BIOS), "DHCPDISCOVER", PXE_PROXY_PORT)).toEqual({ kind: "ignore" });
    const inform = macInform({ mac: BIOS, address: "10.77.0.150", arch: "i386", model: "MacPro3,1" }, { type: "LIST" }, 7);
    expect(answerProxyDhcp(encodeDhcpPacket(inform), 67, SITE_CLIENT, config)).toEqual({ kind: "ignore" });
    expect(answerProxyDhcp(Uint8Array.of(1, 2, 3), 67, SITE_CLIENT, config)).toEqual({ kind: "ignore" });
  });
});

describe("damaged requests", () => {
  it("a PXE DISCOVER with any bytes overwritten or cut is answered or ignored, never an exception (fixed seed)", () => {
    const wire = encodeDhcpPacket(clientRequest(pxe(EFI, { clientArch: PXE_CLIENT_ARCH["efi-bc"], userClass: "iPXE" }), { type: "DHCPDISCOVER" }, 7));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(wire.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(wire.length), (writes, cut) => {
        const damaged = Buffer.from(wire);
        for (const [offset, value] of writes) damaged[offset] = value;
        for (const port of [67, PXE_PROXY_PORT])
          expect(["reply", "ignore"]).toContain(answerProxyDhcp(damaged.subarray(0, cut), port, SITE_CLIENT, config).kind);
      }),
      { seed: 16, numRuns: 2000 },
    );
  });
});

describe("the proxy-dhcp container", () => {
  it("takes dhcpd's place in proxy mode, with its config rendered and only NET_BIND_SERVICE", () => {
    const servers = labServers(lab);
    expect(servers.map((server) => server.role)).not.toContain("dhcpd");
    const proxy = servers.find((server) => server.role === "proxy-dhcp")!;
    expect(proxy).toMatchObject({ image: "cli", command: ["proxy-dhcp", "serve", "--config", "/etc/netboot-lab/proxy-dhcp/proxy-dhcp.json"] });
    expect(proxy.capabilities).toEqual(["CAP_NET_BIND_SERVICE"]);
    const rendered = renderLabFiles(lab).find((file) => file.path === "proxy-dhcp/proxy-dhcp.json")!;
    expect(JSON.parse(rendered.content)).toEqual({
      serverAddress: "10.77.0.2",
      clients: [
        {
          name: "bios-ipxe",
          mac: BIOS,
          firmware: "bios",
          files: {
            bios: "linux/undionly.kpxe",
            "efi-x64": "linux/ipxe.efi",
            "http-efi-x64": "http://10.77.0.2/linux/snponly.efi",
            ipxe: "http://10.77.0.2/linux/boot.ipxe",
          },
          rootPath: "10.77.0.2:/netboot/linux/root",
        },
        expect.objectContaining({ name: "efi-ipxe", firmware: "efi-x64" }),
      ],
    });
    expect(labServers(validateLab({ network: { subnet: "10.77.0.0/24" } })).map((server) => server.role)).toEqual(expect.arrayContaining(["dhcpd"]));
  });
});
