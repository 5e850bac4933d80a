import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { isBsdpReply, describeBsdpReply, macInform, type BsdpAnswer, type MacIdentity, type MacRequest } from "../../lib/bsdp/client";
import { parseBsdpClientClass } from "../../lib/bsdp/codec";
import { formatImageId } from "../../lib/bsdp/image-id";
import { probeAddress, type LabModel } from "../../lib/model";
import { DHCP_CLIENT_PORT, exchange, inspectLink, openUdpTransport, RETRANSMIT_MS } from "../../lib/net/dhcp";
import { normaliseMac, parseIpv4 } from "../../lib/net/ipv4";
import { CliError, type Command } from "../cli-error";
import { inspectContainer, openDeployedLab, runLabProbe, type DeployedLab } from "../lab-docker";
import { EXIT_NO_ANSWER, EXIT_REFUSED } from "./probe";
import { serveBsdp } from "./bsdp-serve";

const USAGE =
  "bsdp list|select IMAGE (--stack NAME [--project DIR] | --interface IF) [--model ID] [--mac MAC] [--address IP] [--reply-port N] " +
  "[--filter ATTRS] [--server IP] [--send-to IP] [--timeout-ms N] [--json] | bsdp serve --config FILE [--bindings FILE]";

const DEFAULT_MODEL = "MacPro3,1";
const DEFAULT_TIMEOUT_MS = 5000;

const HELP = `usage: netboot-lab bsdp list [options]
       netboot-lab bsdp select IMAGE [options]
       netboot-lab bsdp serve --config FILE [--bindings FILE]

Acts as an Intel Mac on the lab network and prints what the lab's BSDP server offers, decoded:
  list     INFORM[LIST], as the boot picker (hold Option) or the Startup Disk pane sends it:
           the images this Mac may boot, the default and the one it selected before
  select   a LIST, then INFORM[SELECT] of IMAGE to the server that answered (like a Mac):
           the booter and TFTP server, the root path and the machine name, or FAILED
IMAGE is a boot image ID (0x81000abc, as list prints it) or, with --stack, a darwin-nbi image name.

Where the stand-in Mac runs:
  --stack NAME          in a short-lived container on the lab's Docker network (on the stack's
                        docker.host), running this CLI in the image the lab's responder runs (the
                        stack must be deployed); never on this host's own interfaces
  --project DIR         folder with stacks/Pulumi.NAME.yaml (default .)
  --interface IF        right here, on IF (e.g. inside a network namespace on the lab link): IF needs an
                        IPv4 address on the lab subnet; what the --stack container runs

Options:
  --model ID            Mac model identifier in the vendor class AAPLBSDPC/i386/ID (default ${DEFAULT_MODEL})
  --mac MAC             chaddr, what the server's MAC filters see (default the interface's own)
  --address IP          the Mac's address, ciaddr (default with --stack: a free lab address outside the
                        pools; with --interface: IF's own)
  --reply-port N        ask for the reply on port N (< 1024), as the Startup Disk pane does (default 68)
  --filter ATTRS        image attributes filter list, hex, comma-separated (e.g. 8100,0100)
  --server IP           select: the server identifier to name (default: the server that answered the LIST)
  --send-to IP          send the INFORMs to IP instead of broadcasting them (default with --stack: the
                        lab's server, which also refreshes the server's ARP entry for a reused address)
  --timeout-ms N        how long to wait for each answer (default ${DEFAULT_TIMEOUT_MS})
  --json                print the final answer as JSON

Exit status: 0 answered, ${EXIT_NO_ANSWER} no BSDP answer within the timeout, ${EXIT_REFUSED} FAILED, 2 bad usage.

serve runs the lab's responder (the lab's bsdp container runs it): it answers BSDP INFORMs on
UDP port 67 beside dhcpd, from the config render writes to bsdp/bsdp.json.
`;

const OPTIONS = {
  stack: { type: "string" },
  project: { type: "string", default: "." },
  interface: { type: "string" },
  model: { type: "string", default: DEFAULT_MODEL },
  mac: { type: "string" },
  address: { type: "string" },
  "reply-port": { type: "string" },
  filter: { type: "string" },
  server: { type: "string" },
  "send-to": { type: "string" },
  "timeout-ms": { type: "string" },
  json: { type: "boolean", default: false },
  config: { type: "string" },
  bindings: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>["values"];

function usageError(message: string): CliError {
  return new CliError(`bsdp: ${message}\nusage: netboot-lab ${USAGE} (see netboot-lab bsdp --help)`, 2);
}

function parseNumber(text: string | undefined, option: string, max: number, example: string): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= max)) throw usageError(`${option} "${text}" must be a whole number 1-${max}, e.g. ${example}`);
  return value;
}

function parseImageId(text: string): number | undefined {
  const value = /^0x[0-9a-f]{1,8}$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  return value >= 1 && value <= 0xffffffff ? value : undefined;
}

function parseFilter(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(",").map((part) => part.trim().replace(/^0x/i, ""));
  if (parts.some((part) => !/^[0-9a-f]{1,4}$/i.test(part)))
    throw usageError(`--filter "${text}" must be 16-bit attributes in hex separated by commas, e.g. 8100,0100`);
  return parts.map((part) => parseInt(part, 16));
}

function checkAddress(text: string | undefined, option: string): string | undefined {
  if (text !== undefined && parseIpv4(text) === undefined) throw usageError(`${option} "${text}" is not an IPv4 address`);
  return text;
}

// ---------------------------------------------------------------------------------------------
// The stand-in Mac, on a link of this host's (what the --stack container runs)

interface MacSettings {
  readonly interfaceName: string;
  readonly mac?: string;
  readonly address?: string;
  readonly model: string;
  readonly replyPort: number;
  readonly server?: string;
  readonly sendTo?: string;
  readonly timeoutMs: number;
  readonly json: boolean;
}

function formatAnswer(answer: BsdpAnswer): string {
  const from = `${answer.receivedFrom} (server ${answer.serverIdentifier ?? "?"}), reply on port ${answer.receivedOnPort}`;
  if (answer.messageType === "FAILED") return `BSDP FAILED from ${from}: the server refused the selection`;
  if (answer.messageType === "SELECT") {
    return [
      `BSDP SELECT from ${from}: image ${answer.selectedImage} as ${answer.machineName ?? "?"}`,
      `  booter     ${answer.booter ?? "(none)"} (TFTP from ${answer.tftpServer})`,
      `  root-path  ${answer.rootPath ?? "(none)"}`,
    ].join("\n");
  }
  return [
    `BSDP LIST from ${from}, priority ${answer.serverPriority ?? "?"}`,
    `  default   ${answer.defaultImage ?? "(none)"}`,
    `  selected  ${answer.selectedImage ?? "(none)"}`,
    "  images",
    ...answer.images.map((image) => `    ${image.id}  ${image.name}  (index ${image.index}, kind ${image.kind}${image.install ? ", install" : ""})`),
  ].join("\n");
}

async function runMac(settings: MacSettings, request: MacRequest): Promise<number> {
  const link = await inspectLink(settings.interfaceName);
  const address = settings.address ?? (link.sendAddress === "0.0.0.0" ? undefined : link.sendAddress);
  if (!address)
    throw usageError(
      `${settings.interfaceName} has no IPv4 address; a Mac asks BSDP from the address it already has: give ${settings.interfaceName} one or name it with --address`,
    );
  const identity: MacIdentity = { mac: settings.mac ?? link.mac, address, arch: "i386", model: settings.model };
  const transport = await openUdpTransport(link, settings.replyPort, settings.sendTo);
  const ask = async (message: MacRequest): Promise<BsdpAnswer> => {
    const received = await exchange(transport, macInform(identity, message, randomBytes(4).readUInt32BE(0)), settings.timeoutMs, RETRANSMIT_MS, isBsdpReply);
    if (!received) {
      throw new CliError(
        `bsdp: no BSDP answer to the INFORM[${message.type}] from ${identity.mac} (${identity.model}) at ${address} within ${settings.timeoutMs} ms. ` +
          (message.type === "SELECT"
            ? "A server only answers a SELECT that names it (sub-option 3)."
            : "No BSDP server runs on this link, or no image is for this Mac (model, MAC, filter)."),
        EXIT_NO_ANSWER,
      );
    }
    return describeBsdpReply(received.bytes, received.packet, received.from, settings.replyPort);
  };
  let answer: BsdpAnswer;
  try {
    answer = await ask(request.type === "LIST" ? request : { type: "LIST", replyPort: request.replyPort });
    if (request.type === "SELECT") {
      const serverIdentifier = settings.server ?? answer.serverIdentifier;
      if (!serverIdentifier) throw new CliError("bsdp: the ACK[LIST] names no server (option 54), so no SELECT can name it; pass --server", 1);
      answer = await ask({ ...request, serverIdentifier });
    }
  } finally {
    transport.close();
  }
  process.stdout.write(settings.json ? `${JSON.stringify(answer, null, 2)}\n` : `${formatAnswer(answer)}\n`);
  return answer.messageType === "FAILED" ? EXIT_REFUSED : 0;
}

// ---------------------------------------------------------------------------------------------
// --stack: the same, in a container on the lab's network

/** The image the lab's responder runs: it has Node.js, and the stand-in Mac runs this CLI in it. */
async function responderImage(deployed: DeployedLab): Promise<string> {
  const container = deployed.names.container("bsdp");
  const inspected = await inspectContainer(deployed, container);
  if (!inspected)
    throw new CliError(`bsdp: the lab's BSDP responder container ${container} is not there; deploy the stack first (npm run lab -- up ${deployed.stack})`, 1);
  return inspected.Config.Image;
}

function imageIdFor(lab: LabModel, text: string): number {
  const named = lab.bsdp.images.find((image) => image.bootImage === text);
  if (named) return named.id;
  const id = parseImageId(text);
  if (id === undefined) {
    throw usageError(
      `IMAGE "${text}" is neither a darwin-nbi image of the stack (${lab.bsdp.images.map((image) => image.bootImage).join(", ") || "none"}) nor an image ID such as 0x81000abc`,
    );
  }
  return id;
}

async function runInLabContainer(values: Values, stack: string, subcommand: "list" | "select", imageArg: string | undefined): Promise<number> {
  // --config is serve's (the responder's bsdp.json): the stack file comes from --project.
  const deployed = openDeployedLab(stack, values.project, undefined);
  const { lab } = deployed;
  if (!lab.bsdp.enabled)
    throw new CliError(
      `bsdp: stack ${stack} does not answer BSDP (${lab.bsdp.images.length ? "netboot-lab:bsdp.enabled is false" : "it has no darwin-nbi boot image"})`,
      1,
    );
  const image = await responderImage(deployed);
  const address = checkAddress(values.address, "--address") ?? probeAddress(lab);
  const passed = (["model", "mac", "reply-port", "filter", "server", "timeout-ms"] as const).flatMap((option) =>
    values[option] === undefined ? [] : [`--${option}`, String(values[option])],
  );
  const cliArgs = [
    "bsdp",
    subcommand,
    ...(imageArg === undefined ? [] : [formatImageId(imageIdFor(lab, imageArg))]),
    "--interface",
    "eth0",
    "--address",
    address,
    "--send-to",
    checkAddress(values["send-to"], "--send-to") ?? lab.network.serverAddress,
    ...passed,
    ...(values.json ? ["--json"] : []),
  ];
  // The stand-in Mac: on the lab network, every capability dropped but the one that binds a reply port below 1024.
  return runLabProbe(deployed, { role: "bsdp-probe", image, address, capabilities: ["NET_BIND_SERVICE"], cliArgs }, process.stdout, process.stderr);
}

// ---------------------------------------------------------------------------------------------

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [subcommand, imageArg, ...extra] = positionals;
  if (subcommand === "serve") return serveBsdp(values.config, values.bindings);
  if (subcommand !== "list" && subcommand !== "select")
    throw usageError(`say what to do: bsdp list, bsdp select IMAGE or bsdp serve${subcommand ? ` (got "${subcommand}")` : ""}`);
  if (subcommand === "select" && imageArg === undefined)
    throw usageError("select needs the IMAGE to select (an ID such as 0x81000abc, or with --stack an image name)");
  if ((subcommand === "list" ? [imageArg, ...extra] : extra).some((arg) => arg !== undefined))
    throw usageError(`unexpected argument(s): ${[...(subcommand === "list" ? [imageArg] : []), ...extra].join(" ")}`);
  if (values.stack && values.interface) throw usageError("--stack and --interface name two places for the stand-in Mac; give one");
  if (!values.stack && !values.interface) throw usageError("say where the stand-in Mac runs: --stack NAME (a container on the lab network) or --interface IF");
  if (!parseBsdpClientClass(`AAPLBSDPC/i386/${values.model}`)) throw usageError(`--model "${values.model}" is not a Mac model identifier such as MacPro3,1`);
  const mac = values.mac === undefined ? undefined : normaliseMac(values.mac);
  if (values.mac !== undefined && !mac) throw usageError(`--mac "${values.mac}" is not a MAC address; write six hex pairs like 00:50:56:00:00:28`);
  const replyPort = parseNumber(values["reply-port"], "--reply-port", 65535, "892") ?? DHCP_CLIENT_PORT;
  const filter = parseFilter(values.filter);
  checkAddress(values.server, "--server");
  const timeoutMs = parseNumber(values["timeout-ms"], "--timeout-ms", 600_000, "3000") ?? DEFAULT_TIMEOUT_MS;
  if (values.stack) return runInLabContainer({ ...values, mac }, values.stack, subcommand, imageArg);

  const imageId = imageArg === undefined ? undefined : parseImageId(imageArg);
  if (subcommand === "select" && imageId === undefined)
    throw usageError(`IMAGE "${imageArg}" is not an image ID such as 0x81000abc (image names need --stack)`);
  const settings: MacSettings = {
    interfaceName: values.interface!,
    mac,
    address: checkAddress(values.address, "--address"),
    model: values.model,
    replyPort,
    server: values.server,
    sendTo: checkAddress(values["send-to"], "--send-to"),
    timeoutMs,
    json: values.json,
  };
  const request: MacRequest =
    subcommand === "list"
      ? { type: "LIST", replyPort, attributesFilter: filter }
      : { type: "SELECT", replyPort, serverIdentifier: values.server ?? "", imageId };
  return runMac(settings, request);
}

export const bsdpCommand: Command = {
  usage: USAGE,
  summary: `act as a Mac on the lab network and print the NetBoot images the lab's BSDP server offers, or what selecting one returns (exit ${EXIT_NO_ANSWER}: no answer)`,
  handlesHelp: true,
  async run(args) {
    try {
      return await run(args);
    } catch (error) {
      if (error instanceof CliError || !(error instanceof TypeError) || !("code" in error) || !String(error.code).startsWith("ERR_PARSE_ARGS")) throw error;
      throw usageError(error.message);
    }
  },
};
