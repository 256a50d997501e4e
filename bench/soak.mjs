#!/usr/bin/env node
// Soak test: loss accounting under faults. Starts the relay (a `wrangler dev` snapshot), four webhook receivers
// on 127.0.0.1 (healthy, flaky, outage, and hang, which never answers), sends thousands of signed provider
// callbacks, waits for the deliveries to settle and checks that every acked (event, target) pair was delivered or
// dead-lettered, or, for the hanging target, is still pending in its delivery lane (its retries outlast the soak:
// the lane's circuit breaker opens and then only probes). Exit code 1 if any pair is lost, if the healthy target
// got a duplicate, or if a target other than hang still has deliveries pending when the soak stops.
//
//   npm run soak                       # 3000 events
//   npm run soak -- --events 500 --concurrency 8 --max-seconds 300 --seed 42
//   npm run soak:ci                    # 150 events, a minute at most
//
// Flags: --events N (3000) --concurrency C (16) --max-seconds S (900: sending + settling, startup excluded)
//        --outage-seconds S (12) --fail-rate R (0.3) --seed N (random) --stall-seconds S (20)
//        --subrequest-budget N (the relay's SUBREQUEST_BUDGET; its default when omitted)
//        --verbose (stream wrangler's output to stderr) --log FILE (keep wrangler's output in FILE)
import { createWriteStream } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, startDevServer } from "../scripts/lib/dev-server.mjs";
import { fixtureCallbacks, signedRequest } from "../scripts/lib/sign.mjs";
import { flaky, healthy, never, prng, startReceiver } from "./soak/receivers.mjs";
import { account, latencyText, openPairs, table } from "./soak/report.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const out = (line = "") => process.stdout.write(`${line}\n`);

// ---- options -----------------------------------------------------------------------------------------------
const { values: flags } = parseArgs({
  options: {
    events: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "16" },
    "max-seconds": { type: "string", default: "900" },
    "outage-seconds": { type: "string", default: "12" },
    "fail-rate": { type: "string", default: "0.3" },
    "stall-seconds": { type: "string", default: "20" },
    seed: { type: "string" },
    "subrequest-budget": { type: "string" },
    verbose: { type: "boolean", default: false },
    log: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (flags.help) {
  out("usage: node bench/soak.mjs [--events N] [--concurrency C] [--max-seconds S] [--outage-seconds S]");
  out("                           [--fail-rate R] [--stall-seconds S] [--seed N] [--subrequest-budget N]");
  out("                           [--verbose] [--log FILE]");
  process.exit(0);
}
function num(name, min, max, integer = true) {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    process.stderr.write(`--${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]\n`);
    process.exit(2);
  }
  return n;
}
const EVENTS = num("events", 1, 1_000_000);
const CONCURRENCY = num("concurrency", 1, 256);
const MAX_SECONDS = num("max-seconds", 10, 86_400);
const OUTAGE_SECONDS = num("outage-seconds", 0, 3_600, false);
const FAIL_RATE = num("fail-rate", 0, 0.9, false);
const STALL_SECONDS = num("stall-seconds", 5, 3_600);
const BUDGET = flags["subrequest-budget"] === undefined ? undefined : num("subrequest-budget", 10, 10_000);
const SEED = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : num("seed", 0, 2 ** 32 - 1);

// Relay configuration: a short retry schedule (6 attempts over ~11 s), a 1 s delivery timeout, no target cache.
const RETRY_SCHEDULE = "1,2,2,3,3";
const DELIVERY_TIMEOUT_MS = 1_000;
const HANG_MS = 1_500;
const ADMIN_TOKEN = "soak-admin-token";
const APPS = [
  {
    tencent: { appId: "1400000001", token: "soak-tencent-token" },
    netease: { appKey: "soak-appkey-1", secret: "soak-secret-1" },
  },
  { tencent: { appId: "1400000002" }, netease: { appKey: "soak-appkey-2", secret: "soak-secret-2" } },
];
const VARS = {
  TENCENT_APPS: JSON.stringify({ 1400000001: { token: "soak-tencent-token" }, 1400000002: { allowUnsigned: true } }),
  NETEASE_APPS: JSON.stringify({
    "soak-appkey-1": { secret: "soak-secret-1", channels: ["cc", "callback"] },
    "soak-appkey-2": { secret: "soak-secret-2", channels: ["cc", "callback"] },
  }),
  ADMIN_TOKEN,
  RETRY_SCHEDULE_SECONDS: RETRY_SCHEDULE,
  DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
  TARGETS_CACHE_TTL_SECONDS: "0",
  ...(BUDGET !== undefined && { SUBREQUEST_BUDGET: String(BUDGET) }),
};
const REQUEST_TIMEOUT_MS = 15_000;
const POLL_MS = 1_000;

// ---- resources, released on every exit path ----------------------------------------------------------------
let server;
const receivers = [];
const timers = new Set();
let logStream;
let logPath;
const stderrWrite = process.stderr.write.bind(process.stderr);
let cleaning;

function cleanup() {
  cleaning ??= (async () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    await server?.stop().catch(() => {});
    await Promise.all(receivers.map((r) => r.close().catch(() => {})));
    process.stderr.write = stderrWrite;
    if (logStream) await new Promise((resolve) => logStream.end(resolve));
  })();
  return cleaning;
}
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    interrupted = true;
    out(`\n${signal}: stopping`);
    cleanup().finally(() => {
      if (logPath) out(`wrangler output: ${logPath}`);
      process.exit(130);
    });
  });
}
// A last resort, should something hang: startup (≤ ~3 min) + the soak's own bound + slack.
const watchdog = setTimeout(
  () => {
    out(`watchdog: still running after ${MAX_SECONDS + 300} s; stopping`);
    cleanup().finally(() => process.exit(4));
  },
  (MAX_SECONDS + 300) * 1000,
);
watchdog.unref();

// ---- helpers -----------------------------------------------------------------------------------------------
async function admin(method, path, body) {
  const res = await fetch(`${server.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body && { "content-type": "application/json" }) },
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Every dead letter of a target (or of all scopes when target is undefined), paging through the admin API. */
async function deadLetters(target) {
  const items = [];
  let cursor;
  for (let page = 0; page < 1_000; page++) {
    const query = new URLSearchParams({ limit: "1000" });
    if (target) query.set("target", target);
    if (cursor) query.set("cursor", cursor);
    const res = await admin("GET", `/dead-letters?${query}`);
    if (res.status !== 200) throw new Error(`GET /admin/dead-letters: ${res.status} ${JSON.stringify(res.json)}`);
    items.push(...res.json.items);
    cursor = res.json.cursor;
    if (!cursor) return items;
  }
  throw new Error("dead-letter listing did not end after 1000 pages");
}

/** Event ids of a target's delivery log in one state (GET /admin/targets/:id/deliveries), every page. */
async function laneIds(target, state) {
  const ids = new Set();
  let cursor;
  for (let page = 0; page < 1_000; page++) {
    const query = new URLSearchParams({ state, limit: "1000" });
    if (cursor) query.set("cursor", cursor);
    const res = await admin("GET", `/targets/${target}/deliveries?${query}`);
    if (res.status !== 200) throw new Error(`GET /admin/targets/${target}/deliveries: ${res.status}`);
    for (const item of res.json.items) ids.add(item.event);
    cursor = res.json.cursor;
    if (!cursor) return ids;
  }
  throw new Error("delivery log listing did not end after 1000 pages");
}

/** A target's lanes in sum: circuit, pending and dead (GET /admin/targets/:id → delivery). */
async function laneState(target) {
  const res = await admin("GET", `/targets/${target}`);
  if (res.status !== 200) throw new Error(`GET /admin/targets/${target}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.delivery;
}

/** The fixture body with `"soakSeq": n` as its first member (textually, so the rest stays byte-identical). */
function withMarker(body, seq) {
  const open = body.indexOf("{");
  if (open < 0) throw new Error("fixture is not a JSON object");
  const rest = body.slice(open + 1);
  const empty = /^\s*\}/.test(rest);
  return `${body.slice(0, open)}{"soakSeq":${seq}${empty ? "" : ","}${rest}`;
}

/** wrangler colours its warnings and errors. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const pct = (n, d) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)} %`);

// ---- the soak ----------------------------------------------------------------------------------------------
async function main() {
  // Times in the output and in the receivers' records are relative to the start of sending.
  let t0 = Date.now();
  const clock = () => Date.now() - t0;
  out(`imrelay soak: ${EVENTS} events, concurrency ${CONCURRENCY}, max ${MAX_SECONDS} s, seed ${SEED}`);
  out(
    `relay: RETRY_SCHEDULE_SECONDS=${RETRY_SCHEDULE} DELIVERY_TIMEOUT_MS=${DELIVERY_TIMEOUT_MS} TARGETS_CACHE_TTL_SECONDS=0${BUDGET ? ` SUBREQUEST_BUDGET=${BUDGET}` : ""}`,
  );
  out(
    `targets: healthy (2xx), flaky (${FAIL_RATE * 100} % failures: 5xx / ${HANG_MS} ms hang / dropped connection), outage (down for the first ${OUTAGE_SECONDS} s), hang (accepts, never answers)`,
  );

  const callbacks = await fixtureCallbacks(ROOT);
  const channels = new Set(callbacks.map((c) => c.path));
  if (callbacks.length === 0 || channels.size < 3) throw new Error(`fixtures cover only ${[...channels].join(", ")}`);

  // wrangler's output goes to a log file (and to stderr with --verbose), to explain a loss afterwards.
  logPath = flags.log ?? join(tmpdir(), `imrelay-soak-${process.pid}-${Date.now()}.log`);
  logStream = createWriteStream(logPath);
  process.stderr.write = (chunk, ...rest) => {
    logStream.write(chunk);
    return flags.verbose ? stderrWrite(chunk, ...rest) : true;
  };

  const random = prng(SEED);
  receivers.push(await startReceiver({ name: "healthy", behaviour: healthy, clock }));
  receivers.push(
    await startReceiver({ name: "flaky", behaviour: flaky({ rate: FAIL_RATE, hangMs: HANG_MS, random }), clock }),
  );
  receivers.push(await startReceiver({ name: "outage", behaviour: healthy, clock }));
  const outage = receivers[2];
  const hang = await startReceiver({ name: "hang", behaviour: never, clock });
  hang.hangs = true;
  receivers.push(hang);

  const phase = Date.now();
  server = await startDevServer({ vars: VARS, verbose: true });
  out(`relay up at ${server.url} in ${((Date.now() - phase) / 1000).toFixed(1)} s`);

  for (const r of receivers) {
    const res = await admin("PUT", `/targets/${r.name}`, { url: r.url() });
    if (res.status !== 201 || typeof res.json.secret !== "string") {
      throw new Error(`PUT /admin/targets/${r.name}: ${res.status} ${JSON.stringify(res.json)}`);
    }
    r.secret = res.json.secret;
  }

  // ---- send ------------------------------------------------------------------------------------------------
  const soakStart = Date.now();
  t0 = soakStart;
  const deadline = soakStart + MAX_SECONDS * 1000;
  if (OUTAGE_SECONDS > 0) {
    await outage.down();
    const t = setTimeout(() => {
      timers.delete(t);
      outage.up().then(
        () => out(`[${(clock() / 1000).toFixed(1)} s] outage target back on port ${outage.port}`),
        (err) => out(`outage target could not listen again: ${err.message}`),
      );
    }, OUTAGE_SECONDS * 1000);
    timers.add(t);
  }

  /** eventId → { seq, name } of every acked callback. */
  const acked = new Map();
  const duplicateAcks = [];
  const refused = new Map();
  const errors = new Map();
  let okWithoutId = 0;
  let next = 0;
  let lastProgress = Date.now();
  const sendOne = async (seq) => {
    const callback = callbacks[seq % callbacks.length];
    const apps = APPS[Math.floor(seq / callbacks.length) % APPS.length];
    const [url, init] = signedRequest(server.url, { ...callback, body: withMarker(callback.body, seq) }, apps);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const text = await res.text();
      const id = res.headers.get("x-imrelay-event-id");
      if (res.ok && id) {
        if (acked.has(id)) duplicateAcks.push(id);
        acked.set(id, { seq, name: callback.name, at: clock() });
      } else if (res.ok) {
        okWithoutId++;
      } else {
        let code = "";
        try {
          const j = JSON.parse(text);
          code = j.ErrorInfo ?? j.desc ?? j.error?.code ?? "";
        } catch {}
        const key = `${res.status} ${String(code).split(":")[0]} (${callback.name})`;
        refused.set(key, (refused.get(key) ?? 0) + 1);
      }
    } catch (err) {
      const key = err.name === "TimeoutError" ? "client timeout" : `${err.name}: ${err.message}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  };
  const worker = async () => {
    while (next < EVENTS && Date.now() < deadline && !interrupted) {
      await sendOne(next++);
      if (Date.now() - lastProgress > 5_000) {
        lastProgress = Date.now();
        out(`[${(clock() / 1000).toFixed(1)} s] sent ${next}/${EVENTS}, acked ${acked.size}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, EVENTS) }, worker));
  const sent = next;
  const sendSeconds = (Date.now() - soakStart) / 1000;
  const refusedCount = [...refused.values()].reduce((a, b) => a + b, 0);
  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  out(
    `sent ${sent} callbacks in ${sendSeconds.toFixed(1)} s: ${acked.size} acked (${(acked.size / sendSeconds).toFixed(0)}/s), ${refusedCount} refused, ${errorCount} errors`,
  );

  // ---- settle ----------------------------------------------------------------------------------------------
  const dl = new Map();
  const eventDl = new Set();
  const lanePending = new Map();
  const lanes = new Map();
  // Pending ids are read before the dead letters: a delivery that dies in between is then still counted pending,
  // never missed by both reads.
  const snapshot = async () => {
    for (const r of receivers) lanes.set(r.name, await laneState(r.name));
    for (const r of receivers) if (r.hangs) lanePending.set(r.name, await laneIds(r.name, "pending"));
    for (const r of receivers) dl.set(r.name, new Set((await deadLetters(r.name)).map((item) => item.eventId)));
    return openPairs({ acked, receivers, deadLetters: dl, eventDeadLetters: eventDl, lanePending });
  };
  /** Deliveries still pending at targets that answer: the soak waits for those (retries, duplicates included). */
  const busy = () => receivers.filter((r) => !r.hangs).reduce((n, r) => n + lanes.get(r.name).pending, 0);
  let reason = "";
  let lastChange = Date.now();
  let lastSignature = "";
  let lastReport = 0;
  const maxPolls = Math.ceil((MAX_SECONDS * 1000) / POLL_MS) + 1;
  for (let poll = 0; ; poll++) {
    if (interrupted) return 130;
    const open = await snapshot();
    const requests = receivers.reduce((n, r) => n + r.stats.requests, 0);
    const dead = [...dl.values()].reduce((n, s) => n + s.size, 0);
    const pending = busy();
    const signature = `${open}/${requests}/${dead}/${pending}`;
    if (signature !== lastSignature) {
      lastSignature = signature;
      lastChange = Date.now();
    }
    if (Date.now() - lastReport > 5_000) {
      lastReport = Date.now();
      const held = [...lanePending.values()].reduce((n, ids) => n + ids.size, 0);
      out(
        `[${(clock() / 1000).toFixed(1)} s] open pairs ${open}, pending in answering lanes ${pending}, pending at hang ${held}, receiver requests ${requests}, dead letters ${dead}`,
      );
    }
    if (open === 0 && pending === 0) {
      reason =
        "every acked pair is delivered or dead-lettered, or pending in the lane of the target that never answers";
      break;
    }
    if (Date.now() - lastChange > STALL_SECONDS * 1000) {
      reason = `no progress for ${STALL_SECONDS} s`;
      break;
    }
    if (Date.now() > deadline || poll >= maxPolls) {
      reason = `--max-seconds ${MAX_SECONDS} reached`;
      break;
    }
    await sleep(POLL_MS);
  }
  const settledSeconds = (Date.now() - soakStart) / 1000;

  // Whole-event and malformed dead letters live in their own scopes: list everything once.
  const all = await deadLetters(undefined);
  const scopes = new Map();
  for (const item of all) {
    const scope = item.id.split(".")[0];
    scopes.set(scope, (scopes.get(scope) ?? 0) + 1);
    if (scope === "_event" && item.eventId) eventDl.add(item.eventId);
  }
  // Same order as snapshot(): lane pending, then KV dead letters, then lane dead whose dead letter is still owed.
  for (const r of receivers) lanes.set(r.name, await laneState(r.name));
  for (const r of receivers) lanePending.set(r.name, await laneIds(r.name, "pending"));
  for (const r of receivers) dl.set(r.name, new Set((await deadLetters(r.name)).map((item) => item.eventId)));
  const laneDead = new Map();
  for (const r of receivers) laneDead.set(r.name, await laneIds(r.name, "dead"));

  // ---- report ----------------------------------------------------------------------------------------------
  const { rows, lost } = account({
    acked,
    receivers,
    deadLetters: dl,
    eventDeadLetters: eventDl,
    lanePending,
    laneDead,
    endMs: clock(),
  });
  out();
  out(`stopped: ${reason}`);
  out(
    `soak: ${settledSeconds.toFixed(1)} s (sending ${sendSeconds.toFixed(1)} s, then settling ${(settledSeconds - sendSeconds).toFixed(1)} s); seed ${SEED}`,
  );
  out(
    `ingress: ${sent} sent, ${acked.size} acked (${pct(acked.size, sent)}, ${(acked.size / sendSeconds).toFixed(0)} acks/s at concurrency ${CONCURRENCY}), ${refusedCount} refused, ${errorCount} errors${okWithoutId ? `, ${okWithoutId} 2xx without event id` : ""}`,
  );
  for (const [key, n] of refused) out(`  refused ${n}× ${key}`);
  for (const [key, n] of errors) out(`  error ${n}× ${key}`);
  if (duplicateAcks.length)
    out(`  ${duplicateAcks.length} acks repeated an event id (bodies are unique, so ids should be too)`);
  out();
  out(table(rows));
  out();
  out("delivered = the receiver answered 2xx to the webhook-id at least once; dead-lettered = listed by");
  out(
    "GET /admin/dead-letters for that target and never answered 2xx; pending in lane = neither, and still pending in the",
  );
  out(
    "target's lane (GET /admin/targets/:id/deliveries?state=pending) when the soak stopped; lost = acked pairs that are none",
  );
  out("of these; duplicates = extra 2xx answers to an already delivered webhook-id (lanes deduplicate: expect 0).");
  for (const r of receivers) {
    const lane = lanes.get(r.name);
    out(
      `${r.name.padEnd(8)} lane (GET /admin/targets/${r.name}): circuit ${lane.circuit}, ${lane.pending} pending, ${lane.dead} dead`,
    );
  }
  for (const r of rows) out(`${r.target.padEnd(8)} ack → first 2xx: ${latencyText(r.latencies)}`);
  const overlap = rows.filter((r) => r.deliveredAndDeadLettered > 0);
  for (const r of overlap)
    out(`note: ${r.target}: ${r.deliveredAndDeadLettered} pairs were answered 2xx and also dead-lettered`);
  for (const r of rows)
    if (r.unacked > 0) out(`note: ${r.target} received ${r.unacked} webhook-ids that were never acked to the sender`);
  for (const r of rows)
    if (r.badSignature > 0) out(`note: ${r.target}: ${r.badSignature} requests with an invalid signature`);
  for (const [scope, n] of scopes)
    if (!receivers.some((r) => r.name === scope)) out(`note: ${n} dead letters in scope ${scope}`);

  const unsettled = rows.filter((r) => !receivers.find((x) => x.name === r.target).hangs && r.pendingInLane > 0);
  for (const r of unsettled) out(`UNSETTLED: ${r.target} still has ${r.pendingInLane} acked pairs pending in its lane`);
  const healthyDuplicates = rows.find((r) => r.target === "healthy")?.duplicates ?? 0;
  if (healthyDuplicates > 0) out(`DUPLICATES: the healthy target answered 2xx ${healthyDuplicates} extra times`);
  const lostCount = lost.length;
  if (lostCount > 0) {
    out();
    out(`LOST: ${lostCount} acked (event, target) pairs were neither delivered nor dead-lettered. First ones:`);
    const log = await readFile(logPath, "utf8").catch(() => "");
    for (const { target, id } of lost.slice(0, 10)) {
      const r = receivers.find((x) => x.name === target);
      const seen = r.stats.byId.get(id)?.seen ?? [];
      const a = acked.get(id);
      out(
        `- ${target} ${id} (seq ${a.seq}, ${a.name}): receiver saw ${seen.length === 0 ? "nothing" : seen.map(([t, o]) => `${o}@${(t / 1000).toFixed(1)}s`).join(", ")}`,
      );
      const lines = log
        .split("\n")
        .filter((l) => l.includes(id))
        .map((l) => l.replace(ANSI_COLOUR, ""));
      for (const l of lines.slice(0, 12)) out(`    log: ${l.slice(0, 400)}`);
      if (lines.length === 0) out("    log: (no line mentions this event id)");
    }
  }
  return lostCount > 0 || acked.size === 0 || unsettled.length > 0 || healthyDuplicates > 0 ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write = stderrWrite;
  out(`soak failed: ${err.stack ?? err}`);
  if (server) out(`--- last wrangler output ---\n${server.output().slice(-4_000)}`);
  code = 2;
}
await cleanup();
if (logPath) {
  if (code === 0 && !flags.log) await rm(logPath, { force: true });
  else out(`wrangler output: ${logPath}`);
}
clearTimeout(watchdog);
process.exit(code);
