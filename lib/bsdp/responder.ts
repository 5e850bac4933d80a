/**
 * The BSDP responder's sockets and state: answers what server.ts decides, and remembers which
 * image each Mac selected in a small JSON file, so a LIST after a restart still names it.
 */
import type { Socket } from "node:dgram";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { DHCP_SERVER_PORT, encodeDhcpPacket } from "../net/dhcp/packet";
import { bindServerSocket } from "../net/dhcp/server-socket";
import { formatImageId } from "./image-id";
import { answerBsdp, type BsdpServerConfig } from "./server";

export interface BsdpResponderOptions {
  readonly config: BsdpServerConfig;
  /** JSON file of the image each Mac selected (MAC → image ID); absent: kept in memory only. */
  readonly bindingsFile?: string;
  readonly log: (line: string) => void;
}

export interface BsdpResponder {
  close(): Promise<void>;
}

function loadBindings(file: string | undefined, log: (line: string) => void): Map<string, number> {
  if (!file) return new Map();
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
  try {
    const entries = Object.entries(JSON.parse(text) as Record<string, unknown>).filter((entry): entry is [string, number] => Number.isInteger(entry[1]));
    return new Map(entries);
  } catch {
    log(`bindings: ${file} is not JSON; starting with no Mac bound to an image`);
    return new Map();
  }
}

function saveBindings(file: string, bindings: ReadonlyMap<string, number>): void {
  // Written whole and renamed, so a stop mid-write leaves the previous file.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(Object.fromEntries(bindings), null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

function bind(address: string): Promise<Socket> {
  return bindServerSocket("bsdp serve", address, DHCP_SERVER_PORT);
}

/**
 * Two sockets on port 67, both SO_REUSEADDR like dhcpd's own: 0.0.0.0 receives broadcast
 * INFORMs (Linux hands a broadcast to every such socket), the server address receives unicast
 * ones (the more specific bind wins, whatever started last). Replies leave from the server
 * address, port 67, to the client's ciaddr and reply port.
 */
export async function startBsdpResponder(options: BsdpResponderOptions): Promise<BsdpResponder> {
  const { config, log } = options;
  const bindings = loadBindings(options.bindingsFile, log);
  const unicast = await bind(config.serverAddress);
  const broadcast = await bind("0.0.0.0").catch((error: unknown) => {
    unicast.close();
    throw error;
  });
  const onDatagram = (datagram: Buffer) => {
    const decision = answerBsdp(datagram, config, bindings);
    if (decision.log) log(decision.log);
    if (decision.kind !== "reply") return;
    if (decision.bind && bindings.get(decision.bind.mac) !== decision.bind.imageId) {
      bindings.set(decision.bind.mac, decision.bind.imageId);
      if (options.bindingsFile) {
        try {
          saveBindings(options.bindingsFile, bindings);
        } catch (error) {
          log(`bindings: cannot write ${options.bindingsFile}: ${(error as Error).message}; the choice is kept until the responder stops`);
        }
      }
    }
    unicast.send(encodeDhcpPacket(decision.reply), decision.port, decision.address, (error) => {
      if (error) log(`sending to ${decision.address}:${decision.port} failed: ${error.message}`);
    });
  };
  for (const socket of [unicast, broadcast]) {
    socket.on("message", onDatagram);
    socket.on("error", (error) => log(`socket error: ${error.message}`));
  }
  log(
    `answering BSDP on ${config.serverAddress}:${DHCP_SERVER_PORT} for ${config.images.length} image(s): ${config.images.map((image) => `${image.bootImage} ${formatImageId(image.id)}`).join(", ")}`,
  );
  return {
    close: async () => {
      await Promise.all([unicast, broadcast].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
