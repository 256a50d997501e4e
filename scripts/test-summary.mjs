#!/usr/bin/env node
// Sums the JSON reports the three vitest suites write (.test-results/<suite>.json) into one closing line that any
// CI can read: `imrelay: N passed, M failed, K skipped (workers a, node b, e2e c)`. Exits non-zero when a suite
// has no report or anything failed. `npm test` (scripts/test.mjs) prints it last; CI prints it again at the end.
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

export const SUITES = ["workers", "node", "e2e"];

/** Prints the closing line and returns whether every suite reported and nothing failed. */
export function summarize(dir = ".test-results") {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let complete = true;
  const parts = [];
  for (const suite of SUITES) {
    let report;
    try {
      report = JSON.parse(readFileSync(`${dir}/${suite}.json`, "utf8"));
    } catch {
      complete = false;
      parts.push(`${suite} no report`);
      continue;
    }
    // A file that failed to load has no failed test but `success: false`: it counts as one failure.
    const broken = report.success === false && report.numFailedTests === 0 ? 1 : 0;
    const suiteFailed = report.numFailedTests + broken;
    passed += report.numPassedTests;
    failed += suiteFailed;
    skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    parts.push(`${suite} ${report.numPassedTests}${suiteFailed > 0 ? ` + ${suiteFailed} failed` : ""}`);
  }
  console.log(`imrelay: ${passed} passed, ${failed} failed, ${skipped} skipped (${parts.join(", ")})`);
  return complete && failed === 0 && passed > 0;
}

// Run as a script (not imported): argv[1] is this file (Node resolves symlinks in import.meta.url, so do the same).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  if (!summarize()) process.exitCode = 1;
}
