/**
 * TFTP transfers read from real tcpdump output (TFTP_CAPTURE_COMMAND in the server image, in the
 * namespace of a container running tftpd-hpa 5.2): busybox tftp fetched a 3000-byte file with
 * blksize 1432, a missing file, and a 1024-byte file with the default 512-byte blocks (which
 * ends with an empty block). The timeline shows each with its blksize, bytes and duration.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TftpCaptureReader, type EndedTransfer } from "../../lib/watch/tftp-capture";
import { BootTimelines } from "../../lib/watch/timeline";

const capture = readFileSync(join(__dirname, "fixtures", "tftp-capture.txt"), "utf8").split("\n");
const CLIENT = "10.219.226.3";

function read(lines: readonly string[]): EndedTransfer[] {
  const reader = new TftpCaptureReader();
  return lines.flatMap((line) => reader.push(line)).filter((captured): captured is EndedTransfer => captured.event.kind === "tftp-transfer");
}

describe("TFTP capture reader", () => {
  it("reads each transfer's file, negotiated blksize, blocks and bytes from the captured packets, as each ends", () => {
    const ended = read(capture);
    expect(ended.map(({ event }) => ({ ...event, seconds: undefined }))).toEqual([
      { kind: "tftp-transfer", ip: CLIENT, file: "linux-ipxe/undionly.kpxe", blksize: 1432, blocks: 3, bytes: 3000, seconds: undefined },
      {
        kind: "tftp-transfer",
        ip: CLIENT,
        file: "missing.bin",
        blksize: 512,
        blocks: 0,
        bytes: 0,
        seconds: undefined,
        error: { by: "server", code: 1, message: "File not found" },
      },
      { kind: "tftp-transfer", ip: CLIENT, file: "pxelinux.0", blksize: 512, blocks: 3, bytes: 1024, seconds: undefined },
    ]);
    // RRQ at 1796178223.974022, last DATA block at 1796178223.979165.
    expect(ended[0]!.event.seconds).toBeCloseTo(0.005, 3);
    expect(ended[0]!.time).toEqual(new Date(1796178223979));
  });

  it("ends a transfer when its last block's hex is in, not at the next packet", () => {
    const lastData = capture.findIndex((line) => line.startsWith("1796178223.979165 "));
    const ack = capture.findIndex((line, index) => index > lastData && /^\d/.test(line));
    expect(read(capture.slice(0, ack))).toHaveLength(1);
  });

  it("counts a retransmitted block once", () => {
    const start = capture.findIndex((line) => line.startsWith("1796178223.978249 "));
    const end = capture.findIndex((line) => line.startsWith("1796178223.979103 "));
    const firstData = capture.slice(start, end);
    const undionly = capture.slice(
      0,
      capture.findIndex((line) => line.startsWith("1796178223.983713 ")),
    );
    const withRetransmit = [...undionly.slice(0, end), ...firstData, ...undionly.slice(end)];
    expect(read(withRetransmit).map(({ event }) => [event.blocks, event.bytes])).toEqual([[3, 3000]]);
  });

  it("ignores lines that are not part of an IPv4 UDP packet", () => {
    expect(read(["tcpdump: verbose output suppressed, use -v[v]... for full protocol decode", "listening on eth0", ""])).toEqual([]);
  });
});

describe("TFTP transfers in the timeline", () => {
  const clients = [{ name: "bios-ipxe", mac: "52:54:00:6e:00:10", ipv4: CLIENT }];

  it("shows the blksize, bytes and duration, says when the build wrote another size, and leaves refusals to tftpd's log line", () => {
    const timelines = new BootTimelines(clients, { stallSeconds: 30, fileSizes: new Map([["pxelinux.0", 2048]]) });
    const texts = read(capture).flatMap(({ time, event }) => timelines.add(time, event)?.text ?? []);
    expect(texts).toEqual([
      "TFTP sent linux-ipxe/undionly.kpxe: 3000 bytes in 3 blocks of blksize 1432, 0.005 s",
      "TFTP sent pxelinux.0: 1024 bytes in 3 blocks of blksize 512, 0.004 s; the build wrote 2048 bytes",
    ]);
  });

  it("lists each timeline in time order, though the capture's transfers and tftpd's log lines arrive out of step", () => {
    const timelines = new BootTimelines(clients, { stallSeconds: 30 });
    const [undionly] = read(capture);
    timelines.add(new Date(undionly!.time.getTime() + 100), { kind: "tftp-read", ip: CLIENT, file: "pxelinux.0" });
    timelines.add(undionly!.time, undionly!.event);
    expect(
      timelines
        .entries()
        .get("52:54:00:6e:00:10")!
        .map((entry) => entry.text),
    ).toEqual(["TFTP sent linux-ipxe/undionly.kpxe: 3000 bytes in 3 blocks of blksize 1432, 0.005 s", "TFTP read pxelinux.0"]);
  });

  it("says when the client ended a transfer", () => {
    const timelines = new BootTimelines(clients, { stallSeconds: 30 });
    const entry = timelines.add(new Date(0), {
      kind: "tftp-transfer",
      ip: CLIENT,
      file: "linux-ipxe/undionly.kpxe",
      blksize: 1432,
      blocks: 0,
      bytes: 0,
      seconds: 0.01,
      error: { by: "client", code: 8, message: "tsize query" },
    });
    expect(entry?.text).toBe(
      "TFTP linux-ipxe/undionly.kpxe: the client ended the transfer after 0 bytes in 0 blocks of blksize 1432, 0.010 s (error 8: tsize query)",
    );
  });
});
