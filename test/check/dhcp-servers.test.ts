/** check's other-servers row: every DHCP server that answered, judged by the lab's mode (lib/check/dhcp-servers.ts). */
import { describe, expect, it } from "vitest";
import { otherServersRow, recordForeignAnswers, type ForeignAnswer } from "../../lib/check/dhcp-servers";
import { validateLab } from "../../lib/model";
import { dhcpOption, encodeDhcpPacket, type DhcpTransport } from "../../lib/net/dhcp";
import { bootRequest } from "../../lib/net/dhcp/request";

const authoritative = validateLab({ network: { subnet: "10.77.0.0/24" } });
const proxy = validateLab({ network: { subnet: "10.77.0.0/24" }, servers: { dhcp: { mode: "proxy" } } });
const SITE: ForeignAnswer = { from: "10.77.0.3", serverId: "10.77.0.3", type: "DHCPOFFER", chaddr: "52:54:00:00:00:01", yiaddr: "10.77.0.150" };

describe("the (network) DHCP other-servers row", () => {
  it("authoritative: passes when only the lab answered, fails naming the other server's address, server-id and what it offered, with the fix", () => {
    expect(otherServersRow(authoritative, [])).toEqual({
      client: "(network)",
      kind: "dhcp",
      subject: "other-servers",
      status: "pass",
      detail: "only the lab's dhcpd (10.77.0.2) answered",
    });
    expect(otherServersRow(authoritative, [SITE, SITE, { ...SITE, chaddr: "02:6e:62:6c:00:fe", yiaddr: "10.77.0.151" }])).toEqual({
      client: "(network)",
      kind: "dhcp",
      subject: "other-servers",
      status: "fail",
      detail:
        "another DHCP server answers on the lab network: 10.77.0.3 (server-id 10.77.0.3) sent DHCPOFFER 10.77.0.150 to 52:54:00:00:00:01, DHCPOFFER 10.77.0.151 to 02:6e:62:6c:00:fe; a client that takes its offer boots whatever it names",
      fix: "stop that server or take it off the lab's network; if it is the site's DHCP server and must stay, set servers.dhcp.mode: proxy so the lab answers only PXE beside it",
    });
  });

  it("proxy: says which server gave the address, and fails when none did", () => {
    expect(otherServersRow(proxy, [SITE])).toMatchObject({
      status: "pass",
      detail:
        "addresses from the site's DHCP server 10.77.0.3 (server-id 10.77.0.3): DHCPOFFER 10.77.0.150 to 52:54:00:00:00:01; the lab at 10.77.0.2 answers PXE only",
    });
    expect(otherServersRow(proxy, [])).toMatchObject({
      status: "fail",
      detail: "no DHCP server gave an address: in proxy mode the site's DHCP server must (the lab answers only PXE, at 10.77.0.2)",
      fix: "check that the site's DHCP server runs and serves this segment (a relay on the VLAN, its pool not exhausted), or set servers.dhcp.mode: authoritative",
    });
  });

  it("records replies from other servers only: by server-id, else by source address", () => {
    let deliver: (bytes: Buffer, from: string) => void = () => undefined;
    const transport: DhcpTransport = { send: async () => undefined, listen: (listener) => ((deliver = listener), () => undefined), close: () => undefined };
    const recording = recordForeignAnswers(authoritative, transport);
    const reply = (serverId: string | undefined) =>
      encodeDhcpPacket({
        ...bootRequest({ mac: "52:54:00:00:00:01", xid: 1 }),
        op: "reply",
        yiaddr: "10.77.0.150",
        options: [dhcpOption("dhcp-message-type", "DHCPOFFER"), ...(serverId ? [dhcpOption("dhcp-server-identifier", serverId)] : [])],
      });
    deliver(reply("10.77.0.2"), "10.77.0.2");
    deliver(reply("10.77.0.3"), "10.77.0.3");
    deliver(reply(undefined), "10.77.0.4");
    deliver(encodeDhcpPacket(bootRequest({ mac: "52:54:00:00:00:02", xid: 2 })), "0.0.0.0");
    deliver(Buffer.from("not dhcp"), "10.77.0.5");
    recording.stop();
    expect(recording.answers).toEqual([
      { ...SITE },
      { from: "10.77.0.4", serverId: undefined, type: "DHCPOFFER", chaddr: "52:54:00:00:00:01", yiaddr: "10.77.0.150" },
    ]);
  });
});
