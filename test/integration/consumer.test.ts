import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ROTATION_GRACE_SECONDS, withRotatedSecret } from "../../src/config/endpoint";
import { putTarget } from "../../src/config/store";
import { generateSecret, verify } from "../../src/delivery/signature";
import type { CloudEvent } from "../../src/event";
import type { Lane } from "../../src/lanes/lane";
import { shardOf } from "../../src/lanes/route";
import type { LaneItem } from "../../src/lanes/store";
import { TENCENT_APP } from "../helpers/bindings";
import {
  clearKv,
  consumerEnv,
  deliveryMessage,
  eventMessage,
  makeEvent,
  makeTarget,
  runBatch,
  split,
  stubFetch,
} from "../helpers/consumer-harness";
import { deadLetters, lane, settle, uniqueTarget } from "../helpers/lanes";

const A = "https://a.example.test/hook";
const B = "https://b.example.test/hook";
/** Fresh target ids per test: a lane keeps its storage for the whole file. */
let a = "";
let b = "";

/** Runs the given targets' lanes to rest, so what the consumer handed them has been delivered. */
async function deliver(...targets: string[]): Promise<void> {
  for (const t of targets) await settle(lane(t));
}

/**
 * The test env with a LANES namespace that records every lane call, and fails those of the targets in `failing`
 * (as a lane that is unreachable or whose storage throws would).
 */
function recordingLanes(failing: Set<string> = new Set()) {
  const calls: { target: string; shard: number; events: string[] }[] = [];
  const real = env.LANES;
  const namespace = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return {
        accept: async (target: { id: string }, shard: number, items: LaneItem[]) => {
          calls.push({ target: target.id, shard, events: items.map((i) => i.event.id) });
          if (failing.has(target.id)) throw new Error("lane unavailable");
          return stub.accept(target as Parameters<Lane["accept"]>[0], shard, items);
        },
      };
    },
  } as unknown as DurableObjectNamespace<Lane>;
  return { calls, env: consumerEnv({ LANES: namespace }).env };
}

beforeEach(async () => {
  await clearKv(env.TARGETS);
  a = uniqueTarget("a");
  b = uniqueTarget("b");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("consumer: routing events to lanes", () => {
  it("hands an event to each matching target's lane, acks it once both have it, and writes nothing to the queue", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    await putTarget(env.TARGETS, b, makeTarget(B));
    const { calls } = stubFetch({ [A]: 200, [B]: 204 });
    const { env: testEnv, queue } = consumerEnv();
    const event = await makeEvent();

    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect((await lane(a).lookup(event.id))?.target).toBe(a);
    expect((await lane(b).lookup(event.id))?.target).toBe(b);
    await deliver(a, b);
    expect(calls.map((c) => c.url).sort()).toEqual([A, B]);
    expect(queue.sent).toHaveLength(0);
  });

  it("makes one lane call per lane per batch, carrying all of the batch's events for it", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    await putTarget(env.TARGETS, b, makeTarget(B, { events: ["im.group.*"] }));
    stubFetch({ [A]: 200, [B]: 200 });
    const events = [await makeEvent(), await makeEvent(), await makeEvent({ type: "im.group.created" })];
    const { calls, env: testEnv } = recordingLanes();

    const { result } = await runBatch(
      testEnv,
      events.map((e, i) => ({ body: eventMessage(e), id: `m${i}` })),
    );

    expect(result.explicitAcks.sort()).toEqual(["m0", "m1", "m2"]);
    expect(calls.sort((x, y) => x.target.localeCompare(y.target))).toEqual([
      { target: a, shard: 0, events: events.map((e) => e.id) },
      { target: b, shard: 0, events: [events[2]?.id] },
    ]);
  });

  it("spreads a sharded target's events over its lanes by event id, each event to exactly one shard", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { lanes: 3 }));
    const { calls: fetches } = stubFetch({ [A]: 200 });
    const events = await Promise.all(Array.from({ length: 10 }, () => makeEvent()));
    const { calls, env: testEnv } = recordingLanes();

    await runBatch(
      testEnv,
      events.map((e) => ({ body: eventMessage(e) })),
    );

    expect(calls.flatMap((c) => c.events).sort()).toEqual(events.map((e) => e.id).sort());
    for (const call of calls) for (const id of call.events) expect(shardOf(id, 3)).toBe(call.shard);
    for (let shard = 0; shard < 3; shard++) await settle(lane(a, shard));
    expect(fetches.map((f) => f.headers.get("webhook-id")).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it("delivers data byte for byte as the provider sent it: a 64-bit integer keeps every digit", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();
    const raw = '{"eventType":36,"msgId":184409700039655569, "nick":"空格"}';

    await runBatch(consumerEnv().env, [{ body: { ...eventMessage(event), data: raw } }]);
    await deliver(a);

    expect(calls).toHaveLength(1);
    expect(calls[0]?.body.endsWith(`,"data":${raw}}`)).toBe(true);
    expect(JSON.parse(calls[0]?.body ?? "").id).toBe(event.id);
  });

  it("sends a Standard Webhooks request: POST, cloudevents+json, webhook-id, fresh timestamp, verifiable signature, user-agent, target headers, CloudEvent body", async () => {
    const target = makeTarget(A, { headers: { "x-customer": "acme", Authorization: "Bearer customer-token" } });
    await putTarget(env.TARGETS, a, target);
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    await runBatch(consumerEnv().env, [{ body: eventMessage(event) }]);
    await deliver(a);

    expect(calls).toHaveLength(1);
    const [req] = calls;
    if (!req) throw new Error("no request");
    expect(req.method).toBe("POST");
    expect(req.redirect).toBe("manual");
    expect(req.headers.get("content-type")).toBe("application/cloudevents+json");
    expect(req.headers.get("webhook-id")).toBe(event.id);
    const timestamp = Number(req.headers.get("webhook-timestamp"));
    expect(Number.isInteger(timestamp)).toBe(true);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThanOrEqual(5);
    expect(req.headers.get("user-agent")).toMatch(/^imrelay\//);
    expect(req.headers.get("x-customer")).toBe("acme");
    expect(req.headers.get("authorization")).toBe("Bearer customer-token");
    expect(JSON.parse(req.body)).toEqual(event);
    const headers = {
      id: req.headers.get("webhook-id") ?? "",
      timestamp: req.headers.get("webhook-timestamp") ?? "",
      signature: req.headers.get("webhook-signature") ?? "",
    };
    expect(headers.signature).toMatch(/^v1,/);
    expect(await verify(target.secret, headers, req.body)).toBe(true);
  });

  it("signs each target's request with that target's own secret", async () => {
    const ta = makeTarget(A);
    const tb = makeTarget(B);
    await putTarget(env.TARGETS, a, ta);
    await putTarget(env.TARGETS, b, tb);
    const { calls } = stubFetch({ [A]: 200, [B]: 200 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);
    await deliver(a, b);

    const toHeaders = (h: Headers) => ({
      id: h.get("webhook-id") ?? "",
      timestamp: h.get("webhook-timestamp") ?? "",
      signature: h.get("webhook-signature") ?? "",
    });
    const reqA = calls.find((c) => c.url === A);
    const reqB = calls.find((c) => c.url === B);
    if (!reqA || !reqB) throw new Error("missing request");
    expect(await verify(ta.secret, toHeaders(reqA.headers), reqA.body)).toBe(true);
    expect(await verify(tb.secret, toHeaders(reqA.headers), reqA.body)).toBe(false);
    expect(await verify(tb.secret, toHeaders(reqB.headers), reqB.body)).toBe(true);
  });
});

describe("consumer: secret rotation", () => {
  const headersOf = (h: Headers) => ({
    id: h.get("webhook-id") ?? "",
    timestamp: h.get("webhook-timestamp") ?? "",
    signature: h.get("webhook-signature") ?? "",
  });

  it("signs with the new and the previous secret while the previous one is in its grace period", async () => {
    const old = makeTarget(A);
    const rotated = withRotatedSecret(old, generateSecret(), Date.now());
    await putTarget(env.TARGETS, a, rotated);
    const { calls } = stubFetch({ [A]: 200 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);
    await deliver(a);

    const req = calls[0];
    if (!req) throw new Error("no request");
    expect(req.headers.get("webhook-signature")?.split(" ")).toHaveLength(2);
    expect(await verify(rotated.secret, headersOf(req.headers), req.body)).toBe(true);
    expect(await verify(old.secret, headersOf(req.headers), req.body)).toBe(true);
  });

  it("stops signing with a previous secret once its grace period is over", async () => {
    const old = makeTarget(A);
    const rotated = withRotatedSecret(old, generateSecret(), Date.now() - (ROTATION_GRACE_SECONDS + 1) * 1000);
    await putTarget(env.TARGETS, a, rotated);
    const { calls } = stubFetch({ [A]: 200 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);
    await deliver(a);

    const req = calls[0];
    if (!req) throw new Error("no request");
    expect(req.headers.get("webhook-signature")?.split(" ")).toHaveLength(1);
    expect(await verify(old.secret, headersOf(req.headers), req.body)).toBe(false);
  });
});

describe("consumer: target filters", () => {
  async function deliveredUrls(event: CloudEvent): Promise<string[]> {
    const { calls } = stubFetch({ [A]: 200, [B]: 200 });
    const { result } = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);
    expect(result.explicitAcks).toEqual(["m1"]);
    await deliver(a, b);
    return calls.map((c) => c.url).sort();
  }

  it("delivers only to the target whose events glob matches the event type", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { events: ["im.message.*"] }));
    await putTarget(env.TARGETS, b, makeTarget(B, { events: ["im.group.*"] }));
    expect(await deliveredUrls(await makeEvent({ type: "im.message.sent" }))).toEqual([A]);
  });

  it("matches events globs against the providerevent as well", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { events: ["C2C.*"] }));
    await putTarget(env.TARGETS, b, makeTarget(B, { events: ["Group.*"] }));
    expect(
      await deliveredUrls(await makeEvent({ type: "im.message.sent", providerEvent: "C2C.CallbackAfterSendMsg" })),
    ).toEqual([A]);
  });

  it("routes past a target filter *a*a*…*ab against a 68-character type (a regex took 56 s), to the target that matches", async () => {
    const command = "a".repeat(60);
    await putTarget(env.TARGETS, a, makeTarget(A, { events: ["*a*a*a*a*a*a*a*a*a*a*a*a*a*ab"] }));
    await putTarget(env.TARGETS, b, makeTarget(B, { events: ["*a*a*a*a*a*a*a*a*a*a*a*a*a*a"] }));
    const event = await makeEvent({ type: `tencent.${command}`, providerEvent: command });
    expect(event.type).toHaveLength(68);
    expect(await deliveredUrls(event)).toEqual([B]);
  });

  it("skips a target whose providers list excludes the event's provider", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { providers: ["tencent"] }));
    await putTarget(env.TARGETS, b, makeTarget(B, { providers: ["netease"] }));
    expect(await deliveredUrls(await makeEvent({ provider: "tencent" }))).toEqual([A]);
  });

  it("skips a target whose apps list excludes the event's app", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { apps: [TENCENT_APP] }));
    await putTarget(env.TARGETS, b, makeTarget(B, { apps: ["1400009999"] }));
    expect(await deliveredUrls(await makeEvent({ appId: TENCENT_APP }))).toEqual([A]);
  });

  it("skips a disabled target", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    await putTarget(env.TARGETS, b, makeTarget(B, { enabled: false }));
    expect(await deliveredUrls(await makeEvent())).toEqual([A]);
  });

  it("acks an event no target wants, without any lane call, fetch or queue write", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { events: ["im.group.*"] }));
    const { calls: fetches } = stubFetch({ [A]: 200 });
    const { calls, env: testEnv } = recordingLanes();
    const { result } = await runBatch(testEnv, [
      { body: eventMessage(await makeEvent({ type: "im.message.sent" })), id: "m1" },
    ]);
    expect(calls).toHaveLength(0);
    expect(fetches).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
  });
});

describe("consumer: a lane that fails", () => {
  it("retries only the messages routed to the failing lane; the others are acked", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { events: ["e.one"] }));
    await putTarget(env.TARGETS, b, makeTarget(B, { events: ["e.two"] }));
    const { env: testEnv } = recordingLanes(new Set([b]));
    const one = await makeEvent({ type: "e.one" });
    const two = await makeEvent({ type: "e.two" });

    const { result, retryOptions } = await runBatch(testEnv, [
      { body: eventMessage(one), id: "m1" },
      { body: eventMessage(two), id: "m2" },
    ]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m2"]);
    expect(retryOptions.get("m2")).toEqual([{ delaySeconds: 30 }]);
    expect(result.retryBatch.retry).toBe(false);
  });

  it("retries an event whose second lane failed; on the retry the first lane ignores the copy and delivers once", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    await putTarget(env.TARGETS, b, makeTarget(B));
    const { calls: fetches } = stubFetch({ [A]: 200, [B]: 200 });
    const event = await makeEvent();

    const first = await runBatch(recordingLanes(new Set([b])).env, [{ body: eventMessage(event), id: "m1" }]);
    expect(first.result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    await deliver(a);
    const second = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1", attempts: 2 }]);
    expect(second.result.explicitAcks).toEqual(["m1"]);
    await deliver(a, b);

    expect(fetches.map((f) => f.url).sort()).toEqual([A, B]);
    expect((await lane(a).lookup(event.id))?.attempts).toHaveLength(1);
  });

  it("retries the whole batch when the targets cannot be read from KV, and resolves", async () => {
    const brokenKv = {
      ...env.TARGETS,
      list: () => Promise.reject(new Error("KV unavailable")),
    } as unknown as KVNamespace;
    const { calls } = stubFetch({});
    const { env: testEnv } = consumerEnv({ TARGETS: brokenKv });

    const run = runBatch(testEnv, [{ body: eventMessage(await makeEvent()), id: "m1" }]);

    await expect(run).resolves.toBeDefined();
    expect((await run).result.retryBatch.retry).toBe(true);
    expect(calls).toHaveLength(0);
  });
});

describe("consumer: subrequest budget", () => {
  it("adds further events for lanes already called to the same calls, at no extra subrequest", async () => {
    const ids = Array.from({ length: 6 }, () => uniqueTarget("s"));
    for (const id of ids) await putTarget(env.TARGETS, id, makeTarget(`https://${id}.example.test/`));
    const events = [await makeEvent(), await makeEvent(), await makeEvent()];
    const { calls, env: recording } = recordingLanes();
    // 10 = the target read (one list, one bulk get) + 8 lane calls; the 3 events need only the same 6.
    const testEnv = { ...recording, SUBREQUEST_BUDGET: "10" } as Env;

    const { result } = await runBatch(
      testEnv,
      events.map((e, i) => ({ body: eventMessage(e), id: `m${i}` })),
    );

    expect(result.explicitAcks.sort()).toEqual(["m0", "m1", "m2"]);
    expect(calls).toHaveLength(6);
    expect(calls.every((c) => c.events.length === 3)).toBe(true);
  });

  it("retries at once, with no lane call, a message whose lanes no longer fit the budget", async () => {
    const ids = Array.from({ length: 9 }, () => uniqueTarget("s"));
    for (const [i, id] of ids.entries())
      await putTarget(env.TARGETS, id, makeTarget(`https://${id}.example.test/`, { events: [i < 5 ? "e.0" : "e.1"] }));
    const first = await makeEvent({ type: "e.0" });
    const second = await makeEvent({ type: "e.1" });
    const { calls, env: recording } = recordingLanes();
    // 10 = the target read (2) + 8 lane calls: the 5 lanes of e.0 fit, then the 4 of e.1 do not.
    const testEnv = { ...recording, SUBREQUEST_BUDGET: "10" } as Env;

    const { result, retryOptions } = await runBatch(testEnv, [
      { body: eventMessage(first), id: "m0" },
      { body: eventMessage(second), id: "m1" },
    ]);

    expect(result.explicitAcks).toEqual(["m0"]);
    expect(retryOptions.get("m1")).toEqual([{ delaySeconds: 0 }]);
    expect(calls).toHaveLength(5);
    expect(calls.flatMap((c) => c.events)).not.toContain(second.id);
  });
});

describe("consumer: delivery messages (replays)", () => {
  it("re-delivers a replayed event to its target although the lane delivered it before", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();
    await runBatch(consumerEnv().env, [{ body: eventMessage(event) }]);
    await deliver(a);

    await runBatch(consumerEnv().env, [{ body: { ...deliveryMessage(event, a, 1), replay: "dl-1" } }]);
    await deliver(a);
    await runBatch(consumerEnv().env, [{ body: { ...deliveryMessage(event, a, 1), replay: "dl-1" } }]);
    await deliver(a);

    expect(calls).toHaveLength(2);
  });

  it("dead-letters a delivery message for a deleted target without fetching, and logs the dead letter's id", async () => {
    const { calls } = stubFetch({ [A]: 200 });
    const warn = vi.spyOn(console, "warn");
    const event = await makeEvent();

    const { result } = await runBatch(consumerEnv().env, [{ body: deliveryMessage(event, a, 1), id: "m1" }]);

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    const letters = await deadLetters(a);
    expect(letters).toMatchObject([{ kind: "delivery", target: a, lastError: "target deleted" }]);
    const line = warn.mock.calls.map(([l]) => JSON.parse(String(l))).find((l) => l.msg.includes("dead-lettered"));
    expect(line).toMatchObject({ eventId: event.id, target: a, deadLetter: letters[0]?.id });
  });

  it("dead-letters a delivery message for a disabled target without fetching", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A, { enabled: false }));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    const { result } = await runBatch(consumerEnv().env, [{ body: deliveryMessage(event, a, 2), id: "m1" }]);

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    const letters = await deadLetters(a);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: "delivery", target: a, lastError: "target disabled", ...split(event) });
  });
});

describe("consumer: messages it cannot read", () => {
  it("dead-letters a malformed queue message as kind malformed, acks it and never retries it", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const { env: testEnv, queue } = consumerEnv();

    const { result } = await runBatch(testEnv, [{ body: { foo: 1 }, id: "m1" }]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect(calls).toHaveLength(0);
    expect(queue.sent).toHaveLength(0);
    const letters = await deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.kind).toBe("malformed");
    expect(letters[0]?.id.startsWith("_malformed.")).toBe(true);
    expect(JSON.parse(letters[0]?.raw ?? "null")).toEqual({ foo: 1 });
  });

  it("treats an unknown version, an unknown kind, a bad target id and an invalid event as malformed", async () => {
    const event = await makeEvent();
    const bodies = [
      { v: 2, kind: "event", event },
      { v: 1, kind: "fanout", event },
      { v: 1, kind: "delivery", event, target: "../x", attempt: 1 },
      { v: 1, kind: "delivery", event, target: "a", attempt: 0 },
      { v: 1, kind: "event", event: { ...event, id: "not-an-id" } },
    ];
    await putTarget(env.TARGETS, a, makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });

    const { result } = await runBatch(
      consumerEnv().env,
      bodies.map((body, i) => ({ body, id: `m${i}` })),
    );

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks.sort()).toEqual(bodies.map((_, i) => `m${i}`).sort());
    expect((await deadLetters()).map((l) => l.kind)).toEqual(bodies.map(() => "malformed"));
  });
});

describe("consumer: the dead-letter queue", () => {
  it("stores a delivery message from the DLQ as a dead letter of its target, with no delivery attempt counted", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    const { result } = await runBatch(
      consumerEnv().env,
      [{ body: deliveryMessage(event, a, 2), attempts: 3, id: "m1" }],
      "imrelay-events-dlq",
    );

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(await deadLetters(a)).toMatchObject([{ kind: "delivery", target: a, attempts: 0, ...split(event) }]);
  });

  it("stores an event message from the DLQ as an event-level dead letter", async () => {
    await putTarget(env.TARGETS, a, makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    const { result } = await runBatch(
      consumerEnv().env,
      [{ body: eventMessage(event), id: "m1" }],
      "imrelay-events-dlq",
    );

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    const letters = await deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: "event", ...split(event) });
    expect(letters[0]?.target).toBeUndefined();
    expect(letters[0]?.id.startsWith("_event.")).toBe(true);
  });

  it("stores a malformed DLQ message as a malformed dead letter", async () => {
    const { result } = await runBatch(consumerEnv().env, [{ body: { foo: 1 }, id: "m1" }], "imrelay-events-dlq");

    expect(result.explicitAcks).toEqual(["m1"]);
    expect((await deadLetters()).map((l) => l.kind)).toEqual(["malformed"]);
  });
});

describe("consumer and lanes: logs", () => {
  it("never logs a target secret while routing, delivering, retrying, disabling or dead-lettering", async () => {
    const targets = { [a]: makeTarget(A), [b]: makeTarget(B) };
    for (const [id, t] of Object.entries(targets)) await putTarget(env.TARGETS, id, t);
    const spies = [
      vi.spyOn(console, "log"),
      vi.spyOn(console, "warn"),
      vi.spyOn(console, "error"),
      vi.spyOn(console, "info"),
      vi.spyOn(console, "debug"),
    ];
    stubFetch({ [A]: 503, [B]: 410 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }, { body: { foo: 1 } }]);
    await deliver(a, b);

    const logged = spies.flatMap((s) => s.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
    expect(logged).toContain("dead-lettered");
    for (const { secret } of Object.values(targets)) {
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(secret.slice("whsec_".length));
    }
  });
});
