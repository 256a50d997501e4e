#!/usr/bin/env node
// `npm test`: the workerd suite, the Node checks and the end-to-end suite, each even when one before it failed, so
// the closing line (scripts/test-summary.mjs) counts all three; the exit code is non-zero if any of them failed.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { SUITES, summarize } from "./test-summary.mjs";

// A report left from an earlier run must not stand in for a suite that crashed before writing its own.
rmSync(".test-results", { recursive: true, force: true });
let ok = true;
for (const suite of SUITES) {
  const run = spawnSync("npm", ["run", `test:${suite}`], { stdio: "inherit", shell: process.platform === "win32" });
  if (run.signal === "SIGINT" || run.signal === "SIGTERM") process.exit(130);
  if (run.status !== 0) ok = false;
}
if (!summarize() || !ok) process.exitCode = 1;
