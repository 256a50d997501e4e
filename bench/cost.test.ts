/**
 * Cost per event, counted through the bindings (not estimated): the relay's real ingress (`createApp().fetch`) and
 * consumer (`consumeBatch`) run in workerd with counting proxies around `EVENTS`, `TARGETS` and `fetch`.
 *
 * Queue operations are counted the way Cloudflare bills them (messages < 64 KB): every message written by
 * `send`/`sendBatch` is 1 write; every message handed to the consumer is 1 read (a retried message is read again
 * later); every message not retried when the handler returns is 1 delete. The queue itself is simulated: what the
 * ingress and the consumer send is captured and handed to the consumer in the next batch (delays are not waited
 * out). Targets are read from KV with a cold cache in every batch (the worst case; the consumer caches them per
 * isolate for TARGETS_CACHE_TTL_SECONDS). Subrequests = outbound fetches + KV operations + queue calls.
 *
 * Prints a table and one `BENCH_COST_JSON <json>` line, which bench/run.mjs parses.
 */
/// <reference types="@cloudflare/vitest-plugin/types" />
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { invalidateTargetCache, putTarget, targetKey } from "../src/config/store";
import { generateSecret } from "../src/delivery/signature";
import { consumeBatch } from "../src/queue/consumer";
import neteaseFixture from "../test/fixtures/netease/cc-1-p2p-text.json";
import tencentFixture from "../test/fixtures/tencent/C2C.CallbackAfterSendMsg.json";

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
const tencentBody = JSON.stringify(tencentFixture);
const neteaseBody = JSON.stringify(neteaseFixture);

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

/** The real KV namespace, with every operation counted (a bulk `get` of n keys is one read operation). */
function countingKv(kv: KVNamespace, meter: Meter): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        meter.subrequest();
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

/** `fetch` answered per URL from a script of statuses (one per attempt, the last repeats), counted. */
function countingFetch(meter: Meter, script: Record<string, number[]>): Map<string, number> {
  const calls = new Map<string, number>();
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const url = input instanceof Request ? input.url : String(input);
    meter.fetches++;
    meter.subrequest();
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
  const ids = Object.keys(opts.script).map((_, i) => `t${i}`);
  for (const [i, url] of Object.keys(opts.script).entries()) {
    await putTarget(env.TARGETS, `t${i}`, {
      url,
      secret: generateSecret(),
      enabled: true,
      createdAt: now,
      updatedAt: now,
    });
  }
  const testEnv = { ...env, EVENTS: countingQueue(meter, pending), TARGETS: countingKv(env.TARGETS, meter) } as Env;
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
    subrequests: per(invocations.reduce((s, i) => s + i.subrequests, 0)),
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

  it("happy path, 10 events × 6 targets in one batch: more deliveries than SUBREQUEST_BUDGET (50)", async () => {
    const providers = Array.from({ length: 10 }, (_, i): "tencent" | "netease" =>
      i % 2 === 0 ? "tencent" : "netease",
    );
    await scenario("happy: 6 targets 2xx, 10 events/batch", { providers, script: healthy(6), batchSize: 10 });
  });
});
