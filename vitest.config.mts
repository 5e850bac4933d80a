import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Pulumi's closure serialization needs real processes, not worker threads.
    pool: "forks",
    include: ["test/**/*.test.ts"],
    // The end-to-end run has its own command (npm run test:e2e, vitest.e2e.config.mts).
    exclude: ["test/e2e/**", "node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ["test/global-setup.ts"],
  },
});
