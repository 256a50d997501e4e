import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type EventEnvelope, serializeEvent } from "../../src/event";
import { MAX_BODY_BYTES } from "../../src/ingress/body";
import type { Lane } from "../../src/lanes/lane";
import { outboxStub } from "../../src/outbox/route";
import { MAX_MESSAGE_BYTES, utf8Bytes } from "../../src/queue/message";
import { adminClient } from "../helpers/admin-client";
import { asDelivered, relayWithFakeQueue } from "../helpers/app";
import { clearKv, consumerEnv, makeEvent, runBatch, split, stubFetch } from "../helpers/consumer-harness";
import type { Sent } from "../helpers/fake-queue";
import { deadLetters, settle, setupTarget } from "../helpers/lanes";
import { clearOutboxes, drainNow, outboxPending, recordDrains, unreachableOutbox } from "../helpers/outbox";
import { neteaseRequest, tencentRequest } from "../helpers/requests";

/**
 * Item 1 of issue 11: an authentic callback of up to 1 MiB is accepted and delivered byte for byte. The body
 * travels unescaped in a v2 text message; one too big for a queue message goes to R2 (`BODIES`), the message
 * carrying its key, and the consumer reads it back before handing the event to lanes.
 */

const COMMAND = "C2C.CallbackAfterSendMsg";

/**
 * A Tencent text message of about `bytes` bytes whose text is all double quotes: each is two bytes (`\"`) in the
 * body, and would be four inside a JSON string.
 */
function quoteHeavy(bytes: number): string {
  const text = '"'.repeat(Math.floor((bytes - 160) / 2));
  return JSON.stringify({
    CallbackCommand: COMMAND,
    From_Account: "alice",
    To_Account: "bob",
    MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
  });
}

/**
 * A NetEase body of exactly `bytes` UTF-8 bytes, padded with `filler` (JSON string content), with a 64-bit integer
 * a JSON round trip would change.
 */
function neteaseBody(bytes: number, filler = "x"): string {
  const head = '{"eventType":36,"msgId":184409700039655569,"note":"空格 \\" \\\\ é","pad":"';
  const tail = '"}';
  const room = bytes - utf8Bytes(head + tail);
  const pad = filler.repeat(Math.floor(room / utf8Bytes(filler)));
  const body = `${head}${pad}${"x".repeat(room - utf8Bytes(pad))}${tail}`;
  expect(utf8Bytes(body)).toBe(bytes);
  JSON.parse(body);
  return body;
}

/** The R2 object of a message that references its body. */
function refOf(sent: Sent | undefined): { key: string; bytes: number } {
  const ref = (sent?.body as { ref?: { key: string; bytes: number } } | undefined)?.ref;
  if (!ref) throw new Error("the message carries its body inline");
  return ref;
}

/** The envelope of a recorded message. */
function envelopeOf(sent: Sent | undefined): EventEnvelope {
  const event = (sent?.body as { event?: EventEnvelope } | undefined)?.event;
  if (!event) throw new Error("no message recorded");
  return event;
}

beforeEach(async () => {
  await clearKv(env.TARGETS);
  await clearOutboxes();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await clearOutboxes();
});

describe("bodies: inline in a v2 text message", () => {
  it("accepts a 90 KB quote-heavy callback and enqueues it inline, unescaped, without touching R2", async () => {
    const body = quoteHeavy(90_000);
    const put = vi.spyOn(env.BODIES, "put");
    const relay = relayWithFakeQueue();

    const res = await relay.fetch(await tencentRequest(body));

    expect(res.status).toBe(200);
    const [sent] = relay.queue.sent;
    expect((sent?.body as { data?: string } | undefined)?.data).toBe(body);
    expect(typeof sent?.raw).toBe("string");
    expect(String(sent?.raw).endsWith(`\n${body}`)).toBe(true);
    expect(utf8Bytes(String(sent?.raw))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    // The same event as v1 JSON (data escaped inside a string) would not have fitted a queue message.
    expect(JSON.stringify({ v: 1, kind: "event", event: envelopeOf(sent), data: body }).length).toBeGreaterThan(
      128_000,
    );
    expect(put).not.toHaveBeenCalled();
  });

  it("delivers a 90 KB quote-heavy callback byte for byte", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const body = quoteHeavy(90_000);
    const relay = relayWithFakeQueue();
    await relay.fetch(await tencentRequest(body));

    await runBatch(consumerEnv().env, [{ body: relay.queue.sent[0]?.raw }]);
    await settle(t.stub);

    expect(calls.map((c) => c.body)).toEqual([asDelivered(envelopeOf(relay.queue.sent[0]), body)]);
  });

  it("still reads a v1 message (JSON text) queued before the upgrade, and delivers its data byte for byte", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const event = await makeEvent();
    const data = '{"CallbackCommand":"C2C.CallbackAfterSendMsg","MsgSeq":184409700039655569,"t":"a\\"b"}';
    const v1 = JSON.stringify({ v: 1, kind: "event", event: split(event).event, data });

    const { result } = await runBatch(consumerEnv().env, [{ body: v1, id: "m1" }]);
    await settle(t.stub);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(calls.map((c) => c.body)).toEqual([serializeEvent(split(event).event, data)]);
  });
});

describe("bodies: too big for a queue message, through R2", () => {
  it("puts a 500 KB callback's body in R2 and enqueues a small message that references it", async () => {
    const body = neteaseBody(500_000, "空");
    const relay = relayWithFakeQueue();

    const res = await relay.fetch(await neteaseRequest(body, { channel: "cc" }));

    expect(res.status).toBe(200);
    const [sent] = relay.queue.sent;
    const ref = refOf(sent);
    expect(ref.key.startsWith(`${res.headers.get("x-imrelay-event-id")}/`)).toBe(true);
    expect(ref.bytes).toBe(500_000);
    expect(utf8Bytes(String(sent?.raw))).toBeLessThan(2_000);
    expect(await (await env.BODIES.get(ref.key))?.text()).toBe(body);
  });

  it("delivers a 500 KB callback byte for byte through R2 and the lane, then deletes its R2 object", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const body = neteaseBody(500_000, 'a\\n\\"');
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(body, { channel: "cc" }));
    const [sent] = relay.queue.sent;

    const { result } = await runBatch(consumerEnv().env, [{ body: sent?.raw, id: "m1" }]);
    await settle(t.stub);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toBe(asDelivered(envelopeOf(sent), body));
    expect(calls[0]?.body).toContain('"msgId":184409700039655569');
    expect(await env.BODIES.get(refOf(sent).key)).toBeNull();
  });

  it("accepts a callback of exactly 1 MiB and delivers it", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const body = neteaseBody(MAX_BODY_BYTES);
    const relay = relayWithFakeQueue();

    const res = await relay.fetch(await neteaseRequest(body, { channel: "callback" }));
    await runBatch(consumerEnv().env, [{ body: relay.queue.sent[0]?.raw }]);
    await settle(t.stub);

    expect(res.status).toBe(200);
    expect(calls[0]?.body).toBe(asDelivered(envelopeOf(relay.queue.sent[0]), body));
  });

  it("refuses a callback of 1 MiB + 1 byte with 413 PAYLOAD_TOO_LARGE in each provider's format, storing nothing", async () => {
    const put = vi.spyOn(env.BODIES, "put");
    const relay = relayWithFakeQueue();

    const ne = await relay.fetch(await neteaseRequest(neteaseBody(MAX_BODY_BYTES + 1), { channel: "cc" }));
    const pad = "x".repeat(MAX_BODY_BYTES + 1 - utf8Bytes(JSON.stringify({ CallbackCommand: COMMAND, pad: "" })));
    const tc = await relay.fetch(await tencentRequest(JSON.stringify({ CallbackCommand: COMMAND, pad })));

    expect(ne.status).toBe(413);
    expect(((await ne.json()) as { desc: string }).desc).toMatch(/^PAYLOAD_TOO_LARGE/);
    expect(tc.status).toBe(413);
    expect(await tc.json()).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 41301 });
    expect(relay.queue.sent).toHaveLength(0);
    expect(put).not.toHaveBeenCalled();
    expect(await outboxPending()).toBe(0);
  });

  it("retries the message, delivering nothing and keeping the object, when R2 fails to read the body; the retry delivers once", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(neteaseBody(300_000), { channel: "cc" }));
    const [sent] = relay.queue.sent;
    vi.spyOn(env.BODIES, "get").mockRejectedValueOnce(new Error("R2 unavailable"));

    const first = await runBatch(consumerEnv().env, [{ body: sent?.raw, id: "m1" }]);
    await settle(t.stub);

    expect(first.result.explicitAcks).toEqual([]);
    expect(first.retryOptions.get("m1")).toEqual([{ delaySeconds: 30 }]);
    expect(await t.stub.lookup(envelopeOf(sent).id)).toBeUndefined();
    expect(calls).toHaveLength(0);
    expect(await env.BODIES.head(refOf(sent).key)).not.toBeNull();

    const second = await runBatch(consumerEnv().env, [{ body: sent?.raw, id: "m1" }]);
    await settle(t.stub);

    expect(second.result.explicitAcks).toEqual(["m1"]);
    expect(calls).toHaveLength(1);
  });

  it("keeps the object while a lane call fails, and deletes it once the retried message reached every lane", async () => {
    const t = await setupTarget();
    stubFetch({ [t.url]: 200 });
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(neteaseBody(200_000), { channel: "cc" }));
    const [sent] = relay.queue.sent;
    const accept = vi.spyOn(env.LANES, "get");
    accept.mockImplementationOnce(() => ({ accept: () => Promise.reject(new Error("lane unavailable")) }) as never);

    const first = await runBatch(consumerEnv().env, [{ body: sent?.raw, id: "m1" }]);
    expect(first.result.explicitAcks).toEqual([]);
    expect(await env.BODIES.head(refOf(sent).key)).not.toBeNull();

    await runBatch(consumerEnv().env, [{ body: sent?.raw, id: "m1" }]);
    await settle(t.stub);
    expect(await env.BODIES.head(refOf(sent).key)).toBeNull();
  });

  it("acks a copy of a message whose object its first copy already deleted, delivering once", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(neteaseBody(200_000), { channel: "cc" }));
    const raw = relay.queue.sent[0]?.raw;

    await runBatch(consumerEnv().env, [{ body: raw, id: "m1" }]);
    const lanes = vi.spyOn(env.LANES, "get");
    const copy = await runBatch(consumerEnv().env, [{ body: raw, id: "m1" }]);
    await settle(t.stub);

    expect(copy.result.explicitAcks).toEqual(["m1"]);
    expect(lanes).not.toHaveBeenCalled();
    expect(calls).toHaveLength(1);
  });

  it("reads no more than 8 MB of bodies in one invocation; the rest of the batch is retried at once", async () => {
    const t = await setupTarget();
    stubFetch({ [t.url]: 200 });
    const relay = relayWithFakeQueue();
    for (let i = 0; i < 10; i++) {
      await relay.fetch(await neteaseRequest(neteaseBody(MAX_BODY_BYTES, String(i)), { channel: "cc" }));
    }
    const get = vi.spyOn(env.BODIES, "get");

    const { result, retryOptions } = await runBatch(
      consumerEnv().env,
      relay.queue.sent.map((s, i) => ({ body: s.raw, id: `m${i}` })),
    );

    expect(get).toHaveBeenCalledTimes(7);
    expect(result.explicitAcks).toHaveLength(7);
    expect([...retryOptions.values()]).toEqual([[{ delaySeconds: 0 }], [{ delaySeconds: 0 }], [{ delaySeconds: 0 }]]);
    await settle(t.stub);
  });

  it("turns a DLQ message that references its body into a dead letter with the body inline, and deletes the object", async () => {
    const body = neteaseBody(400_000);
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(body, { channel: "cc" }));
    const [sent] = relay.queue.sent;

    const { result } = await runBatch(consumerEnv().env, [{ body: sent?.raw, id: "m1" }], "imrelay-events-dlq");

    expect(result.explicitAcks).toEqual(["m1"]);
    const letters = await deadLetters();
    expect(letters).toMatchObject([{ kind: "event", data: body, event: envelopeOf(sent) }]);
    expect(await env.BODIES.head(refOf(sent).key)).toBeNull();
  });

  it("replays a dead letter with a 500 KB body through a fresh R2 object, delivered byte for byte", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const data = neteaseBody(500_000);
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(data, { channel: "cc" }));
    const [original] = relay.queue.sent;
    await runBatch(consumerEnv().env, [{ body: original?.raw, id: "m0" }], "imrelay-events-dlq");
    const [letter] = await deadLetters();
    if (!letter) throw new Error("no dead letter");
    const admin = adminClient();

    expect((await admin.call("POST", `/admin/dead-letters/${letter.id}/replay`)).status).toBe(202);
    const [replayed] = admin.queue.sent;
    expect(refOf(replayed).key).not.toBe(refOf(original).key);
    await runBatch(consumerEnv().env, [{ body: replayed?.raw, id: "r1" }]);
    await settle(t.stub);

    expect(calls.map((c) => c.body)).toEqual([asDelivered(envelopeOf(original), data)]);
  });
});

describe("bodies: R2 failing at the ack path", () => {
  it("keeps the event in the outbox and answers OK when R2 refuses the body; the drain puts it in R2 then", async () => {
    const t = await setupTarget();
    const { calls } = stubFetch({ [t.url]: 200 });
    const body = neteaseBody(500_000);
    const put = vi.spyOn(env.BODIES, "put").mockRejectedValueOnce(new Error("R2 unavailable"));
    const relay = relayWithFakeQueue();

    const res = await relay.fetch(await neteaseRequest(body, { channel: "cc" }));

    expect(res.status).toBe(200);
    expect(relay.queue.sent).toHaveLength(0);
    expect(put).toHaveBeenCalledTimes(1);
    expect(await outboxPending()).toBe(1);

    const drains = recordDrains();
    await drainNow(outboxStub(env, res.headers.get("x-imrelay-event-id") ?? ""));
    const raw = drains.state.calls[0]?.raw[0];
    expect(drains.state.calls[0]?.messages[0]).toMatchObject({ ref: { bytes: 500_000 } });
    await runBatch(consumerEnv().env, [{ body: raw, id: "m1" }]);
    await settle(t.stub);

    expect(calls).toHaveLength(1);
    expect(calls[0]?.body.endsWith(`"data":${body}}`)).toBe(true);
  });

  it("answers 503 when R2 refuses the body and the outbox cannot keep it either", async () => {
    vi.spyOn(env.BODIES, "put").mockRejectedValue(new Error("R2 unavailable"));
    const relay = relayWithFakeQueue({ OUTBOX: unreachableOutbox() });

    const res = await relay.fetch(await neteaseRequest(neteaseBody(500_000), { channel: "cc" }));

    expect(res.status).toBe(503);
    expect(((await res.json()) as { desc: string }).desc).toMatch(/^ENQUEUE_FAILED/);
    expect(relay.queue.sent).toHaveLength(0);
  });
});

describe("bodies: a lane stores a 1 MiB body", () => {
  it("binds no SQL string parameter over 2 MB when two 1 MiB quote-heavy bodies and small events arrive in one call", async () => {
    const t = await setupTarget();
    stubFetch({ [t.url]: 200 });
    const big = await makeEvent();
    const big2 = await makeEvent();
    const bigData = quoteHeavy(MAX_BODY_BYTES);
    const small = await Promise.all(Array.from({ length: 30 }, () => makeEvent()));
    const smallData = quoteHeavy(60_000);
    const items = [
      ...small.slice(0, 15).map((e) => ({ event: split(e).event, data: smallData })),
      { event: split(big).event, data: bigData },
      { event: split(big2).event, data: bigData },
      ...small.slice(15).map((e) => ({ event: split(e).event, data: smallData })),
    ];
    const params: number[] = [];
    const spy = await runInDurableObject(t.stub, (_instance: Lane, state) => {
      const exec = state.storage.sql.exec.bind(state.storage.sql);
      return vi.spyOn(state.storage.sql, "exec").mockImplementation((query, ...bindings) => {
        for (const b of bindings) if (typeof b === "string") params.push(utf8Bytes(b));
        return exec(query, ...bindings);
      });
    });

    expect(await t.stub.accept(t.target, 0, items)).toEqual({ accepted: 32, duplicates: 0 });

    expect(Math.max(...params)).toBeGreaterThan(1_000_000);
    expect(Math.max(...params)).toBeLessThanOrEqual(2_000_000);
    spy.mockRestore();
    expect((await t.stub.lookup(big.id))?.event?.data).toBe(bigData);
    expect((await t.stub.lookup(big2.id))?.event?.data).toBe(bigData);
    expect((await t.stub.lookup(small[29]?.id ?? ""))?.event?.data).toBe(smallData);
    expect(await t.stub.accept(t.target, 0, items)).toEqual({ accepted: 0, duplicates: 32 });
    expect(await settle(t.stub)).toMatchObject({ pending: 0, delivered: 32 });
  });
});
