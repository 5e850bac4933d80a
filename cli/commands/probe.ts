import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { normaliseMac } from "../../lib/net/ipv4";
import {
  clientRequest,
  exchange,
  inspectLink,
  openUdpTransport,
  parseHex,
  PXE_CLIENT_ARCH,
  PXE_PARAMETER_REQUEST_LIST,
  readOption,
  summarizePacket,
  type ClientIdentity,
  type ClientMessage,
  type DhcpPacket,
  type DhcpLink,
  type DhcpPacketSummary,
  type DhcpReceived,
} from "../../lib/net/dhcp";
import { httpBootVendorClass } from "../../lib/check/http-boot";
import { CliError, type Command } from "../cli-error";

const USAGE =
  "probe dhcp [--interface IF] [--mac MAC] [--client-id HEX|--no-client-id] [--arch bios|efi-ia32|efi-bc|efi-x64|NUMBER] " +
  "[--ipxe] [--http-boot] [--bootp [--plain]] [--full] [--request-options 1,3,...] [--timeout-ms N] [--json]";

/** Exit codes besides 0 (answered) and 2 (bad usage). */
export const EXIT_NO_ANSWER = 3;
export const EXIT_REFUSED = 4;

const DEFAULT_INTERFACE = "eth0";
const DEFAULT_TIMEOUT_MS = 5000;

const HELP = `usage: netboot-lab ${USAGE}

Asks the lab's DHCP server for an address the way a netbooting client does and prints the
answer: message type, yiaddr, siaddr, sname, file and every option by its dhcpd name
(root-path included). Nothing is configured on this host; the address is not used.

  --interface IF        link to probe on (default ${DEFAULT_INTERFACE})
  --mac MAC             hardware address to ask for (chaddr; default IF's own MAC); DHCP
                        requests may name another MAC, BOOTP requests may not (see below)
  --client-id HEX       option 61 as hex, type byte first (default 01 + MAC, like iPXE)
  --no-client-id        send no option 61 (like GRUB's net_bootp and NetBSD's pxeboot)
  --arch ARCH           option 93 and PXE's option 60: bios (0), efi-ia32 (6), efi-bc (7),
                        efi-x64 (9), efi-arm64 (11), http-efi-x64 (16), http-efi-arm64 (19)
                        or a number
  --ipxe                send user-class (option 77) "iPXE", as iPXE does
  --http-boot           send vendor class (option 60) HTTPClient:Arch:…, as UEFI HTTP Boot
                        does (with --arch http-efi-x64 or http-efi-arm64)
  --bootp               send a BOOTP request (RFC 1497: magic cookie, no option 53)
  --plain               with --bootp: RFC 951 only, no magic cookie and no options
  --full                complete DISCOVER, OFFER, REQUEST, ACK (the server records a lease)
  --request-options L   option 55, comma-separated codes (default ${PXE_PARAMETER_REQUEST_LIST.join(",")};
                        17 is left out so a root-path in the answer proves it is sent unrequested)
  --timeout-ms N        how long to wait for each answer (default ${DEFAULT_TIMEOUT_MS})
  --json                print the final answer as JSON

Exit status: 0 answered, ${EXIT_NO_ANSWER} no answer within the timeout, ${EXIT_REFUSED} DHCPNAK, 2 bad usage.

Requirements (Linux): root, or CAP_NET_BIND_SERVICE, for UDP port 68. The request goes to
255.255.255.255 with the broadcast flag set, so the answer comes back as a broadcast:
  - if IF has an IPv4 address, the probe sends from it and the kernel uses IF;
  - if IF has none (a lab link the host only bridges), limited broadcasts must be routed
    through IF: ip route add 255.255.255.255/32 dev IF. Do that in a network namespace joined
    to the lab link (ip netns exec NS netboot-lab probe dhcp ...), not on a host where the route
    would send DHCP traffic of other programs to the lab.
The probe refuses to send when broadcasts would leave through another interface.
ISC dhcpd sends BOOTP replies to the Ethernet address in chaddr, not to the broadcast MAC,
so with --bootp the MAC must be IF's own.
`;

interface ProbeSettings {
  readonly interfaceName: string;
  /** Absent: the interface's own MAC. */
  readonly mac?: string;
  /** Option 61: explicit bytes, none, or 01 + the MAC in use (what iPXE and dhclient send). */
  readonly clientId: Uint8Array | "none" | "type-1-mac";
  readonly identity: Omit<ClientIdentity, "mac" | "clientId">;
  readonly mode: "discover" | "full" | "bootp" | "bootp-plain";
  readonly timeoutMs: number;
  readonly json: boolean;
}

/** The final answer as `--json` prints it. */
export interface ProbeReply extends DhcpPacketSummary {
  /** Source address of the UDP datagram that carried the answer. */
  readonly receivedFrom: string;
  /** The whole datagram as hex, padding included: what a byte-for-byte comparison of two answers compares. */
  readonly datagram: string;
}

const ARCHITECTURES: Record<string, number> = PXE_CLIENT_ARCH;

function usageError(message: string): CliError {
  return new CliError(`probe: ${message}\nusage: netboot-lab ${USAGE} (see netboot-lab probe --help)`, 2);
}

function parseArch(text: string): number {
  const named = ARCHITECTURES[text];
  if (named !== undefined) return named;
  const number = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(number <= 0xffff)) {
    throw usageError(`--arch "${text}" is not an architecture; use ${Object.keys(ARCHITECTURES).join(", ")} or a number 0-65535 (RFC 4578)`);
  }
  return number;
}

function parseRequestOptions(text: string): number[] {
  const codes = text.split(",").map((part) => part.trim());
  if (codes.some((code) => !/^\d{1,3}$/.test(code) || Number(code) < 1 || Number(code) > 254)) {
    throw usageError(`--request-options "${text}" must be option codes 1-254 separated by commas, e.g. 1,3,17,43`);
  }
  return codes.map(Number);
}

const PROBE_OPTIONS = {
  interface: { type: "string", default: DEFAULT_INTERFACE },
  mac: { type: "string" },
  "client-id": { type: "string" },
  "no-client-id": { type: "boolean", default: false },
  arch: { type: "string" },
  ipxe: { type: "boolean", default: false },
  "http-boot": { type: "boolean", default: false },
  bootp: { type: "boolean", default: false },
  plain: { type: "boolean", default: false },
  full: { type: "boolean", default: false },
  "request-options": { type: "string" },
  "timeout-ms": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type ProbeValues = ReturnType<typeof parseArgs<{ options: typeof PROBE_OPTIONS; allowPositionals: true; strict: true }>>["values"];

function parseMac(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const mac = normaliseMac(text);
  if (!mac) throw usageError(`--mac "${text}" is not a MAC address; write six hex pairs like 52:54:00:12:34:56`);
  return mac;
}

function parseClientId(values: ProbeValues): ProbeSettings["clientId"] {
  const text = values["client-id"];
  if (text !== undefined && values["no-client-id"]) throw usageError("--client-id and --no-client-id contradict each other; give one");
  if (values["no-client-id"]) return "none";
  if (text === undefined) return "type-1-mac";
  const bytes = parseHex(text);
  if (!bytes) throw usageError(`--client-id "${text}" is not hex; write octets like 01:52:54:00:12:34:56 (type byte first)`);
  return bytes;
}

function parseMode(values: ProbeValues): ProbeSettings["mode"] {
  if (values.plain && !values.bootp) throw usageError("--plain only applies to --bootp (a BOOTP request without the magic cookie)");
  if (values.full && values.bootp) throw usageError("--full completes a DHCP exchange; BOOTP has no REQUEST/ACK, so drop --full or --bootp");
  if (values.bootp) return values.plain ? "bootp-plain" : "bootp";
  return values.full ? "full" : "discover";
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const timeoutMs = Number(text);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw usageError(`--timeout-ms "${text}" must be a whole number of milliseconds, e.g. 3000`);
  return timeoutMs;
}

function parseProbeArgs(args: string[]): ProbeSettings | "help" {
  const { values, positionals } = parseArgs({ args, options: PROBE_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return "help";
  if (positionals.join(" ") !== "dhcp") {
    throw usageError(`say what to probe: netboot-lab probe dhcp …${positionals.length ? ` (got "${positionals.join(" ")}")` : ""}`);
  }
  return {
    interfaceName: values.interface,
    mac: parseMac(values.mac),
    clientId: parseClientId(values),
    identity: {
      clientArch: values.arch === undefined ? undefined : parseArch(values.arch),
      userClass: values.ipxe ? "iPXE" : undefined,
      vendorClass: values["http-boot"] ? httpBootVendorClass(values.arch === undefined ? PXE_CLIENT_ARCH["http-efi-x64"] : parseArch(values.arch)) : undefined,
      parameterRequestList: values["request-options"] === undefined ? PXE_PARAMETER_REQUEST_LIST : parseRequestOptions(values["request-options"]),
    },
    mode: parseMode(values),
    timeoutMs: parseTimeout(values["timeout-ms"]),
    json: values.json,
  };
}

function identityFor(settings: ProbeSettings, link: DhcpLink): ClientIdentity {
  const mac = settings.mac ?? link.mac;
  if (settings.mode.startsWith("bootp") && mac !== link.mac) {
    throw usageError(
      `--mac ${mac} differs from ${settings.interfaceName}'s own MAC ${link.mac}, but dhcpd sends BOOTP replies to the MAC in the request, ` +
        `so this host would never see the answer; leave --mac out, or probe from an interface that has that MAC`,
    );
  }
  const clientId =
    settings.clientId === "none" ? undefined : settings.clientId === "type-1-mac" ? Uint8Array.of(1, ...(parseHex(mac) ?? [])) : settings.clientId;
  return { ...settings.identity, mac, clientId };
}

// ---------------------------------------------------------------------------------------------
// Output

function toProbeReply(received: DhcpReceived): ProbeReply {
  return { ...summarizePacket(received.packet), receivedFrom: received.from, datagram: received.bytes.toString("hex") };
}

function formatReply(reply: ProbeReply): string {
  const fields = ["yiaddr", "siaddr", "giaddr", "sname", "file"] as const;
  const options = Object.entries(reply.options ?? {});
  const width = Math.max(0, ...options.map(([name]) => name.length));
  return [
    `${reply.messageType} for ${reply.chaddr} from ${reply.receivedFrom} (xid ${reply.xid}${reply.broadcast ? ", broadcast" : ""})`,
    ...fields.map((field) => `  ${field.padEnd(7)} ${reply[field]}`),
    reply.options ? "  options" : "  no options (no magic cookie)",
    ...options.map(([name, value]) => `    ${name.padEnd(width)}  ${Array.isArray(value) ? value.join(", ") : String(value)}`),
  ].join("\n");
}

function describeRequest(message: ClientMessage): string {
  return message.type === "BOOTREQUEST" ? `BOOTP request${message.vendorExtensions ? "" : " (RFC 951, no cookie)"}` : message.type;
}

function noAnswer(settings: ProbeSettings, identity: ClientIdentity, message: ClientMessage): CliError {
  return new CliError(
    `probe: no answer to the ${describeRequest(message)} for ${identity.mac} on ${settings.interfaceName} within ${settings.timeoutMs} ms. ` +
      "The DHCP server is not running on this link, does not know this MAC (deny unknown-clients), or ignores this kind of request.",
    EXIT_NO_ANSWER,
  );
}

async function runProbe(settings: ProbeSettings): Promise<number> {
  const link = await inspectLink(settings.interfaceName);
  const identity = identityFor(settings, link);
  const transport = await openUdpTransport(link);
  const answers: ProbeReply[] = [];
  const ask = async (message: ClientMessage): Promise<DhcpPacket> => {
    const xid = randomBytes(4).readUInt32BE(0);
    const received = await exchange(transport, clientRequest(identity, message, xid), settings.timeoutMs);
    if (!received) throw noAnswer(settings, identity, message);
    const reply = toProbeReply(received);
    answers.push(reply);
    if (!settings.json) process.stdout.write(`${formatReply(reply)}\n`);
    return received.packet;
  };
  try {
    if (settings.mode === "bootp" || settings.mode === "bootp-plain") {
      await ask({ type: "BOOTREQUEST", vendorExtensions: settings.mode === "bootp" });
    } else {
      const offer = await ask({ type: "DHCPDISCOVER" });
      const serverIdentifier = readOption(offer, "dhcp-server-identifier");
      if (settings.mode === "full" && readOption(offer, "dhcp-message-type") === "DHCPOFFER") {
        if (!serverIdentifier)
          throw new CliError("probe: the DHCPOFFER carries no dhcp-server-identifier (option 54), so no DHCPREQUEST can name the server", 1);
        await ask({ type: "DHCPREQUEST", requestedAddress: offer.yiaddr, serverIdentifier });
      }
    }
  } finally {
    transport.close();
  }
  const final = answers[answers.length - 1]!;
  if (settings.json) process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
  return final.messageType === "DHCPNAK" ? EXIT_REFUSED : 0;
}

export const probeCommand: Command = {
  usage: USAGE,
  actions: { dhcp: USAGE },
  summary: `ask the lab's DHCP server for an address like a netbooting client and print the answer (exit ${EXIT_NO_ANSWER}: no answer)`,
  handlesHelp: true,
  async run(args) {
    const settings = parseProbeArgs(args);
    if (settings === "help") {
      process.stdout.write(HELP);
      return 0;
    }
    return runProbe(settings);
  },
};
