#!/usr/bin/env node
// `npm run demo`: the whole product in one command. Uses the relay on 127.0.0.1:8787 if one answers (else starts
// one under `wrangler dev` and stops it afterwards), starts a webhook receiver on a free port, registers it as the
// target `demo` with a secret generated here, and a word filter on another free port as the decider `demo-words`
// (it denies messages with a banned word and masks another). It sends a Tencent and a NetEase message with each
// word and prints what the filter decided and what the relay answered the provider, then every provider fixture
// of test/fixtures correctly signed (before-callbacks among them are answered by the filter too), and prints each
// signed CloudEvent as it comes back, then a summary. Exit 0 only if nothing was refused, every answer to a word
// message was what the filter decided, and every acked event was delivered with a valid signature. Cleans up
// (target, decider, receiver, word filter, relay) also on Ctrl-C.
//
// Usage: npm run demo [-- --url <base>] [--tencent <appId[:token]>] [--netease <appKey:secret>]
//                      [--admin-token <token>] [--timeout <s>] [--concurrency <n>] [--clean]
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { descendants, ROOT, startDevServer } from "./lib/dev-server.mjs";
import { formatHealth } from "./lib/health-report.mjs";
import { fixtureCallbacks, signedRequest } from "./lib/sign.mjs";
import { verifyWebhook } from "./receiver.mjs";

const TARGET_ID = "demo";
const DECIDER_ID = "demo-words";
/** The word filter: a message with BANNED is denied, MASKED is starred out of the message. */
const BANNED = "casino";
const MASKED = "darn";
const DEFAULT_PORT = process.env.PORT ?? "8787";
const HELP = `npm run demo [-- options]

Sends every fixture callback (Tencent + NetEase) to a relay, correctly signed, and checks that each one comes
back to a local receiver as a signed CloudEvent. A local word filter, registered as the decider "${DECIDER_ID}",
answers the before-callbacks: it denies messages with "${BANNED}" and masks "${MASKED}" (shown first with a
Tencent and a NetEase message of each).

  --url <base>              relay to use (default: http://127.0.0.1:${DEFAULT_PORT} if it answers /healthz,
                            else a relay started for the run and stopped afterwards). It must reach the
                            demo's receiver on 127.0.0.1, so this is for relays on this machine.
  --tencent <appId[:token]> Tencent app to sign as (default: from TENCENT_APPS, an app with a token first)
  --netease <appKey:secret> NetEase app to sign as (default: from NETEASE_APPS)
  --admin-token <token>     admin bearer token (default: ADMIN_TOKEN)
  --timeout <seconds>       how long to wait for the deliveries once the relay is up (default 60)
  --concurrency <n>         callbacks in flight at once (default 8)
  --clean                   delete the demo's target at the end. Without it, on a relay that keeps running, the
                            target and its delivery log stay, to look at and replay in the console (/console);
                            its receiver stops with the demo

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
// Decider: a word filter

const wordIn = (word, text) => new RegExp(`\\b${word}\\b`, "i").test(text);
const mask = (text) => text.replace(new RegExp(`\\b${MASKED}\\b`, "gi"), (w) => "*".repeat(w.length));

/** The texts of a message callback: Tencent's TIMTextElem elements, NetEase's `body`; none for other callbacks. */
function messageTexts(event) {
  const data = event.data ?? {};
  if (event.provider === "tencent")
    return (Array.isArray(data.MsgBody) ? data.MsgBody : [])
      .map((el) => (el?.MsgType === "TIMTextElem" ? el.MsgContent?.Text : undefined))
      .filter((text) => typeof text === "string");
  return typeof data.body === "string" ? [data.body] : [];
}

/** A custom deny code the provider passes to the sender: NetEase 20000–20099, Tencent per command's range. */
const denyCode = (event) =>
  event.provider === "netease" ? 20001 : String(event.providerevent).startsWith("Group.") ? 10100 : 120001;

/** The word filter's verdict on one event (a decider answer: allow, deny or allow with the message rewritten). */
function wordVerdict(event) {
  const texts = messageTexts(event);
  if (texts.some((text) => wordIn(BANNED, text)))
    return { decision: "deny", code: denyCode(event), reason: `banned word "${BANNED}"` };
  if (!texts.some((text) => wordIn(MASKED, text))) return { decision: "allow" };
  // `text` replaces every text element with one text; a Tencent message of several is rewritten element by element.
  if (texts.length === 1) return { decision: "allow", text: mask(texts[0]) };
  const MsgBody = event.data.MsgBody.map((el) =>
    el?.MsgType === "TIMTextElem" && typeof el.MsgContent?.Text === "string"
      ? { ...el, MsgContent: { ...el.MsgContent, Text: mask(el.MsgContent.Text) } }
      : el,
  );
  return { decision: "allow", tencent: { MsgBody } };
}

/**
 * The decider on 127.0.0.1 (free port): verifies each request's signature (401 if it fails, and the relay falls
 * back), answers the word filter's verdict and hands it to `onVerdict` with the event it was for.
 */
async function startWordFilter(secret, onVerdict) {
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/decide") return void res.writeHead(404).end();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const check = verifyWebhook(secret, req.headers, body);
      let event = {};
      try {
        event = JSON.parse(body);
      } catch {}
      const verdict = check.ok ? wordVerdict(event) : undefined;
      if (verdict) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(verdict));
      else res.writeHead(401).end();
      onVerdict({ webhookId: String(req.headers["webhook-id"] ?? ""), event, check, verdict });
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
  return { url: `http://127.0.0.1:${server.address().port}/decide`, close };
}

/** The two messages of each provider the demo sends the word filter: one with each word. */
function wordCallbacks(fixtures) {
  const tencent = fixtures.find((f) => f.name === "C2C.CallbackBeforeSendMsg.json");
  const netease = fixtures.find((f) => f.name === "callback-1-p2p-message.json");
  if (!tencent || !netease)
    throw new Error("the word filter's messages need test/fixtures' C2C.CallbackBeforeSendMsg and callback-1");
  const texts = [`Free chips at the ${BANNED} tonight`, `Oh ${MASKED}, I missed the bus`];
  return texts.flatMap((text, i) => {
    const c2c = { ...JSON.parse(tencent.body), MsgRandom: 1000 + i };
    c2c.MsgBody = [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];
    const p2p = { ...JSON.parse(netease.body), body: text, msgidClient: `demo-words-${i}` };
    return [
      { ...tencent, name: `word filter: ${tencent.command}`, text, body: JSON.stringify(c2c) },
      { ...netease, name: "word filter: callback.1", text, body: JSON.stringify(p2p) },
    ];
  });
}

/** What the relay must answer the provider for this verdict on this callback (the relay's mapping, spelled out). */
function expectedAnswer(callback, verdict) {
  const payload = JSON.parse(callback.body);
  if (callback.provider === "netease") {
    if (verdict.decision === "deny") return { errCode: 1, responseCode: verdict.code };
    return verdict.text === undefined ? { errCode: 0 } : { errCode: 0, modifyResponse: { body: verdict.text } };
  }
  if (verdict.decision === "deny") return { ActionStatus: "OK", ErrorCode: verdict.code, ErrorInfo: verdict.reason };
  const ok = { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" };
  if (verdict.tencent?.MsgBody) return { ...ok, MsgBody: verdict.tencent.MsgBody };
  if (verdict.text === undefined) return ok;
  const MsgBody = payload.MsgBody.map((el) =>
    el.MsgType === "TIMTextElem" ? { ...el, MsgContent: { ...el.MsgContent, Text: verdict.text } } : el,
  );
  return { ...ok, MsgBody };
}

/** A verdict in a few words: `deny 120001 (banned word "casino")`, `allow, text "Oh ****, …"`. */
function describeVerdict(verdict) {
  if (!verdict) return "no verdict (the filter was not asked)";
  if (verdict.decision === "deny") return `deny ${verdict.code} (${verdict.reason})`;
  if (verdict.text !== undefined) return `allow, rewritten to ${JSON.stringify(verdict.text)}`;
  if (verdict.tencent?.MsgBody) return "allow, text elements rewritten";
  return "allow";
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
        clean: { type: "boolean", default: false },
        // The default since the console: accepted so older instructions keep working.
        keep: { type: "boolean", default: false },
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
  const words = wordCallbacks(fixtures);
  const total = fixtures.length + words.length;

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
  // Only a relay that outlives the demo can show what it kept.
  state.keepTarget = !flags.clean && !state.relay;
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
  const verdicts = new Map(); // webhook-id -> the word filter's verdict
  const asked = { total: 0, verified: 0, allow: 0, deny: 0, modify: 0 };
  const wordResults = []; // { callback, ok }
  let sent = 0;
  let sendingDone = false;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const ackedTotal = () => [...acks.values()].reduce((n, names) => n + names.length, 0);
  // Deliveries to expect: one per acked callback; while sending, also one per callback not answered yet.
  const expected = () => (sendingDone ? ackedTotal() : total - refused.length - answeredOnly.length);
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
    const n = String(deliveries.length).padStart(String(total).length);
    const mark = check.ok ? c.green("signature verified ✓") : c.red(`signature INVALID ✗ (${check.reason})`);
    const notes = [
      webhookId !== event.id ? c.red("webhook-id ≠ event id") : "",
      repeat ? c.yellow("(id already delivered)") : "",
      !acks.has(webhookId) && sendingDone ? c.yellow("(not sent by this run)") : "",
      event.decision ? c.dim(`(${event.decision} by ${event.decidedby})`) : "",
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

  // --- the word filter and the decider ---------------------------------------------------------------------
  const onVerdict = ({ webhookId, check, verdict }) => {
    asked.total++;
    if (!check.ok) {
      say(c.red(`decider   request for ${webhookId || "?"}: signature INVALID ✗ (${check.reason}), answered 401`));
      return;
    }
    asked.verified++;
    asked[verdict.decision === "allow" && Object.keys(verdict).length > 1 ? "modify" : verdict.decision]++;
    verdicts.set(webhookId, verdict);
  };
  const deciderSecret = `whsec_${randomBytes(32).toString("base64")}`;
  state.wordFilter = await startWordFilter(deciderSecret, onVerdict);
  // The longest wait the relay allows: the filter answers at once, but the machine may be busy.
  const putDecider = await adminCall(base, secrets.adminToken, "PUT", `/deciders/${DECIDER_ID}`, {
    url: state.wordFilter.url,
    secret: deciderSecret,
    timeoutMs: 1500,
  });
  if (putDecider.status !== 200 && putDecider.status !== 201) {
    const hint = putDecider.status === 404 ? " (a relay without deciders?)" : "";
    fail(
      `could not register the decider "${DECIDER_ID}": HTTP ${putDecider.status} ${putDecider.text.slice(0, 300)}${hint}`,
    );
    return 1;
  }
  state.deciderRegistered = true;
  say(
    `decider   ${state.wordFilter.url}, registered as decider "${DECIDER_ID}": a word filter that denies "${BANNED}" and masks "${MASKED}"${putDecider.status === 200 ? c.yellow(" (replaced an existing decider of that name)") : ""}`,
  );
  const deciderList = await adminCall(base, secrets.adminToken, "GET", "/deciders").catch(() => undefined);
  const otherDeciders = (deciderList?.json?.items ?? [])
    .filter((d) => d.id !== DECIDER_ID && d.enabled !== false)
    .map((d) => d.id);
  if (otherDeciders.length) {
    say(
      c.yellow(
        `⚠ the relay has ${otherDeciders.length} other enabled decider(s) (${otherDeciders.join(", ")}): they are asked too, and a stricter verdict wins`,
      ),
    );
  }
  say();

  // --- the word filter's messages, one at a time: verdict, and the answer the provider got -------------------
  say(
    c.bold("word filter") +
      c.dim(` — a message with each word, per provider; decider "${DECIDER_ID}" decides, the relay answers`),
  );
  const apps = { tencent: secrets.tencent, netease: secrets.netease };
  for (const callback of words) {
    if (state.interrupted) return 130;
    const what = `${callback.provider} ${callback.provider === "tencent" ? callback.command : "callback eventType 1"}`;
    say(`  ${what.padEnd(36)} ${JSON.stringify(callback.text)}`);
    const [url, init] = signedRequest(base, callback, apps);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      let json = {};
      try {
        json = JSON.parse(text);
      } catch {}
      sent++;
      const id = res.headers.get("x-imrelay-event-id");
      const verdict = id ? verdicts.get(id) : undefined;
      const want = verdict && expectedAnswer(callback, verdict);
      const ok = res.ok && id !== null && verdict !== undefined && isDeepStrictEqual(json, want);
      if (res.ok && id) acks.set(id, [...(acks.get(id) ?? []), callback.name]);
      else {
        const reason = json.ErrorInfo ?? json.desc ?? json.error?.message ?? text.slice(0, 120);
        refused.push({ name: callback.name, reason: `HTTP ${res.status} ${reason}` });
      }
      wordResults.push({ callback, ok });
      say(`      verdict  ${verdict ? describeVerdict(verdict) : c.red(describeVerdict(verdict))}`);
      say(
        `      answer   ${text.slice(0, 300)}  ${ok ? c.green("as decided ✓") : c.red(`NOT as decided ✗${want ? ` (expected ${JSON.stringify(want)})` : ""}`)}`,
      );
    } catch (err) {
      sent++;
      refused.push({ name: callback.name, reason: err.message });
      wordResults.push({ callback, ok: false });
      say(c.red(`      failed   ${err.message}`));
    }
  }
  say();
  say(
    `sending   ${fixtures.length} fixture callbacks (${perProvider("tencent")} Tencent, ${perProvider("netease")} NetEase), ${concurrency} at a time; before-callbacks are answered by the word filter`,
  );
  say();

  // --- send every fixture, bounded concurrency --------------------------------------------------------------
  phaseStart = Date.now();
  statusLine = () =>
    c.cyan(`delivered ${deliveries.length}/${expected()}`) +
    c.dim(` · sent ${sent}/${total} · ${seconds(Date.now() - phaseStart)}`);
  const giveUp = new AbortController();
  const timer = setTimeout(() => {
    giveUp.abort(new Error("timed out"));
    finish("timeout");
  }, timeoutMs);
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
  const wordsOk = wordResults.filter((w) => w.ok).length;
  const success =
    outcome === "done" &&
    refused.length === 0 &&
    missing.length === 0 &&
    unverified.length === 0 &&
    verified === deliveries.length &&
    wordsOk === words.length &&
    asked.verified === asked.total;

  if (outcome === "timeout") {
    const first = missing[0];
    const unsent = sent < total ? `sent only ${sent} of ${total} callbacks, and ` : "";
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
    `${sent === total ? "" : `${sent} of `}${total} callbacks (${fixtures.length} fixtures: ${perProvider("tencent")} Tencent, ${perProvider("netease")} NetEase; ${words.length} word-filter messages)`,
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
  row(
    "decider",
    `"${DECIDER_ID}" asked ${asked.total} times: ${asked.deny} denied, ${asked.modify} rewritten, ${asked.allow} allowed; ` +
      okIf(asked.verified === asked.total, `signatures verified ${asked.verified}/${asked.total}`),
  );
  row("word filter", okIf(wordsOk === words.length, `${wordsOk}/${words.length} answers as the filter decided`));
  for (const w of wordResults.filter((r) => !r.ok))
    say(c.red(`      ${w.callback.name} ${JSON.stringify(w.callback.text)}`));
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
    say(
      c.green(
        c.bold(
          `✓ all ${ackedCount} acked callbacks came back as CloudEvents with a valid signature; the word filter's ${words.length} verdicts were answered as decided`,
        ),
      ),
    );
  else say(c.red(c.bold("✗ the demo did not complete: see above")));
  if (state.keepTarget)
    say(
      `kept the target "${TARGET_ID}": open ${base}/console, sign in with the admin token, and see every event and delivery (its receiver has stopped; delete the target there or with DELETE /admin/targets/${TARGET_ID})`,
    );
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
  keepTarget: false,
  wordFilter: undefined,
  deciderRegistered: false,
};
let cleaning;

function cleanup() {
  cleaning ??= (async () => {
    const starting = state.starting;
    clearStatus();
    // The decider first: a before-callback sent meanwhile would wait for a word filter that is gone.
    if (state.deciderRegistered) {
      try {
        const res = await adminCall(state.base, state.adminToken, "DELETE", `/deciders/${DECIDER_ID}`);
        if (res.status !== 204 && res.status !== 404)
          console.error(c.yellow(`could not delete the decider "${DECIDER_ID}": HTTP ${res.status}`));
      } catch (err) {
        console.error(c.yellow(`could not delete the decider "${DECIDER_ID}": ${err.message}`));
      }
    }
    if (state.targetRegistered && !state.keepTarget) {
      try {
        const res = await adminCall(state.base, state.adminToken, "DELETE", `/targets/${TARGET_ID}`);
        if (res.status !== 204 && res.status !== 404)
          console.error(c.yellow(`could not delete the target "${TARGET_ID}": HTTP ${res.status}`));
      } catch (err) {
        console.error(c.yellow(`could not delete the target "${TARGET_ID}": ${err.message}`));
      }
    }
    await state.receiver?.close();
    await state.wordFilter?.close();
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
