/**
 * A TFTP read (RFC 1350) with the options netboot firmware asks for: blksize (RFC 2348) and
 * tsize (RFC 2349). `netboot-lab check` fetches boot files with it the way a PXE ROM does, so
 * a refused option or a file the server cannot open shows up as the firmware would see it.
 */
import { createSocket, type Socket } from "node:dgram";
import { UserError } from "../errors";

export const TFTP_PORT = 69;

const OPCODE = { RRQ: 1, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes by name, as tftpd-hpa sends them. */
const ERROR_NAMES: Record<number, string> = {
  0: "not defined",
  1: "file not found",
  2: "access violation",
  3: "disk full",
  4: "illegal operation",
  5: "unknown transfer id",
  6: "file already exists",
  7: "no such user",
  8: "option negotiation refused",
};

export interface TftpReadOptions {
  readonly server: string;
  readonly path: string;
  /** blksize to ask for; absent: none (512-byte blocks). */
  readonly blksize?: number;
  /** Wait this long for each packet before resending the last one (default 1000 ms). */
  readonly retransmitMs?: number;
  /** Give up after this many resends in a row (default 4). */
  readonly retries?: number;
}

export interface TftpReadResult {
  readonly data: Buffer;
  /** The block size the server granted (512 without an OACK). */
  readonly blksize: number;
  /** The size the server announced in its OACK, when it did. */
  readonly tsize?: number;
}

/** The server answered with an ERROR packet. */
export class TftpServerError extends UserError {
  constructor(
    readonly code: number,
    readonly serverMessage: string,
  ) {
    super(`TFTP error ${code} (${ERROR_NAMES[code] ?? "unknown"}): ${serverMessage}`);
  }
}

/** Nothing came back in time. */
export class TftpTimeoutError extends UserError {}

function readRequest(path: string, blksize: number | undefined): Buffer {
  const fields = [path, "octet", ...(blksize ? ["blksize", String(blksize)] : []), "tsize", "0"];
  return Buffer.concat([Buffer.from([0, OPCODE.RRQ]), ...fields.map((field) => Buffer.from(`${field}\0`, "latin1"))]);
}

function ack(block: number): Buffer {
  return Buffer.from([0, OPCODE.ACK, block >> 8, block & 0xff]);
}

function parseOptions(payload: Buffer): Record<string, string> {
  const parts = payload.toString("latin1").split("\0");
  const options: Record<string, string> = {};
  for (let index = 0; index + 1 < parts.length; index += 2) options[parts[index]!.toLowerCase()] = parts[index + 1]!;
  return options;
}

/** Reads one file; rejects with TftpServerError or TftpTimeoutError. */
export function tftpRead(options: TftpReadOptions): Promise<TftpReadResult> {
  const retransmitMs = options.retransmitMs ?? 1000;
  const retries = options.retries ?? 4;
  const socket: Socket = createSocket("udp4");
  const blocks: Buffer[] = [];
  let blksize = 512;
  let tsize: number | undefined;
  let expected = 1;
  let serverPort: number | undefined;
  let last: { bytes: Buffer; port: number } = { bytes: readRequest(options.path, options.blksize), port: TFTP_PORT };
  let resends = 0;

  return new Promise<TftpReadResult>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      socket.close();
      settle();
    };
    const send = (bytes: Buffer, port: number) => {
      last = { bytes, port };
      socket.send(bytes, port, options.server);
      clearTimeout(timer);
      timer = setTimeout(onTimeout, retransmitMs);
    };
    const onTimeout = () => {
      if (resends++ >= retries) {
        const waited = ((retries + 1) * retransmitMs) / 1000;
        const what = serverPort === undefined ? "no answer to the read request" : `the transfer stopped after block ${expected - 1}`;
        finish(() => reject(new TftpTimeoutError(`TFTP ${options.server}:${TFTP_PORT} ${options.path}: ${what} within ${waited} s`)));
        return;
      }
      send(last.bytes, last.port);
    };
    socket.on("error", (error) => finish(() => reject(error)));
    socket.on("message", (message, remote) => {
      if (remote.address !== options.server || message.length < 4) return;
      // The server answers from a new port (its transfer id); packets from any other port are not ours.
      if (serverPort !== undefined && remote.port !== serverPort) return;
      serverPort = remote.port;
      resends = 0;
      const opcode = message.readUInt16BE(0);
      if (opcode === OPCODE.ERROR) {
        const text = message.subarray(4).toString("latin1").replace(/\0.*$/s, "");
        finish(() => reject(new TftpServerError(message.readUInt16BE(2), text)));
      } else if (opcode === OPCODE.OACK) {
        const granted = parseOptions(message.subarray(2));
        if (granted.blksize) blksize = Number(granted.blksize);
        if (granted.tsize) tsize = Number(granted.tsize);
        send(ack(0), remote.port);
      } else if (opcode === OPCODE.DATA) {
        const block = message.readUInt16BE(2);
        if (block !== (expected & 0xffff)) {
          send(ack((expected - 1) & 0xffff), remote.port); // a duplicate: acknowledge what we have
          return;
        }
        const payload = message.subarray(4);
        blocks.push(Buffer.from(payload));
        expected += 1;
        if (payload.length < blksize) {
          clearTimeout(timer);
          // Close only once the last ACK is out, or the server resends its last block and logs a timeout.
          socket.send(ack(block), remote.port, options.server, () =>
            finish(() => resolve({ data: Buffer.concat(blocks), blksize, ...(tsize === undefined ? {} : { tsize }) })),
          );
        } else {
          send(ack(block), remote.port);
        }
      }
    });
    socket.bind(0, () => send(last.bytes, last.port));
  });
}
