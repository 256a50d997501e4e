#!/usr/bin/env node
// `npm run demo`: the whole product in one command. Uses the relay on 127.0.0.1:8787 if one answers (else starts
// one under `wrangler dev` and stops it afterwards), starts a webhook receiver on a free port, registers it as the
// target `demo` with a secret generated here, sends every provider fixture of test/fixtures correctly signed, and
// prints each signed CloudEvent as it comes back, then a summary. Exit 0 only if nothing was refused and every
// acked event was delivered with a valid signature. Cleans up (target, receiver, relay) also on Ctrl-C.
//
// Usage: npm run demo [-- --url <base>] [--tencent <appId[:token]>] [--netease <appKey:secret>]
//                      [--admin-token <token>] [--timeout <s>] [--concurrency <n>]
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { descendants, ROOT, startDevServer } from "./lib/dev-server.mjs";
import { formatHealth } from "./lib/health-report.mjs";
import { fixtureCallbacks, signedRequest } from "./lib/sign.mjs";
import { verifyWebhook } from "./receiver.mjs";

const TARGET_ID = "demo";
const DEFAULT_PORT = process.env.PORT ?? "8787";
const HELP = `npm run demo [-- options]

Sends every fixture callback (Tencent + NetEase) to a relay, correctly signed, and checks that each one comes
back to a local receiver as a signed CloudEvent.

  --url <base>              relay to use (default: http://127.0.0.1:${DEFAULT_PORT} if it answers /healthz,
                            else a relay started for the run and stopped afterwards). It must reach the
                            demo's receiver on 127.0.0.1, so this is for relays on this machine.
  --tencent <appId[:token]> Tencent app to sign as (default: from TENCENT_APPS, an app with a token first)
  --netease <appKey:secret> NetEase app to sign as (default: from NETEASE_APPS)
  --admin-token <token>     admin bearer token (default: ADMIN_TOKEN)
  --timeout <seconds>       how long to wait for the deliveries once the relay is up (default 60)
  --concurrency <n>         callbacks in flight at once (default 8)

Secrets default to .dev.vars, or .dev.vars.example when there is no .dev.vars.`;

// ---------------------------------------------------------------------------------------------------------------
// Terminal output

const tty = process.stdout.isTTY === true;
const colour = tty && !process.env.NO_COLOR;
const paint = (code) => (text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : String(text));
const c = { bold: paint(1), dim: paint(2), red: paint(31), green: paint(32), yellow: paint(33), cyan: paint(36) };
/** Words joined by spaces into lines of at most `width` characters. */
function wrap(words, width) {
  const lines = [];
  for (const word of words) {
    if (lines.length && lines.at(-1).length + 1 + word.length <= width) lines[lines.length - 1] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

let statusLine = () => "";
let statusShown = false;
/** Prints a line; on a terminal, keeps the progress line pinned below the output. */
function say(line = "") {
  if (tty && statusShown) process.stdout.write("\r\x1b[2K");
  process.stdout.write(`${line}\n`);
  statusShown = false;
  drawStatus();
}
function drawStatus() {
  const text = statusLine();
  if (!tty || !text) return;
  process.stdout.write(`\r\x1b[2K${text}`);
  statusShown = true;
}
function clearStatus() {
  if (tty && statusShown) process.stdout.write("\r\x1b[2K");
  statusShown = false;
  statusLine = () => "";
}
const fail = (message) => {
  clearStatus();
  console.error(c.red(`✗ ${message}`));
};

// ---------------------------------------------------------------------------------------------------------------
// Configuration

/** KEY=VALUE lines of a dotenv file; `#` comments and blank lines skipped, one pair of surrounding quotes removed. */
function parseDotenv(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line
      .slice(0, eq)
      .replace(/^export\s+/, "")
      .trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0])
      value = value.slice(1, -1);
    vars[key] = value;
  }
  return vars;
}

function loadFileVars() {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const path = join(ROOT, name);
    if (existsSync(path)) return { source: name, vars: parseDotenv(readFileSync(path, "utf8")) };
  }
  return { source: "(none)", vars: {} };
}

function parseJsonVar(vars, name) {
  if (!vars[name]) return {};
  try {
    return JSON.parse(vars[name]);
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
}

/** The apps to sign as and the admin token, from the flags, else from the dotenv file. */
function resolveSecrets(flags, vars) {
  let tencent;
  if (flags.tencent) {
    const [appId, ...rest] = flags.tencent.split(":");
    tencent = { appId, token: rest.length ? rest.join(":") : undefined };
  } else {
    const apps = Object.entries(parseJsonVar(vars, "TENCENT_APPS"));
    // An app with a callback token first, so the demo also shows the Sign/RequestTime check.
    const [appId, app] = apps.find(([, a]) => a?.token) ?? apps[0] ?? [];
    if (appId) tencent = { appId, token: app?.token };
  }
  let netease;
  if (flags.netease) {
    const colon = flags.netease.indexOf(":");
    if (colon <= 0) throw new Error("--netease takes appKey:secret");
    netease = { appKey: flags.netease.slice(0, colon), secret: flags.netease.slice(colon + 1) };
  } else {
    const [appKey, app] = Object.entries(parseJsonVar(vars, "NETEASE_APPS"))[0] ?? [];
    if (appKey) netease = { appKey, secret: app?.secret };
  }
  if (!tencent?.appId) throw new Error("no Tencent app: set TENCENT_APPS in .dev.vars or pass --tencent appId[:token]");
  if (!netease?.appKey || !netease.secret)
    throw new Error("no NetEase app: set NETEASE_APPS in .dev.vars or pass --netease appKey:secret");
  const adminToken = flags["admin-token"] ?? vars.ADMIN_TOKEN;
  if (!adminToken) throw new Error("no admin token: set ADMIN_TOKEN in .dev.vars or pass --admin-token");
  return { tencent, netease, adminToken };
}

/** Vars for a relay the demo starts itself: the dotenv file's, with the flags' apps and token on top. */
function relayVars(flags, vars, secrets) {
  const out = { ...vars };
  if (flags.tencent)
    out.TENCENT_APPS = JSON.stringify({
      [secrets.tencent.appId]: secrets.tencent.token ? { token: secrets.tencent.token } : { allowUnsigned: true },
    });
  if (flags.netease)
    out.NETEASE_APPS = JSON.stringify({
      [secrets.netease.appKey]: { secret: secrets.netease.secret, channels: ["cc", "callback"] },
    });
  if (flags["admin-token"]) out.ADMIN_TOKEN = flags["admin-token"];
  return out;
}

async function health(base, timeoutMs = 1_500) {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.json().catch(() => ({}));
    // A 503 with the relay's report is a relay whose configuration has problems: up, and saying what is wrong.
    return res.status === 200 || (res.status === 503 && body?.ok === false) ? body : undefined;
  } catch {
    return undefined;
  }
}

async function adminCall(base, token, method, path, body) {
  const res = await fetch(`${base}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

// ---------------------------------------------------------------------------------------------------------------
// Receiver

/** An HTTP receiver on 127.0.0.1 (free port) that verifies each delivery and hands it to `onDelivery`. */
async function startReceiver(secret, onDelivery) {
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/webhook") return void res.writeHead(404).end();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const check = verifyWebhook(secret, req.headers, body);
      let event = {};
      try {
        event = JSON.parse(body);
      } catch {}
      // Always 2xx: the demo reports a bad signature instead of making the relay retry it. A real endpoint
      // should answer 401 (and deduplicate on webhook-id).
      res.writeHead(204).end();
      onDelivery({ webhookId: String(req.headers["webhook-id"] ?? ""), event, check });
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  return { url: `http://127.0.0.1:${server.address().port}/webhook`, close };
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main() {
  const startedAt = Date.now();
  let flags;
  try {
    ({ values: flags } = parseArgs({
      options: {
        url: { type: "string" },
        tencent: { type: "string" },
        netease: { type: "string" },
        "admin-token": { type: "string" },
        timeout: { type: "string", default: "60" },
        concurrency: { type: "string", default: "8" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const timeoutMs = Number(flags.timeout) * 1000;
  const concurrency = Math.trunc(Number(flags.concurrency));
  if (!(timeoutMs > 0) || !(concurrency >= 1)) {
    console.error(`--timeout and --concurrency take positive numbers\n\n${HELP}`);
    return 2;
  }

  const file = loadFileVars();
  let secrets;
  try {
    secrets = resolveSecrets(flags, file.vars);
  } catch (err) {
    fail(err.message);
    return 1;
  }
  const fixtures = await fixtureCallbacks(ROOT);
  const perProvider = (p) => fixtures.filter((f) => f.provider === p).length;

  say(c.bold("imrelay demo"));
  say(
    c.dim(
      `secrets from ${flags.tencent && flags.netease && flags["admin-token"] ? "flags" : `${file.source}${flags.tencent || flags.netease || flags["admin-token"] ? " and flags" : ""}`}: Tencent app ${secrets.tencent.appId}${secrets.tencent.token ? " (with callback token)" : ""}, NetEase app ${secrets.netease.appKey}`,
    ),
  );

  // --- the relay -------------------------------------------------------------------------------------------
  let base;
  let relayNote;
  if (flags.url) {
    base = flags.url.replace(/\/+$/, "");
    if (!(await health(base, 5_000))) {
      fail(`no relay answers GET ${base}/healthz`);
      return 1;
    }
    relayNote = `${base} (given with --url)`;
  } else {
    const local = `http://127.0.0.1:${DEFAULT_PORT}`;
    if (await health(local)) {
      base = local;
      relayNote = `${base} (already running)`;
    } else {
      say(`no relay on ${local}: starting one with wrangler dev (a few seconds)…`);
      const t0 = Date.now();
      state.starting = startDevServer({ vars: relayVars(flags, file.vars, secrets) });
      try {
        state.relay = await state.starting;
      } catch (err) {
        if (state.interrupted) return 130;
        fail(`could not start the relay: ${err.message}`);
        return 1;
      } finally {
        state.starting = undefined;
      }
      if (state.interrupted) return 130;
      base = state.relay.url;
      relayNote = `${base} (started by the demo in ${seconds(Date.now() - t0)}, stopped at the end)`;
    }
  }
  state.base = base;
  state.adminToken = secrets.adminToken;
  say(`relay     ${relayNote}`);
  const report = await health(base, 5_000);
  if (report?.ok === false) for (const line of formatHealth({ status: 503, report })) say(c.yellow(line));
  const configured = report?.configured;
  if (configured && (!configured.tencent || !configured.netease)) {
    say(
      c.yellow(
        `⚠ the relay has no ${!configured.tencent ? "TENCENT_APPS" : "NETEASE_APPS"}: those callbacks will be refused`,
      ),
    );
  }

  // --- the receiver and the target -------------------------------------------------------------------------
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const acks = new Map(); // event id -> fixture names acked with it
  const byId = new Map(); // webhook-id -> { deliveries, verified }
  const deliveries = [];
  const refused = [];
  const answeredOnly = []; // 2xx without an event (NetEase address check)
  const types = new Map(); // type -> count
  let sent = 0;
  let sendingDone = false;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const ackedTotal = () => [...acks.values()].reduce((n, names) => n + names.length, 0);
  // Deliveries to expect: one per acked callback; while sending, also one per callback not answered yet.
  const expected = () => (sendingDone ? ackedTotal() : fixtures.length - refused.length - answeredOnly.length);
  const complete = () =>
    sendingDone && [...acks].every(([id, names]) => (byId.get(id)?.deliveries ?? 0) >= names.length);
  let phaseStart = Date.now();

  const onDelivery = ({ webhookId, event, check }) => {
    const seen = byId.get(webhookId) ?? { deliveries: 0, verified: 0 };
    const repeat = seen.deliveries > 0;
    seen.deliveries++;
    if (check.ok) seen.verified++;
    byId.set(webhookId, seen);
    deliveries.push({ webhookId, event, ok: check.ok });
    if (event.type) types.set(event.type, (types.get(event.type) ?? 0) + 1);
    const n = String(deliveries.length).padStart(String(fixtures.length).length);
    const mark = check.ok ? c.green("signature verified ✓") : c.red(`signature INVALID ✗ (${check.reason})`);
    const notes = [
      webhookId !== event.id ? c.red("webhook-id ≠ event id") : "",
      repeat ? c.yellow("(id already delivered)") : "",
      !acks.has(webhookId) && sendingDone ? c.yellow("(not sent by this run)") : "",
    ].filter(Boolean);
    const what = `${event.provider ?? "?"} ${event.providerevent ?? "?"}`;
    say(
      `${c.dim(`[${n}]`)} ${c.bold(String(event.type ?? "?").padEnd(36))} ${what.padEnd(44)} ${c.dim(webhookId)}  ${mark}${notes.length ? ` ${notes.join(" ")}` : ""}`,
    );
    if (!tty && deliveries.length % 20 === 0) say(`delivered ${deliveries.length}/${expected()}`);
    if (complete()) finish("done");
  };

  state.receiver = await startReceiver(secret, onDelivery);
  // A "demo" target left by an interrupted run still has its lane, which remembers the fixture events it
  // delivered and would not send them again: deleting it first clears that lane.
  await adminCall(base, secrets.adminToken, "DELETE", `/targets/${TARGET_ID}`).catch(() => undefined);
  const put = await adminCall(base, secrets.adminToken, "PUT", `/targets/${TARGET_ID}`, {
    url: state.receiver.url,
    secret,
  });
  if (put.status !== 200 && put.status !== 201) {
    const hint =
      put.status === 401
        ? " (wrong admin token: pass --admin-token or fix ADMIN_TOKEN)"
        : put.status === 403
          ? " (the relay has no ADMIN_TOKEN)"
          : "";
    fail(`could not register the target "${TARGET_ID}": HTTP ${put.status} ${put.text.slice(0, 300)}${hint}`);
    return 1;
  }
  state.targetRegistered = true;
  say(
    `receiver  ${state.receiver.url}, registered as target "${TARGET_ID}" with a fresh secret${put.status === 200 ? c.yellow(" (replaced an existing target of that name)") : ""}`,
  );
  const list = await adminCall(base, secrets.adminToken, "GET", "/targets").catch(() => undefined);
  const others = (list?.json?.items ?? []).filter((t) => t.id !== TARGET_ID && t.enabled !== false).map((t) => t.id);
  if (others.length) {
    say(
      c.yellow(
        `⚠ the relay has ${others.length} other enabled target(s) (${others.join(", ")}): they receive these events too`,
      ),
    );
  }
  say(
    `sending   ${fixtures.length} fixture callbacks (${perProvider("tencent")} Tencent, ${perProvider("netease")} NetEase), ${concurrency} at a time`,
  );
  say();

  // --- send every fixture, bounded concurrency --------------------------------------------------------------
  phaseStart = Date.now();
  statusLine = () =>
    c.cyan(`delivered ${deliveries.length}/${expected()}`) +
    c.dim(` · sent ${sent}/${fixtures.length} · ${seconds(Date.now() - phaseStart)}`);
  const giveUp = new AbortController();
  const timer = setTimeout(() => {
    giveUp.abort(new Error("timed out"));
    finish("timeout");
  }, timeoutMs);
  const apps = { tencent: secrets.tencent, netease: secrets.netease };
  let next = 0;
  const sendOne = async (fixture) => {
    const [url, init] = signedRequest(base, fixture, apps);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.any([giveUp.signal, AbortSignal.timeout(10_000)]) });
      const text = await res.text();
      let json = {};
      try {
        json = JSON.parse(text);
      } catch {}
      const id = res.headers.get("x-imrelay-event-id");
      const ok = res.ok && (fixture.provider !== "tencent" || json.ActionStatus === "OK");
      if (ok && id) acks.set(id, [...(acks.get(id) ?? []), fixture.name]);
      else if (ok) answeredOnly.push(fixture.name);
      else {
        const reason = json.ErrorInfo ?? json.desc ?? json.error?.message ?? text.slice(0, 120);
        refused.push({ name: fixture.name, reason: `HTTP ${res.status} ${reason}` });
        say(c.red(`refused   ${fixture.provider}/${fixture.name}: HTTP ${res.status} ${reason}`));
      }
    } catch (err) {
      if (giveUp.signal.aborted) return; // gave up: not sent
      refused.push({ name: fixture.name, reason: err.message });
      say(c.red(`failed    ${fixture.provider}/${fixture.name}: ${err.message}`));
    }
    sent++;
    drawStatus();
  };
  const worker = async () => {
    while (next < fixtures.length && !state.interrupted && !giveUp.signal.aborted) await sendOne(fixtures[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const sendMs = Date.now() - phaseStart;
  sendingDone = true;
  if (complete()) finish("done");
  const outcome = await finished;
  clearTimeout(timer);
  if (state.interrupted) return 130;
  const deliverMs = Date.now() - phaseStart;
  clearStatus();
  if (tty || deliveries.length % 20 !== 0) say(`delivered ${deliveries.length}/${expected()}`);

  // --- summary ---------------------------------------------------------------------------------------------
  const ackedIds = [...acks.keys()];
  const ackedCount = ackedTotal();
  const missing = ackedIds.filter((id) => (byId.get(id)?.deliveries ?? 0) < acks.get(id).length);
  const unverified = ackedIds.filter((id) => (byId.get(id)?.verified ?? 0) < acks.get(id).length);
  const verified = deliveries.filter((d) => d.ok).length;
  const ours = deliveries.filter((d) => acks.has(d.webhookId));
  const extra = deliveries.length - ours.length;
  const shared = [...acks].filter(([, names]) => names.length > 1);
  const imTypes = [...types.keys()].filter((t) => t.startsWith("im.")).sort();
  const schemaValid = deliveries.filter((d) => d.event.schemavalid === true).length;
  const success =
    outcome === "done" &&
    refused.length === 0 &&
    missing.length === 0 &&
    unverified.length === 0 &&
    verified === deliveries.length;

  if (outcome === "timeout") {
    const first = missing[0];
    const unsent = sent < fixtures.length ? `sent only ${sent} of ${fixtures.length} callbacks, and ` : "";
    fail(
      `gave up after ${seconds(timeoutMs)}: ${unsent}${missing.length} of ${ackedIds.length} acked events not delivered${first ? ` (e.g. ${acks.get(first).join(", ")} → ${first})` : ""}. Is the relay's queue consumer running? Retry with --timeout <seconds>.`,
    );
  }

  const row = (label, value) => say(`  ${label.padEnd(21)} ${value}`);
  const okIf = (cond, text) => (cond ? c.green(text) : c.red(text));
  say();
  say(c.bold("summary"));
  row("relay", relayNote);
  row(
    "sent",
    `${sent === fixtures.length ? "" : `${sent} of `}${fixtures.length} callbacks (${perProvider("tencent")} Tencent, ${perProvider("netease")} NetEase)`,
  );
  row(
    "acked",
    `${ackedCount + answeredOnly.length}${answeredOnly.length ? ` (${answeredOnly.length} answered without an event: ${answeredOnly.join(", ")})` : ""}`,
  );
  row("refused", okIf(refused.length === 0, String(refused.length)));
  for (const r of refused) say(c.red(`      ${r.name}: ${r.reason}`));
  row(
    "delivered",
    okIf(
      missing.length === 0,
      `${ours.length}/${ackedCount} deliveries, ${ackedIds.filter((id) => byId.has(id)).length}/${ackedIds.length} distinct webhook-ids`,
    ) + (extra ? c.yellow(` (+${extra} not sent by this run)`) : ""),
  );
  row(
    "signatures verified",
    okIf(verified === deliveries.length && unverified.length === 0, `${verified}/${deliveries.length}`),
  );
  row(
    "schema-valid",
    `${schemaValid}/${deliveries.length}${schemaValid < deliveries.length ? " (the others are forwarded anyway, marked schemavalid: false)" : ""}`,
  );
  row("event types seen", `${types.size} distinct, ${imTypes.length} vendor-neutral im.*`);
  for (const line of wrap(imTypes, 100)) say(c.dim(`      ${line}`));
  if (shared.length) {
    row("shared event ids", c.yellow(`${ackedCount - ackedIds.length} callbacks repeat an id already acked`));
    for (const [id, names] of shared) say(c.dim(`      ${names.join(" = ")} → ${id}`));
    say(c.dim("      byte-identical callbacks get the same event id, so the same webhook-id: deduplicate on it"));
  } else {
    row(
      "event ids",
      `${ackedIds.length} distinct for ${ackedCount} acked callbacks (no two callbacks were byte-identical; ids derive from provider, app, channel and raw body)`,
    );
  }
  const deliveryNote =
    outcome === "done" ? `all delivered after ${seconds(deliverMs)}` : `gave up after ${seconds(deliverMs)}`;
  row("elapsed", `${seconds(Date.now() - startedAt)} total (sending ${seconds(sendMs)}, ${deliveryNote})`);
  say();
  if (success)
    say(c.green(c.bold(`✓ all ${ackedCount} acked callbacks came back as CloudEvents with a valid signature`)));
  else say(c.red(c.bold("✗ the demo did not complete: see above")));
  return success ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Cleanup, also on Ctrl-C

const state = {
  interrupted: false,
  starting: undefined,
  relay: undefined,
  receiver: undefined,
  base: undefined,
  adminToken: undefined,
  targetRegistered: false,
};
let cleaning;

function cleanup() {
  cleaning ??= (async () => {
    const starting = state.starting;
    clearStatus();
    if (state.targetRegistered) {
      try {
        const res = await adminCall(state.base, state.adminToken, "DELETE", `/targets/${TARGET_ID}`);
        if (res.status !== 204 && res.status !== 404)
          console.error(c.yellow(`could not delete the target "${TARGET_ID}": HTTP ${res.status}`));
      } catch (err) {
        console.error(c.yellow(`could not delete the target "${TARGET_ID}": ${err.message}`));
      }
    }
    await state.receiver?.close();
    if (starting) {
      // Interrupted while wrangler was starting: end the processes this demo started (the dev server runs in its
      // own process group, so Ctrl-C does not reach it); startDevServer then notices, removes its temp dir and throws.
      const kill = async (signal) => {
        for (const pid of await descendants(process.pid).catch(() => [])) {
          try {
            process.kill(pid, signal);
          } catch {}
        }
      };
      await kill("SIGTERM");
      const started = await Promise.race([starting.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
      await started?.stop(); // it was ready just before the signal
      await kill("SIGKILL");
    }
    await state.relay?.stop();
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (state.interrupted) process.exit(130); // a second Ctrl-C: leave at once
    state.interrupted = true;
    clearStatus();
    console.error(c.yellow(`\n${signal === "SIGINT" ? "interrupted" : "terminated"}: cleaning up…`));
    cleanup().finally(() => process.exit(130));
  });
}

main()
  .catch((err) => {
    fail(err.stack ?? String(err));
    return 1;
  })
  .then(async (code) => {
    if (state.interrupted) return; // the signal handler exits
    await cleanup();
    process.exit(code);
  });
