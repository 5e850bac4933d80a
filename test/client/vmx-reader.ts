/**
 * Readers of .vmx text written for the tests from the rules of other programs, sharing nothing
 * with lib/client/vmx.ts, so a test can check that a rendered .vmx means to them what the lab
 * intends.
 *
 * readVmxAsVmware follows VMware's own dictionary line codec (open-vm-tools lib/dict/dictll.c,
 * DictLL_UnmarshalLine, and lib/misc/escape.c, Escape_Undo):
 * - a line is `<ws> name <ws> = <ws> value <ws> [# comment]`, `<ws>` being spaces and tabs; a
 *   name holds no whitespace, `=` or `#`; the value is either between double quotes (and holds
 *   none) or runs to the next whitespace or `#`; a line that is only whitespace and a comment
 *   carries nothing; any other line is not understood (VMware keeps it as it is, unread);
 * - in the value, `|` and two hex digits (either case) stand for that byte; after `|` and a
 *   byte that is not a hex digit, that byte stands for itself and starts no new escape;
 * - the text is UTF-8, optionally after a byte order mark; VMware finds keys without regard to case.
 *
 * readVmxAsPacker reads it as HashiCorp Packer's VMware builder does (ParseVMX): one regular
 * expression per line, `key = "value"` with any spacing, keys lower-cased, values kept as
 * written (Packer does not undo VMware's escapes), a later line for a key replacing an earlier.
 */

export interface VmwareReading {
  /** Every understood line's key and unescaped value, in file order, keys as written. */
  readonly entries: readonly { readonly key: string; readonly value: string; readonly line: number }[];
  /** Lines that are neither entries nor blank or comment lines, as VMware would leave them unread. */
  readonly notUnderstood: readonly string[];
}

const isBlank = (byte: number | undefined) => byte === 0x20 || byte === 0x09;
const hexValue = (byte: number | undefined): number => {
  if (byte === undefined) return -1;
  const digit = String.fromCharCode(byte);
  return /^[0-9A-Fa-f]$/.test(digit) ? parseInt(digit, 16) : -1;
};

/** VMware's unescaping of a value, byte by byte. */
function undoEscapes(bytes: Uint8Array): string {
  const out: number[] = [];
  let state = 0;
  let high = 0;
  bytes.forEach((byte) => {
    out.push(byte);
    if (state === 0) {
      if (byte === 0x7c) state = 1;
    } else if (state === 1) {
      high = hexValue(byte);
      state = high >= 0 ? 2 : 0;
    } else {
      const low = hexValue(byte);
      if (low >= 0) out.splice(out.length - 3, 3, (high << 4) | low);
      state = 0;
    }
  });
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(out));
}

function readLine(line: Uint8Array): { key: string; value: string } | "blank" | undefined {
  let at = 0;
  const skipBlanks = () => {
    while (isBlank(line[at])) at++;
  };
  skipBlanks();
  if (at === line.length || line[at] === 0x23) return "blank";
  const nameStart = at;
  while (at < line.length && !isBlank(line[at]) && line[at] !== 0x3d && line[at] !== 0x23 && line[at] !== 0) at++;
  const name = line.subarray(nameStart, at);
  skipBlanks();
  if (name.length === 0 || line[at] !== 0x3d) return undefined;
  at++;
  skipBlanks();
  let value: Uint8Array;
  if (line[at] === 0x22) {
    const end = line.indexOf(0x22, at + 1);
    if (end < 0) return undefined;
    value = line.subarray(at + 1, end);
    at = end + 1;
  } else {
    const start = at;
    while (at < line.length && !isBlank(line[at]) && line[at] !== 0x23 && line[at] !== 0) at++;
    value = line.subarray(start, at);
  }
  skipBlanks();
  if (at < line.length && line[at] !== 0x23) return undefined;
  return { key: new TextDecoder().decode(name), value: undoEscapes(value) };
}

export function readVmxAsVmware(text: string): VmwareReading {
  let bytes = new TextEncoder().encode(text);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const entries: { key: string; value: string; line: number }[] = [];
  const notUnderstood: string[] = [];
  let start = 0;
  let number = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    const line = bytes.subarray(start, end);
    number++;
    const read = readLine(line);
    if (read === undefined) notUnderstood.push(new TextDecoder().decode(line));
    else if (read !== "blank") entries.push({ ...read, line: number });
    start = end + 1;
  }
  return { entries, notUnderstood };
}

/** Keys VMware would find more than once (it compares them without regard to case), each with its lines. */
export function repeatedKeys(reading: VmwareReading): Record<string, number[]> {
  const lines = new Map<string, number[]>();
  for (const entry of reading.entries) lines.set(entry.key.toLowerCase(), [...(lines.get(entry.key.toLowerCase()) ?? []), entry.line]);
  return Object.fromEntries([...lines].filter(([, found]) => found.length > 1));
}

/** The value VMware finds for `key`, compared without regard to case. */
export function vmwareValue(reading: VmwareReading, key: string): string | undefined {
  return reading.entries.find((entry) => entry.key.toLowerCase() === key.toLowerCase())?.value;
}

export function readVmxAsPacker(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(.+?)\s*=\s*"(.*?)"\s*$/.exec(line);
    if (match) values.set(match[1]!.toLowerCase(), match[2]!);
  }
  return values;
}
