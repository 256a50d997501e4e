import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DRAIN_RETRY_FIRST_MS } from "../../src/outbox/backoff";
import type { Outbox } from "../../src/outbox/outbox";
import { outboxShard, outboxStub } from "../../src/outbox/route";
import { inlineText, utf8Bytes } from "../../src/queue/message";
import { BATCH_BYTES } from "../../src/queue/producer";
import { asDelivered, relayWithFakeQueue } from "../helpers/app";
import { clearKv, consumerEnv, makeEvent, runBatch, split, stubFetch } from "../helpers/consumer-harness";
import { removeDeciders, storeDecider } from "../helpers/deciders";
import { settle, setupTarget } from "../helpers/lanes";
import { fakeDataset } from "../helpers/metrics";
import {
  clearOutboxes,
  drainedMessages,
  drainNow,
  outboxPending,
  recordDrains,
  unreachableOutbox,
} from "../helpers/outbox";
import { neteaseRequest, tencentRequest } from "../helpers/requests";

/**
 * Item 2 of issue 11: a queue outage loses nothing. When `queue.send` fails the event goes to an outbox (a SQLite
 * Durable Object, one of a few picked by the event id) and the provider is answered OK; the outbox's alarm drains
 * it into the queue once the queue takes messages again. Each failure is injected: the queue binding refusing,
 * `sendBatch` failing, the outbox unreachable or its storage failing.
 */

const DECIDER = "https://decider.example.test/decide";
const DISMISS = JSON.stringify({ eventType: 8, fromAccount: "a", tid: 2637250619, timestamp: "1564575855993" });
const DESTROYED = JSON.stringify({
  CallbackCommand: "Group.CallbackAfterGroupDestroyed",
  GroupId: "@TGS#2J4SZEAEL",
  Type: "Public",
  Owner_Account: "leckie",
  Name: "MyFirstGroup",
  EventTime: 1670574414123,
});

/** The relay with a queue that refuses every send. */
function queueDown(overrides: Partial<Env> = {}) {
  const relay = relayWithFakeQueue(overrides);
  relay.queue.failWith = new Error("queue unavailable");
  return relay;
}

/** The outbox that keeps the event of a response, by its x-imrelay-event-id. */
function outboxOf(res: Response): DurableObjectStub<Outbox> {
  const id = res.headers.get("x-imrelay-event-id");
  if (!id) throw new Error("no event id in the response");
  return outboxStub(env, id);
}

beforeEach(async () => {
  await clearKv(env.TARGETS);
  await clearOutboxes();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await clearOutboxes();
});

describe("outbox: the ack path while the queue refuses", () => {
  it("answers a NetEase callback OK and keeps its event in an outbox, whose drain is scheduled", async () => {
    for (const channel of ["cc", "callback"] as const) {
      const relay = queueDown();
      const res = await relay.fetch(await neteaseRequest(DISMISS, { channel }));

      expect(res.status).toBe(200);
      if (channel === "callback") expect(await res.json()).toEqual({ errCode: 0 });
      expect(relay.queue.sent).toEqual([]);
      const status = await outboxOf(res).status();
      expect(status.pending).toBe(1);
      expect(Date.parse(status.nextDrainAt ?? "")).toBeGreaterThan(Date.now());
    }
    expect(await outboxPending()).toBe(2);
  });

  it("answers a Tencent callback ActionStatus OK and keeps its event in an outbox", async () => {
    const relay = queueDown();
    const res = await relay.fetch(await tencentRequest(DESTROYED));

    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ActionStatus: "OK", ErrorCode: 0 });
    expect((await outboxOf(res).status()).pending).toBe(1);
  });

  it("keeps a provider's duplicate once: the outbox is keyed by event id", async () => {
    const relay = queueDown();
    const first = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    const again = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));

    expect(again.headers.get("x-imrelay-event-id")).toBe(first.headers.get("x-imrelay-event-id"));
    expect(await outboxPending()).toBe(1);
  });

  it("spreads events over several outboxes", async () => {
    const relay = queueDown();
    const used = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const body = JSON.stringify({ eventType: 8, fromAccount: "a", tid: i, timestamp: String(1564575855993 + i) });
      const res = await relay.fetch(await neteaseRequest(body, { channel: "callback" }));
      expect(res.status).toBe(200);
      used.add(outboxOf(res).id.toString());
    }
    expect(used.size).toBeGreaterThan(1);
    expect(await outboxPending()).toBe(16);
  });

  it("answers 503 ENQUEUE_FAILED in each provider's format only when the outbox cannot be reached either", async () => {
    const relay = queueDown({ OUTBOX: unreachableOutbox() });

    const ne = await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc" }));
    expect(ne.status).toBe(503);
    expect(((await ne.json()) as { desc: string }).desc).toMatch(/^ENQUEUE_FAILED/);
    const tc = await relay.fetch(await tencentRequest(DESTROYED));
    expect(tc.status).toBe(503);
    expect(await tc.json()).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 50302 });
    expect(await outboxPending()).toBe(0);
  });

  it("answers 503 when the outbox's storage fails while keeping the event, and keeps nothing", async () => {
    const relay = queueDown();
    const req = await neteaseRequest(DISMISS, { channel: "callback" });
    // The event id is deterministic: a first request (answered OK) says which outbox the event goes to.
    const probe = await queueDown().fetch(req.clone());
    const stub = outboxOf(probe);
    await clearOutboxes();
    await runInDurableObject(stub, (_instance: Outbox, state) => {
      vi.spyOn(state.storage.sql, "exec").mockImplementation(() => {
        throw new Error("storage unavailable");
      });
    });

    const res = await relay.fetch(req);

    expect(res.status).toBe(503);
    vi.restoreAllMocks();
    expect((await stub.status()).pending).toBe(0);
  });

  it("answers a before-callback with its decider's verdict while the queue is down, and keeps the decided event", async () => {
    await storeDecider("words", { url: DECIDER });
    stubFetch({ [DECIDER]: () => Response.json({ decision: "deny", reason: "not allowed" }) });
    const relay = queueDown();
    const body = JSON.stringify({
      CallbackCommand: "C2C.CallbackBeforeSendMsg",
      From_Account: "a",
      To_Account: "b",
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "hi" } }],
    });

    const res = await relay.fetch(await tencentRequest(body));

    expect(await res.json()).toMatchObject({ ActionStatus: "OK", ErrorCode: 1 });
    const drains = recordDrains();
    await drainNow(outboxOf(res));
    expect(drainedMessages(drains.state.calls)).toMatchObject([
      { event: { decision: "deny", decidedby: "words" }, data: body },
    ]);
    await removeDeciders();
  });

  it("makes no outbox call while the queue takes the event", async () => {
    const relay = relayWithFakeQueue();
    const get = vi.spyOn(env.OUTBOX, "get");

    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));

    expect(res.status).toBe(200);
    expect(relay.queue.sent).toHaveLength(1);
    expect(get).not.toHaveBeenCalled();
  });

  it("counts the fallback as outboxed and logs it without the body", async () => {
    const { points, dataset } = fakeDataset();
    const warn = vi.spyOn(console, "warn");
    const relay = queueDown({ METRICS: dataset });

    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));

    expect(points.map((p) => p.blobs)).toEqual([
      ["outboxed", "netease", "netease.callback.team_dismiss", "queue"],
      ["accepted", "netease", "netease.callback.team_dismiss", ""],
    ]);
    const lines = warn.mock.calls.map((c) => String(c[0]));
    const line = lines.find((l) => l.includes("kept in the outbox"));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? "{}")).toMatchObject({ refusedBy: "queue", cause: "Error: queue unavailable" });
    expect(lines.some((l) => l.includes("2637250619"))).toBe(false);
  });
});

describe("outbox: draining into the queue", () => {
  it("drains a kept event into the queue exactly once once the queue is back, and the lane delivers it byte for byte", async () => {
    const target = await setupTarget();
    const { calls } = stubFetch({ [target.url]: 200 });
    const relay = queueDown();
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc" }));
    const stub = outboxOf(res);
    const drains = recordDrains();

    await drainNow(stub);
    await drainNow(stub);

    expect(drains.state.attempts).toBe(1);
    const [message] = drainedMessages(drains.state.calls);
    expect(message?.event.id).toBe(res.headers.get("x-imrelay-event-id"));
    expect(message?.data).toBe(DISMISS);
    expect(await stub.status()).toEqual({ pending: 0, failures: 0, nextDrainAt: null });

    const raw = drains.state.calls[0]?.raw[0];
    const { result } = await runBatch(consumerEnv().env, [{ body: raw, id: "m1" }]);
    await settle(target.stub);
    expect(result.explicitAcks).toEqual(["m1"]);
    if (!message) throw new Error("nothing drained");
    expect(calls.map((c) => c.body)).toEqual([asDelivered(message.event, DISMISS)]);
  });

  it("backs off while the queue stays down: keeps every event, counts the failures and re-arms the alarm later each time", async () => {
    const relay = queueDown();
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    const stub = outboxOf(res);
    const drains = recordDrains({ down: true });

    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      await drainNow(stub);
      const status = await stub.status();
      expect(status.pending).toBe(1);
      expect(status.failures).toBe(i + 1);
      delays.push(Date.parse(status.nextDrainAt ?? "") - before);
    }
    // ±20 % around 1 s, 2 s, 4 s.
    expect(delays[0]).toBeGreaterThanOrEqual(0.8 * DRAIN_RETRY_FIRST_MS - 50);
    expect(delays[0]).toBeLessThanOrEqual(1.2 * DRAIN_RETRY_FIRST_MS + 50);
    expect(delays[2]).toBeGreaterThanOrEqual(0.8 * 4 * DRAIN_RETRY_FIRST_MS - 50);
    expect(delays[2]).toBeLessThanOrEqual(1.2 * 4 * DRAIN_RETRY_FIRST_MS + 50);

    drains.state.down = false;
    await drainNow(stub);
    expect(drainedMessages(drains.state.calls).map((m) => m.data)).toEqual([DISMISS]);
    expect(await stub.status()).toEqual({ pending: 0, failures: 0, nextDrainAt: null });
  });

  it("does not move a backed-off drain earlier when another event arrives", async () => {
    const relay = queueDown();
    const first = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    const stub = outboxOf(first);
    recordDrains({ down: true });
    for (let i = 0; i < 4; i++) await drainNow(stub);
    const backedOff = (await stub.status()).nextDrainAt;

    await stub.put(inlineText({ kind: "event", ...split(await makeEvent()) }));

    expect((await stub.status()).nextDrainAt).toBe(backedOff);
  });

  it("drains 150 events in sendBatch calls of at most 100 messages; a failed second call keeps its 50, sent once by the next drain", async () => {
    const stub = outboxShard(env, 0);
    const events = await Promise.all(Array.from({ length: 150 }, () => makeEvent()));
    for (const event of events) await stub.put(inlineText({ kind: "event", ...split(event) }));
    const drains = recordDrains({ failCalls: [2] });

    await drainNow(stub);

    expect(drains.state.calls.map((c) => c.raw.length)).toEqual([100]);
    expect(await stub.status()).toMatchObject({ pending: 50, failures: 1 });

    await drainNow(stub);

    expect(drains.state.calls.map((c) => c.raw.length)).toEqual([100, 50]);
    const ids = drainedMessages(drains.state.calls).map((m) => m.event.id);
    expect(ids).toEqual(events.map((e) => e.id));
    expect(await stub.status()).toEqual({ pending: 0, failures: 0, nextDrainAt: null });
  });

  it("keeps each sendBatch call within 256 KB", async () => {
    const stub = outboxShard(env, 1);
    const kept = [];
    for (let i = 0; i < 12; i++) {
      const event = await makeEvent();
      const data = JSON.stringify({ CallbackCommand: "C2C.CallbackAfterSendMsg", i, pad: "p".repeat(60_000) });
      kept.push(event.id);
      await stub.put(inlineText({ kind: "event", event: split(event).event, data }));
    }
    const drains = recordDrains();

    await drainNow(stub);

    const sizes = drains.state.calls.map((c) => c.raw.reduce((n, r) => n + utf8Bytes(r), 0));
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(BATCH_BYTES);
    expect(drainedMessages(drains.state.calls).map((m) => m.event.id)).toEqual(kept);
    expect((await stub.status()).pending).toBe(0);
  });

  it("re-sends a batch whose rows could not be deleted after the send (at least once), and the lane delivers it once", async () => {
    const target = await setupTarget();
    const { calls } = stubFetch({ [target.url]: 200 });
    const relay = queueDown();
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc" }));
    const stub = outboxOf(res);
    const drains = recordDrains();
    await runInDurableObject(stub, (_instance: Outbox, state) => {
      const exec = state.storage.sql.exec.bind(state.storage.sql);
      vi.spyOn(state.storage.sql, "exec").mockImplementation((query, ...params) => {
        if (query.startsWith("DELETE FROM outbox")) throw new Error("storage unavailable");
        return exec(query, ...params);
      });
    });

    await drainNow(stub);
    expect(await stub.status()).toMatchObject({ pending: 1, failures: 1 });
    await runInDurableObject(stub, (_instance: Outbox, state) => vi.mocked(state.storage.sql.exec).mockRestore());
    await drainNow(stub);

    expect((await stub.status()).pending).toBe(0);
    const raws = drains.state.calls.map((c) => c.raw[0]);
    expect(raws).toHaveLength(2);
    expect(raws[1]).toBe(raws[0]);
    await runBatch(
      consumerEnv().env,
      raws.map((body, i) => ({ body, id: `m${i}` })),
    );
    await settle(target.stub);
    expect(calls).toHaveLength(1);
  });

  it("counts each drained event and logs the drain", async () => {
    const { points, dataset } = fakeDataset();
    const stub = outboxShard(env, 2);
    const event = await makeEvent();
    await stub.put(inlineText({ kind: "event", ...split(event) }));
    await runInDurableObject(stub, (instance: Outbox) => {
      const self = instance as unknown as { env: Env };
      self.env = { ...self.env, METRICS: dataset };
    });
    recordDrains();
    const warn = vi.spyOn(console, "warn");

    await drainNow(stub);

    expect(points.map((p) => p.blobs)).toEqual([["drained", "tencent", event.type, ""]]);
    expect(warn.mock.calls.some((c) => String(c[0]).includes("outbox drained into the queue"))).toBe(true);
  });
});
