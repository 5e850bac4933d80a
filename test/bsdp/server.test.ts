/** What the lab's BSDP server answers, decided from the lab model (no sockets: lib/bsdp/server.ts). */
import { afterAll, describe, expect, it } from "vitest";
import { describeBsdpReply, macInform, type MacIdentity, type MacRequest } from "../../lib/bsdp/client";
import { readBsdpOptions } from "../../lib/bsdp/codec";
import { bsdpImageId, defaultImageIndex } from "../../lib/bsdp/image-id";
import { answerBsdp, type BsdpDecision } from "../../lib/bsdp/server";
import { nbImageInfo } from "../../lib/darwin/boot-plist";
import { validateLab, type LabModel } from "../../lib/model";
import { clientRequest, encodeDhcpPacket, readOption } from "../../lib/net/dhcp";
import { renderLabFiles } from "../../lib/render-lab";
import { bsdpServerConfig } from "../../lib/servers/bsdp";
import { darwinImage, darwinLab, darwinMedia } from "../boot-image/fixtures";

const media = darwinMedia();
afterAll(() => media.cleanup());

const MAC1 = "00:50:56:00:00:01";
const STRANGER = "00:50:56:00:00:77";

/** Snow (install, NFS, every Mac), Lion (HTTP, MacPro5,1 only, not for STRANGER), Diag (diagnostics, filter-only). */
function threeImageLab(bsdp: Record<string, unknown> = {}): LabModel {
  return validateLab({
    network: { subnet: "10.0.0.0/24", serverAddress: "10.0.0.28" },
    bootImages: [
      darwinImage(media, { index: 0x101 }),
      darwinImage(media, {
        name: "lion",
        nbiName: "Lion",
        description: "Lion NetBoot",
        rootImage: media.booter,
        protocol: "http",
        index: 0x102,
        bsdp: { enabledSystemIdentifiers: ["MacPro5,1"], disabledMacAddresses: [STRANGER.toUpperCase()] },
      }),
      darwinImage(media, { name: "diag", nbiName: "Diag", index: 0x103, bsdp: { kind: "diagnostics", install: false } }),
    ],
    clients: [{ name: "mac1", mac: MAC1, ipv4: "10.0.0.50", platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "snow" }],
    bsdp,
  });
}

const SNOW = bsdpImageId({ install: true, kind: 1, index: 0x101 });
const LION = bsdpImageId({ install: false, kind: 1, index: 0x102 });
const DIAG = bsdpImageId({ install: false, kind: 3, index: 0x103 });

const mac = (overrides: Partial<MacIdentity> = {}): MacIdentity => ({ mac: MAC1, address: "10.0.0.50", arch: "i386", model: "MacPro5,1", ...overrides });

function ask(lab: LabModel, request: MacRequest, identity = mac(), bindings = new Map<string, number>()): BsdpDecision {
  return answerBsdp(encodeDhcpPacket(macInform(identity, request, 0x1234)), bsdpServerConfig(lab), bindings);
}

function answerOf(decision: BsdpDecision) {
  if (decision.kind !== "reply") throw new Error(`expected a reply, got: ${decision.log}`);
  return describeBsdpReply(encodeDhcpPacket(decision.reply), decision.reply, "10.0.0.28", decision.port);
}

describe("LIST", () => {
  const lab = threeImageLab();

  it("answers with priority, default and every image this Mac may boot, unicast to its ciaddr on port 68", () => {
    const decision = ask(lab, { type: "LIST" });
    expect(decision).toMatchObject({ kind: "reply", address: "10.0.0.50", port: 68 });
    expect(answerOf(decision)).toMatchObject({
      messageType: "LIST",
      serverIdentifier: "10.0.0.28",
      serverPriority: 32768,
      defaultImage: "0x81000101",
      selectedImage: null,
      images: [
        { id: "0x81000101", index: 0x101, install: true, kind: 1, name: "Snow" },
        { id: "0x01000102", index: 0x102, install: false, kind: 1, name: "Lion NetBoot" },
      ],
    });
    if (decision.kind === "reply") {
      expect(readOption(decision.reply, "vendor-class-identifier")).toBe("AAPLBSDPC");
      expect(decision.reply).toMatchObject({ op: "reply", yiaddr: "0.0.0.0", ciaddr: "10.0.0.50", xid: 0x1234, chaddr: MAC1 });
    }
  });

  it("replies to the port the Startup Disk pane names, and not at all to a port of 1024 or above", () => {
    expect(ask(lab, { type: "LIST", replyPort: 892 })).toMatchObject({ kind: "reply", port: 892 });
    expect(ask(lab, { type: "LIST", replyPort: 1024 })).toMatchObject({ kind: "ignore", log: expect.stringContaining("reply port 1024 is not below 1024") });
  });

  it("hides an image from a model it does not enable, and from a MAC it disables", () => {
    expect(answerOf(ask(lab, { type: "LIST" }, mac({ model: "iMac7,1" }))).images.map((image) => image.id)).toEqual(["0x81000101"]);
    expect(answerOf(ask(lab, { type: "LIST" }, mac({ mac: STRANGER }))).images.map((image) => image.id)).toEqual(["0x81000101"]);
  });

  it("lists a diagnostics image only to a Mac whose attributes filter asks for it", () => {
    expect(answerOf(ask(lab, { type: "LIST", attributesFilter: [0x0300] })).images).toEqual([
      { id: "0x03000103", index: 0x103, install: false, kind: 3, name: "Diag" },
    ]);
  });

  it("stays silent when no image is for this Mac (a ppc Mac; an enabled-MAC list without it)", () => {
    expect(ask(lab, { type: "LIST" }, mac({ arch: "ppc" }))).toMatchObject({ kind: "ignore", log: expect.stringContaining("no image for this Mac") });
    const onlyMac1 = validateLab({ ...labInput(), bootImages: [darwinImage(media, { bsdp: { enabledMacAddresses: [MAC1] } })] });
    expect(ask(onlyMac1, { type: "LIST" }, mac({ mac: STRANGER }))).toMatchObject({ kind: "ignore" });
    expect(ask(onlyMac1, { type: "LIST" })).toMatchObject({ kind: "reply" });
  });

  it("names the image the Mac selected before, and the stack's default image", () => {
    const withDefault = threeImageLab({ defaultImage: "lion", serverPriority: 7 });
    expect(answerOf(ask(withDefault, { type: "LIST" }, mac(), new Map([[MAC1, LION]])))).toMatchObject({
      defaultImage: "0x01000102",
      selectedImage: "0x01000102",
      serverPriority: 7,
    });
    // A default the Mac may not boot gives way to the first image it may.
    expect(answerOf(ask(withDefault, { type: "LIST" }, mac({ model: "iMac7,1" })))).toMatchObject({ defaultImage: "0x81000101" });
  });

  it("sends no image list to a BSDP 1.0 client", () => {
    const request = macInform(mac(), { type: "LIST" }, 1);
    const options = request.options!.map((option) => (option.code === 43 ? { code: 43, data: Uint8Array.from([1, 1, 1, 2, 2, 1, 0]) } : option));
    const decision = answerBsdp(encodeDhcpPacket({ ...request, options }), bsdpServerConfig(lab), new Map());
    expect(decision.kind === "reply" && readBsdpOptions(encodeDhcpPacket(decision.reply))).toEqual({
      messageType: "LIST",
      serverPriority: 32768,
      defaultImage: SNOW,
    });
  });

  it("leaves whole images out until the reply fits the client's max message size", () => {
    const many = validateLab({
      ...labInput(),
      bootImages: Array.from({ length: 12 }, (_, index) =>
        darwinImage(media, { name: `img${index}`, index: index + 1, description: `Image ${index} `.padEnd(120, "x") }),
      ),
    });
    const decision = ask(many, { type: "LIST" });
    expect(decision.kind === "reply" && encodeDhcpPacket(decision.reply).length).toBeLessThanOrEqual(1500);
    // 236-byte header, cookie, options 53/54/60, then two 125-byte descriptions per 254-byte option-43 instance.
    expect(answerOf(decision).images.length).toBe(9);
    expect(decision).toMatchObject({ log: expect.stringContaining("3 left out to fit 1500 bytes") });
  });
});

function labInput() {
  return {
    network: { subnet: "10.0.0.0/24", serverAddress: "10.0.0.28" },
    clients: [],
  };
}

describe("SELECT", () => {
  const lab = threeImageLab();
  const select = (imageId: number | undefined, identity = mac(), serverIdentifier = "10.0.0.28") =>
    ask(lab, { type: "SELECT", serverIdentifier, imageId }, identity);

  it("returns booter, TFTP server, nfs: root path and the client's name, and binds the Mac to the image", () => {
    const decision = select(SNOW);
    expect(answerOf(decision)).toMatchObject({
      messageType: "SELECT",
      selectedImage: "0x81000101",
      booter: "snow/Snow.nbi/i386/booter",
      tftpServer: "10.0.0.28",
      rootPath: "nfs:10.0.0.28:/netboot:snow/Snow.nbi/NetInstall.dmg",
      machineName: "mac1",
    });
    expect(decision).toMatchObject({ bind: { mac: MAC1, imageId: SNOW } });
  });

  it("gives an HTTP image its http:// root path, and a Mac the lab does not know a NetBoot-<mac> name", () => {
    expect(answerOf(select(LION, mac({ mac: "00:50:56:aa:bb:cc" })))).toMatchObject({
      rootPath: "http://10.0.0.28/lion/Lion.nbi/boot.efi",
      machineName: "NetBoot-005056aabbcc",
    });
  });

  it("selects the default image when the Mac names none", () => {
    expect(answerOf(select(undefined))).toMatchObject({ selectedImage: "0x81000101" });
  });

  it("answers FAILED to an unknown image and to an image this Mac may not boot", () => {
    expect(answerOf(select(0x81000999))).toMatchObject({ messageType: "FAILED", booter: null, rootPath: null });
    expect(select(0x81000999)).toMatchObject({ log: expect.stringContaining("0x81000999 is not an image of this server") });
    expect(answerOf(select(LION, mac({ model: "iMac7,1" })))).toMatchObject({ messageType: "FAILED" });
  });

  it("ignores a SELECT naming another server", () => {
    expect(select(SNOW, mac(), "10.0.0.99")).toMatchObject({ kind: "ignore", log: expect.stringContaining("SELECT for server 10.0.0.99, not this one") });
  });

  it("a diagnostics image is selectable though it is only listed on request", () => {
    expect(answerOf(select(DIAG))).toMatchObject({ messageType: "SELECT", selectedImage: "0x03000103" });
  });
});

describe("what is not BSDP passes by", () => {
  const config = bsdpServerConfig(threeImageLab());

  it("ignores, without a log line, PXE and BOOTP requests, non-Apple INFORMs and a Mac's own DISCOVER (dhcpd's)", () => {
    const pxe = clientRequest({ mac: MAC1, clientArch: 7, parameterRequestList: [1, 3] }, { type: "DHCPDISCOVER" }, 1);
    const bootp = clientRequest({ mac: MAC1, parameterRequestList: [] }, { type: "BOOTREQUEST", vendorExtensions: false }, 1);
    const inform = { ...pxe, options: pxe.options!.map((option) => (option.code === 53 ? { code: 53, data: Uint8Array.of(8) } : option)) };
    const macDiscover = {
      ...macInform(mac(), { type: "LIST" }, 1),
      options: macInform(mac(), { type: "LIST" }, 1).options!.map((option) => (option.code === 53 ? { code: 53, data: Uint8Array.of(1) } : option)),
    };
    for (const packet of [pxe, bootp, inform, macDiscover]) expect(answerBsdp(encodeDhcpPacket(packet), config, new Map())).toEqual({ kind: "ignore" });
    expect(answerBsdp(Buffer.from("not a DHCP packet"), config, new Map())).toEqual({ kind: "ignore" });
  });

  it("logs and ignores a Mac's INFORM with malformed BSDP options or no ciaddr", () => {
    const request = macInform(mac(), { type: "LIST" }, 1);
    const broken = {
      ...request,
      options: request.options!.map((option) => (option.code === 43 ? { code: 43, data: Uint8Array.of(1, 1, 1, 9, 4, 0) } : option)),
    };
    expect(answerBsdp(encodeDhcpPacket(broken), config, new Map())).toMatchObject({
      kind: "ignore",
      log: expect.stringContaining("malformed BSDP options: BSDP boot image list (tag 9) in option 43 says 4 bytes but 1 remain"),
    });
    expect(answerBsdp(encodeDhcpPacket({ ...request, ciaddr: "0.0.0.0" }), config, new Map())).toMatchObject({
      kind: "ignore",
      log: expect.stringContaining("without ciaddr"),
    });
  });

  it("leaves dhcpd.conf exactly as it is without BSDP, and runs no responder when BSDP is off", () => {
    const withBsdp = renderLabFiles(threeImageLab());
    const without = renderLabFiles(threeImageLab({ enabled: false }));
    const conf = (files: typeof withBsdp) => files.find((file) => file.path === "dhcpd/dhcpd.conf")!.content;
    expect(conf(withBsdp)).toBe(conf(without));
    expect(withBsdp.map((file) => file.path)).toContain("bsdp/bsdp.json");
    expect(without.map((file) => file.path)).not.toContain("bsdp/bsdp.json");
  });
});

describe("the model: IDs, filters, validation", () => {
  it("writes each image's ID and filters into lab.json", () => {
    const summary = JSON.parse(renderLabFiles(threeImageLab()).find((file) => file.path === "lab.json")!.content);
    expect(summary.bsdp).toMatchObject({ enabled: true, serverPriority: 32768, defaultImage: "0x81000101" });
    expect(summary.bsdp.images[1]).toEqual({
      bootImage: "lion",
      id: "0x01000102",
      index: 0x102,
      install: false,
      kind: 1,
      name: "Lion NetBoot",
      booter: "lion/Lion.nbi/i386/booter",
      rootPath: "http://10.0.0.28/lion/Lion.nbi/boot.efi",
      architectures: ["i386"],
      enabledSystemIdentifiers: ["MacPro5,1"],
      enabledMacAddresses: [],
      disabledMacAddresses: [STRANGER],
    });
  });

  it("derives a stable index from the name when none is given, and writes the same identity into NBImageInfo.plist", () => {
    const lab = darwinLab(darwinImage(media, { bsdp: { kind: "mac-os-x-server", enabledSystemIdentifiers: ["MacPro3,1"] } }));
    expect(lab.bsdp.images[0]!.id).toBe(bsdpImageId({ install: true, kind: 2, index: defaultImageIndex("snow") }));
    const image = lab.bootImages[0]!;
    if (image.kind !== "darwin-nbi") throw new Error("fixture");
    expect(nbImageInfo({ image, rootImageFile: "NetInstall.dmg" })).toMatchObject({
      Index: defaultImageIndex("snow"),
      Kind: 2,
      IsInstall: true,
      EnabledSystemIdentifiers: ["MacPro3,1"],
    });
  });

  it("reports every BSDP problem with its field and the fix", () => {
    expect(() =>
      validateLab({
        ...labInput(),
        bootImages: [
          darwinImage(media, { index: 5 }),
          darwinImage(media, {
            name: "twin",
            index: 5,
            description: "x".repeat(247),
            bsdp: { enabledSystemIdentifiers: ["Mac/Pro"], enabledMacAddresses: ["nope", MAC1], disabledMacAddresses: [MAC1] },
          }),
        ],
        bsdp: { defaultImage: "missing" },
      }),
    ).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          new RegExp(
            [
              'bootImages\\[1\\]\\.index: BSDP index 5 is already used by bootImages\\[0\\] \\("snow"\\)',
              "bootImages\\[1\\]\\.description: is 247 bytes of UTF-8; the boot picker's BSDP image list holds at most 246",
              'bootImages\\[1\\]\\.bsdp\\.enabledSystemIdentifiers\\[0\\]: "Mac/Pro" is not a Mac model identifier',
              'bootImages\\[1\\]\\.bsdp\\.enabledMacAddresses\\[0\\]: "nope" is not a MAC address',
              `bootImages\\[1\\]\\.bsdp\\.disabledMacAddresses: ${MAC1} is also in enabledMacAddresses`,
              'bsdp\\.defaultImage: "missing" is not a darwin-nbi boot image; use one of snow, twin',
            ].join("[\\s\\S]*"),
          ),
        ),
      }),
    );
  });
});
