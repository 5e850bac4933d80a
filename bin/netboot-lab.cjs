#!/usr/bin/env node
"use strict";
// The CLI is bundled by `npm run build` (run automatically by `npm ci` / `npm install`).
try {
  require("../dist/netboot-lab.cjs");
} catch (error) {
  if (error && error.code === "MODULE_NOT_FOUND" && String(error.message).includes("netboot-lab.cjs")) {
    console.error("netboot-lab: the CLI is not built yet; run `npm run build` in the package folder.");
    process.exit(1);
  }
  throw error;
}
