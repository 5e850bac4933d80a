/**
 * Every DHCP server that answers check's requests, not only the lab's. A foreign server on the
 * lab's segment is how a client ends up booting something else, found days later with tcpdump:
 * in authoritative mode any answer from another server fails the `(network) DHCP other-servers`
 * row, naming its address and server-id; in proxy mode the site's server is expected, and the
 * row says which server gave the address.
 */
import { DhcpDecodeError, readOption } from "../net/dhcp/options";
import { decodeDhcpPacket, type DhcpPacket } from "../net/dhcp/packet";
import type { DhcpTransport } from "../net/dhcp/client";
import type { LabModel } from "../model/validate";
import { dhcpServerFacts } from "../servers";
import type { CheckRow } from "./report";

/** One answer from a server other than the lab's. */
export interface ForeignAnswer {
  /** Source address of the datagram. */
  readonly from: string;
  /** Option 54; undefined when the reply carries none (plain BOOTP). */
  readonly serverId?: string;
  readonly type: string;
  readonly chaddr: string;
  readonly yiaddr: string;
}

/** True when `reply` comes from the lab's own server: its server-id, or its source when it names none. */
export function fromLab(lab: LabModel, reply: DhcpPacket, from?: string): boolean {
  const serverId = readOption(reply, "dhcp-server-identifier");
  return (serverId ?? from ?? lab.network.serverAddress) === lab.network.serverAddress;
}

/** Records every reply from another server that reaches the probe while it runs; `stop` ends the recording. */
export function recordForeignAnswers(lab: LabModel, transport: DhcpTransport): { answers: ForeignAnswer[]; stop(): void } {
  const answers: ForeignAnswer[] = [];
  const stop = transport.listen((bytes, from) => {
    let reply: DhcpPacket;
    try {
      reply = decodeDhcpPacket(bytes);
      if (reply.op !== "reply" || fromLab(lab, reply, from)) return;
      answers.push({
        from,
        serverId: readOption(reply, "dhcp-server-identifier"),
        type: readOption(reply, "dhcp-message-type") ?? "BOOTREPLY",
        chaddr: reply.chaddr,
        yiaddr: reply.yiaddr,
      });
    } catch (error) {
      if (error instanceof DhcpDecodeError) return;
      throw error;
    }
  });
  return { answers, stop };
}

/** `10.0.0.3 (server-id 10.0.0.3)`, once per server. */
function servers(answers: readonly ForeignAnswer[]): string[] {
  return [...new Set(answers.map((answer) => `${answer.from} (server-id ${answer.serverId ?? "none"})`))];
}

/** `DHCPOFFER 10.0.0.150 to 52:54:00:…`, once per distinct answer. */
function offers(answers: readonly ForeignAnswer[]): string {
  return [...new Set(answers.map((answer) => `${answer.type} ${answer.yiaddr} to ${answer.chaddr}`))].join(", ");
}

export const OTHER_SERVERS_CLIENT = "(network)";

/** The `(network) DHCP other-servers` row. */
export function otherServersRow(lab: LabModel, answers: readonly ForeignAnswer[]): Omit<CheckRow, "mac"> {
  const base = { client: OTHER_SERVERS_CLIENT, kind: "dhcp" as const, subject: "other-servers" };
  const named = servers(answers);
  if (lab.servers.dhcp.mode === "proxy") {
    const addressed = answers.filter((answer) => answer.yiaddr !== "0.0.0.0");
    if (!addressed.length) {
      return {
        ...base,
        status: "fail",
        detail: `no DHCP server gave an address: in proxy mode the site's DHCP server must (the lab answers only PXE, at ${lab.network.serverAddress})`,
        fix: "check that the site's DHCP server runs and serves this segment (a relay on the VLAN, its pool not exhausted), or set servers.dhcp.mode: authoritative",
      };
    }
    return {
      ...base,
      status: "pass",
      detail: `addresses from the site's DHCP server ${servers(addressed).join(", ")}: ${offers(addressed)}; the lab at ${lab.network.serverAddress} answers PXE only`,
    };
  }
  if (!answers.length) return { ...base, status: "pass", detail: `only the lab's ${dhcpServerFacts(lab).daemon} (${lab.network.serverAddress}) answered` };
  return {
    ...base,
    status: "fail",
    detail: `another DHCP server answers on the lab network: ${named.join(", ")} sent ${offers(answers)}; a client that takes its offer boots whatever it names`,
    fix: "stop that server or take it off the lab's network; if it is the site's DHCP server and must stay, set servers.dhcp.mode: proxy so the lab answers only PXE beside it",
  };
}
