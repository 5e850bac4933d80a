import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Pulumi's closure serialization needs real processes, not worker threads.
    pool: "forks",
    include: ["test/**/*.test.ts"],
    // They restart the Docker engine: `npm run test:faults` runs them alone, after this suite.
    // The end-to-end run has its own command (npm run test:e2e, vitest.e2e.config.mts), and so has
    // the real-engine suite (npm run test:engine, vitest.engine.config.mts), which needs the Pulumi CLI.
    exclude: [...configDefaults.exclude, "test/faults/**", "test/e2e/**", "test/engine/**"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ["test/global-setup.ts"],
  },
});
