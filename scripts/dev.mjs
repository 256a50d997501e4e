#!/usr/bin/env node
// `npm run dev`: the relay on 127.0.0.1:8787 with Miniflare's local KV and Queues. On a fresh clone there is no
// .dev.vars yet, so the demo secrets from .dev.vars.example are copied in first: the relay works at once. Once the
// relay answers, its configuration check (GET /healthz) is printed, so a broken secret shows before a callback.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatHealth, waitForHealth } from "./lib/health-report.mjs";

const args = process.argv.slice(2);
// With --env-file the caller chose its secrets, and wrangler does not read .dev.vars at all.
if (!existsSync(".dev.vars") && !args.some((a) => a.startsWith("--env-file"))) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (demo secrets; edit it for your own apps)");
}
const port = process.env.PORT ?? "8787";
// Readable log lines in a terminal, also for a .dev.vars made before LOG_FORMAT existed; one that sets it wins.
const setsFormat = existsSync(".dev.vars") && /^LOG_FORMAT=/m.test(readFileSync(".dev.vars", "utf8"));
const pretty = setsFormat ? [] : ["--var", "LOG_FORMAT:pretty"];
// The local wrangler, so this also works outside `npm run` (which is what puts node_modules/.bin on PATH).
const bin = `../node_modules/.bin/wrangler${process.platform === "win32" ? ".cmd" : ""}`;
const child = spawn(
  fileURLToPath(new URL(bin, import.meta.url)),
  // --types: when wrangler.toml changes the binding types, wrangler rewrites worker-configuration.d.ts itself with the
  // flags its header records (those of npm run types), instead of advising a plain `wrangler types` CI would reject.
  ["dev", "--ip", "127.0.0.1", "--port", port, "--types", ...pretty, ...args],
  { stdio: "inherit", shell: process.platform === "win32" },
);
child.on("error", (err) => {
  console.error(`could not start wrangler: ${err.message} (run npm ci first)`);
  process.exit(1);
});
// npm may signal only this process: pass every signal on, so wrangler (and its workerd) stop too.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const running = () => child.exitCode === null && child.signalCode === null;
const health = await waitForHealth(`http://127.0.0.1:${port}`, { timeoutMs: 120_000, stillRunning: running });
if (health) {
  const lines = formatHealth(health);
  (health.report.ok ? console.log : console.error)(`\n${lines.join("\n")}\n`);
  if (!health.report.ok) console.error("fix .dev.vars, then restart npm run dev\n");
} else if (running()) {
  console.error(`\nconfig check: http://127.0.0.1:${port}/healthz did not answer; is the port taken?\n`);
}
