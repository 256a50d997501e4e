/**
 * `npm test` (scripts/test.mjs) must end with one grand total line and fail when any part fails, because it is
 * what CI runs. These run the real runner in a scratch project whose three suites are fakes writing reports.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const RUNNER = join(__dirname, "..", "..", "scripts", "test.mjs");
const SUMMARY = join(__dirname, "..", "..", "scripts", "test-summary.mjs");
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Fake = { passed: number; failed?: number; skipped?: number; exit?: number; noReport?: boolean; broken?: boolean };

/** A scratch project whose `test:<suite>` scripts write a vitest-shaped JSON report and exit as told. */
function project(suites: Record<"workers" | "node" | "e2e", Fake>): string {
  const dir = mkdtempSync(join(tmpdir(), "imrelay-test-summary-"));
  dirs.push(dir);
  const scripts: Record<string, string> = {};
  for (const [suite, fake] of Object.entries(suites)) {
    const report = {
      numPassedTests: fake.passed,
      numFailedTests: fake.failed ?? 0,
      numPendingTests: fake.skipped ?? 0,
      numTodoTests: 0,
      success: !fake.broken && (fake.failed ?? 0) === 0,
    };
    const write = fake.noReport
      ? ""
      : `require("fs").mkdirSync(".test-results",{recursive:true});require("fs").writeFileSync(".test-results/${suite}.json",${JSON.stringify(JSON.stringify(report))});`;
    writeFileSync(join(dir, `${suite}.cjs`), `${write}process.exit(${fake.exit ?? 0});`);
    scripts[`test:${suite}`] = `node ${suite}.cjs`;
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch", private: true, scripts }));
  return dir;
}

function run(script: string, cwd: string) {
  const res = spawnSync(process.execPath, [script], { cwd, encoding: "utf8" });
  const lines = res.stdout.trim().split("\n");
  return { status: res.status, last: lines[lines.length - 1] };
}

describe("npm test's closing line", () => {
  it("sums the three suites into one line and exits 0 when all pass", () => {
    const dir = project({ workers: { passed: 5, skipped: 1 }, node: { passed: 2 }, e2e: { passed: 3 } });
    expect(run(RUNNER, dir)).toEqual({
      status: 0,
      last: "imrelay: 10 passed, 0 failed, 1 skipped (workers 5, node 2, e2e 3)",
    });
  });

  it("still runs the later suites and prints the line when one fails, and exits non-zero", () => {
    const dir = project({ workers: { passed: 4, failed: 1, exit: 1 }, node: { passed: 2 }, e2e: { passed: 3 } });
    expect(run(RUNNER, dir)).toEqual({
      status: 1,
      last: "imrelay: 9 passed, 1 failed, 0 skipped (workers 4 + 1 failed, node 2, e2e 3)",
    });
  });

  it("counts a suite that crashed before writing its report as missing, ignoring a stale one", () => {
    const dir = project({ workers: { passed: 5 }, node: { passed: 2 }, e2e: { passed: 0, noReport: true, exit: 1 } });
    mkdirSync(join(dir, ".test-results"));
    writeFileSync(join(dir, ".test-results", "e2e.json"), JSON.stringify({ numPassedTests: 99, numFailedTests: 0 }));
    expect(run(RUNNER, dir)).toEqual({
      status: 1,
      last: "imrelay: 7 passed, 0 failed, 0 skipped (workers 5, node 2, e2e no report)",
    });
  });

  it("fails a suite whose file did not load (no failed test, but not a success)", () => {
    const dir = project({ workers: { passed: 5, broken: true, exit: 1 }, node: { passed: 2 }, e2e: { passed: 3 } });
    expect(run(RUNNER, dir)).toMatchObject({ status: 1, last: expect.stringContaining("(workers 5 + 1 failed,") });
  });

  it("prints the same line on its own, as CI calls it after the soak", () => {
    const dir = project({ workers: { passed: 5 }, node: { passed: 2 }, e2e: { passed: 3 } });
    run(RUNNER, dir);
    expect(run(SUMMARY, dir)).toEqual({
      status: 0,
      last: "imrelay: 10 passed, 0 failed, 0 skipped (workers 5, node 2, e2e 3)",
    });
  });
});
