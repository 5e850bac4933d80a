import { defineConfig } from "vitest/config";
import base from "./vitest.config.mts";

/** `npm run test:e2e`: the whole kvm stack realized and booted (test/e2e), with the suite's pool, timeouts and global setup. */
export default defineConfig({ ...base, test: { ...base.test, include: ["test/e2e/**/*.test.ts"], exclude: ["node_modules/**"] } });
