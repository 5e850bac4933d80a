/** Tags of the images the lab builds (server, builder): a digest of every build input, so a changed input means a new tag. */
import { createHash } from "node:crypto";

/** The first 12 hex digits of sha256 over the inputs, each kept apart by a NUL so `ab`+`c` differs from `a`+`bc`. */
export function imageTag(...inputs: readonly (string | Buffer)[]): string {
  const hash = createHash("sha256");
  inputs.forEach((input, index) => {
    if (index > 0) hash.update("\0");
    hash.update(input);
  });
  return hash.digest("hex").slice(0, 12);
}
