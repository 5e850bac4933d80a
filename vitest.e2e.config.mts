import { defineConfig } from "vitest/config";
import base from "./vitest.config.mts";

/**
 * `npm run test:e2e`: the whole kvm stack realized and booted, and its lifecycle (test/e2e), with
 * the suite's pool, timeouts and global setup. One file at a time: each realizes a whole lab, and
 * the boot timings are measured on a machine doing nothing else.
 */
export default defineConfig({ ...base, test: { ...base.test, include: ["test/e2e/**/*.test.ts"], exclude: ["node_modules/**"], fileParallelism: false } });
