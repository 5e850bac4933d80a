import { defineConfig } from "vitest/config";

/**
 * `npm run test:engine`: the lab's lifecycle under the Pulumi CLI installed on this machine
 * (test/engine). Not part of `npm test` or CI: no CI machine has the CLI.
 */
export default defineConfig({
  test: {
    // Pulumi's Automation API and closure serialization need real processes, not worker threads.
    pool: "forks",
    include: ["test/engine/**/*.test.ts"],
    // Every step is one or two `pulumi` operations over the whole lab, boot image builds included.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    globalSetup: ["test/engine/global-setup.ts"],
  },
});
