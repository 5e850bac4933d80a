import { defineConfig } from "vitest/config";

// Benchmarks that drive the lab as the stack program declares it need the test harness (and so
// vitest's module loader); they run on their own, never as part of `npm test`.
export default defineConfig({
  test: {
    pool: "forks",
    include: ["scripts/bench-lab.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    globalSetup: ["test/global-setup.ts"],
  },
});
