#!/usr/bin/env node
// Sums the JSON reports the three vitest suites write (.test-results/*.json) into one plain closing line,
// `N passed, N failed`, that any CI can read. Exits non-zero when a suite is missing or anything failed.
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
for (const suite of ["workers", "node", "e2e"]) {
  let report;
  try {
    report = JSON.parse(readFileSync(`.test-results/${suite}.json`, "utf8"));
  } catch {
    console.error(`no report for the ${suite} suite`);
    process.exitCode = 1;
    continue;
  }
  passed += report.numPassedTests;
  // A suite that failed to load has no failed test but `success: false`: it counts as a failure.
  failed += report.numFailedTests + (report.success === false && report.numFailedTests === 0 ? 1 : 0);
  console.log(
    `${suite}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`,
  );
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0 || passed === 0) process.exitCode = 1;
