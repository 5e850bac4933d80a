import { defineConfig } from "vitest/config";

// Tests that restart the Docker engine: run after the main suite, one file at a time, because
// they disturb every container on the engine (npm run test:faults).
export default defineConfig({
  test: {
    pool: "forks",
    include: ["test/faults/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    globalSetup: ["test/global-setup.ts"],
  },
});
