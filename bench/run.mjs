#!/usr/bin/env node
// `npm run bench`: imrelay side by side with a reference Worker that does the least a relay can do, on this
// machine, in one run (about 2½ minutes on 2 cores, README "Performance"; each wait is bounded, the whole run by
// --max-seconds).
//
//   1. Ack path   — relay vs bench/reference under `wrangler dev`, producers only; throughput, latency, workerd CPU.
//   2. Fan-out    — events × targets to local receivers, relay consumer and lanes vs reference consumer.
//   3. Cost       — queue operations, KV operations, lane calls, rows written and subrequests per event, counted
//                   through the bindings (bench/cost.test.ts in workerd).
//   4. Bundle     — gzip -9 size of what `wrangler deploy` uploads.
//   5. Isolation  — a healthy target's delivery lag alone, then beside a target that never answers.
//   6. Deciders   — on part 1's relay: a before-callback's latency with an instant local decider minus without any
//                   (paired rounds), and the answer's latency when the decider never answers (its timeoutMs).
//   7. Ordering   — one target with `ordering: "conversation"` against the same target unordered (paired rounds),
//                   events spread over --conversations conversations; deliveries/s ratio.
//   8. Sharding   — one target that answers after --shard-delay-ms, with lanes 1, 2 and 4: deliveries/s against
//                   6 connections × lanes / response time.
//
// Flags: --requests N (1500 per round and side) --rounds R (6) --connections C (8) --warmup N (1000)
//        --events N (200) --targets N (4) --fanout-rounds R (5) --max-seconds S (300) --verbose
//        --isolation-events N (150) --isolation-rate R (25 callbacks/s)
//        --decider-requests N (400 per round and side) --decider-rounds R (3) --decider-connections C (2)
//        --deadline-requests N (20, 5 in flight)
//        --relay-root DIR (a copy of the project to measure instead of this one, e.g. a variant of src/ in /tmp:
//          ack, fan-out, isolation and bundle use it; the cost count always runs this checkout)
//        --ordering-events N (1000 per round and side) --ordering-rounds R (3) --conversations N (100)
//        --shard-events N (300 per setting) --shard-delay-ms D (200)
//        --skip bundle,cost,isolation,deciders,ordering,sharding
//        --only ordering (run that part alone: it needs nothing from the others) --ordering-port N (its dev server's
//          port; default a free one)
//        --relay-var KEY=VALUE (repeatable: a var for the relay's dev servers, e.g. SUBREQUEST_BUDGET=1000)
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { descendants, ROOT, startDevServer } from "../scripts/lib/dev-server.mjs";
import { configCopy } from "./lib/config.mjs";
import { percentile, runLoad } from "./lib/load.mjs";
import { ADMIN_TOKEN, loadFixtures, RELAY_VARS, sequential, signPool, uniquePool } from "./lib/pool.mjs";
import { CLK_TCK, cpuSnapshot, devProcesses, machineSnapshot, strayDevServers } from "./lib/proc.mjs";
import { startHangingReceiver, startInstantDecider, startReceivers, verifySignature } from "./lib/receivers.mjs";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "1500" },
    rounds: { type: "string", default: "6" },
    connections: { type: "string", default: "8" },
    warmup: { type: "string", default: "1000" },
    events: { type: "string", default: "200" },
    targets: { type: "string", default: "4" },
    "fanout-rounds": { type: "string", default: "5" },
    "isolation-events": { type: "string", default: "150" },
    "isolation-rate": { type: "string", default: "25" },
    "decider-requests": { type: "string", default: "400" },
    "decider-rounds": { type: "string", default: "3" },
    "decider-connections": { type: "string", default: "2" },
    "deadline-requests": { type: "string", default: "20" },
    "max-seconds": { type: "string", default: "300" },
    verbose: { type: "boolean", default: false },
    "relay-root": { type: "string", default: "" },
    "ordering-events": { type: "string", default: "1000" },
    "ordering-rounds": { type: "string", default: "3" },
    conversations: { type: "string", default: "100" },
    "shard-events": { type: "string", default: "300" },
    "shard-delay-ms": { type: "string", default: "200" },
    skip: { type: "string", default: "" },
    only: { type: "string", default: "" },
    "ordering-port": { type: "string", default: "" },
    "relay-var": { type: "string", multiple: true, default: [] },
  },
});
const RELAY_ROOT = flags["relay-root"] ? resolve(flags["relay-root"]) : ROOT;
const SKIP = new Set(flags.skip.split(",").filter(Boolean));
/** The relay's vars: the bench apps, plus any --relay-var KEY=VALUE (e.g. SUBREQUEST_BUDGET=1000). */
const VARS = {
  ...RELAY_VARS,
  ...Object.fromEntries(flags["relay-var"].map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
};
const REQUESTS = Number(flags.requests);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
const WARMUP = Number(flags.warmup);
const EVENTS = Number(flags.events);
const TARGETS = Number(flags.targets);
const FANOUT_ROUNDS = Number(flags["fanout-rounds"]);
const ISO_EVENTS = Number(flags["isolation-events"]);
const ISO_RATE = Number(flags["isolation-rate"]);
const DECIDER_REQUESTS = Number(flags["decider-requests"]);
const DECIDER_ROUNDS = Number(flags["decider-rounds"]);
const DECIDER_CONNECTIONS = Number(flags["decider-connections"]);
const DEADLINE_REQUESTS = Number(flags["deadline-requests"]);
const ORDER_EVENTS = Number(flags["ordering-events"]);
const ORDER_ROUNDS = Number(flags["ordering-rounds"]);
const CONVERSATIONS = Number(flags.conversations);
const SHARD_EVENTS = Number(flags["shard-events"]);
const SHARD_DELAY_MS = Number(flags["shard-delay-ms"]);
const SHARD_LANES = [1, 2, 4];
const MAX_SECONDS = Number(flags["max-seconds"]);
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

const out = (line = "") => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
const us = (seconds) => seconds * 1e6;

/**
 * relay/reference ratios of paired rounds (round i of each side ran back to back, in alternating order), so that
 * drifting load on a shared machine hits both sides of a pair alike: the median and the range.
 */
function paired(relay, reference, key) {
  const rs = relay.map((r, i) => key(r) / key(reference[i]));
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
}
const range = (r) => `${f(r.median, 2)}× [${f(r.min, 2)}–${f(r.max, 2)}]`;

/** An admin API call on a dev server; throws unless it answered 2xx. */
async function adminJson(server, method, path, body) {
  const res = await fetch(`${server.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body && { "content-type": "application/json" }) },
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} /admin${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** POSTs one signed callback (an autocannon request description); its status and the event id it enqueued. */
async function sendCallback(server, req) {
  const res = await fetch(server.url + req.path, {
    method: "POST",
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return { status: res.status, eventId: res.headers.get("x-imrelay-event-id") };
}
const verdict = (ok) => (ok ? "met" : "MISSED");

/** Aligned plain-text table. */
function table(header, rows) {
  const lines = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [fmt(lines[0]), widths.map((w) => "-".repeat(w)).join("  "), ...lines.slice(1).map(fmt)].join("\n");
}

// ---- cleanup: every server, receiver, child process and temp dir, also on error and SIGINT/SIGTERM ----------
const cleanups = [];
let cleaning;
let interrupted = false;
function cleanup() {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {}
    }
    // Whatever is left of this run's own process tree (e.g. a dev server interrupted while it started), by pid.
    for (const pid of await descendants(process.pid).catch(() => [])) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    interrupted = true;
    out(`\n${signal}: stopping everything this run started`);
    cleanup().finally(() => process.exit(130));
  });
}
const guard = setTimeout(() => {
  out(`\nrun exceeded --max-seconds ${MAX_SECONDS}; stopping`);
  cleanup().finally(() => process.exit(1));
}, MAX_SECONDS * 1000);

async function startServer(name, config, vars, port) {
  const server = await startDevServer({ config, vars, port, verbose: flags.verbose });
  let stopped;
  const stop = () => {
    stopped ??= server.stop();
    return stopped;
  };
  cleanups.push(stop);
  return { name, ...server, stop, procs: await devProcesses(server.pid) };
}

/** Starts dev servers side by side; if one fails, the others are still registered for cleanup before it throws. */
async function startServers(specs) {
  const settled = await Promise.allSettled(specs.map((spec) => startServer(...spec)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => s.value);
}

/** Runs a command in its own process group (killed as a group on timeout or cleanup); resolves with its output. */
function runCommand(cmd, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", CI: "1" };
    const child = spawn(cmd, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let exited = false;
    const kill = () => {
      if (exited) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    };
    cleanups.push(kill);
    let output = "";
    const record = (chunk) => {
      output += chunk;
      if (flags.verbose) process.stderr.write(chunk);
    };
    child.stdout.on("data", record);
    child.stderr.on("data", record);
    const timer = setTimeout(kill, timeoutMs);
    child.on("exit", (code, signal) => {
      exited = true;
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(new Error(`${cmd} ${args.join(" ")} failed (code ${code}, signal ${signal})\n${output.slice(-4000)}`));
    });
  });
}

// ---- the machine ----------------------------------------------------------------------------------------------
async function versions() {
  const version = async (pkg) =>
    JSON.parse(await readFile(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  return {
    node: process.version,
    wrangler: await version("wrangler"),
    workerd: await version("workerd"),
    miniflare: await version("miniflare"),
    autocannon: await version("autocannon"),
  };
}

/** CPU seconds used on the machine by processes other than these, over a phase: contention to be aware of. */
function otherLoad(machine, ours, seconds) {
  const busy = machine.busy - ours;
  return Math.max(0, busy / seconds);
}

// ---- 1. ack path ---------------------------------------------------------------------------------------------
async function ackRound(server, fixtures, amount) {
  const requests = signPool(fixtures); // fresh CurTime for NetEase (±300 s window)
  const snap = cpuSnapshot(server.procs);
  const machine = machineSnapshot();
  const self = process.cpuUsage();
  const r = await runLoad({ url: server.url, requests, amount, connections: CONNECTIONS, maxSeconds: 60 });
  const cpu = snap.since();
  const client = Object.values(process.cpuUsage(self)).reduce((a, b) => a + b, 0) / 1e6;
  if (r.failed > 0 || r.ok !== amount)
    throw new Error(`${server.name}: ${r.ok}/${amount} answered 2xx (${JSON.stringify(r.statuses)})`);
  const ours = cpu.runtime + cpu.proxy + cpu.wrangler + client;
  return { ...r, cpu, client, other: otherLoad(machine.since(), ours, r.seconds) };
}

async function ackBench(dir, fixtures) {
  out("## 1. Ack path");
  out(
    "(every part runs the relay without its [assets]: deployed, Cloudflare serves them before the Worker runs; under wrangler dev they put an asset router Worker in front of every request, bench/lib/config.mjs)",
  );
  const [relay, reference] = await startServers([
    ["relay", await configCopy(join(RELAY_ROOT, "wrangler.toml"), dir, "relay-ack", { consumers: false }), VARS],
    [
      "reference",
      await configCopy(join(ROOT, "bench/reference/wrangler.toml"), dir, "reference-ack", { consumers: false }),
    ],
  ]);

  // Preflight: every fixture once through the relay, each must be accepted and enqueued.
  const eventful = [];
  const pool = signPool(fixtures);
  for (const [i, req] of pool.entries()) {
    const { status, eventId } = await sendCallback(relay, req);
    if (status !== 200) throw new Error(`preflight: ${fixtures[i].name} answered ${status}`);
    if (eventId) eventful.push(fixtures[i]);
  }
  out(
    `preflight: all ${fixtures.length} fixtures (${fixtures.filter((x) => x.provider === "tencent").length} Tencent, ${fixtures.filter((x) => x.provider === "netease").length} NetEase) answered 200; ${eventful.length} enqueue an event`,
  );

  for (const server of [relay, reference]) await ackRound(server, fixtures, WARMUP);
  const rounds = { relay: [], reference: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate who goes first, so drift on a shared machine does not favour one side.
    const order = round % 2 ? [relay, reference] : [reference, relay];
    for (const server of order) rounds[server.name].push(await ackRound(server, fixtures, REQUESTS));
  }
  // The relay keeps running for the deciders part (6); the caller stops it.
  await reference.stop();

  const rows = [];
  for (const name of ["relay", "reference"]) {
    for (const [i, r] of rounds[name].entries()) {
      rows.push([
        `${name} #${i + 1}`,
        f(r.rps),
        f(r.p50, 2),
        f(r.p90, 2),
        f(r.p99, 2),
        f(us(r.cpu.runtime) / r.ok),
        f(us(r.cpu.proxy) / r.ok),
        f(us(r.cpu.wrangler) / r.ok),
        f(us(r.client) / r.ok),
        f(r.other, 2),
      ]);
    }
  }
  const agg = (name) => {
    const rs = rounds[name];
    const n = rs.reduce((s, r) => s + r.ok, 0);
    const sum = (k) => rs.reduce((s, r) => s + r.cpu[k], 0);
    return {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: us(sum("runtime")) / n,
      proxyUs: us(sum("proxy")) / n,
      wranglerUs: us(sum("wrangler")) / n,
      other: Math.max(...rs.map((r) => r.other)),
    };
  };
  const a = { relay: agg("relay"), reference: agg("reference") };
  for (const name of ["relay", "reference"]) {
    const x = a[name];
    rows.push([
      `${name} (median/total)`,
      f(x.rps),
      f(x.p50, 2),
      "",
      f(x.p99, 2),
      f(x.cpuUs),
      f(x.proxyUs),
      f(x.wranglerUs),
      "",
      "",
    ]);
  }
  out(
    `${ROUNDS} rounds × ${REQUESTS} requests per side after ${WARMUP} warm-up requests, ${CONNECTIONS} connections, keep-alive, pool of ${fixtures.length} signed fixtures (each connection cycles through it)`,
  );
  out(
    table(
      [
        "run",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "workerd µs/req",
        "proxy µs/req",
        "wrangler µs/req",
        "client µs/req",
        "other load (cores)",
      ],
      rows,
    ),
  );
  out(
    "workerd = the workerd process running the Worker (isolate, local queue broker, KV); proxy = the workerd of wrangler's dev proxy in",
  );
  out(
    `front of it; wrangler = the Node process that prints the Worker's logs. CPU = utime+stime from /proc/<pid>/stat (CLK_TCK ${CLK_TCK}),`,
  );
  out(
    "read before and after each measured round. Latency per response in fractional ms. Summary rows: medians of the rounds for",
  );
  out(
    "throughput and latency, total CPU / total requests. other load = CPU time the rest of the machine used meanwhile (cores).",
  );
  const R = rounds.relay;
  const F = rounds.reference;
  const ratios = {
    rps: paired(R, F, (r) => r.rps),
    cpu: paired(R, F, (r) => r.cpu.runtime / r.ok),
    p99: paired(R, F, (r) => r.p99),
    p50: paired(R, F, (r) => r.p50),
  };
  out("ratios relay/reference, median of the rounds' pairs [min–max]:");
  out(
    `  throughput ${range(ratios.rps)} (≥ 0.9: ${verdict(ratios.rps.median >= 0.9)}), workerd CPU/request ${range(ratios.cpu)} (≤ 1.3: ${verdict(ratios.cpu.median <= 1.3)}),`,
  );
  out(`  p99 ${range(ratios.p99)} (≤ 1.2: ${verdict(ratios.p99.median <= 1.2)}), p50 ${range(ratios.p50)}`);
  out();
  return { a, ratios, eventful, relay };
}

// ---- 2. fan-out ----------------------------------------------------------------------------------------------
async function fanoutRound(server, receivers, pool, events, expected) {
  receivers.reset();
  // Fresh bodies every round: the relay's lanes deliver an event id once, and a fixture's id is a hash of its body.
  const requests = sequential(uniquePool(pool, events + CONNECTIONS));
  const snap = cpuSnapshot(server.procs);
  const machine = machineSnapshot();
  const self = process.cpuUsage();
  const t0 = performance.now();
  const r = await runLoad({ url: server.url, requests, amount: events, connections: CONNECTIONS, maxSeconds: 30 });
  if (r.ok !== events)
    throw new Error(`${server.name}: ${r.ok}/${events} callbacks answered 2xx (${JSON.stringify(r.statuses)})`);
  const done = await receivers.waitFor(expected, 60_000);
  if (!done) throw new Error(`${server.name}: ${receivers.count()}/${expected} deliveries after 60 s`);
  const seconds = (receivers.lastAt() - t0) / 1000;
  await sleep(250); // the acks after the last delivery
  const cpu = snap.since();
  const client = Object.values(process.cpuUsage(self)).reduce((a, b) => a + b, 0) / 1e6;
  const wall = (performance.now() - t0) / 1000;
  const extra = receivers.count() - expected;
  return {
    name: server.name,
    seconds,
    deliveries: expected,
    extra,
    dps: expected / seconds,
    sendSeconds: r.seconds,
    cpu,
    other: otherLoad(machine.since(), cpu.runtime + cpu.proxy + cpu.wrangler + client, wall),
  };
}

async function fanoutBench(dir, eventful, ingressUs) {
  out("## 2. Fan-out");
  const receivers = await startReceivers(TARGETS);
  cleanups.push(() => receivers.close());
  const [relay, reference] = await startServers([
    ["relay", await configCopy(join(RELAY_ROOT, "wrangler.toml"), dir, "relay-full", { consumers: true }), VARS],
    [
      "reference",
      await configCopy(join(ROOT, "bench/reference/wrangler.toml"), dir, "reference-full", { consumers: true }),
      { TARGET_URLS: receivers.urls.join(",") },
    ],
  ]);
  const secrets = [];
  for (const [i, url] of receivers.urls.entries()) {
    const body = await adminJson(relay, "PUT", `/targets/bench${i}`, { url });
    secrets.push(body.secret);
  }

  const expected = EVENTS * TARGETS;
  // Warm-up: one full round per side (the first round after start is markedly slower on both).
  for (const server of [relay, reference]) await fanoutRound(server, receivers, eventful, EVENTS, expected);
  // The relay's deliveries must be real Standard Webhooks requests: check the first one each receiver got.
  await fanoutRound(relay, receivers, eventful, 1, TARGETS);
  const verified = receivers.firsts.filter((req, i) => req && verifySignature(secrets[i], req)).length;
  if (verified !== TARGETS)
    throw new Error(`only ${verified}/${TARGETS} relay deliveries carried a valid webhook-signature`);

  const rounds = { relay: [], reference: [] };
  for (let round = 1; round <= FANOUT_ROUNDS; round++) {
    const order = round % 2 ? [relay, reference] : [reference, relay];
    for (const server of order)
      rounds[server.name].push(await fanoutRound(server, receivers, eventful, EVENTS, expected));
  }
  await relay.stop();
  await reference.stop();

  const rows = [];
  const agg = {};
  for (const name of ["relay", "reference"]) {
    const rs = rounds[name];
    for (const [i, r] of rs.entries()) {
      const ingress = (ingressUs[name] * EVENTS) / 1e6;
      rows.push([
        `${name} #${i + 1}`,
        r.deliveries,
        r.extra,
        f(r.sendSeconds, 2),
        f(r.seconds, 2),
        f(r.dps),
        f(us(r.cpu.runtime) / r.deliveries),
        f(us(r.cpu.runtime - ingress) / r.deliveries),
        f(us(r.cpu.wrangler) / r.deliveries),
        f(r.other, 2),
      ]);
    }
    const deliveries = rs.reduce((s, r) => s + r.deliveries, 0);
    const runtime = rs.reduce((s, r) => s + r.cpu.runtime, 0);
    const ingress = (ingressUs[name] * EVENTS * rs.length) / 1e6;
    agg[name] = {
      dps: median(rs.map((r) => r.dps)),
      totalUs: us(runtime) / deliveries,
      consumerUs: us(runtime - ingress) / deliveries,
      other: Math.max(...rs.map((r) => r.other)),
    };
    rows.push([
      `${name} (median/total)`,
      "",
      "",
      "",
      "",
      f(agg[name].dps),
      f(agg[name].totalUs),
      f(agg[name].consumerUs),
      "",
      "",
    ]);
  }
  out(
    `${FANOUT_ROUNDS} rounds per side: ${EVENTS} events × ${TARGETS} targets = ${expected} deliveries to ${TARGETS} HTTP receivers on 127.0.0.1 (answer 200 at once), after a warm-up round each;`,
  );
  out(
    `both Workers use the same queue settings (batch ≤ 100, timeout 1 s) and ≤ 6 deliveries in flight (the relay: per target lane); relay signatures verified (${verified}/${TARGETS}).`,
  );
  out(
    table(
      [
        "run",
        "deliveries",
        "extra",
        "send s",
        "span s",
        "deliveries/s",
        "workerd µs/deliv",
        "consumer µs/deliv",
        "wrangler µs/deliv",
        "other load",
      ],
      rows,
    ),
  );
  out(
    "Method: the local queue cannot be filled with its consumer paused, so both Workers are fed the same way, through their own ingress",
  );
  out(
    `(${CONNECTIONS} connections, the same signed fixtures), and timed from the first send to the last delivery received ("span").`,
  );
  out(
    `"send s" ≈ "span s" means the consumer kept pace and deliveries/s is bounded by the ingress; with more targets the consumer`,
  );
  out(
    "becomes the bottleneck (--targets). The relay's consumer only hands each batch to one lane per target; the lanes deliver.",
  );
  out(
    "workerd µs/deliv = workerd CPU of the whole phase (ingress + queue + consumer + lanes) / deliveries; consumer µs/deliv subtracts each",
  );
  out(
    `side's own ingress CPU per request from part 1 (relay ${f(ingressUs.relay)} µs, reference ${f(ingressUs.reference)} µs) × events.`,
  );
  const ingressCpu = (name) => (ingressUs[name] * EVENTS) / 1e6;
  const ratios = {
    dps: paired(rounds.relay, rounds.reference, (r) => r.dps),
    consumer: paired(rounds.relay, rounds.reference, (r) => r.cpu.runtime - ingressCpu(r.name)),
  };
  out(
    `ratios relay/reference, median of the rounds' pairs [min–max]: deliveries/s ${range(ratios.dps)} (≥ 0.8: ${verdict(ratios.dps.median >= 0.8)}), consumer CPU/delivery ${range(ratios.consumer)}`,
  );
  out();
  return { agg, ratios };
}

// ---- 5. isolation -----------------------------------------------------------------------------------------------

/**
 * Sends `events` unique callbacks at `rate` per second (each starts on its own schedule, not after the previous
 * answer) and waits until the receiver got every one (bounded). Lag = arrival at the receiver − start of the send,
 * matched by the event id the ingress answers with (it is the delivery's webhook-id).
 */
async function isolationRound(server, receiver, eventful, events, rate) {
  receiver.reset();
  const pool = uniquePool(eventful, events);
  const sent = new Map();
  const t0 = performance.now();
  const sends = pool.map(async (req, i) => {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const at = performance.now();
    const { status, eventId } = await sendCallback(server, req);
    if (status !== 200 || !eventId) throw new Error(`isolation: callback ${i} answered ${status}, event id ${eventId}`);
    sent.set(eventId, at);
  });
  await Promise.all(sends);
  const sendSeconds = (performance.now() - t0) / 1000;
  // Every event is due a few seconds after its send; 30 s more is ample, and bounds a run that lost some.
  const deadline = Date.now() + 30_000;
  while ([...sent.keys()].some((id) => !receiver.arrivals.has(id)) && Date.now() < deadline) await sleep(20);
  const lags = [...sent]
    .filter(([id]) => receiver.arrivals.has(id))
    .map(([id, at]) => receiver.arrivals.get(id) - at)
    .sort((a, b) => a - b);
  return {
    events,
    sendSeconds,
    delivered: lags.length,
    within5s: lags.filter((ms) => ms <= 5_000).length,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags.at(-1) ?? Number.NaN,
  };
}

async function isolationBench(dir, eventful) {
  out("## 5. Isolation");
  const config = await configCopy(join(RELAY_ROOT, "wrangler.toml"), dir, "relay-isolation", { consumers: true });
  const ttl = Number(
    VARS.TARGETS_CACHE_TTL_SECONDS ??
      (await readFile(config, "utf8")).match(/^\s*TARGETS_CACHE_TTL_SECONDS\s*=\s*"(\d+)"/m)?.[1] ??
      10,
  );
  const timeoutMs = Number(
    VARS.DELIVERY_TIMEOUT_MS ??
      (await readFile(config, "utf8")).match(/^\s*DELIVERY_TIMEOUT_MS\s*=\s*"(\d+)"/m)?.[1] ??
      15_000,
  );
  const receivers = await startReceivers(1);
  cleanups.push(() => receivers.close());
  const hanging = await startHangingReceiver();
  cleanups.push(() => hanging.close());
  const [relay] = await startServers([["relay", config, VARS]]);
  await adminJson(relay, "PUT", "/targets/healthy", { url: receivers.urls[0] });

  // Warm-up: the first deliveries after start create the lane and open connections.
  await isolationRound(relay, receivers, eventful, Math.min(25, ISO_EVENTS), ISO_RATE);
  const alone = await isolationRound(relay, receivers, eventful, ISO_EVENTS, ISO_RATE);
  await adminJson(relay, "PUT", "/targets/hanging", { url: hanging.url });
  // The consumer caches the target list: wait until every event of the next round goes to both targets.
  await sleep((ttl + 1) * 1000);
  const beside = await isolationRound(relay, receivers, eventful, ISO_EVENTS, ISO_RATE);
  const lane = (await adminJson(relay, "GET", "/targets/hanging")).delivery;
  const healthyLane = (await adminJson(relay, "GET", "/targets/healthy")).delivery;
  const hangingOpen = hanging.open();
  await relay.stop();

  const row = (name, r) => [
    name,
    `${r.delivered}/${r.events}`,
    `${r.within5s}/${r.events}`,
    f(r.p50),
    f(r.p99),
    f(r.max),
  ];
  out(
    `${ISO_EVENTS} unique signed callbacks at ${ISO_RATE}/s through the relay's ingress, after ${Math.min(25, ISO_EVENTS)} warm-up ones; healthy = a receiver on 127.0.0.1 that answers 200 at once;`,
  );
  out(
    `hanging = a TCP server that accepts and never answers (DELIVERY_TIMEOUT_MS ${timeoutMs}). Lag = arrival at the healthy receiver − start of the callback's send, in ms.`,
  );
  out(
    table(
      ["setup", "delivered", "within 5 s", "lag p50 ms", "lag p99 ms", "lag max ms"],
      [row("healthy alone", alone), row("healthy beside hanging", beside)],
    ),
  );
  out(
    `hanging target when measured: ${hanging.connections()} connections accepted, ${hangingOpen} open; lane circuit ${lane.circuit}, ${lane.pending} pending, ${lane.dead} dead (every event it was sent: ${lane.pending + lane.dead >= ISO_EVENTS ? "yes" : "NO"}); healthy lane: ${healthyLane.pending} pending, ${healthyLane.dead} dead`,
  );
  const bound = Math.max(3 * alone.p99, alone.p99 + 1_000);
  const ok = beside.delivered === ISO_EVENTS && beside.within5s === ISO_EVENTS && beside.p99 <= bound;
  out(
    `beside the hanging target, healthy gets every event within 5 s (${beside.within5s}/${ISO_EVENTS}) with p99 ${f(beside.p99)} ms ≤ max(3 × ${f(alone.p99)}, ${f(alone.p99)} + 1000) = ${f(bound)} ms: ${verdict(ok)}; p99 ratio beside/alone ${f(beside.p99 / alone.p99, 2)}×`,
  );
  out();
  await receivers.close();
  await hanging.close();
  return { alone, beside, bound, ok };
}

// ---- 6. deciders ---------------------------------------------------------------------------------------------------

const DECIDED_COMMAND = "C2C.CallbackBeforeSendMsg";

/**
 * `amount` copies of one signed before-callback at `connections` in flight; every answer must be a 2xx. With the
 * relay's workerd CPU and the rest of the machine's load, as in part 1 (the decider's CPU counts as this process's).
 */
async function decidedRound(server, pool, amount, connections) {
  const snap = cpuSnapshot(server.procs);
  const machine = machineSnapshot();
  const self = process.cpuUsage();
  const r = await runLoad({ url: server.url, requests: pool, amount, connections, maxSeconds: 30 });
  const cpu = snap.since();
  const client = Object.values(process.cpuUsage(self)).reduce((a, b) => a + b, 0) / 1e6;
  if (r.failed > 0 || r.ok !== amount)
    throw new Error(`deciders: ${r.ok}/${amount} answered 2xx (${JSON.stringify(r.statuses)})`);
  const ours = cpu.runtime + cpu.proxy + cpu.wrangler + client;
  return { ...r, cpu, other: otherLoad(machine.since(), ours, r.seconds) };
}

/**
 * The latency of `amount` requests, `inFlight` at a time, each timed from its send to the end of its answer, with
 * the answers' Tencent ErrorCodes counted (the hanging decider's fallback is a deny: ErrorCode 1).
 */
async function timedRequests(server, request, amount, inFlight) {
  const latencies = [];
  const codes = new Map();
  let next = 0;
  const worker = async () => {
    while (next++ < amount) {
      const t0 = performance.now();
      const res = await fetch(server.url + request.path, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(10_000),
      });
      const json = await res.json().catch(() => ({}));
      latencies.push(performance.now() - t0);
      const code = `${res.status}/${json.ErrorCode}`;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, amount) }, worker));
  latencies.sort((a, b) => a - b);
  return { latencies, codes: Object.fromEntries(codes) };
}

/**
 * Runs on part 1's relay (producer only, already warm), which has no decider before or after: a decider exists only
 * while its own rounds run, so it cannot change what another part measures. Paired rounds, in alternating order:
 * the before-callback with no decider (the plain ack path), then with an instant decider registered for that round.
 */
async function decidersBench(relay, fixtures) {
  out("## 6. Deciders");
  const started = performance.now();
  const listed = await fetch(`${relay.url}/admin/deciders`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  await listed.body?.cancel();
  if (listed.status === 404) {
    out("the relay measured has no /admin/deciders: part skipped");
    out();
    return undefined;
  }
  const fixture = fixtures.find((x) => x.provider === "tencent" && x.command === DECIDED_COMMAND);
  if (!fixture) throw new Error(`deciders: no ${DECIDED_COMMAND} fixture`);
  const pool = signPool([fixture]); // the bench's Tencent app has no token: the request stays valid
  const instant = await startInstantDecider({ decision: "allow" });
  cleanups.push(() => instant.close());
  const hanging = await startHangingReceiver();
  cleanups.push(() => hanging.close());
  // Whatever happens, no decider outlives this part (the relay is stopped right after it anyway).
  const registered = new Set();
  const remove = async (id) => {
    const res = await fetch(`${relay.url}/admin/deciders/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    if (res.status !== 204) throw new Error(`DELETE /admin/deciders/${id}: ${res.status}`);
    registered.delete(id);
  };
  cleanups.push(async () => {
    for (const id of registered) await remove(id).catch(() => undefined);
  });
  const register = async (id, input) => {
    const body = await adminJson(relay, "PUT", `/deciders/${id}`, input);
    registered.add(id);
    return body;
  };

  // (a) added latency. Each "decided" round registers the decider and removes it after; the decider's request
  // count says whether it was asked (every request of a decided round, none of a plain one).
  const sides = { plain: [], decided: [] };
  let secret;
  const round = async (side, amount) => {
    if (side === "decided") secret = (await register("bench-instant", { url: instant.url })).secret;
    const before = instant.count();
    const r = await decidedRound(relay, pool, amount, DECIDER_CONNECTIONS);
    const asked = instant.count() - before;
    if (side === "decided") await remove("bench-instant");
    if (asked !== (side === "decided" ? amount : 0))
      throw new Error(`deciders: the instant decider was asked ${asked} times in a ${side} round of ${amount}`);
    return r;
  };
  const warmup = Math.min(200, DECIDER_REQUESTS);
  await round("plain", warmup);
  await round("decided", warmup);
  if (!verifySignature(secret, instant.first()))
    throw new Error("deciders: the relay's request to the decider did not verify with its secret");
  for (let i = 1; i <= DECIDER_ROUNDS; i++) {
    const order = i % 2 ? ["plain", "decided"] : ["decided", "plain"];
    for (const side of order) sides[side].push(await round(side, DECIDER_REQUESTS));
  }
  const added = (key) => {
    const ds = sides.decided.map((r, i) => r[key] - sides.plain[i][key]);
    return { median: median(ds), min: Math.min(...ds), max: Math.max(...ds) };
  };
  const addedP50 = added("p50");
  const addedP99 = added("p99");

  // (b) the deadline: a decider that accepts the connection and never answers, timeoutMs 1000, fallback deny.
  const timeoutMs = 1_000;
  await register("bench-hanging", { url: hanging.url, timeoutMs, fallback: "deny" });
  const deadline = await timedRequests(relay, pool[0], DEADLINE_REQUESTS, 5);
  await remove("bench-hanging");
  const left = await adminJson(relay, "GET", "/deciders");
  const fallbacks = deadline.codes["200/1"] ?? 0;

  const rows = [];
  for (const side of ["plain", "decided"]) {
    for (const [i, r] of sides[side].entries())
      rows.push([
        `${side} #${i + 1}`,
        f(r.rps),
        f(r.p50, 2),
        f(r.p90, 2),
        f(r.p99, 2),
        f(r.max, 2),
        f(us(r.cpu.runtime) / r.ok),
        f(r.other, 2),
      ]);
    const rs = sides[side];
    rows.push([
      `${side} (median/total)`,
      f(median(rs.map((r) => r.rps))),
      f(median(rs.map((r) => r.p50)), 2),
      "",
      f(median(rs.map((r) => r.p99)), 2),
      "",
      f(us(rs.reduce((t, r) => t + r.cpu.runtime, 0)) / rs.reduce((n, r) => n + r.ok, 0)),
      "",
    ]);
  }
  out(
    `(a) ${DECIDER_ROUNDS} paired rounds × ${DECIDER_REQUESTS} ${DECIDED_COMMAND} per side after ${warmup} warm-up ones each, ${DECIDER_CONNECTIONS} connections, on part 1's relay:`,
  );
  out(
    "plain = no decider (the ack path as before); decided = an instant decider on 127.0.0.1 (node:http in this process, answers",
  );
  out(`{"decision":"allow"} at once), registered for its round only; its signature verified, asked once per request.`);
  out(table(["run", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "workerd µs/req", "other load (cores)"], rows));
  const p50ok = addedP50.median <= 10;
  const p99ok = addedP99.median <= 20;
  out(
    `added latency decided − plain, median of the rounds' pairs [min–max]: p50 +${f(addedP50.median, 2)} ms [${f(addedP50.min, 2)}–${f(addedP50.max, 2)}] (≤ 10 ms: ${verdict(p50ok)}), p99 +${f(addedP99.median, 2)} ms [${f(addedP99.min, 2)}–${f(addedP99.max, 2)}] (≤ 20 ms: ${verdict(p99ok)})`,
  );
  const p50 = percentile(deadline.latencies, 50);
  const max = deadline.latencies.at(-1);
  const bound = timeoutMs + 100;
  out(
    `(b) ${DEADLINE_REQUESTS} ${DECIDED_COMMAND}, 5 in flight, to a decider that accepts connections and never answers (timeoutMs ${timeoutMs}, fallback deny):`,
  );
  out(
    `answer latency p50 ${f(p50)} ms, max ${f(max)} ms vs timeoutMs + 100 = ${bound} ms: ${verdict(max <= bound)}; answers ${JSON.stringify(deadline.codes)} (HTTP/ErrorCode; the fallback deny is 200/1: ${fallbacks === DEADLINE_REQUESTS ? "all" : "NOT all"});`,
  );
  out(
    `the hanging decider accepted ${hanging.connections()} connections, ${hanging.open()} still open after the answers.`,
  );
  out(
    `(c) deciders left on the relay afterwards: ${left.items.length === 0 ? "none" : left.items.map((d) => d.id).join(", ")} (after-callbacks never read them: parts 1, 2 and 5 measure the ack path without any).`,
  );
  out(`part took ${f((performance.now() - started) / 1000)} s`);
  out();
  await instant.close();
  await hanging.close();
  return {
    plain: { p50: median(sides.plain.map((r) => r.p50)), p99: median(sides.plain.map((r) => r.p99)) },
    decided: { p50: median(sides.decided.map((r) => r.p50)), p99: median(sides.decided.map((r) => r.p99)) },
    addedP50,
    addedP99,
    p50ok,
    p99ok,
    deadline: { p50, max, bound, ok: max <= bound && fallbacks === DEADLINE_REQUESTS },
    other: Math.max(...[...sides.plain, ...sides.decided].map((r) => r.other)),
  };
}

// ---- 3. cost ----------------------------------------------------------------------------------------------------
async function costBench() {
  out("## 3. Cost per event (bench/cost.test.ts, workerd, counting proxies around EVENTS, TARGETS, LANES and fetch)");
  const output = await runCommand(
    join(ROOT, "node_modules", ".bin", "vitest"),
    ["run", "-c", "bench/vitest.cost.config.ts", "--reporter=dot"],
    120_000,
  );
  const line = output.split("\n").find((l) => l.includes("BENCH_COST_JSON "));
  if (!line) throw new Error(`cost test printed no BENCH_COST_JSON line\n${output.slice(-4000)}`);
  const rows = JSON.parse(line.slice(line.indexOf("BENCH_COST_JSON ") + "BENCH_COST_JSON ".length));
  out(
    table(
      [
        "scenario (per event)",
        "queue W/R/D",
        "queue ops",
        "KV reads",
        "KV writes",
        "fetches",
        "lane calls",
        "lane calls/batch·target",
        "rows written/delivery",
        "subrequests",
        "invocations",
        "max subreq/invocation",
        "max msg B",
      ],
      rows.map((r) => [
        r.scenario,
        `${r.queueWrites}/${r.queueReads}/${r.queueDeletes}`,
        r.queueOps,
        r.kvReads,
        r.kvWrites,
        r.fetches,
        r.laneCalls,
        r.laneCallsPerBatchTarget,
        r.rowsWrittenPerDelivery,
        r.subrequests,
        r.invocations,
        r.maxSubrequestsPerInvocation,
        r.messageBytes,
      ]),
    ),
  );
  out(
    "W/R/D = queue writes (each message sent), reads (each message handed to the consumer, again for each retry), deletes (each message",
  );
  out(
    "not retried). KV reads = KV operations (a bulk get of ≤ 100 keys is one); the target cache is cold in every batch (worst case).",
  );
  out(
    "KV counts include the lanes' own operations. Lane calls = Durable Object requests the consumer makes (one per target and shard a",
  );
  out(
    "batch routes to; alarm runs come on top). Rows written = SQLite rows the lanes wrote (indexes included), per delivery made.",
  );
  out(
    "Subrequests = fetches + KV operations + queue send calls + lane calls, summed over ingress, consumer and lane alarm runs;",
  );
  out("max subreq/invocation is over ingress and consumer invocations (each lane alarm run has a budget of its own).");
  out();
  return rows;
}

// ---- 4. bundle ------------------------------------------------------------------------------------------------
async function bundleBench(dir) {
  out("## 4. Bundle");
  const outdir = join(dir, "bundle");
  const output = await runCommand(
    WRANGLER,
    [
      "deploy",
      "--dry-run",
      "--config",
      join(RELAY_ROOT, "wrangler.toml"),
      "--outdir",
      outdir,
      "--metafile",
      join(dir, "meta.json"),
    ],
    120_000,
  );
  const files = await readdir(outdir);
  const main = await readFile(join(outdir, "index.js"));
  const gzip = gzipSync(main, { level: 9 }).byteLength;
  const reported = output.match(/Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/);
  const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8"));
  const by = new Map();
  for (const o of Object.values(meta.outputs)) {
    for (const [file, input] of Object.entries(o.inputs ?? {})) {
      const nm = file.split("node_modules/")[1];
      const key = nm
        ? nm
            .split("/")
            .slice(0, nm.startsWith("@") ? 2 : 1)
            .join("/")
        : file.split("/").slice(0, 2).join("/");
      by.set(key, (by.get(key) ?? 0) + input.bytesInOutput);
    }
  }
  const top = [...by].sort((x, y) => y[1] - x[1]).slice(0, 8);
  out(
    `wrangler deploy --dry-run (minify = true): ${files.join(", ")}; index.js ${f(main.byteLength / 1024, 1)} KiB, gzip -9 ${f(gzip / 1024, 1)} KiB (target ≤ 60 KiB: ${gzip <= 60 * 1024 ? "met" : "MISSED"}); wrangler reports ${reported ? `${reported[1]} / gzip ${reported[2]}` : "n/a"}`,
  );
  out(`largest inputs (minified bytes in index.js): ${top.map(([k, v]) => `${k} ${f(v / 1024, 1)} KiB`).join(", ")}`);
  out();
  return { raw: main.byteLength, gzip };
}

// ---- 7. ordering ---------------------------------------------------------------------------------------------------

/**
 * `n` signed NetEase P2P 抄送 (cc.1, convType PERSON), unique per run, spread round-robin over CONVERSATIONS pairs of
 * accounts, each conversation's msgTimestamp rising: the events an ordered target delivers one at a time per pair.
 */
let serial = 0;
function conversationPool(fixture, n) {
  const base = Date.now();
  const run = `${process.pid}.${Date.now()}`;
  return signPool(
    Array.from({ length: n }, (_, i) => {
      const c = i % CONVERSATIONS;
      const body = JSON.stringify({
        ...JSON.parse(fixture.body),
        fromAccount: `bench-a${c}`,
        to: `bench-b${c}`,
        msgTimestamp: String(base + i),
        msgidClient: `${run}.${serial++}`,
      });
      return { ...fixture, body };
    }),
  );
}
async function orderingRound(server, receivers, fixture, events) {
  receivers.reset();
  const requests = sequential(conversationPool(fixture, events + CONNECTIONS));
  const t0 = performance.now();
  const r = await runLoad({ url: server.url, requests, amount: events, connections: CONNECTIONS, maxSeconds: 60 });
  if (r.ok !== events) throw new Error(`ordering: ${r.ok}/${events} callbacks answered 2xx`);
  if (!(await receivers.waitFor(events, 120_000)))
    throw new Error(`ordering: ${receivers.count()}/${events} deliveries after 120 s`);
  const seconds = (receivers.lastAt() - t0) / 1000;
  return { seconds, dps: events / seconds, sendSeconds: r.seconds, extra: receivers.count() - events };
}

/**
 * One relay, one target and receiver; paired rounds alternate the target between `ordering: "conversation"` (its
 * default 1 s reorder window included) and `"none"`, so both sides share the machine's load alike.
 */
async function orderingBench(dir, fixtures) {
  out("## 7. Ordering");
  const fixture = fixtures.find((x) => x.name === "cc-1-p2p-text.json");
  if (!fixture) throw new Error("ordering: fixture cc-1-p2p-text.json not found");
  const receivers = await startReceivers(1);
  cleanups.push(() => receivers.close());
  const config = await configCopy(join(RELAY_ROOT, "wrangler.toml"), dir, "relay-ordering", { consumers: true });
  // Every round must see the target as just PUT: no cached copy of the other side's setting.
  const port = flags["ordering-port"] ? Number(flags["ordering-port"]) : undefined;
  const [relay] = await startServers([["relay", config, { ...VARS, TARGETS_CACHE_TTL_SECONDS: "0" }, port]]);
  const target = (ordering) =>
    adminJson(relay, "PUT", "/targets/ordered", { url: receivers.urls[0], events: ["cc.1"], ordering });
  await target("none");
  await orderingRound(relay, receivers, fixture, Math.min(100, ORDER_EVENTS));
  const rounds = { ordered: [], unordered: [] };
  for (let round = 1; round <= ORDER_ROUNDS; round++) {
    const order = round % 2 ? ["ordered", "unordered"] : ["unordered", "ordered"];
    for (const side of order) {
      await target(side === "ordered" ? "conversation" : "none");
      rounds[side].push(await orderingRound(relay, receivers, fixture, ORDER_EVENTS));
    }
  }
  const lane = (await adminJson(relay, "GET", "/targets/ordered")).delivery;
  await relay.stop();
  await receivers.close();

  const rows = [];
  for (const side of ["ordered", "unordered"]) {
    for (const [i, r] of rounds[side].entries()) {
      rows.push([`${side} #${i + 1}`, ORDER_EVENTS, r.extra, f(r.sendSeconds, 2), f(r.seconds, 2), f(r.dps)]);
    }
  }
  out(
    `${ORDER_ROUNDS} paired rounds: ${ORDER_EVENTS} NetEase P2P 抄送 over ${CONVERSATIONS} conversations, through the relay's ingress (${CONNECTIONS} connections), to one target on 127.0.0.1 (answers 200 at once);`,
  );
  out(
    'the same target alternately `ordering: "conversation"` (reorder window 1000 ms) and `"none"`; span = first send to last delivery.',
  );
  out(table(["run", "deliveries", "extra", "send s", "span s", "deliveries/s"], rows));
  const ratio = paired(rounds.ordered, rounds.unordered, (r) => r.dps);
  out(
    `deliveries/s ordered/unordered, median of the pairs [min–max]: ${range(ratio)}; lane afterwards: ${lane.pending} pending, ${lane.dead} dead`,
  );
  out();
  return {
    ratio,
    ordered: median(rounds.ordered.map((r) => r.dps)),
    unordered: median(rounds.unordered.map((r) => r.dps)),
  };
}

// ---- 8. sharding --------------------------------------------------------------------------------------------------

/**
 * What `lanes` buys a target that is slow to answer: one lane holds at most 6 connections, so it sustains about
 * 6 / (response time); n shards (with `maxInFlight` 6n) should carry n times that. Measured at the receiver, from
 * its first arrival to its last, so the ingress and the queue's batching stay out of the rate.
 */
async function shardingBench(dir, eventful) {
  out("## 8. Sharding");
  const receivers = await startReceivers(1, { delayMs: SHARD_DELAY_MS });
  cleanups.push(() => receivers.close());
  const config = await configCopy(join(RELAY_ROOT, "wrangler.toml"), dir, "relay-sharding", { consumers: true });
  // Each setting must reach the consumer at once: no cached copy of the previous one.
  const [relay] = await startServers([["relay", config, { ...VARS, TARGETS_CACHE_TTL_SECONDS: "0" }]]);
  const results = [];
  for (const lanes of SHARD_LANES) {
    await adminJson(relay, "PUT", "/targets/sharded", {
      url: receivers.urls[0],
      lanes,
      maxInFlight: 6 * lanes,
    });
    for (const [events, measured] of [
      [Math.min(6 * lanes, SHARD_EVENTS), false], // warm-up: creates the shards and opens their connections
      [SHARD_EVENTS, true],
    ]) {
      receivers.reset();
      const requests = sequential(uniquePool(eventful, events + CONNECTIONS));
      const r = await runLoad({ url: relay.url, requests, amount: events, connections: CONNECTIONS, maxSeconds: 60 });
      if (r.ok !== events) throw new Error(`sharding: ${r.ok}/${events} callbacks answered 2xx`);
      const expectedSeconds = (events * SHARD_DELAY_MS) / 1000 / (6 * lanes);
      if (!(await receivers.waitFor(events, 30_000 + 3 * expectedSeconds * 1000)))
        throw new Error(`sharding: lanes ${lanes}: ${receivers.count()}/${events} deliveries`);
      await sleep(SHARD_DELAY_MS + 250); // anything delivered twice arrives by now
      if (!measured) continue;
      const dps = (events - 1) / ((receivers.lastAt() - receivers.firstAt()) / 1000);
      const expected = (6 * lanes * 1000) / SHARD_DELAY_MS;
      results.push({ lanes, dps, expected, peak: receivers.peakInFlight(), extra: receivers.count() - events });
    }
  }
  const shards = (await adminJson(relay, "GET", "/targets/sharded")).delivery;
  await relay.stop();
  await receivers.close();
  const base = results[0]?.dps ?? Number.NaN;
  const rows = results.map((r) => [
    r.lanes,
    6 * r.lanes,
    SHARD_EVENTS,
    r.extra,
    r.peak,
    f(r.dps, 1),
    f(r.expected),
    f(r.dps / r.expected, 2),
    `${f(r.dps / base, 2)}×`,
  ]);
  out(
    `${SHARD_EVENTS} unique signed callbacks per setting, through the relay's ingress, to one target on 127.0.0.1 that answers 200 after ${SHARD_DELAY_MS} ms;`,
  );
  out(
    `the target PUT with lanes n and maxInFlight 6n before each setting (a warm-up of 6n events first). deliveries/s = from the receiver's first arrival to its last;`,
  );
  out(
    `expected = 6 connections × n lanes / ${SHARD_DELAY_MS} ms; peak = most requests the receiver held open at once.`,
  );
  out(
    table(
      ["lanes", "maxInFlight", "events", "extra", "peak open", "deliveries/s", "expected", "of expected", "vs 1 lane"],
      rows,
    ),
  );
  out(
    `lanes afterwards: ${shards.pending} pending, ${shards.dead} dead; delivered per shard (every setting and warm-up): ${shards.shards.map((x) => x.delivered).join(" · ")}`,
  );
  out();
  return results;
}

// ---- main -----------------------------------------------------------------------------------------------------
async function main() {
  const started = performance.now();
  const v = await versions();
  const cpu = cpus();
  out("# imrelay bench");
  out(
    `machine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${f(totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${release()}, load average ${loadavg()
      .map((x) => f(x, 2))
      .join(" ")}`,
  );
  out(
    `versions: node ${v.node}, wrangler ${v.wrangler}, workerd ${v.workerd}, miniflare ${v.miniflare}, autocannon ${v.autocannon}`,
  );
  if (RELAY_ROOT !== ROOT) out(`relay measured from ${RELAY_ROOT} (cost count: ${ROOT})`);
  if (flags["relay-var"].length > 0) out(`relay vars: ${flags["relay-var"].join(" ")}`);
  const stray = await strayDevServers(process.pid);
  if (stray.length > 0) {
    out(
      `WARNING: ${stray.length} other wrangler dev server(s) running (pids ${stray.join(", ")}): they load the machine and skew every figure; stop them first`,
    );
  }
  out();

  const dir = await mkdtemp(join(tmpdir(), "imrelay-bench-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const fixtures = await loadFixtures(ROOT);
  if (flags.only === "ordering") {
    await orderingBench(dir, fixtures);
    out(`total ${f((performance.now() - started) / 1000, 0)} s`);
    return;
  }

  const bundle = SKIP.has("bundle") ? { gzip: Number.NaN } : await bundleBench(dir);
  const cost = SKIP.has("cost") ? [] : await costBench();
  const ack = await ackBench(dir, fixtures);
  const dec = SKIP.has("deciders") ? undefined : await decidersBench(ack.relay, fixtures);
  await ack.relay.stop();
  const ingressUs = { relay: ack.a.relay.cpuUs, reference: ack.a.reference.cpuUs };
  const fan = await fanoutBench(dir, ack.eventful, ingressUs);
  const iso = SKIP.has("isolation") ? undefined : await isolationBench(dir, ack.eventful);
  const ord = SKIP.has("ordering") ? undefined : await orderingBench(dir, fixtures);
  const shard = SKIP.has("sharding") ? undefined : await shardingBench(dir, ack.eventful);
  const contended = Math.max(
    ack.a.relay.other,
    ack.a.reference.other,
    fan.agg.relay.other,
    fan.agg.reference.other,
    dec?.other ?? 0,
  );

  // ---- summary ----
  const mark = (ok) => (ok ? "met" : "**missed**");
  const A = ack.a;
  const rows = [
    [
      "Ack throughput (req/s)",
      f(A.relay.rps),
      f(A.reference.rps),
      `${f(ack.ratios.rps.median, 2)}×`,
      "≥ 0.9×",
      mark(ack.ratios.rps.median >= 0.9),
    ],
    [
      "Ack workerd CPU per request (µs)",
      f(A.relay.cpuUs),
      f(A.reference.cpuUs),
      `${f(ack.ratios.cpu.median, 2)}×`,
      "≤ 1.3×",
      mark(ack.ratios.cpu.median <= 1.3),
    ],
    [
      "Ack p99 latency (ms)",
      f(A.relay.p99, 2),
      f(A.reference.p99, 2),
      `${f(ack.ratios.p99.median, 2)}×`,
      "≤ 1.2×",
      mark(ack.ratios.p99.median <= 1.2),
    ],
    ["Ack p50 latency (ms)", f(A.relay.p50, 2), f(A.reference.p50, 2), `${f(ack.ratios.p50.median, 2)}×`, "–", "info"],
    [
      "Fan-out deliveries/s",
      f(fan.agg.relay.dps),
      f(fan.agg.reference.dps),
      `${f(fan.ratios.dps.median, 2)}×`,
      "≥ 0.8×",
      mark(fan.ratios.dps.median >= 0.8),
    ],
    [
      "Fan-out consumer CPU per delivery (µs)",
      f(fan.agg.relay.consumerUs),
      f(fan.agg.reference.consumerUs),
      `${f(fan.ratios.consumer.median, 2)}×`,
      "–",
      "info",
    ],
  ];
  const happy = cost.find((r) => r.scenario.startsWith("happy") && r.events === 1);
  const failing = cost.find((r) => r.scenario.includes("fails"));
  const batch10 = cost.find((r) => r.scenario.includes("2 targets 2xx, 10 events"));
  const wide = cost.find((r) => r.scenario.includes("6 targets"));
  if (happy && failing && batch10) {
    const maxSub = Math.max(...cost.map((r) => r.maxSubrequestsPerInvocation));
    rows.push(
      [
        "Queue ops/event, happy path (2 targets 2xx)",
        happy.queueOps,
        "–",
        "–",
        "3 (README)",
        mark(happy.queueOps === 3),
      ],
      [
        "Queue ops/event, 1 of 2 targets fails once",
        failing.queueOps,
        "–",
        "–",
        "3 (retries stay in the lane)",
        mark(failing.queueOps === 3),
      ],
      [
        "KV reads/event, happy, 1 event/batch, cold cache",
        happy.kvReads,
        "–",
        "–",
        "≤ 2 (list + bulk get)",
        mark(happy.kvReads <= 2),
      ],
      [
        "KV reads/event, happy, 10 events/batch, cold cache",
        batch10.kvReads,
        "–",
        "–",
        "≤ 0.2",
        mark(batch10.kvReads <= 0.2),
      ],
      [
        "KV reads/event, 1 target fails once (consumer + lanes)",
        failing.kvReads,
        "–",
        "–",
        "≤ 2 (one batch)",
        mark(failing.kvReads <= 2),
      ],
      [
        "KV writes/event (happy · failing once)",
        `${happy.kvWrites} · ${failing.kvWrites}`,
        "–",
        "–",
        "0",
        mark(happy.kvWrites === 0 && failing.kvWrites === 0),
      ],
      [
        "Queue ops/event, 6 targets × 10 events/batch",
        wide?.queueOps,
        "–",
        "–",
        "3 (however many targets)",
        mark(wide?.queueOps === 3),
      ],
      [
        "Lane calls (DO requests) per batch and target",
        Math.max(...cost.map((r) => r.laneCallsPerBatchTarget)),
        "–",
        "–",
        "1",
        mark(cost.every((r) => r.laneCallsPerBatchTarget === 1)),
      ],
      [
        "Fetches/event (happy 2 targets · fails once · 6 targets)",
        `${happy.fetches} · ${failing.fetches} · ${wide?.fetches}`,
        "–",
        "–",
        "1 per target and attempt",
        mark(happy.fetches === 2 && failing.fetches === 3 && wide?.fetches === 6),
      ],
      [
        "Rows written per delivery (happy · fails once)",
        `${happy.rowsWrittenPerDelivery} · ${failing.rowsWrittenPerDelivery}`,
        "–",
        "–",
        "–",
        "info",
      ],
      ["Subrequests/event, happy (fetch + KV + queue + lane calls)", happy.subrequests, "–", "–", "–", "info"],
      ["Subrequests/event, 1 target fails once", failing.subrequests, "–", "–", "–", "info"],
      ["Max subrequests in one invocation", maxSub, "–", "–", "≤ 50 (SUBREQUEST_BUDGET)", mark(maxSub <= 50)],
    );
  }
  if (iso) {
    rows.push(
      [
        "Isolation: healthy lag p99 beside a hanging target (ms; reference = alone)",
        f(iso.beside.p99),
        f(iso.alone.p99),
        `${f(iso.beside.p99 / iso.alone.p99, 2)}×`,
        `all within 5 s, ≤ ${f(iso.bound)} (max(3×, +1 s))`,
        mark(iso.ok),
      ],
      [
        "Isolation: healthy delivered within 5 s (beside hanging · alone)",
        `${iso.beside.within5s}/${iso.beside.events}`,
        `${iso.alone.within5s}/${iso.alone.events}`,
        "–",
        "every event",
        mark(iso.beside.within5s === iso.beside.events),
      ],
    );
  }
  if (dec) {
    rows.push(
      [
        "Deciders: before-callback p50 with an instant decider (ms; reference = no decider)",
        f(dec.decided.p50, 2),
        f(dec.plain.p50, 2),
        `+${f(dec.addedP50.median, 2)} ms`,
        "≤ +10 ms",
        mark(dec.p50ok),
      ],
      [
        "Deciders: before-callback p99 with an instant decider (ms; reference = no decider)",
        f(dec.decided.p99, 2),
        f(dec.plain.p99, 2),
        `+${f(dec.addedP99.median, 2)} ms`,
        "≤ +20 ms",
        mark(dec.p99ok),
      ],
      [
        "Deciders: answer with a decider that never answers, p50 · max (ms; timeoutMs 1000)",
        `${f(dec.deadline.p50)} · ${f(dec.deadline.max)}`,
        "–",
        "–",
        `≤ ${dec.deadline.bound}, fallback answered`,
        mark(dec.deadline.ok),
      ],
    );
  }
  if (ord) {
    rows.push([
      `Ordered delivery, ${CONVERSATIONS} conversations (deliveries/s; reference = the same target unordered)`,
      f(ord.ordered),
      f(ord.unordered),
      `${f(ord.ratio.median, 2)}×`,
      "indicative",
      "–",
    ]);
  }
  if (shard) {
    const ok = shard.every((r) => r.dps >= 0.8 * r.expected && r.extra === 0);
    rows.push([
      `Sharding: deliveries/s to a target answering in ${SHARD_DELAY_MS} ms, lanes ${SHARD_LANES.join(" · ")} (reference = 6 × lanes / response time)`,
      shard.map((r) => f(r.dps)).join(" · "),
      shard.map((r) => f(r.expected)).join(" · "),
      shard.map((r) => `${f(r.dps / r.expected, 2)}×`).join(" · "),
      "≥ 0.8× each, no duplicates",
      mark(ok),
    ]);
  }
  if (Number.isFinite(bundle.gzip))
    rows.push(["Bundle gzip -9 (KiB)", f(bundle.gzip / 1024, 1), "–", "–", "≤ 60", mark(bundle.gzip <= 60 * 1024)]);
  out("## Summary");
  out();
  out("| Figure | imrelay | reference | ratio | target | |");
  out("|---|---:|---:|---:|---|---|");
  for (const r of rows) out(`| ${r.join(" | ")} |`);
  out();
  out(
    `Ratios are medians over paired rounds. Other load on the machine during measured rounds: up to ${f(contended, 2)} cores${contended > 0.3 ? " — the machine was shared; throughput and latency are noisy, CPU per request less so" : ""}.`,
  );
  out(`total ${f((performance.now() - started) / 1000, 0)} s`);
}

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  if (!interrupted) out(`\nbench failed: ${err?.stack ?? err}`);
} finally {
  clearTimeout(guard);
  await cleanup();
}
