import { afterAll, afterEach, describe, expect, it } from "vitest";
import { verify } from "../../src/delivery/signature";
import neteaseCallbackMsg from "../fixtures/netease/callback-1-p2p-message.json";
import neteaseCcText from "../fixtures/netease/cc-1-p2p-text.json";
import tencentC2cAfterSend from "../fixtures/tencent/C2C.CallbackAfterSendMsg.json";
import { NETEASE_APP, TENCENT_TOKEN_APP } from "../helpers/bindings";
import { admin, sendNetease, sendTencent, uniqueId, waitFor } from "../helpers/e2e-client";
import { type ReceivedRequest, Receiver } from "../helpers/e2e-receiver";
import { newWebhookSecret, tencentQuery } from "../helpers/e2e-sign";

/**
 * End to end through `wrangler dev` (workerd, local KV and Queues): provider callback → ingress → queue →
 * consumer → real HTTP receivers on 127.0.0.1. The dev server runs with RETRY_SCHEDULE_SECONDS=1,1,1 (so a
 * delivery gets 4 attempts), DELIVERY_TIMEOUT_MS=1500 and no target cache.
 */

/** Time after the last expected delivery in which a duplicate (a retry is ≥ 1 s away) would have shown up. */
const SETTLE_MS = 2_500;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const created: string[] = [];

async function createTarget(id: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await admin("PUT", `/targets/${id}`, input);
  expect(res.status, `PUT /admin/targets/${id}: ${JSON.stringify(res.json)}`).toBe(201);
  created.push(id);
  return res.json as Record<string, unknown>;
}

async function deadLetters(target: string): Promise<Record<string, unknown>[]> {
  const res = await admin("GET", `/dead-letters?target=${target}`);
  expect(res.status).toBe(200);
  return (res.json as { items: Record<string, unknown>[] }).items;
}

afterEach(async () => {
  // Targets first, so pending retries for them are dropped, then their dead letters, then the receivers.
  for (const id of created.splice(0)) {
    await admin("DELETE", `/targets/${id}`);
    for (const letter of await deadLetters(id)) await admin("DELETE", `/dead-letters/${String(letter.id)}`);
  }
  await Receiver.closeAll();
});

afterAll(async () => {
  await Receiver.closeAll();
});

function signatureHeaders(req: ReceivedRequest) {
  return {
    id: req.headers["webhook-id"] ?? "",
    timestamp: req.headers["webhook-timestamp"] ?? "",
    signature: req.headers["webhook-signature"] ?? "",
  };
}

async function expectSignedWith(req: ReceivedRequest, secret: string): Promise<void> {
  expect(
    await verify(secret, signatureHeaders(req), req.body),
    `signature of ${req.path} verifies with its target's secret`,
  ).toBe(true);
}

function eventIdOf(res: { status: number; headers: Headers; json: unknown }): string {
  const id = res.headers.get("x-imrelay-event-id");
  expect(id, `x-imrelay-event-id of ${JSON.stringify(res.json)}`).toMatch(/^evt_[0-9a-f]{32}$/);
  return id as string;
}

function neteaseCcBody(): string {
  return JSON.stringify({ ...neteaseCcText, msgidClient: uniqueId("msg") });
}

/** Registers two targets (one with its own secret, one with a generated one) on two fresh receivers. */
async function twoTargets(prefix: string) {
  const a = await Receiver.start();
  const b = await Receiver.start();
  const secretA = newWebhookSecret();
  const idA = uniqueId(`${prefix}-a`);
  const idB = uniqueId(`${prefix}-b`);
  await createTarget(idA, { url: a.url("/a"), secret: secretA, headers: { "x-customer": "acme" } });
  const b201 = await createTarget(idB, { url: b.url("/b") });
  const secretB = b201.secret as string;
  expect(secretB, "a generated secret is shown once on create").toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  return { a, b, secretA, secretB };
}

async function expectFannedOut(
  { a, b, secretA, secretB }: Awaited<ReturnType<typeof twoTargets>>,
  eventId: string,
  body: string,
): Promise<Record<string, unknown>> {
  await waitFor(
    "both targets to receive the event",
    () => a.withId(eventId).length > 0 && b.withId(eventId).length > 0,
    {
      describe: () => ({ a: a.requests.length, b: b.requests.length }),
    },
  );
  await sleep(SETTLE_MS);
  expect(a.requests, "target a received the event exactly once").toHaveLength(1);
  expect(b.requests, "target b received the event exactly once").toHaveLength(1);
  const [ra, rb] = [a.requests[0] as ReceivedRequest, b.requests[0] as ReceivedRequest];

  for (const [req, path] of [
    [ra, "/a"],
    [rb, "/b"],
  ] as const) {
    expect(req.method).toBe("POST");
    expect(req.path).toBe(path);
    expect(req.headers["webhook-id"]).toBe(eventId);
    expect(req.headers["content-type"]).toBe("application/cloudevents+json");
    expect(req.headers["user-agent"]).toMatch(/^imrelay\//);
    expect(Math.abs(Number(req.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
  }
  expect(ra.headers["x-customer"], "a target's own headers are sent").toBe("acme");
  expect(rb.headers["x-customer"]).toBeUndefined();

  await expectSignedWith(ra, secretA);
  await expectSignedWith(rb, secretB);
  expect(await verify(secretB, signatureHeaders(ra), ra.body), "a's signature must not verify with b's secret").toBe(
    false,
  );
  expect(await verify(secretA, signatureHeaders(rb), rb.body), "b's signature must not verify with a's secret").toBe(
    false,
  );

  expect(rb.body, "both targets get the same CloudEvent").toBe(ra.body);
  const event = JSON.parse(ra.body) as Record<string, unknown>;
  expect(event.id).toBe(eventId);
  expect(event.specversion).toBe("1.0");
  expect(event.datacontenttype).toBe("application/json");
  expect(event.data, "data is the callback body").toEqual(JSON.parse(body));
  return event;
}

describe("e2e: callbacks delivered through wrangler dev", () => {
  it("fans a signed NetEase 抄送 callback out to two targets, once each, same webhook-id, per-target signatures", async () => {
    const targets = await twoTargets("ne-fan");
    const body = neteaseCcBody();
    const res = await sendNetease(body);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ code: 200 });
    const eventId = eventIdOf(res);

    const event = await expectFannedOut(targets, eventId, body);
    expect(event).toMatchObject({
      provider: "netease",
      appid: NETEASE_APP,
      source: `/netease/${NETEASE_APP}/cc`,
      providerevent: "cc.1",
      schemavalid: true,
    });
  });

  it("fans a signed Tencent callback out to two targets, once each, same webhook-id, per-target signatures", async () => {
    const targets = await twoTargets("tc-fan");
    const command = "C2C.CallbackAfterSendMsg";
    const body = JSON.stringify({ ...tencentC2cAfterSend, CloudCustomData: uniqueId("custom") });
    const res = await sendTencent(body, command);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    const eventId = eventIdOf(res);

    const event = await expectFannedOut(targets, eventId, body);
    expect(event).toMatchObject({
      provider: "tencent",
      appid: TENCENT_TOKEN_APP,
      source: `/tencent/${TENCENT_TOKEN_APP}`,
      providerevent: command,
      schemavalid: true,
    });
  });

  it("retries a target that answers 503 twice and delivers on the 3rd attempt; the healthy target gets it once", async () => {
    const flaky = await Receiver.start({ script: [{ status: 503 }, { status: 503 }] });
    const healthy = await Receiver.start();
    const flakySecret = newWebhookSecret();
    const healthySecret = newWebhookSecret();
    await createTarget(uniqueId("flaky"), { url: flaky.url(), secret: flakySecret });
    await createTarget(uniqueId("healthy"), { url: healthy.url(), secret: healthySecret });

    const res = await sendNetease(neteaseCcBody());
    expect(res.status).toBe(200);
    const eventId = eventIdOf(res);

    await waitFor("the flaky target's 3rd attempt", () => flaky.requests.length >= 3, {
      timeoutMs: 20_000,
      describe: () => ({ flaky: flaky.requests.map((r) => r.at), healthy: healthy.requests.length }),
    });
    await sleep(SETTLE_MS);
    expect(flaky.requests, "no attempt after the 2xx").toHaveLength(3);
    expect(flaky.withId(eventId), "every attempt carries the same webhook-id").toHaveLength(3);
    for (const req of flaky.requests) await expectSignedWith(req, flakySecret);
    // RETRY_SCHEDULE_SECONDS=1,1,1: each retry waits about a second, never a re-send at once.
    const [first, second, third] = flaky.requests as [ReceivedRequest, ReceivedRequest, ReceivedRequest];
    expect(second.at - first.at).toBeGreaterThanOrEqual(800);
    expect(third.at - second.at).toBeGreaterThanOrEqual(800);
    expect(second.body).toBe(first.body);

    expect(healthy.requests, "the healthy target received the event exactly once").toHaveLength(1);
    expect(healthy.withId(eventId)).toHaveLength(1);
    await expectSignedWith(healthy.requests[0] as ReceivedRequest, healthySecret);
    expect(await deadLetters(created[0] as string)).toEqual([]);
  });

  it("dead-letters a delivery to a target that is down and replays it once the target is up again", async () => {
    const receiver = await Receiver.start();
    await receiver.down();
    const secret = newWebhookSecret();
    const target = uniqueId("down");
    await createTarget(target, { url: receiver.url(), secret });

    const res = await sendNetease(neteaseCcBody());
    expect(res.status).toBe(200);
    const eventId = eventIdOf(res);

    const [letter] = await waitFor(
      "a dead letter for the target that is down",
      async () => {
        const items = await deadLetters(target);
        return items.length > 0 ? items : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(letter).toMatchObject({ kind: "delivery", target, eventId, attempts: 4 });
    expect(String(letter?.lastError)).toMatch(/^network/);
    expect(receiver.requests).toHaveLength(0);
    const letterId = String(letter?.id);

    const stored = await admin("GET", `/dead-letters/${letterId}`);
    expect(stored.status).toBe(200);
    expect(stored.json).toMatchObject({ id: letterId, target, event: { id: eventId } });

    await receiver.up();
    const replay = await admin("POST", `/dead-letters/${letterId}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.json).toEqual({ replayed: letterId, eventId, target });

    await waitFor("the replayed delivery", () => receiver.withId(eventId).length > 0, {
      describe: () => receiver.requests.length,
    });
    await sleep(SETTLE_MS);
    expect(receiver.requests, "the replay is delivered exactly once").toHaveLength(1);
    await expectSignedWith(receiver.requests[0] as ReceivedRequest, secret);
    expect((JSON.parse((receiver.requests[0] as ReceivedRequest).body) as { id: string }).id).toBe(eventId);

    expect(await deadLetters(target), "the replayed letter is gone").toEqual([]);
    expect((await admin("GET", `/dead-letters/${letterId}`)).status).toBe(404);
  });

  it("disables a target that answers 410 Gone and sends it nothing more", async () => {
    const gone = await Receiver.start({ fallback: { status: 410 } });
    const control = await Receiver.start();
    const goneId = uniqueId("gone");
    await createTarget(goneId, { url: gone.url(), secret: newWebhookSecret() });
    await createTarget(uniqueId("control"), { url: control.url(), secret: newWebhookSecret() });

    const first = eventIdOf(await sendNetease(neteaseCcBody()));
    await waitFor(
      "the first event at both targets",
      () => gone.withId(first).length > 0 && control.withId(first).length > 0,
    );
    const disabled = await waitFor(
      "the 410 target to be disabled",
      async () => {
        const res = await admin("GET", `/targets/${goneId}`);
        const body = res.json as { enabled?: boolean };
        return res.status === 200 && body.enabled === false ? body : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(disabled).toMatchObject({ id: goneId, enabled: false });
    expect(String((disabled as { disabledReason?: string }).disabledReason)).toMatch(/410/);
    const letters = await deadLetters(goneId);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: "delivery", target: goneId, eventId: first, lastStatus: 410 });

    const second = eventIdOf(await sendNetease(neteaseCcBody()));
    expect(second).not.toBe(first);
    await waitFor("the second event at the control target", () => control.withId(second).length > 0);
    await sleep(SETTLE_MS);
    expect(gone.requests, "a disabled target gets no further deliveries").toHaveLength(1);
    expect(control.requests).toHaveLength(2);
  });

  it("times out a slow target and retries it with the same webhook-id", async () => {
    const slow = await Receiver.start({ fallback: { status: 200, delayMs: 3_000 } });
    const secret = newWebhookSecret();
    const target = uniqueId("slow");
    await createTarget(target, { url: slow.url(), secret, timeoutMs: 300 });

    const eventId = eventIdOf(await sendNetease(neteaseCcBody()));
    await waitFor("a retry after the timeout", () => slow.requests.length >= 2, {
      timeoutMs: 20_000,
      describe: () => slow.requests.map((r) => r.at),
    });
    const [first, second] = slow.requests as [ReceivedRequest, ReceivedRequest];
    expect(first.headers["webhook-id"]).toBe(eventId);
    expect(second.headers["webhook-id"]).toBe(eventId);
    await expectSignedWith(second, secret);
    // The relay gave up on the first attempt after the target's 300 ms (not DELIVERY_TIMEOUT_MS=1500, not the
    // receiver's 3 s), and retried after the 1 s retry delay.
    expect(first.abortedAt, "the relay closed the first attempt's connection").toBeDefined();
    expect((first.abortedAt as number) - first.at).toBeGreaterThanOrEqual(250);
    expect((first.abortedAt as number) - first.at).toBeLessThan(1_200);
    expect(second.at - (first.abortedAt as number)).toBeGreaterThanOrEqual(800);
  });

  it("honours a Retry-After longer than the scheduled retry delay", async () => {
    const busy = await Receiver.start({ script: [{ status: 503, headers: { "retry-after": "3" } }] });
    await createTarget(uniqueId("busy"), { url: busy.url(), secret: newWebhookSecret() });

    const eventId = eventIdOf(await sendNetease(neteaseCcBody()));
    await waitFor("the retry after Retry-After", () => busy.requests.length >= 2, {
      describe: () => busy.requests.map((r) => r.at),
    });
    const [first, second] = busy.requests as [ReceivedRequest, ReceivedRequest];
    expect(second.headers["webhook-id"]).toBe(eventId);
    // The schedule says 1 s; the target asked for 3 s, and the relay must not come back sooner.
    expect(second.at - first.at).toBeGreaterThanOrEqual(2_800);
  });

  it("retries a target that drops the connection, with the same webhook-id", async () => {
    const dropping = await Receiver.start({ script: [{ drop: true }] });
    const secret = newWebhookSecret();
    await createTarget(uniqueId("drop"), { url: dropping.url(), secret });

    const eventId = eventIdOf(await sendNetease(neteaseCcBody()));
    await waitFor("the retry after the dropped connection", () => dropping.requests.length >= 2, {
      describe: () => dropping.requests.map((r) => r.at),
    });
    await sleep(SETTLE_MS);
    expect(dropping.requests, "one dropped attempt, one delivered retry, nothing after").toHaveLength(2);
    expect(dropping.withId(eventId)).toHaveLength(2);
    for (const req of dropping.requests) await expectSignedWith(req, secret);
  });

  it("refuses a bad NetEase CheckSum and a bad Tencent Sign with 401 in the provider's format, and delivers nothing", async () => {
    const receiver = await Receiver.start();
    await createTarget(uniqueId("auth"), { url: receiver.url(), secret: newWebhookSecret() });

    const badNetease = neteaseCcBody();
    const refused = await sendNetease(badNetease, { headers: { CheckSum: "0".repeat(40) } });
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ code: 401, desc: expect.stringMatching(/^BAD_SIGNATURE/) });
    expect(refused.headers.get("x-imrelay-event-id")).toBeNull();

    const command = "C2C.CallbackAfterSendMsg";
    const badTencent = JSON.stringify({ ...tencentC2cAfterSend, CloudCustomData: uniqueId("custom") });
    const tencentRefused = await sendTencent(badTencent, command, {
      query: tencentQuery(command, { token: "wrong-token" }),
    });
    expect(tencentRefused.status).toBe(401);
    expect(tencentRefused.json).toMatchObject({
      ActionStatus: "FAIL",
      ErrorCode: 40103,
      ErrorInfo: expect.stringMatching(/^BAD_SIGNATURE/),
    });

    // The NetEase 第三方回调 channel answers `{errCode: 0}` (allow); its event and a 抄送 one are the control.
    const callback = await sendNetease(JSON.stringify({ ...neteaseCallbackMsg, msgidClient: uniqueId("msg") }), {
      channel: "callback",
    });
    expect(callback.status).toBe(200);
    expect(callback.json).toEqual({ errCode: 0 });
    const good = eventIdOf(await sendNetease(neteaseCcBody()));
    const goodCallback = eventIdOf(callback);

    await waitFor(
      "the two accepted callbacks",
      () => receiver.withId(good).length > 0 && receiver.withId(goodCallback).length > 0,
      {
        describe: () => receiver.requests.map((r) => r.headers["webhook-id"]),
      },
    );
    await sleep(SETTLE_MS);
    expect(
      receiver.requests.map((r) => r.headers["webhook-id"]).sort(),
      "only the accepted callbacks were delivered",
    ).toEqual([good, goodCallback].sort());
  });
});
