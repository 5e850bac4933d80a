/**
 * LZSS as Haruhiko Okumura published it in 1989 and as the Darwin booter and kernel decode
 * mkext version 1 payloads: a 4096-byte ring preset with spaces, matches of 3…18 bytes
 * addressed by absolute ring position, one flag byte per 8 tokens (LSB first, 1 = literal).
 */

const RING_SIZE = 4096;
const RING_MASK = RING_SIZE - 1;
const MAX_MATCH = 18;
/** A match must be longer than this to be worth a 2-byte reference. */
const THRESHOLD = 2;
const MIN_MATCH = THRESHOLD + 1;
/** Where the decoder writes the first byte; everything before it is preset to spaces. */
const RING_START = RING_SIZE - MAX_MATCH;
const SPACE = 0x20;
/**
 * How far back the encoder looks. Okumura's encoder keeps a window of N - F bytes; staying
 * inside it means a reference never reads a ring byte the same reference is about to overwrite
 * before reading it, whatever order a decoder uses.
 */
const MAX_DISTANCE = RING_SIZE - MAX_MATCH;

const HASH_BITS = 15;
const HASH_SIZE = 1 << HASH_BITS;
/**
 * Candidates examined per position. With the 18-byte match limit longer chains buy little:
 * on the benchmark's 30 MB, 64 candidates shrink format 1 by ~1.5% and cost ~50% more time.
 */
const MAX_CHAIN = 24;

function hash3(bytes: Uint8Array, i: number): number {
  return Math.imul((bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!, 0x9e3779b1) >>> (32 - HASH_BITS);
}

/**
 * Compresses `input` into an LZSS stream that Darwin's decoders expand back to `input`.
 * Greedy parsing over hash chains; deterministic. Matches only reference bytes of the input
 * itself, never the initial space fill (valid: the fill is an option for the encoder, not a duty).
 */
export function lzssEncode(input: Uint8Array): Buffer {
  const length = input.length;
  // Worst case: every byte a literal, plus one flag byte per 8 tokens.
  const out = Buffer.allocUnsafe(length + ((length + 7) >>> 3) + 1);
  const head = new Int32Array(HASH_SIZE).fill(-1);
  const previous = new Int32Array(RING_SIZE);
  const lastHashable = length - MIN_MATCH;

  let outPos = 0;
  let flagPos = 0;
  let flagBit = 256; // forces a new flag byte on the first token
  let i = 0;

  while (i < length) {
    if (flagBit === 256) {
      flagPos = outPos++;
      out[flagPos] = 0;
      flagBit = 1;
    }

    let bestLength = 0;
    let bestPosition = 0;
    if (i <= lastHashable) {
      const h = hash3(input, i);
      const limit = Math.min(MAX_MATCH, length - i);
      const oldest = i - MAX_DISTANCE;
      let candidate = head[h]!;
      let chain = MAX_CHAIN;
      while (candidate >= oldest && candidate >= 0 && chain-- > 0) {
        // Cheap reject: a longer match must at least agree at the byte that would extend the best one.
        if (input[candidate + bestLength] === input[i + bestLength] && input[candidate] === input[i]) {
          let matched = 1;
          while (matched < limit && input[candidate + matched] === input[i + matched]) matched++;
          if (matched > bestLength) {
            bestLength = matched;
            bestPosition = candidate;
            if (matched === limit) break;
          }
        }
        candidate = previous[candidate & RING_MASK]!;
      }
      previous[i & RING_MASK] = head[h]!;
      head[h] = i;
    }

    if (bestLength >= MIN_MATCH) {
      const ringPosition = (bestPosition + RING_START) & RING_MASK;
      out[outPos++] = ringPosition & 0xff;
      out[outPos++] = ((ringPosition >>> 4) & 0xf0) | (bestLength - MIN_MATCH);
      // Index the positions the match covers so later matches can start inside it.
      const end = i + bestLength;
      for (let j = i + 1; j < end; j++) {
        if (j > lastHashable) break;
        const h = hash3(input, j);
        previous[j & RING_MASK] = head[h]!;
        head[h] = j;
      }
      i = end;
    } else {
      out[flagPos] |= flagBit;
      out[outPos++] = input[i++]!;
    }
    flagBit <<= 1;
  }
  return out.subarray(0, outPos);
}

/** Result of decoding: the bytes produced and how much of the stream was consumed. */
export interface LzssDecodeResult {
  readonly output: Buffer;
  /** Stream bytes read; less than the stream's length when `maxOutput` was reached first. */
  readonly consumed: number;
}

/**
 * Expands an LZSS stream, stopping when the stream ends or `maxOutput` bytes have been
 * produced (as the 10.6 kernel does). Callers compare `output.length` with the size they
 * expect and `consumed` with the stream length to detect truncated or oversized payloads.
 */
export function lzssDecode(stream: Uint8Array, maxOutput: number): LzssDecodeResult {
  const ring = new Uint8Array(RING_SIZE);
  ring.fill(SPACE, 0, RING_START);
  const out = Buffer.allocUnsafe(maxOutput);
  const length = stream.length;
  let r = RING_START;
  let inPos = 0;
  let outPos = 0;
  let flags = 0;

  while (outPos < maxOutput) {
    flags >>>= 1;
    if ((flags & 0x100) === 0) {
      if (inPos >= length) break;
      flags = stream[inPos++]! | 0xff00;
    }
    if (flags & 1) {
      if (inPos >= length) break;
      const c = stream[inPos++]!;
      out[outPos++] = c;
      ring[r] = c;
      r = (r + 1) & RING_MASK;
    } else {
      if (inPos + 1 >= length) {
        inPos = length;
        break;
      }
      const b0 = stream[inPos++]!;
      const b1 = stream[inPos++]!;
      const position = b0 | ((b1 & 0xf0) << 4);
      const matchLength = (b1 & 0x0f) + MIN_MATCH;
      for (let k = 0; k < matchLength && outPos < maxOutput; k++) {
        const c = ring[(position + k) & RING_MASK]!;
        out[outPos++] = c;
        ring[r] = c;
        r = (r + 1) & RING_MASK;
      }
    }
  }
  return { output: out.subarray(0, outPos), consumed: inPos };
}
