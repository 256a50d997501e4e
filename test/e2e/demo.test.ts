import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { TENCENT_COMMANDS } from "../../src/providers/tencent/schemas";
import { ADMIN_TOKEN, NETEASE_APP, NETEASE_SECRET, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "../helpers/bindings";
import { admin, uniqueId } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";

/**
 * `npm run demo` (scripts/demo.mjs) as a newcomer runs it, as a child process against the suite's dev server
 * (`--url`, with the test secrets as flags): its word filter, registered as the decider `demo-words`, denies a
 * Tencent and a NetEase message with the banned word and rewrites one of each with the masked word; every fixture
 * of both providers is sent signed (the before-callbacks among them answered by the word filter), everything comes
 * back to the demo's receiver as a signed CloudEvent, and the demo exits 0 with a summary that says so.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEMO = join(ROOT, "scripts", "demo.mjs");
const files = (provider: string) =>
  readdirSync(join(ROOT, "test", "fixtures", provider)).filter((f) => f.endsWith(".json"));
const FIXTURES = files("tencent").length + files("netease").length;
/** The word filter's messages: a Tencent C2C and a NetEase eventType 1 message with each of its two words. */
const WORDS = 4;
const CALLBACKS = FIXTURES + WORDS;
/** Fixtures the word filter is asked about: Tencent before-callbacks and every NetEase 第三方回调. */
const BEFORE_FIXTURES =
  files("tencent").filter((f) => TENCENT_COMMANDS[f.replace(/(\.\d+)?\.json$/, "")]?.phase === "before").length +
  files("netease").filter((f) => f.startsWith("callback-")).length;

const children: ChildProcess[] = [];
const deciders: string[] = [];

afterEach(async () => {
  // A test that timed out leaves its demo running: end it (it cleans up after itself on SIGTERM).
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  for (const id of deciders.splice(0)) await admin("DELETE", `/deciders/${id}`);
  await Receiver.closeAll();
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
  "--clean",
];

/** The number pair `a/b` of a summary row, e.g. `signatures verified   140/140`. */
function pair(stdout: string, label: string): [number, number] {
  const match = new RegExp(`^[ \\t]+${label}[ \\t]+(\\d+)/(\\d+)`, "m").exec(stdout);
  expect(match, `summary row "${label}" in:\n${stdout}`).not.toBeNull();
  return [Number(match?.[1]), Number(match?.[2])];
}

async function targetStatus(id: string): Promise<number> {
  return (await admin("GET", `/targets/${id}`)).status;
}

async function deciderStatus(id: string): Promise<number> {
  return (await admin("GET", `/deciders/${id}`)).status;
}

/** The word filter's block for one message: the line naming it, then its verdict and answer lines. */
function wordBlock(stdout: string, what: string, text: string): string {
  const lines = stdout.split("\n");
  const at = lines.findIndex((line) => line.includes(what) && line.includes(JSON.stringify(text)));
  expect(at, `${what} ${JSON.stringify(text)} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  return lines.slice(at, at + 3).join("\n");
}

describe("npm run demo", () => {
  it("sends every fixture, gets each back signed, reports it and exits 0", { timeout: 90_000 }, async () => {
    expect(FIXTURES).toBeGreaterThanOrEqual(140);
    const run = await demo(testSecrets());
    const output = `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

    expect(run.code, output).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^[ \\t]+sent[ \\t]+${CALLBACKS} callbacks \\(${FIXTURES} fixtures: .*; ${WORDS} word-filter messages\\)`,
        "m",
      ),
    );
    expect(run.stdout).toMatch(new RegExp(`^[ \\t]+acked[ \\t]+${CALLBACKS}$`, "m"));
    expect(run.stdout).toMatch(/^[ \t]+refused[ \t]+0$/m);
    expect(pair(run.stdout, "delivered")).toEqual([CALLBACKS, CALLBACKS]);
    expect(pair(run.stdout, "signatures verified")).toEqual([CALLBACKS, CALLBACKS]);
    expect(run.stdout).toMatch(/^[ \t]+event types seen[ \t]+\d+ distinct, \d+ vendor-neutral im\.\*/m);
    expect(run.stdout).toContain(`✓ all ${CALLBACKS} acked callbacks came back as CloudEvents with a valid signature`);
    // One line per delivery, each with its verdict.
    expect(run.stdout.match(/signature verified ✓/g)?.length).toBe(CALLBACKS);
    expect(run.stdout).not.toMatch(/✗/);
    // The demo's target is gone afterwards.
    expect(await targetStatus("demo")).toBe(404);
  });

  it("keeps its target and delivery log on a relay that outlives it, for the console, unless --clean", {
    timeout: 90_000,
  }, async () => {
    const run = await demo(testSecrets().filter((arg) => arg !== "--clean"));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('kept the target "demo": open ');
    expect(await targetStatus("demo")).toBe(200);
    const log = (await admin("GET", "/targets/demo/deliveries?limit=1000")).json as { items: unknown[] };
    expect(log.items.length).toBeGreaterThan(0);
    // Its decider is a server that stopped with the demo: it never stays registered.
    expect(await deciderStatus("demo-words")).toBe(404);
    expect((await admin("DELETE", "/targets/demo")).status).toBe(204);
  });

  it("registers a word filter as decider demo-words: banned word denied, masked word rewritten, for both providers", {
    timeout: 90_000,
  }, async () => {
    const run = await demo(testSecrets());
    const output = `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
    expect(run.code, output).toBe(0);
    expect(run.stdout).toMatch(
      /^decider {3}http:\/\/127\.0\.0\.1:\d+\/decide, registered as decider "demo-words": a word filter that denies "casino" and masks "darn"$/m,
    );

    const c2c = "tencent C2C.CallbackBeforeSendMsg";
    const p2p = "netease callback eventType 1";
    const banned = "Free chips at the casino tonight";
    const masked = "Oh darn, I missed the bus";
    const rewritten = "Oh ****, I missed the bus";
    expect(wordBlock(run.stdout, c2c, banned)).toMatch(
      /verdict {2}deny 120001 \(banned word "casino"\)\n +answer {3}\{"ActionStatus":"OK","ErrorCode":120001,"ErrorInfo":"banned word \\"casino\\""\} {2}as decided ✓/,
    );
    expect(wordBlock(run.stdout, p2p, banned)).toMatch(
      /verdict {2}deny 20001 \(banned word "casino"\)\n +answer {3}\{"errCode":1,"responseCode":20001\} {2}as decided ✓/,
    );
    const tencentRewrite = wordBlock(run.stdout, c2c, masked);
    expect(tencentRewrite).toContain(`verdict  allow, rewritten to ${JSON.stringify(rewritten)}`);
    expect(tencentRewrite).toContain(
      `answer   {"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":${JSON.stringify(rewritten)}}}]}  as decided ✓`,
    );
    expect(wordBlock(run.stdout, p2p, masked)).toContain(
      `answer   {"errCode":0,"modifyResponse":{"body":${JSON.stringify(rewritten)}}}  as decided ✓`,
    );
    expect(run.stdout.match(/as decided ✓/g)).toHaveLength(WORDS);

    // Denied and rewritten messages are delivered too, with the decision; the fixtures' before-callbacks allowed.
    expect(run.stdout.match(/\(deny by demo-words\)/g)).toHaveLength(2);
    expect(run.stdout.match(/\(modify by demo-words\)/g)).toHaveLength(2);
    expect(run.stdout.match(/\(allow by demo-words\)/g)).toHaveLength(BEFORE_FIXTURES);
    expect(run.stdout).toMatch(
      new RegExp(
        `^[ \\t]+decider[ \\t]+"demo-words" asked ${BEFORE_FIXTURES + WORDS} times: 2 denied, 2 rewritten, ${BEFORE_FIXTURES} allowed; signatures verified ${BEFORE_FIXTURES + WORDS}/${BEFORE_FIXTURES + WORDS}$`,
        "m",
      ),
    );
    expect(run.stdout).toMatch(/^[ \t]+word filter[ \t]+4\/4 answers as the filter decided$/m);
    expect(run.stdout).toContain("the word filter's 4 verdicts were answered as decided");
    // The demo's decider is gone afterwards, so the other e2e files' before-callbacks are answered as before.
    expect(await deciderStatus("demo-words")).toBe(404);
  });

  it("exits 1 when the relay answers a word-filter message otherwise than the filter decided", {
    timeout: 90_000,
  }, async () => {
    // A stricter decider beside the word filter: its deny wins over the filter's rewrite.
    const denyAll = await Receiver.start({
      fallback: { status: 200, headers: { "content-type": "application/json" }, body: '{"decision":"deny"}' },
    });
    const id = uniqueId("e2e-deny-all");
    const put = await admin("PUT", `/deciders/${id}`, { url: denyAll.url() });
    expect(put.status).toBe(201);
    deciders.push(id);

    const run = await demo(testSecrets());
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`⚠ the relay has 1 other enabled decider\\(s\\) \\(${id}\\)`));
    expect(run.stdout).toMatch(
      /answer {3}\{"errCode":1\} {2}NOT as decided ✗ \(expected \{"errCode":0,"modifyResponse":/,
    );
    expect(run.stdout).toMatch(/^[ \t]+word filter[ \t]+2\/4 answers as the filter decided$/m);
    expect(run.stdout).toContain("✗ the demo did not complete");
    expect(await deciderStatus("demo-words")).toBe(404);
    expect(await targetStatus("demo")).toBe(404);
  });

  it("fails, and says why, when the relay refuses callbacks", { timeout: 90_000 }, async () => {
    const run = await demo(testSecrets(`${NETEASE_APP}:not-the-secret`));
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/^refused\s+netease\/\S+: HTTP 401 BAD_SIGNATURE/m);
    expect(run.stdout).not.toMatch(/^[ \t]+refused[ \t]+0$/m);
    expect(run.stdout).toContain("✗ the demo did not complete");
    expect(await targetStatus("demo")).toBe(404);
    expect(await deciderStatus("demo-words")).toBe(404);
  });

  it("fails fast with a clear message when the admin token is wrong", { timeout: 30_000 }, async () => {
    const run = await demo([...testSecrets().slice(0, 4), "--admin-token", "wrong-token"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/could not register the target "demo": HTTP 401/);
    expect(run.stderr).toContain("wrong admin token");
  });
});
