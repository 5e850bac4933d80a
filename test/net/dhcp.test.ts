import { describe, expect, it } from "vitest";
import {
  clientRequest,
  decodeDhcpPacket,
  dhcpOption,
  DhcpDecodeError,
  encodeDhcpPacket,
  formatHex,
  isReplyTo,
  parseHex,
  pxeVendorClass,
  readOption,
  summarizePacket,
  type ClientIdentity,
  type DhcpPacket,
} from "../../lib/net/dhcp";
import { bytes } from "../support/bytes";

const COOKIE = bytes("63 82 53 63");
const MAC = "52:54:00:12:34:56";

const identity: ClientIdentity = {
  mac: MAC,
  clientId: bytes("01 52 54 00 12 34 56"),
  clientArch: 7,
  userClass: "iPXE",
  parameterRequestList: [1, 3, 43, 67],
};

/** The fixed 236-byte header every test packet shares, with the fields a test varies. */
function header(fields: { op: string; xid: string; flags: string; yiaddr?: string; siaddr?: string; sname?: Buffer; file?: Buffer }): Buffer {
  const sname = Buffer.alloc(64);
  fields.sname?.copy(sname);
  const file = Buffer.alloc(128);
  fields.file?.copy(file);
  return Buffer.concat([
    bytes(`${fields.op} 01 06 00`, fields.xid, "00 00", fields.flags),
    bytes("00 00 00 00", fields.yiaddr ?? "00 00 00 00", fields.siaddr ?? "00 00 00 00", "00 00 00 00"),
    bytes("52 54 00 12 34 56"),
    Buffer.alloc(10),
    sname,
    file,
  ]);
}

function padTo300(packet: Buffer): Buffer {
  return Buffer.concat([packet, Buffer.alloc(Math.max(0, 300 - packet.length))]);
}

describe("encoding client requests", () => {
  it("writes a DHCPDISCOVER: broadcast flag, chaddr, cookie, then options in the order a PXE client sends them", () => {
    const encoded = encodeDhcpPacket(clientRequest(identity, { type: "DHCPDISCOVER" }, 0x1a2b3c4d));

    expect(encoded).toEqual(
      Buffer.concat([
        header({ op: "01", xid: "1a 2b 3c 4d", flags: "80 00" }),
        COOKIE,
        bytes("35 01 01"), // dhcp-message-type DISCOVER
        bytes("39 02 05 dc"), // dhcp-max-message-size 1500
        bytes("3d 07 01 52 54 00 12 34 56"), // dhcp-client-identifier 01 + MAC
        bytes("5d 02 00 07"), // pxe-system-type 7 (EFI BC)
        bytes('3c 20 "PXEClient:Arch:00007:UNDI:002001"'), // vendor-class-identifier
        bytes('4d 04 "iPXE"'), // user-class
        bytes("37 04 01 03 2b 43"), // dhcp-parameter-request-list 1,3,43,67
        bytes("ff"),
      ]),
    );
  });

  it("writes a DHCPREQUEST with the offered address (50) and the chosen server (54) right after the message type", () => {
    const encoded = encodeDhcpPacket(
      clientRequest({ mac: MAC, parameterRequestList: [1] }, { type: "DHCPREQUEST", requestedAddress: "10.213.77.50", serverIdentifier: "10.213.77.1" }, 7),
    );

    expect(encoded.subarray(236, 236 + 4 + 3 + 6 + 6 + 4 + 3 + 1)).toEqual(
      Buffer.concat([COOKIE, bytes("35 01 03"), bytes("32 04 0a d5 4d 32"), bytes("36 04 0a d5 4d 01"), bytes("39 02 05 dc"), bytes("37 01 01"), bytes("ff")]),
    );
  });

  it("writes a plain RFC 951 BOOTP request: 300 bytes, no magic cookie, an all-zero vendor area", () => {
    const encoded = encodeDhcpPacket(clientRequest(identity, { type: "BOOTREQUEST", vendorExtensions: false }, 0x01020304));

    expect(encoded).toEqual(padTo300(header({ op: "01", xid: "01 02 03 04", flags: "80 00" })));
  });

  it("writes an RFC 1497 BOOTP request: the cookie and identity options, but no message type and no request list", () => {
    const encoded = encodeDhcpPacket(
      clientRequest({ ...identity, clientId: undefined, userClass: undefined, clientArch: 0 }, { type: "BOOTREQUEST", vendorExtensions: true }, 9),
    );

    expect(encoded.subarray(236, 236 + 4 + 4 + 34 + 1)).toEqual(
      Buffer.concat([COOKIE, bytes("5d 02 00 00"), bytes('3c 20 "PXEClient:Arch:00000:UNDI:002001"'), bytes("ff")]),
    );
    expect(readOption(decodeDhcpPacket(encoded), "dhcp-message-type")).toBeUndefined();
  });

  it("accepts a MAC with dashes or capitals and writes it in the canonical form", () => {
    const request = clientRequest({ mac: "52-54-00-AB-CD-EF", parameterRequestList: [] }, { type: "DHCPDISCOVER" }, 1);
    expect(request.chaddr).toBe("52:54:00:ab:cd:ef");
  });

  it("splits an option longer than 255 bytes into consecutive instances (RFC 3396) and joins them again when reading", () => {
    const rootPath = `10.213.77.1:/netboot/${"x".repeat(300)}`;
    const packet: DhcpPacket = { ...clientRequest(identity, { type: "DHCPDISCOVER" }, 1), options: [dhcpOption("root-path", rootPath)] };
    const encoded = encodeDhcpPacket(packet);

    expect(encoded.subarray(240, 242)).toEqual(bytes("11 ff"));
    expect(encoded.subarray(240 + 2 + 255, 240 + 2 + 255 + 2)).toEqual(bytes(`11 ${(rootPath.length - 255).toString(16)}`));
    expect(readOption(decodeDhcpPacket(encoded), "root-path")).toBe(rootPath);
  });

  it("refuses fields that do not fit, naming the field", () => {
    const request = clientRequest(identity, { type: "DHCPDISCOVER" }, 1);
    expect(() => encodeDhcpPacket({ ...request, file: "f".repeat(128) })).toThrow('file: "' + "f".repeat(128) + '" is 128 bytes; the field holds at most 127');
    expect(() => encodeDhcpPacket({ ...request, chaddr: "52:54:zz" })).toThrow(/chaddr: "52:54:zz" is not a hardware address/);
    expect(() => encodeDhcpPacket({ ...request, yiaddr: "10.1.2" })).toThrow(/yiaddr: "10.1.2" is not an IPv4 address/);
  });
});

describe("decoding server replies", () => {
  /** An offer the way ISC dhcpd 4.4 writes one for a netboot client. */
  const offer = padTo300(
    Buffer.concat([
      header({ op: "02", xid: "1a 2b 3c 4d", flags: "80 00", yiaddr: "0a d5 4d 32", siaddr: "0a d5 4d 01", file: Buffer.from("efi64/ipxe.efi") }),
      COOKIE,
      bytes("35 01 02"), // DHCPOFFER
      bytes("36 04 0a d5 4d 01"), // dhcp-server-identifier 10.213.77.1
      bytes("33 04 00 00 0e 10"), // dhcp-lease-time 3600
      bytes("01 04 ff ff ff 00"), // subnet-mask
      bytes("03 08 0a d5 4d 01 0a d5 4d 02"), // routers (two)
      bytes("00 00"), // pad
      bytes('11 19 "10.213.77.1:/netboot/root"'), // root-path, never requested
      bytes("e0 02 ca fe"), // a site-local option the lab does not know
      bytes("ff"),
    ]),
  );

  it("reads the header fields and every option by its dhcpd name", () => {
    expect(summarizePacket(decodeDhcpPacket(offer))).toEqual({
      messageType: "DHCPOFFER",
      xid: "0x1a2b3c4d",
      broadcast: true,
      chaddr: MAC,
      ciaddr: "0.0.0.0",
      yiaddr: "10.213.77.50",
      siaddr: "10.213.77.1",
      giaddr: "0.0.0.0",
      sname: "",
      file: "efi64/ipxe.efi",
      options: {
        "dhcp-message-type": "DHCPOFFER",
        "dhcp-server-identifier": "10.213.77.1",
        "dhcp-lease-time": 3600,
        "subnet-mask": "255.255.255.0",
        routers: ["10.213.77.1", "10.213.77.2"],
        "root-path": "10.213.77.1:/netboot/root",
        "option-224": "ca:fe",
      },
    });
  });

  it("gives typed option values", () => {
    const packet = decodeDhcpPacket(offer);
    expect(readOption(packet, "dhcp-lease-time")).toBe(3600);
    expect(readOption(packet, "routers")).toEqual(["10.213.77.1", "10.213.77.2"]);
    expect(readOption(packet, "bootfile-name")).toBeUndefined();
  });

  it("calls a reply without option 53 a BOOTREPLY, and one without the cookie has no options at all", () => {
    const bootpReply = padTo300(
      Buffer.concat([header({ op: "02", xid: "00 00 00 09", flags: "00 00", yiaddr: "0a d5 4d 64" }), COOKIE, bytes('11 04 "/nfs" ff')]),
    );
    expect(summarizePacket(decodeDhcpPacket(bootpReply))).toMatchObject({ messageType: "BOOTREPLY", broadcast: false, options: { "root-path": "/nfs" } });

    const plain = decodeDhcpPacket(padTo300(header({ op: "02", xid: "00 00 00 09", flags: "00 00", file: Buffer.from("pxeboot") })));
    expect(plain.options).toBeUndefined();
    expect(summarizePacket(plain)).toMatchObject({ messageType: "BOOTREPLY", file: "pxeboot", options: null });
  });

  it("reads options the server moved into file and sname (option 52 overload), after those of the options field", () => {
    const file = bytes('43 07 "bootx64" ff'); // bootfile-name
    const sname = bytes('42 0b "10.213.77.1" ff'); // tftp-server-name
    const packet = decodeDhcpPacket(
      padTo300(Buffer.concat([header({ op: "02", xid: "00 00 00 01", flags: "80 00", sname, file }), COOKIE, bytes("35 01 05 34 01 03 ff")])),
    );

    expect(packet.file).toBe("");
    expect(packet.sname).toBe("");
    expect(summarizePacket(packet).options).toEqual({
      "dhcp-message-type": "DHCPACK",
      "dhcp-option-overload": 3,
      "bootfile-name": "bootx64",
      "tftp-server-name": "10.213.77.1",
    });
  });

  it("shows a malformed option as hex in the summary, and names it when read as a typed value", () => {
    const packet = decodeDhcpPacket(
      padTo300(Buffer.concat([header({ op: "02", xid: "00 00 00 01", flags: "80 00" }), COOKIE, bytes("35 01 05 01 03 ff ff 00 ff")])),
    );

    expect(summarizePacket(packet).options).toEqual({ "dhcp-message-type": "DHCPACK", "subnet-mask": "ff:ff:00" });
    expect(() => readOption(packet, "subnet-mask")).toThrow("option subnet-mask is 3 bytes long; expected 4");
  });

  it("rejects packets that are not BOOTP, saying what is wrong", () => {
    expect(() => decodeDhcpPacket(Buffer.alloc(100))).toThrow("packet is 100 bytes; a BOOTP packet has at least 236");
    expect(() => decodeDhcpPacket(Buffer.alloc(300))).toThrow("op is 0; expected 1 (BOOTREQUEST) or 2 (BOOTREPLY)");
    const truncated = Buffer.concat([header({ op: "02", xid: "00 00 00 01", flags: "80 00" }), COOKIE, bytes("11 20 41 42")]);
    expect(() => decodeDhcpPacket(truncated)).toThrow(new DhcpDecodeError("option root-path (code 17) in the options field runs past its end"));
  });

  it("round-trips every field of a request", () => {
    const request = clientRequest(identity, { type: "DHCPREQUEST", requestedAddress: "10.0.0.5", serverIdentifier: "10.0.0.1" }, 0xfedcba98);
    const decoded = decodeDhcpPacket(encodeDhcpPacket({ ...request, sname: "server", file: "boot/file", hops: 2, secs: 12 }));
    expect(decoded).toEqual({ ...request, sname: "server", file: "boot/file", hops: 2, secs: 12 });
  });
});

describe("matching and helpers", () => {
  it("matches a reply to its request by transaction id and hardware address only", () => {
    const request = clientRequest(identity, { type: "DHCPDISCOVER" }, 0x1a2b3c4d);
    const reply: DhcpPacket = { ...request, op: "reply", yiaddr: "10.213.77.50" };
    expect(isReplyTo(request, reply)).toBe(true);
    expect(isReplyTo(request, { ...reply, xid: 0x1a2b3c4e })).toBe(false);
    expect(isReplyTo(request, { ...reply, chaddr: "52:54:00:12:34:57" })).toBe(false);
    expect(isReplyTo(request, request)).toBe(false);
  });

  it("reads hex in the forms users paste, and writes it colon-separated", () => {
    expect(formatHex(parseHex("01:52:54:00:AA:bb:cc")!)).toBe("01:52:54:00:aa:bb:cc");
    expect(formatHex(parseHex("01-52-54")!)).toBe("01:52:54");
    expect(formatHex(parseHex("015254")!)).toBe("01:52:54");
    expect(parseHex("0152 5")).toBeUndefined();
    expect(parseHex("")).toBeUndefined();
  });

  it("writes the PXE vendor class with a five-digit architecture", () => {
    expect(pxeVendorClass(9)).toBe("PXEClient:Arch:00009:UNDI:002001");
  });
});
