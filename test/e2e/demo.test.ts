import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ADMIN_TOKEN, NETEASE_APP, NETEASE_SECRET, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "../helpers/bindings";

/**
 * `npm run demo` (scripts/demo.mjs) as a newcomer runs it, as a child process against the suite's dev server
 * (`--url`, with the test secrets as flags): every fixture of both providers is sent signed, comes back to the
 * demo's receiver as a signed CloudEvent, and the demo exits 0 with a summary that says so.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = join(ROOT, "scripts", "demo.mjs");
const FIXTURES = ["tencent", "netease"]
  .map((p) => readdirSync(join(ROOT, "test", "fixtures", p)).filter((f) => f.endsWith(".json")).length)
  .reduce((a, b) => a + b, 0);

const children: ChildProcess[] = [];

afterEach(() => {
  // A test that timed out leaves its demo running: end it (it cleans up after itself on SIGTERM).
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
});

type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

function demo(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, "--url", inject("relayUrl"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => {
      stdout += String(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const testSecrets = (netease = `${NETEASE_APP}:${NETEASE_SECRET}`) => [
  "--tencent",
  `${TENCENT_TOKEN_APP}:${TENCENT_TOKEN}`,
  "--netease",
  netease,
  "--admin-token",
  ADMIN_TOKEN,
  "--timeout",
  "45",
];

/** The number pair `a/b` of a summary row, e.g. `signatures verified   140/140`. */
function pair(stdout: string, label: string): [number, number] {
  const match = new RegExp(`^[ \\t]+${label}[ \\t]+(\\d+)/(\\d+)`, "m").exec(stdout);
  expect(match, `summary row "${label}" in:\n${stdout}`).not.toBeNull();
  return [Number(match?.[1]), Number(match?.[2])];
}

async function targetStatus(id: string): Promise<number> {
  const res = await fetch(`${inject("relayUrl")}/admin/targets/${id}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  await res.body?.cancel();
  return res.status;
}

describe("npm run demo", () => {
  it("sends every fixture, gets each back signed, reports it and exits 0", { timeout: 90_000 }, async () => {
    expect(FIXTURES).toBeGreaterThanOrEqual(140);
    const run = await demo(testSecrets());
    const output = `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

    expect(run.code, output).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^[ \\t]+sent[ \\t]+${FIXTURES} callbacks`, "m"));
    expect(run.stdout).toMatch(new RegExp(`^[ \\t]+acked[ \\t]+${FIXTURES}$`, "m"));
    expect(run.stdout).toMatch(/^[ \t]+refused[ \t]+0$/m);
    expect(pair(run.stdout, "delivered")).toEqual([FIXTURES, FIXTURES]);
    expect(pair(run.stdout, "signatures verified")).toEqual([FIXTURES, FIXTURES]);
    expect(run.stdout).toMatch(/^[ \t]+event types seen[ \t]+\d+ distinct, \d+ vendor-neutral im\.\*/m);
    expect(run.stdout).toContain(`✓ all ${FIXTURES} acked callbacks came back as CloudEvents with a valid signature`);
    // One line per delivery, each with its verdict.
    expect(run.stdout.match(/signature verified ✓/g)?.length).toBe(FIXTURES);
    expect(run.stdout).not.toMatch(/✗/);
    // The demo's target is gone afterwards.
    expect(await targetStatus("demo")).toBe(404);
  });

  it("fails, and says why, when the relay refuses callbacks", { timeout: 90_000 }, async () => {
    const run = await demo(testSecrets(`${NETEASE_APP}:not-the-secret`));
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/^refused\s+netease\/\S+: HTTP 401 BAD_SIGNATURE/m);
    expect(run.stdout).not.toMatch(/^[ \t]+refused[ \t]+0$/m);
    expect(run.stdout).toContain("✗ the demo did not complete");
    expect(await targetStatus("demo")).toBe(404);
  });

  it("fails fast with a clear message when the admin token is wrong", { timeout: 30_000 }, async () => {
    const run = await demo([...testSecrets().slice(0, 4), "--admin-token", "wrong-token"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/could not register the target "demo": HTTP 401/);
    expect(run.stderr).toContain("wrong admin token");
  });
});
