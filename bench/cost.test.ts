/**
 * Cost per event, counted through the bindings (not estimated): the relay's real ingress (`createApp().fetch`),
 * consumer (`consumeBatch`) and delivery lanes (the `Lane` Durable Object, its alarm driven by the test) run in
 * workerd with counting proxies around `EVENTS`, `TARGETS`, `LANES` and `fetch`.
 *
 * Queue operations are counted the way Cloudflare bills them (messages < 64 KB): every message written by
 * `send`/`sendBatch` is 1 write; every message handed to the consumer is 1 read (a retried message is read again
 * later); every message not retried when the handler returns is 1 delete. The queue itself is simulated: what the
 * ingress and the consumer send is captured and handed to the consumer in the next batch (delays are not waited
 * out). Targets are read from KV with a cold cache in every batch (the worst case; the consumer caches them per
 * isolate for TARGETS_CACHE_TTL_SECONDS). The consumer only hands events to lanes: every call on a lane stub is
 * one Durable Object request. A lane delivers from its alarm, which the test runs (every pending delivery made due
 * first, so retries are not waited out); its KV operations go through a counting `TARGETS` swapped into the lane,
 * and its rows written are the lane's own count (`status().rowsWritten`, the SQL cursors' `rowsWritten`).
 * Subrequests = outbound fetches + KV operations + queue calls + lane calls, over ingress, consumer and lane runs.
 *
 * Prints a table and one `BENCH_COST_JSON <json>` line, which bench/run.mjs parses.
 */
/// <reference types="@cloudflare/vitest-plugin/types" />
import { createExecutionContext, createMessageBatch, env, getQueueResult, runInDurableObject } from "cloudflare:test";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { invalidateTargetCache, putTarget, targetKey } from "../src/config/store";
import { generateSecret } from "../src/delivery/signature";
import type { Lane } from "../src/lanes/lane";
import { laneStub } from "../src/lanes/route";
import { consumeBatch } from "../src/queue/consumer";
import neteaseFixture from "../test/fixtures/netease/cc-1-p2p-text.json";
import tencentFixture from "../test/fixtures/tencent/C2C.CallbackAfterSendMsg.json";
import { settle } from "../test/helpers/lanes";

const QUEUE = "imrelay-events";
const A = "http://127.0.0.1:9/a";
const B = "http://127.0.0.1:9/b";
/** n targets that all answer 2xx at once. */
const healthy = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`http://127.0.0.1:9/t${i}`, [200]]));

type Pending = { id: string; body: unknown; attempts: number; timestamp: Date; bytes: number };

/** Everything one scenario did to the bindings. */
class Meter {
  queue = { writes: 0, reads: 0, deletes: 0, retries: 0, calls: 0 };
  kv = { reads: 0, keysRead: 0, writes: 0, lists: 0 };
  fetches = 0;
  /** Calls on lane stubs, and the (batch, target) pairs they served. */
  lane = { calls: 0, pairs: new Set<string>(), subrequests: 0 };
  batch = 0;
  invocations: { kind: string; subrequests: number }[] = [];
  messageBytes: number[] = [];
  private current: { kind: string; subrequests: number } | undefined;

  begin(kind: string): void {
    this.current = { kind, subrequests: 0 };
    this.invocations.push(this.current);
  }
  subrequest(): void {
    if (this.current) this.current.subrequests++;
  }
}

const encoder = new TextEncoder();
let sequence = 0;
/** A fixture's body made unique: lanes deliver an event id once, and the id is a hash of the body. */
const unique = (fixture: object) => JSON.stringify({ benchSeq: ++sequence, ...fixture });

/** A queue binding that counts and captures what is sent (the consumer gets it in the next batch). */
function countingQueue(meter: Meter, pending: Pending[]): Queue {
  const capture = (body: unknown) => {
    const json = JSON.stringify(body); // contentType "json": what the consumer receives is the JSON round trip
    const bytes = encoder.encode(json).byteLength;
    meter.queue.writes++;
    meter.messageBytes.push(bytes);
    pending.push({ id: `m${meter.queue.writes}`, body: JSON.parse(json), attempts: 1, timestamp: new Date(), bytes });
  };
  return {
    async send(body: unknown) {
      meter.queue.calls++;
      meter.subrequest();
      capture(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest>) {
      meter.queue.calls++;
      meter.subrequest();
      for (const m of messages) capture(m.body);
    },
  } as unknown as Queue;
}

/**
 * The real KV namespace, with every operation counted (a bulk `get` of n keys is one read operation). `subrequest`
 * charges the invocation that made it: the current ingress or consumer one, or the lane's alarm run.
 */
function countingKv(kv: KVNamespace, meter: Meter, subrequest = () => meter.subrequest()): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        subrequest();
        if (prop === "get" || prop === "getWithMetadata") {
          meter.kv.reads++;
          meter.kv.keysRead += Array.isArray(args[0]) ? args[0].length : 1;
        } else if (prop === "list") {
          meter.kv.reads++;
          meter.kv.lists++;
        } else if (prop === "put" || prop === "delete") meter.kv.writes++;
        return value.apply(target, args);
      };
    },
  });
}

/** Lane methods the relay calls; anything else on a stub is passed through uncounted. */
const LANE_METHODS = new Set(["accept", "lookup", "list", "status"]);

/** The real lane namespace; every call on a stub it hands out is counted as one Durable Object request. */
function countingLanes(ns: DurableObjectNamespace<Lane>, meter: Meter): DurableObjectNamespace<Lane> {
  const stub = (lane: DurableObjectStub<Lane>) =>
    new Proxy(lane, {
      get(target, prop) {
        if (typeof prop !== "string" || !LANE_METHODS.has(prop)) return Reflect.get(target, prop);
        return (...args: unknown[]) => {
          meter.lane.calls++;
          meter.subrequest();
          const targetId = prop === "accept" ? (args[0] as { id: string }).id : "";
          meter.lane.pairs.add(`${meter.batch}:${targetId}`);
          return (target[prop as keyof typeof target] as (...a: unknown[]) => unknown)(...args);
        };
      },
    });
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop !== "get") return value.bind(target);
      return (...args: unknown[]) => stub(value.apply(target, args));
    },
  });
}

/**
 * `fetch` answered per URL from a script of statuses (one per attempt, the last repeats), counted. Only lanes
 * deliver, so every fetch is charged to a lane's alarm run.
 */
function countingFetch(meter: Meter, script: Record<string, number[]>): Map<string, number> {
  const calls = new Map<string, number>();
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const url = input instanceof Request ? input.url : String(input);
    meter.fetches++;
    meter.lane.subrequests++;
    const n = calls.get(url) ?? 0;
    calls.set(url, n + 1);
    const statuses = script[url] ?? [599];
    return new Response(null, { status: statuses[Math.min(n, statuses.length - 1)] });
  });
  return calls;
}

async function hex(algorithm: string, data: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest(algorithm, encoder.encode(data)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function callback(provider: "tencent" | "netease"): Promise<Request> {
  if (provider === "tencent") {
    const tencentBody = unique(tencentFixture);
    const query = new URLSearchParams({
      SdkAppid: "1400000001",
      CallbackCommand: "C2C.CallbackAfterSendMsg",
      contenttype: "json",
      ClientIP: "127.0.0.1",
      OptPlatform: "RESTAPI",
    });
    return new Request(`http://relay.test/tencent?${query}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: tencentBody,
    });
  }
  const neteaseBody = unique(neteaseFixture);
  const curTime = String(Date.now());
  const md5 = await hex("MD5", neteaseBody);
  const headers = {
    "content-type": "application/json",
    AppKey: "bench-appkey",
    CurTime: curTime,
    MD5: md5,
    CheckSum: await hex("SHA-1", `bench-appsecret${md5}${curTime}`),
  };
  return new Request("http://relay.test/netease/cc", { method: "POST", headers, body: neteaseBody });
}

/** Hands captured messages to the consumer, `batchSize` at a time, until the queue is empty (bounded). */
async function drain(testEnv: Env, pending: Pending[], meter: Meter, batchSize: number): Promise<void> {
  for (let round = 0; pending.length > 0 && round < 20; round++) {
    const taken = pending.splice(0, batchSize);
    invalidateTargetCache();
    const batch = createMessageBatch<unknown>(
      QUEUE,
      taken.map((p) => ({ id: p.id, timestamp: p.timestamp, attempts: p.attempts, body: p.body })),
    );
    meter.queue.reads += taken.length;
    meter.batch++;
    meter.begin("consumer");
    const ctx = createExecutionContext();
    await consumeBatch(batch, testEnv);
    const result = await getQueueResult(batch, ctx);
    meter.begin("none");
    const retried = new Set(
      result.retryBatch.retry ? taken.map((p) => p.id) : result.retryMessages.map((r: { msgId: string }) => r.msgId),
    );
    for (const p of taken) {
      if (retried.has(p.id)) {
        meter.queue.retries++;
        pending.push({ ...p, attempts: p.attempts + 1 });
      } else meter.queue.deletes++;
    }
  }
  expect(pending, "the queue drains").toHaveLength(0);
}

type Row = {
  scenario: string;
  events: number;
  queueWrites: number;
  queueReads: number;
  queueDeletes: number;
  queueOps: number;
  kvReads: number;
  kvWrites: number;
  fetches: number;
  laneCalls: number;
  laneCallsPerBatchTarget: number;
  deliveries: number;
  rowsWrittenPerDelivery: number;
  laneSubrequests: number;
  subrequests: number;
  invocations: number;
  maxSubrequestsPerInvocation: number;
  messageBytes: number;
};

const rows: Row[] = [];

async function scenario(
  name: string,
  opts: { providers: ("tencent" | "netease")[]; script: Record<string, number[]>; batchSize: number },
) {
  const meter = new Meter();
  const pending: Pending[] = [];
  const now = new Date().toISOString();
  // Lanes keep their storage for the whole file: every scenario has targets of its own.
  const prefix = `s${rows.length}`;
  const ids = Object.keys(opts.script).map((_, i) => `${prefix}-t${i}`);
  for (const [i, url] of Object.keys(opts.script).entries()) {
    await putTarget(env.TARGETS, ids[i] as string, {
      url,
      secret: generateSecret(),
      enabled: true,
      createdAt: now,
      updatedAt: now,
    });
  }
  const testEnv = {
    ...env,
    EVENTS: countingQueue(meter, pending),
    TARGETS: countingKv(env.TARGETS, meter),
    LANES: countingLanes(env.LANES, meter),
  } as Env;
  // Each lane gets a counting TARGETS before its first event, so its own KV reads and writes are counted too.
  const laneEnv = { ...env, TARGETS: countingKv(env.TARGETS, meter, () => meter.lane.subrequests++) } as Env;
  const lanes = ids.map((id) => laneStub(env, id, 0));
  for (const lane of lanes) {
    await runInDurableObject(lane, (instance: Lane) => {
      (instance as unknown as { env: Env }).env = laneEnv;
      expect((instance as unknown as { env: Env }).env, "the lane runs with the counting env").toBe(laneEnv);
    });
  }
  const calls = countingFetch(meter, opts.script);
  // The relay logs a line per event and per delivery; the table is what this run prints.
  for (const level of ["log", "info", "warn", "error"] as const) vi.spyOn(console, level).mockImplementation(() => {});

  const app = createApp();
  for (const provider of opts.providers) {
    meter.begin("ingress");
    const res = await app.fetch(await callback(provider), testEnv, createExecutionContext());
    expect(res.status, `${provider} ingress answers 200`).toBe(200);
    await res.arrayBuffer();
  }
  const events = opts.providers.length;
  expect(meter.queue.writes).toBe(events);
  await drain(testEnv, pending, meter, opts.batchSize);
  let rowsWritten = 0;
  let deliveries = 0;
  for (const lane of lanes) {
    const status = await settle(lane);
    expect(status, "the lane delivered everything").toMatchObject({ pending: 0, dead: 0, delivered: events });
    rowsWritten += status.rowsWritten;
    deliveries += status.delivered;
  }
  for (const [url, statuses] of Object.entries(opts.script)) {
    expect(calls.get(url), `${url} got every event (once per scripted attempt)`).toBe(events * statuses.length);
  }

  const per = (n: number) => Math.round((n / events) * 100) / 100;
  const { queue, kv } = meter;
  const invocations = meter.invocations.filter((i) => i.kind !== "none");
  rows.push({
    scenario: name,
    events,
    queueWrites: per(queue.writes),
    queueReads: per(queue.reads),
    queueDeletes: per(queue.deletes),
    queueOps: per(queue.writes + queue.reads + queue.deletes),
    kvReads: per(kv.reads),
    kvWrites: per(kv.writes),
    fetches: per(meter.fetches),
    laneCalls: per(meter.lane.calls),
    laneCallsPerBatchTarget: Math.round((meter.lane.calls / meter.lane.pairs.size) * 100) / 100,
    deliveries,
    rowsWrittenPerDelivery: Math.round((rowsWritten / deliveries) * 100) / 100,
    laneSubrequests: per(meter.lane.subrequests),
    subrequests: per(invocations.reduce((s, i) => s + i.subrequests, 0) + meter.lane.subrequests),
    invocations: per(invocations.length),
    maxSubrequestsPerInvocation: Math.max(...invocations.map((i) => i.subrequests)),
    messageBytes: Math.max(...meter.messageBytes),
  });
  for (const id of ids) await env.TARGETS.delete(targetKey(id));
}

afterEach(() => {
  vi.restoreAllMocks();
});

// bench/run.mjs reads this line and renders the table (npm run bench).
afterAll(() => {
  console.log(`BENCH_COST_JSON ${JSON.stringify(rows)}`);
});

describe("cost per event, counted through the bindings", () => {
  it("happy path: 1 event, 2 targets, both 2xx", async () => {
    await scenario("happy: 2 targets 2xx, 1 event/batch", {
      providers: ["tencent"],
      script: { [A]: [200], [B]: [204] },
      batchSize: 10,
    });
  });

  it("one failing target: first attempt 503, the retry 2xx", async () => {
    await scenario("1 of 2 targets fails once", {
      providers: ["tencent"],
      script: { [A]: [200], [B]: [503, 200] },
      batchSize: 10,
    });
  });

  it("happy path, 10 events in one batch (both providers)", async () => {
    const providers = Array.from({ length: 10 }, (_, i): "tencent" | "netease" =>
      i % 2 === 0 ? "tencent" : "netease",
    );
    await scenario("happy: 2 targets 2xx, 10 events/batch", {
      providers,
      script: { [A]: [200], [B]: [204] },
      batchSize: 10,
    });
  });

  it("happy path, 10 events × 6 targets in one batch: more deliveries than SUBREQUEST_BUDGET (50), 6 lane calls", async () => {
    const providers = Array.from({ length: 10 }, (_, i): "tencent" | "netease" =>
      i % 2 === 0 ? "tencent" : "netease",
    );
    await scenario("happy: 6 targets 2xx, 10 events/batch", { providers, script: healthy(6), batchSize: 10 });
  });
});
