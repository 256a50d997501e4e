import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { neteaseHeaders } from "../../scripts/lib/sign.mjs";

/**
 * `npm run dev` (scripts/dev.mjs) as a newcomer runs it: `wrangler dev` on the source, then the relay's
 * configuration check printed once it answers. Secrets come from `--env-file`, so the repository's own
 * .dev.vars is neither read nor created. Ports are fixed in 9150–9159 (never 8787, where a developer's relay runs).
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEV = join(ROOT, "scripts", "dev.mjs");

type Dev = { child: ChildProcess; output: () => string; base: string };
const running: { dev: Dev; dir: string }[] = [];

afterEach(async () => {
  for (const { dev, dir } of running.splice(0)) {
    await stop(dev.child);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Ends dev.mjs and its wrangler (its own process group), waiting for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const pid = child.pid;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {}
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Starts `node scripts/dev.mjs` with `vars` as its env file on `port` (and `port + 1` for the inspector). */
function startDev(vars: string, port: number): Dev {
  const dir = mkdtempSync(join(tmpdir(), "imrelay-dev-script-"));
  const envFile = join(dir, "dev.env");
  writeFileSync(envFile, vars);
  const args = [
    DEV,
    "--env-file",
    envFile,
    "--persist-to",
    join(dir, "state"),
    "--inspector-port",
    String(port + 1),
    "--show-interactive-dev-session=false",
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    output += String(chunk);
  });
  const dev = { child, output: () => output, base: `http://127.0.0.1:${port}` };
  running.push({ dev, dir });
  return dev;
}

/** Waits until the output has `text` (the check is printed once), failing with the output if dev.mjs exits. */
async function waitFor(dev: Dev, text: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!dev.output().includes(text)) {
    if (dev.child.exitCode !== null) throw new Error(`dev.mjs exited (${dev.child.exitCode}):\n${dev.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" in time:\n${dev.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // The check is printed in one write; give it a moment to arrive whole.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return dev.output();
}

describe("npm run dev", () => {
  it("prints a passing check for .dev.vars.example, and the README's quick-start callbacks are accepted", {
    timeout: 120_000,
  }, async () => {
    const { readFileSync } = await import("node:fs");
    const dev = startDev(readFileSync(join(ROOT, ".dev.vars.example"), "utf8"), 9150);
    const output = await waitFor(dev, "config check (GET /healthz → 200): ok");
    expect(output).toContain("Tencent apps: 1400000001 (unsigned), 1400000002");
    expect(output).toContain("NetEase apps: demo-appkey");
    expect(output).not.toContain("✗");
    expect(output).not.toContain("created .dev.vars");

    // The README's two curl examples: a signed NetEase 第三方回调 and an unsigned Tencent callback.
    const body =
      '{"eventType":8,"fromAccount":"alice","fromClientType":"IOS","tid":2637250619,"timestamp":"1564575855993"}';
    const netease = await fetch(`${dev.base}/netease/callback`, {
      method: "POST",
      headers: neteaseHeaders(body, { appKey: "demo-appkey", secret: "demo-appsecret" }),
      body,
    });
    expect(netease.status).toBe(200);
    expect(await netease.json()).toEqual({ errCode: 0 });
    const tencent = await fetch(
      `${dev.base}/tencent?SdkAppid=1400000001&CallbackCommand=Group.CallbackAfterGroupDestroyed&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"CallbackCommand":"Group.CallbackAfterGroupDestroyed","GroupId":"@TGS#2J4SZEAEL","Type":"Public","Owner_Account":"leckie","Name":"MyFirstGroup","EventTime":1670574414123}',
      },
    );
    expect(tencent.status).toBe(200);
    expect(await tencent.json()).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
  });

  it("prints every configuration problem, where it is and what was expected", { timeout: 120_000 }, async () => {
    const vars = [
      'TENCENT_APPS={"1400000001":{},"1400000002":{"token":"a-token-never-printed"}}',
      'NETEASE_APPS={"demo-appkey":{"secret":"a-secret-never-printed"}}',
      "ADMIN_TOKEN=short",
      "DELIVERY_TIMEOUT_MS=fast",
      "",
    ].join("\n");
    const dev = startDev(vars, 9152);
    const output = await waitFor(dev, "fix .dev.vars, then restart npm run dev");
    expect(output).toContain("config check (GET /healthz → 503): 4 problems");
    expect(output).toContain('✗ TENCENT_APPS["1400000001"]: has no token: set "token"');
    expect(output).toContain('✗ NETEASE_APPS["demo-appkey"].channels: is missing');
    expect(output).toContain('expected "channels": ["cc"], ["callback"] or ["cc", "callback"]');
    expect(output).toContain("✗ ADMIN_TOKEN: is shorter than 16 characters");
    expect(output).toContain("✗ DELIVERY_TIMEOUT_MS: is not an integer in range");
    expect(output).toContain("expected an integer in [100, 120000] (default 15000)");
    expect(output).not.toContain("a-token-never-printed");
    expect(output).not.toContain("a-secret-never-printed");
  });
});
