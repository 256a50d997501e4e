#!/usr/bin/env node
// `npm run dev`: the relay on 127.0.0.1:8787 with Miniflare's local KV and Queues. On a fresh clone there is no
// .dev.vars yet, so the demo secrets from .dev.vars.example are copied in first: the relay works at once.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (demo secrets; edit it for your own apps)");
}
const child = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", process.env.PORT ?? "8787", ...process.argv.slice(2)], {
  stdio: "inherit",
  shell: process.platform === "win32",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
