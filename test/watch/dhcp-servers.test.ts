/** watch marks DHCP replies from servers other than the lab's (lib/watch/dhcp-servers.ts), read from tcpdump's text as the capture prints it. */
import { describe, expect, it } from "vitest";
import { dhcpOption, encodeDhcpPacket } from "../../lib/net/dhcp";
import { bootRequest } from "../../lib/net/dhcp/request";
import { BootTimelines } from "../../lib/watch/timeline";
import { dhcpReplyEvent } from "../../lib/watch/dhcp-servers";
import { TftpCaptureReader } from "../../lib/watch/tftp-capture";

const MAC = "52:54:00:6e:00:10";
const LAB = "10.219.7.2";
const SITE = "10.219.7.3";

function offer(serverId: string, yiaddr: string, file = ""): Buffer {
  return encodeDhcpPacket({
    ...bootRequest({ mac: MAC, xid: 9 }),
    op: "reply",
    yiaddr,
    file,
    options: [dhcpOption("dhcp-message-type", "DHCPOFFER"), dhcpOption("dhcp-server-identifier", serverId)],
  });
}

/** The lines `tcpdump -tt -x` prints for one IPv4/UDP packet from `source`:`sourcePort` to the broadcast address. */
function tcpdumpLines(source: string, sourcePort: number, payload: Buffer): string[] {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sourcePort, 0);
  udp.writeUInt16BE(68, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(source.split(".").map(Number)).copy(ip, 12);
  Buffer.from([255, 255, 255, 255]).copy(ip, 16);
  const hex = Buffer.concat([ip, udp, payload]).toString("hex");
  const lines = [`1796178223.974022 IP ${source}.${sourcePort} > 255.255.255.255.68: BOOTP/DHCP, Reply, length ${payload.length}`];
  for (let offset = 0; offset < hex.length; offset += 32) {
    const words = hex
      .slice(offset, offset + 32)
      .match(/.{1,4}/g)!
      .join(" ");
    lines.push(`\t0x${(offset / 2).toString(16).padStart(4, "0")}:  ${words}`);
  }
  return lines;
}

describe("DHCP replies in watch's capture", () => {
  it("marks another server's offer in an authoritative lab, and the site's in a proxy lab", () => {
    expect(dhcpReplyEvent(SITE, offer(SITE, "10.219.7.150"), { serverAddress: LAB, mode: "authoritative" })).toEqual({
      kind: "dhcp",
      message: "DHCPOFFER",
      mac: MAC,
      ip: "10.219.7.150",
      note: `OTHER DHCP SERVER ${SITE}, server-id ${SITE}`,
    });
    expect(dhcpReplyEvent(SITE, offer(SITE, "10.219.7.150"), { serverAddress: LAB, mode: "proxy" })?.note).toBe(`site DHCP server ${SITE}, server-id ${SITE}`);
  });

  it("leaves the lab's dhcpd replies to its log, and shows the lab's proxy offers with their file and no address", () => {
    expect(dhcpReplyEvent(LAB, offer(LAB, "10.219.7.10"), { serverAddress: LAB, mode: "authoritative" })).toBeUndefined();
    expect(dhcpReplyEvent(LAB, offer(LAB, "0.0.0.0", "linux/undionly.kpxe"), { serverAddress: LAB, mode: "proxy" })).toEqual({
      kind: "dhcp",
      message: "DHCPOFFER",
      mac: MAC,
      ip: undefined,
      note: "proxy: no address, file linux/undionly.kpxe",
    });
    expect(dhcpReplyEvent(SITE, Buffer.from("not dhcp"), { serverAddress: LAB, mode: "proxy" })).toBeUndefined();
  });

  it("puts the foreign offer into the client's timeline as OTHER DHCP SERVER", () => {
    const reader = new TftpCaptureReader({ serverAddress: LAB, mode: "authoritative" });
    const captured = tcpdumpLines(SITE, 67, offer(SITE, "10.219.7.150")).flatMap((line) => reader.push(line));
    expect(captured.map(({ event }) => event.kind)).toEqual(["dhcp"]);
    const timelines = new BootTimelines([{ name: "bios-ipxe", mac: MAC }], { stallSeconds: 30 });
    const entry = timelines.add(captured[0]!.time, captured[0]!.event);
    expect(entry?.text).toBe(`DHCPOFFER 10.219.7.150 (OTHER DHCP SERVER ${SITE}, server-id ${SITE})`);
    // Without the lab's address the reader passes DHCP by, as before.
    expect(tcpdumpLines(SITE, 67, offer(SITE, "10.219.7.150")).flatMap((line) => new TftpCaptureReader().push(line))).toEqual([]);
  });
});
