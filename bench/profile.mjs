#!/usr/bin/env node
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
// `npm run profile`: where the relay's JavaScript spends its time under fan-out load. Starts the relay under
// `wrangler dev` (unminified, without [assets], like the bench), points --targets receivers on 127.0.0.1 at it,
// sends --events callbacks per round through the ingress, and records a V8 CPU profile of the Worker (ingress,
// consumer and Durable Objects share its isolate) over --rounds rounds after a warm-up round. Prints the heaviest
// functions, self and inclusive, and writes the .cpuprofile (open it in Chrome DevTools' Performance panel).
//
// Weights are sample counts, not V8's time deltas: after an idle gap the next sample carries the whole gap, which
// charges waiting to whatever ran first (a logger, a URL parse). It shows JavaScript and what it calls
// synchronously (SQLite, WebCrypto), not workerd's own HTTP, RPC and I/O: for those, `perf record -g -p <workerd>`.
//
// Flags: --events N (200) --rounds R (3) --targets N (4) --out FILE (default: a temp dir) --relay-root DIR
//        --max-seconds S (300: then, or on SIGINT/SIGTERM, everything it started is stopped)
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { descendants, freePort, ROOT, startDevServer } from "../scripts/lib/dev-server.mjs";
import { configCopy } from "./lib/config.mjs";
import { runLoad } from "./lib/load.mjs";
import { ADMIN_TOKEN, loadFixtures, RELAY_VARS, sequential, uniquePool } from "./lib/pool.mjs";
import { strayDevServers } from "./lib/proc.mjs";
import { startReceivers } from "./lib/receivers.mjs";

const { values: flags } = parseArgs({
  options: {
    events: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
    targets: { type: "string", default: "4" },
    out: { type: "string" },
    "relay-root": { type: "string" },
    "max-seconds": { type: "string", default: "300" },
  },
});
const EVENTS = Number(flags.events);
const TARGETS = Number(flags.targets);
const RELAY_ROOT = flags["relay-root"] ? resolve(flags["relay-root"]) : ROOT;
// wrangler's inspector proxy refuses Node's built-in WebSocket (no 101); `ws`, which wrangler itself uses, works.
const WebSocket = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"))("ws");

// A dev server outlives a killed parent (its own process group): stop every descendant on a signal or overrun.
const killAll = async (code) => {
  for (const pid of await descendants(process.pid).catch(() => [])) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  process.exit(code);
};
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => killAll(130));
const guard = setTimeout(() => {
  console.error(`profile exceeded --max-seconds ${flags["max-seconds"]}; stopping`);
  killAll(1);
}, Number(flags["max-seconds"]) * 1000);

const stray = await strayDevServers(process.pid);
if (stray.length > 0)
  console.error(`WARNING: other wrangler dev servers running (pids ${stray.join(", ")}) skew the profile`);

const dir = await mkdtemp(join(tmpdir(), "imrelay-profile-"));
const receivers = await startReceivers(TARGETS);
const config = await configCopy(join(RELAY_ROOT, "wrangler.toml"), dir, "relay", { consumers: true });
// Readable function names in the profile.
await writeFile(config, (await readFile(config, "utf8")).replace(/^minify = true$/m, "minify = false"));
const inspectorPort = await freePort();
const server = await startDevServer({ config, vars: RELAY_VARS, inspectorPort });
let ws;
try {
  for (const [i, url] of receivers.urls.entries()) {
    const res = await fetch(`${server.url}/admin/targets/profile${i}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ url }),
    });
    if (!res.ok) throw new Error(`PUT target: ${res.status} ${await res.text()}`);
  }
  const fixtures = await loadFixtures(ROOT);
  const round = async () => {
    receivers.reset();
    const requests = sequential(uniquePool(fixtures, EVENTS + 8));
    const r = await runLoad({ url: server.url, requests, amount: EVENTS, connections: 8, maxSeconds: 60 });
    if (r.ok !== EVENTS) throw new Error(`${r.ok}/${EVENTS} callbacks answered 2xx`);
    if (!(await receivers.waitFor(EVENTS * TARGETS, 60_000))) throw new Error("deliveries missing after 60 s");
  };
  await round();

  const [target] = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise((ok, fail) => {
    ws.once("open", ok);
    ws.once("error", fail);
  });
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    // What comes back for a command may be the command itself (method and params, no result): it counts as done.
    // Profiler.stop's answer carries the profile.
    const done = pending.get(msg.id);
    if (done && (msg.result !== undefined || msg.method !== "Profiler.stop")) done(msg.result);
  });
  const call = (method, params = {}) =>
    new Promise((ok) => {
      pending.set(++id, ok);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  for (let i = 0; i < Number(flags.rounds); i++) await round();
  const { profile } = await call("Profiler.stop");
  const out = flags.out ?? join(dir, "relay.cpuprofile");
  await writeFile(out, JSON.stringify(profile));
  report(profile, out);
} finally {
  ws?.close();
  await server.stop();
  await receivers.close();
  clearTimeout(guard);
}

function report(profile, out) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const label = (n) =>
    `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  let busy = 0;
  for (const [nodeId, count] of hits) {
    const node = byId.get(nodeId);
    if (node.callFrame.functionName === "(idle)") continue;
    busy += count;
    self.set(label(node), (self.get(label(node)) ?? 0) + count);
    const seen = new Set();
    for (let cur = nodeId; cur !== undefined; cur = parent.get(cur)) {
      const name = label(byId.get(cur));
      if (seen.has(name) || name.startsWith("(root)")) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + count);
    }
  }
  const top = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([name, n]) => `  ${((100 * n) / busy).toFixed(1).padStart(5)} %  ${name}`)
      .join("\n");
  const deliveries = EVENTS * TARGETS * Number(flags.rounds);
  console.log(
    `${flags.rounds} rounds × ${EVENTS} events × ${TARGETS} targets = ${deliveries} deliveries; ${busy} busy samples`,
  );
  console.log(`self (share of busy samples):\n${top(self)}`);
  console.log(`inclusive:\n${top(inclusive)}`);
  console.log(`profile: ${out}`);
}
