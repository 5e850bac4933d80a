/** Bytes written the way packet dumps and the formats doc show them: "35 01 01", with `"text"` for text runs. */
export function bytes(...parts: string[]): Buffer {
  return Buffer.concat(
    parts
      .flatMap((part) => part.match(/"[^"]*"|[0-9a-f]{2}/gi) ?? [])
      .map((token) => (token.startsWith('"') ? Buffer.from(token.slice(1, -1), "utf8") : Buffer.from(token, "hex"))),
  );
}
