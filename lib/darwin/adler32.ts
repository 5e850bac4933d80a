/**
 * Adler-32 (RFC 1950), the checksum mkext headers carry over bytes [16, length).
 * Node's zlib computes it internally but does not export it.
 */

const MOD_ADLER = 65521;
/** Largest run of bytes whose sums cannot overflow 2^53 before the next reduction (zlib's NMAX, which keeps them under 2^32). */
const NMAX = 5552;

/** Adler-32 of `bytes`; pass a previous result as `seed` to continue a running checksum. */
export function adler32(bytes: Uint8Array, seed = 1): number {
  let a = seed & 0xffff;
  let b = (seed >>> 16) & 0xffff;
  const length = bytes.length;
  let i = 0;
  while (i < length) {
    const end = Math.min(i + NMAX, length);
    // Unrolled by 8: the loop body is the whole cost of checksumming a 30 MB archive.
    const unrolledEnd = end - ((end - i) & 7);
    while (i < unrolledEnd) {
      a += bytes[i]!;
      b += a;
      a += bytes[i + 1]!;
      b += a;
      a += bytes[i + 2]!;
      b += a;
      a += bytes[i + 3]!;
      b += a;
      a += bytes[i + 4]!;
      b += a;
      a += bytes[i + 5]!;
      b += a;
      a += bytes[i + 6]!;
      b += a;
      a += bytes[i + 7]!;
      b += a;
      i += 8;
    }
    while (i < end) {
      a += bytes[i++]!;
      b += a;
    }
    a %= MOD_ADLER;
    b %= MOD_ADLER;
  }
  return ((b << 16) | a) >>> 0;
}
