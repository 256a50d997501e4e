import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getTarget, putTarget } from "../../src/config/store";
import { ROTATION_GRACE_SECONDS, withRotatedSecret } from "../../src/config/target";
import { generateSecret, verify } from "../../src/delivery/signature";
import type { CloudEvent } from "../../src/event";
import { MAX_DELAY_SECONDS } from "../../src/queue/backoff";
import { type DeadLetter, getDeadLetter, listDeadLetters } from "../../src/queue/dead-letters";
import type { DeliveryMessage } from "../../src/queue/message";
import { TENCENT_APP } from "../helpers/bindings";
import {
  clearKv,
  consumerEnv,
  deliveryMessage,
  eventMessage,
  hangUntilAborted,
  jitterBounds,
  makeEvent,
  makeTarget,
  runBatch,
  split,
  stubFetch,
} from "../helpers/consumer-harness";

const A = "https://a.example.test/hook";
const B = "https://b.example.test/hook";
/** The test bindings' RETRY_SCHEDULE_SECONDS. */
const SCHEDULE = [1, 2, 3];

async function deadLetters(target?: string): Promise<DeadLetter[]> {
  const page = await listDeadLetters(env.TARGETS, { target, limit: 1000 });
  const letters = await Promise.all(page.items.map((item) => getDeadLetter(env.TARGETS, item.id)));
  return letters.filter((l): l is DeadLetter => l !== undefined);
}

const sentDeliveries = (queue: { sent: { body: unknown; options?: QueueSendOptions }[] }) =>
  queue.sent.map((s) => ({
    message: s.body as DeliveryMessage,
    delaySeconds: (s.options as { delaySeconds?: number } | undefined)?.delaySeconds,
  }));

beforeEach(async () => {
  await clearKv(env.TARGETS);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("consumer: fan-out of an event message", () => {
  it("POSTs an event once to each of two matching targets, acks it and writes nothing to the queue", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    await putTarget(env.TARGETS, "b", makeTarget(B));
    const { calls } = stubFetch({ [A]: 200, [B]: 204 });
    const { env: testEnv, queue } = consumerEnv();
    const event = await makeEvent();

    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);

    expect(calls.map((c) => c.url).sort()).toEqual([A, B]);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect(queue.sent).toHaveLength(0);
  });

  it("delivers data byte for byte as the provider sent it: a 64-bit integer keeps every digit", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();
    const raw = '{"eventType":36,"msgId":184409700039655569, "nick":"空格"}';
    const message = { ...eventMessage(event), data: raw };

    await runBatch(consumerEnv().env, [{ body: message }]);

    expect(calls).toHaveLength(1);
    expect(calls[0]?.body.endsWith(`,"data":${raw}}`)).toBe(true);
    expect(JSON.parse(calls[0]?.body ?? "").id).toBe(event.id);
  });

  it("sends a Standard Webhooks request: POST, cloudevents+json, webhook-id, fresh timestamp, verifiable signature, user-agent, target headers, CloudEvent body", async () => {
    const target = makeTarget(A, { headers: { "x-customer": "acme", Authorization: "Bearer customer-token" } });
    await putTarget(env.TARGETS, "a", target);
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    await runBatch(consumerEnv().env, [{ body: eventMessage(event) }]);

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
    const a = makeTarget(A);
    const b = makeTarget(B);
    await putTarget(env.TARGETS, "a", a);
    await putTarget(env.TARGETS, "b", b);
    const { calls } = stubFetch({ [A]: 200, [B]: 200 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);

    const toHeaders = (h: Headers) => ({
      id: h.get("webhook-id") ?? "",
      timestamp: h.get("webhook-timestamp") ?? "",
      signature: h.get("webhook-signature") ?? "",
    });
    const reqA = calls.find((c) => c.url === A);
    const reqB = calls.find((c) => c.url === B);
    if (!reqA || !reqB) throw new Error("missing request");
    expect(await verify(a.secret, toHeaders(reqA.headers), reqA.body)).toBe(true);
    expect(await verify(b.secret, toHeaders(reqA.headers), reqA.body)).toBe(false);
    expect(await verify(b.secret, toHeaders(reqB.headers), reqB.body)).toBe(true);
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
    await putTarget(env.TARGETS, "a", rotated);
    const { calls } = stubFetch({ [A]: 200 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);

    const req = calls[0];
    if (!req) throw new Error("no request");
    expect(req.headers.get("webhook-signature")?.split(" ")).toHaveLength(2);
    expect(await verify(rotated.secret, headersOf(req.headers), req.body)).toBe(true);
    expect(await verify(old.secret, headersOf(req.headers), req.body)).toBe(true);
  });

  it("stops signing with a previous secret once its grace period is over", async () => {
    const old = makeTarget(A);
    const rotated = withRotatedSecret(old, generateSecret(), Date.now() - (ROTATION_GRACE_SECONDS + 1) * 1000);
    await putTarget(env.TARGETS, "a", rotated);
    const { calls } = stubFetch({ [A]: 200 });

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);

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
    return calls.map((c) => c.url).sort();
  }

  it("delivers only to the target whose events glob matches the event type", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { events: ["im.message.*"] }));
    await putTarget(env.TARGETS, "b", makeTarget(B, { events: ["im.group.*"] }));
    expect(await deliveredUrls(await makeEvent({ type: "im.message.sent" }))).toEqual([A]);
  });

  it("matches events globs against the providerevent as well", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { events: ["C2C.*"] }));
    await putTarget(env.TARGETS, "b", makeTarget(B, { events: ["Group.*"] }));
    expect(
      await deliveredUrls(await makeEvent({ type: "im.message.sent", providerEvent: "C2C.CallbackAfterSendMsg" })),
    ).toEqual([A]);
  });

  it("skips a target whose providers list excludes the event's provider", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { providers: ["tencent"] }));
    await putTarget(env.TARGETS, "b", makeTarget(B, { providers: ["netease"] }));
    expect(await deliveredUrls(await makeEvent({ provider: "tencent" }))).toEqual([A]);
  });

  it("skips a target whose apps list excludes the event's app", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { apps: [TENCENT_APP] }));
    await putTarget(env.TARGETS, "b", makeTarget(B, { apps: ["1400009999"] }));
    expect(await deliveredUrls(await makeEvent({ appId: TENCENT_APP }))).toEqual([A]);
  });

  it("skips a disabled target", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    await putTarget(env.TARGETS, "b", makeTarget(B, { enabled: false }));
    expect(await deliveredUrls(await makeEvent())).toEqual([A]);
  });

  it("acks an event no target wants, without any fetch or queue write", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { events: ["im.group.*"] }));
    const { calls } = stubFetch({ [A]: 200 });
    const { env: testEnv, queue } = consumerEnv();
    const { result } = await runBatch(testEnv, [
      { body: eventMessage(await makeEvent({ type: "im.message.sent" })), id: "m1" },
    ]);
    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(queue.sent).toHaveLength(0);
  });
});

describe("consumer: failures and retries", () => {
  it("re-enqueues only the failed target when one of two targets answers 503", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    await putTarget(env.TARGETS, "b", makeTarget(B));
    stubFetch({ [A]: 200, [B]: 503 });
    const { env: testEnv, queue } = consumerEnv();
    const event = await makeEvent();

    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    const sent = sentDeliveries(queue);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.message).toEqual(deliveryMessage(event, "b", 2));
    const [low, high] = jitterBounds(SCHEDULE[0] as number);
    expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(low);
    expect(sent[0]?.delaySeconds).toBeLessThanOrEqual(high);
    expect(queue.sent[0]?.options).toMatchObject({ contentType: "text" });
  });

  it("retries a failing delivery message in place with the next scheduled delay and writes nothing to the queue", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    const { calls } = stubFetch({ [A]: 503 });
    const { env: testEnv, queue } = consumerEnv({ RETRY_SCHEDULE_SECONDS: "10,100,1000" });
    const event = await makeEvent();

    const { result, retryOptions } = await runBatch(testEnv, [
      { body: deliveryMessage(event, "a", 2), attempts: 1, id: "m1" },
    ]);

    expect(calls).toHaveLength(1);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    expect(result.explicitAcks).toEqual([]);
    expect(queue.sent).toHaveLength(0);
    const delays = retryOptions.get("m1") ?? [];
    expect(delays).toHaveLength(1);
    const [low, high] = jitterBounds(100);
    expect(delays[0]?.delaySeconds).toBeGreaterThanOrEqual(low);
    expect(delays[0]?.delaySeconds).toBeLessThanOrEqual(high);
  });

  it("re-sends a failing delivery as a fresh message when an in-place retry would outlive the queue's retention", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 503 });
    const { env: testEnv, queue } = consumerEnv({
      RETRY_SCHEDULE_SECONDS: "10,3600,3600",
      QUEUE_RETENTION_SECONDS: "86400",
    });
    const event = await makeEvent();
    // First sent 22.5 h ago: 22.5 h + ≥ 0.8 h of delay passes 23 h, the 24 h retention less its 1 h margin.
    const timestamp = new Date(Date.now() - 22.5 * 3600 * 1000);

    const { result } = await runBatch(testEnv, [
      { body: deliveryMessage(event, "a", 2), attempts: 1, id: "m1", timestamp },
    ]);

    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual(["m1"]);
    const sent = sentDeliveries(queue);
    expect(sent.map((d) => d.message)).toEqual([deliveryMessage(event, "a", 3)]);
    const [low, high] = jitterBounds(3600);
    expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(low);
    expect(sent[0]?.delaySeconds).toBeLessThanOrEqual(high);
  });

  it("counts a delivery message's redeliveries (msg.attempts) in its attempt number", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 503 });
    const { env: testEnv } = consumerEnv({ RETRY_SCHEDULE_SECONDS: "10,100,1000" });

    // Enqueued as attempt 2 and now read for the second time: this is attempt 3, delayed by the third entry.
    const { retryOptions } = await runBatch(testEnv, [
      { body: deliveryMessage(await makeEvent(), "a", 2), attempts: 2, id: "m1" },
    ]);

    const [low, high] = jitterBounds(1000);
    const delay = retryOptions.get("m1")?.[0]?.delaySeconds;
    expect(delay).toBeGreaterThanOrEqual(low);
    expect(delay).toBeLessThanOrEqual(high);
  });

  it("dead-letters a delivery message whose redeliveries take it past the last scheduled attempt", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 503 });
    const { env: testEnv } = consumerEnv();

    // attempt 3, read for the second time → attempt 4 = schedule length + 1, the last one.
    const { result } = await runBatch(testEnv, [
      { body: deliveryMessage(await makeEvent(), "a", 3), attempts: 2, id: "m1" },
    ]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    const letters = await deadLetters("a");
    expect(letters).toHaveLength(1);
    expect(letters[0]?.attempts).toBe(SCHEDULE.length + 1);
  });

  it("waits at least Retry-After seconds when a 429 asks for longer than the schedule", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: () => new Response(null, { status: 429, headers: { "retry-after": "2" } }) });
    const { env: testEnv, queue } = consumerEnv();

    await runBatch(testEnv, [{ body: eventMessage(await makeEvent()) }]);

    const sent = sentDeliveries(queue);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(2);
    expect(sent[0]?.delaySeconds).toBeLessThanOrEqual(3);
  });

  it("honours Retry-After on an in-place retry of a delivery message", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: () => new Response(null, { status: 429, headers: { "retry-after": "30" } }) });

    const { retryOptions } = await runBatch(consumerEnv().env, [
      { body: deliveryMessage(await makeEvent(), "a", 2), id: "m1" },
    ]);

    expect(retryOptions.get("m1")?.[0]?.delaySeconds).toBe(30);
  });

  it("honours Retry-After given as an HTTP-date", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000).toUTCString();
    stubFetch({ [A]: () => new Response(null, { status: 503, headers: { "retry-after": at } }) });
    const { env: testEnv, queue } = consumerEnv();

    await runBatch(testEnv, [{ body: eventMessage(await makeEvent()) }]);

    const delay = sentDeliveries(queue)[0]?.delaySeconds;
    expect(delay).toBeGreaterThanOrEqual(58);
    expect(delay).toBeLessThanOrEqual(61);
  });

  it("clamps a Retry-After beyond 12 hours to 43200 seconds", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: () => new Response(null, { status: 429, headers: { "retry-after": "999999" } }) });
    const { env: testEnv, queue } = consumerEnv();

    await runBatch(testEnv, [{ body: eventMessage(await makeEvent()) }]);

    expect(MAX_DELAY_SECONDS).toBe(43200);
    expect(sentDeliveries(queue)[0]?.delaySeconds).toBe(43200);
  });

  it("dead-letters the last failed attempt with its status, error, attempt count and event, and acks it", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 503 });
    const { env: testEnv, queue } = consumerEnv();
    const event = await makeEvent();
    const last = SCHEDULE.length + 1;

    const { result } = await runBatch(testEnv, [{ body: deliveryMessage(event, "a", last), id: "m1" }]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(queue.sent).toHaveLength(0);
    const letters = await deadLetters("a");
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      kind: "delivery",
      target: "a",
      lastStatus: 503,
      lastError: "HTTP 503",
      attempts: last,
      ...split(event),
    });
  });

  it("still retries the attempt before the last one", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 503 });

    const { result } = await runBatch(consumerEnv().env, [
      { body: deliveryMessage(await makeEvent(), "a", SCHEDULE.length), id: "m1" },
    ]);

    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    expect(await deadLetters()).toHaveLength(0);
  });

  it("disables a target that answers 410 Gone and acks the event without retrying", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 410 });
    const { env: testEnv, queue } = consumerEnv();

    const { result } = await runBatch(testEnv, [{ body: eventMessage(await makeEvent()), id: "m1" }]);

    const stored = await getTarget(env.TARGETS, "a");
    expect(stored?.enabled).toBe(false);
    expect(stored?.disabledReason).toMatch(/410/);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(queue.sent).toHaveLength(0);
  });

  it("disables a target that answers 410 to a delivery message and acks it instead of retrying in place", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: 410 });

    const { result } = await runBatch(consumerEnv().env, [
      { body: deliveryMessage(await makeEvent(), "a", 2), id: "m1" },
    ]);

    expect((await getTarget(env.TARGETS, "a"))?.enabled).toBe(false);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
  });

  it("retries a delivery that outlasts the target's timeoutMs, classified as a timeout", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { timeoutMs: 100 }));
    stubFetch({ [A]: hangUntilAborted });
    const { env: testEnv, queue } = consumerEnv();
    const event = await makeEvent();
    const warn = vi.spyOn(console, "warn");

    const started = Date.now();
    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);

    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(sentDeliveries(queue).map((s) => s.message)).toEqual([deliveryMessage(event, "a", 2)]);
    const lines = warn.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
    expect(lines.some((l) => l.msg === "delivery failed; will retry" && l.reason === "timeout")).toBe(true);
  });

  it("records a timed-out last attempt as lastError timeout", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { timeoutMs: 100 }));
    stubFetch({ [A]: hangUntilAborted });

    await runBatch(consumerEnv().env, [{ body: deliveryMessage(await makeEvent(), "a", SCHEDULE.length + 1) }]);

    const letters = await deadLetters("a");
    expect(letters).toHaveLength(1);
    expect(letters[0]?.lastError).toBe("timeout");
    expect(letters[0]?.lastStatus).toBeUndefined();
  });

  it("retries a delivery whose fetch rejects with a connection error", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: () => Promise.reject(new TypeError("Network connection lost.")) });
    const { env: testEnv, queue } = consumerEnv();
    const event = await makeEvent();

    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(sentDeliveries(queue).map((s) => s.message)).toEqual([deliveryMessage(event, "a", 2)]);
  });

  it("records a connection error on the last attempt as a network error", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    stubFetch({ [A]: () => Promise.reject(new TypeError("Network connection lost.")) });

    await runBatch(consumerEnv().env, [{ body: deliveryMessage(await makeEvent(), "a", SCHEDULE.length + 1) }]);

    const letters = await deadLetters("a");
    expect(letters[0]?.lastError).toBe("network: Network connection lost.");
  });

  it("retries a 3xx redirect instead of following it", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    const { calls } = stubFetch({ [A]: () => new Response(null, { status: 302, headers: { location: B } }) });
    const { env: testEnv, queue } = consumerEnv();

    await runBatch(testEnv, [{ body: eventMessage(await makeEvent()) }]);

    expect(calls.map((c) => c.url)).toEqual([A]);
    expect(sentDeliveries(queue)).toHaveLength(1);
  });
});

describe("consumer: messages it cannot deliver", () => {
  it("dead-letters a malformed queue message as kind malformed, acks it and never retries it", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
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
    await putTarget(env.TARGETS, "a", makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });

    const { result } = await runBatch(
      consumerEnv().env,
      bodies.map((body, i) => ({ body, id: `m${i}` })),
    );

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks.sort()).toEqual(bodies.map((_, i) => `m${i}`).sort());
    expect((await deadLetters()).map((l) => l.kind)).toEqual(bodies.map(() => "malformed"));
  });

  it("acks a delivery message for a deleted target without fetching", async () => {
    const { calls } = stubFetch({ [A]: 200 });
    const { env: testEnv, queue } = consumerEnv();

    const { result } = await runBatch(testEnv, [{ body: deliveryMessage(await makeEvent(), "gone", 2), id: "m1" }]);

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(queue.sent).toHaveLength(0);
    expect(await deadLetters()).toHaveLength(0);
  });

  it("dead-letters a delivery message for a disabled target without fetching", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { enabled: false }));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    const { result } = await runBatch(consumerEnv().env, [{ body: deliveryMessage(event, "a", 2), id: "m1" }]);

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    const letters = await deadLetters("a");
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: "delivery", target: "a", ...split(event) });
  });
});

describe("consumer: subrequest budget", () => {
  const ids = Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
  const url = (id: string) => `https://${id}.example.test/hook`;

  it("delivers to at most SUBREQUEST_BUDGET targets and re-enqueues the rest at once as attempt-1 deliveries", async () => {
    for (const id of ids) await putTarget(env.TARGETS, id, makeTarget(url(id)));
    const { calls } = stubFetch(Object.fromEntries(ids.map((id) => [url(id), 200])));
    const { env: testEnv, queue } = consumerEnv({ SUBREQUEST_BUDGET: "10" });
    const event = await makeEvent();

    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);

    // The target read (2 KV operations) and the follow-up send count too: 10 - 3 = 7 deliveries now.
    expect(calls.length).toBe(7);
    const fetched = calls.map((c) => new URL(c.url).hostname.split(".")[0]);
    const deferred = sentDeliveries(queue);
    expect(deferred).toHaveLength(ids.length - calls.length);
    for (const d of deferred) {
      expect(d.message).toMatchObject({ kind: "delivery", attempt: 1, ...split(event) });
      expect(d.delaySeconds).toBe(0);
    }
    expect([...fetched, ...deferred.map((d) => d.message.target)].sort()).toEqual(ids);
    expect(result.explicitAcks).toEqual(["m1"]);
  });

  it("re-sends a delivery message that finds the budget spent, with delay 0 and its attempt number, and acks it unfetched", async () => {
    const ten = ids.slice(0, 10);
    for (const id of ids.slice(0, 11))
      await putTarget(env.TARGETS, id, makeTarget(url(id), { events: id === "t11" ? ["nothing"] : undefined }));
    const { calls } = stubFetch(Object.fromEntries(ids.map((id) => [url(id), 200])));
    // 13 = 10 deliveries + the target read (one list, one bulk get) + the follow-up send.
    const { env: testEnv, queue } = consumerEnv({ SUBREQUEST_BUDGET: "13" });
    const event = await makeEvent();
    const retried = await makeEvent();

    const { result } = await runBatch(testEnv, [
      { body: eventMessage(event), id: "m0" },
      // Enqueued as attempt 2 and read for the second time: it would have made attempt 3.
      { body: deliveryMessage(retried, "t11", 2), attempts: 2, id: "m1" },
    ]);

    expect(calls.map((c) => new URL(c.url).hostname.split(".")[0]).sort()).toEqual(ten);
    expect(sentDeliveries(queue)).toEqual([{ message: deliveryMessage(retried, "t11", 3), delaySeconds: 0 }]);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
    expect(result.retryMessages).toEqual([]);
  });

  it("retries the event that no longer fits the budget, with no fetch made for it", async () => {
    const four = ids.slice(0, 4);
    for (const id of four) await putTarget(env.TARGETS, id, makeTarget(url(id)));
    const { calls } = stubFetch(Object.fromEntries(four.map((id) => [url(id), 200])));
    // 13 = 10 deliveries + the target read (one list, one bulk get) + the follow-up send.
    const { env: testEnv, queue } = consumerEnv({ SUBREQUEST_BUDGET: "13" });
    const events = [await makeEvent(), await makeEvent(), await makeEvent()];

    const { result } = await runBatch(
      testEnv,
      events.map((e, i) => ({ body: eventMessage(e), id: `m${i}` })),
    );

    expect(calls.length).toBeLessThanOrEqual(10);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m2"]);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
    const idsFetched = calls.map((c) => c.headers.get("webhook-id"));
    expect(idsFetched.filter((id) => id === events[0]?.id)).toHaveLength(4);
    expect(idsFetched.filter((id) => id === events[1]?.id)).toHaveLength(4);
    expect(idsFetched).not.toContain(events[2]?.id);
    expect(queue.sent).toHaveLength(0);
  });
});

describe("consumer: connections", () => {
  it("keeps at most 6 deliveries in flight at once", async () => {
    const ids = Array.from({ length: 9 }, (_, i) => `c${i}`);
    const url = (id: string) => `https://${id}.example.test/hook`;
    for (const id of ids) await putTarget(env.TARGETS, id, makeTarget(url(id)));
    let inFlight = 0;
    let peak = 0;
    const slow = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return new Response(null, { status: 200 });
    };
    const { calls } = stubFetch(Object.fromEntries(ids.map((id) => [url(id), slow])));

    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);

    expect(calls).toHaveLength(ids.length);
    expect(peak).toBe(6);
  });
});

describe("consumer: never throws", () => {
  it("retries (does not ack) the event message when re-enqueueing its failed deliveries fails, and resolves", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    await putTarget(env.TARGETS, "b", makeTarget(B));
    stubFetch({ [A]: 200, [B]: 503 });
    const { env: testEnv, queue } = consumerEnv();
    queue.failWith = new Error("queue unavailable");

    const run = runBatch(testEnv, [{ body: eventMessage(await makeEvent()), id: "m1" }]);

    await expect(run).resolves.toBeDefined();
    const { result } = await run;
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    expect(result.explicitAcks).toEqual([]);
  });

  it("still acks a fully delivered message in the same batch when re-enqueueing another message's failure fails", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { events: ["im.message.sent"] }));
    await putTarget(env.TARGETS, "b", makeTarget(B, { events: ["im.group.created"] }));
    stubFetch({ [A]: 200, [B]: 503 });
    const { env: testEnv, queue } = consumerEnv();
    queue.failWith = new Error("queue unavailable");
    const delivered = await makeEvent({ type: "im.message.sent" });
    const failing = await makeEvent({ type: "im.group.created" });

    const { result } = await runBatch(testEnv, [
      { body: eventMessage(delivered), id: "ok" },
      { body: eventMessage(failing), id: "failed" },
    ]);

    // Retrying "ok" would re-deliver to A, which already has the event, for no reason.
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["failed"]);
    expect(result.explicitAcks).toEqual(["ok"]);
  });

  it("retries the whole batch when the targets cannot be read from KV, and resolves", async () => {
    const brokenKv = {
      ...env.TARGETS,
      list: () => Promise.reject(new Error("KV unavailable")),
    } as unknown as KVNamespace;
    const { calls } = stubFetch({});
    const { env: testEnv } = consumerEnv({ TARGETS: brokenKv });

    const { result } = await runBatch(testEnv, [{ body: eventMessage(await makeEvent()), id: "m1" }]);

    expect(result.retryBatch.retry).toBe(true);
    expect(calls).toHaveLength(0);
  });
});

describe("consumer: a failed outcome write", () => {
  it("retries only the message whose 410-disable write fails; the delivered message in the batch stays acked", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A, { events: ["e.one"] }));
    await putTarget(env.TARGETS, "b", makeTarget(B, { events: ["e.two"] }));
    stubFetch({ [A]: 200, [B]: 410 });
    const kv = env.TARGETS;
    const failingPuts = new Proxy(kv, {
      get: (target, prop) =>
        prop === "put" ? () => Promise.reject(new Error("KV write failed")) : Reflect.get(target, prop).bind(target),
    });
    const { env: testEnv } = consumerEnv({ TARGETS: failingPuts });
    const one = await makeEvent({ type: "e.one" });
    const two = await makeEvent({ type: "e.two" });

    const { result } = await runBatch(testEnv, [
      { body: eventMessage(one), id: "m1" },
      { body: eventMessage(two), id: "m2" },
    ]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m2"]);
    expect(result.retryBatch.retry).toBe(false);
  });
});

describe("consumer: the dead-letter queue", () => {
  it("stores a delivery message from the DLQ as a dead letter of its target", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
    const { calls } = stubFetch({ [A]: 200 });
    const event = await makeEvent();

    const { result } = await runBatch(
      consumerEnv().env,
      [{ body: deliveryMessage(event, "a", 2), attempts: 3, id: "m1" }],
      "imrelay-events-dlq",
    );

    expect(calls).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["m1"]);
    const letters = await deadLetters("a");
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: "delivery", target: "a", ...split(event) });
  });

  it("stores an event message from the DLQ as an event-level dead letter", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(A));
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

describe("consumer: logs", () => {
  it("never logs a target secret while delivering, retrying, disabling or dead-lettering", async () => {
    const targets = { a: makeTarget(A), b: makeTarget(B) };
    await putTarget(env.TARGETS, "a", targets.a);
    await putTarget(env.TARGETS, "b", targets.b);
    const spies = [
      vi.spyOn(console, "log"),
      vi.spyOn(console, "warn"),
      vi.spyOn(console, "error"),
      vi.spyOn(console, "info"),
      vi.spyOn(console, "debug"),
    ];
    stubFetch({ [A]: 503, [B]: 410 });

    await runBatch(consumerEnv().env, [
      { body: eventMessage(await makeEvent()) },
      { body: deliveryMessage(await makeEvent(), "a", SCHEDULE.length + 1) },
      { body: { foo: 1 } },
    ]);

    const logged = spies.flatMap((s) => s.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
    expect(logged.length).toBeGreaterThan(0);
    for (const { secret } of Object.values(targets)) {
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(secret.slice("whsec_".length));
    }
  });
});
