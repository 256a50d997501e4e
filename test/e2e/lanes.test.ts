import { afterAll, afterEach, describe, expect, it } from "vitest";
import neteaseCcText from "../fixtures/netease/cc-1-p2p-text.json";
import { admin, relayUrl, uniqueId, waitFor } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";
import { neteaseHeaders, newWebhookSecret } from "../helpers/e2e-sign";

/**
 * Delivery lanes end to end through `wrangler dev`: each target's deliveries live in its own Durable Object, so
 * a target that hangs holds back nobody else; a lane delivers an event id once; its delivery log answers what
 * happened to an event at each target. The dev server runs with RETRY_SCHEDULE_SECONDS=1,1,1 and
 * DELIVERY_TIMEOUT_MS=1500 (test/helpers/e2e-server.ts).
 */

const created: string[] = [];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function createTarget(id: string, input: Record<string, unknown>): Promise<void> {
  const res = await admin("PUT", `/targets/${id}`, { secret: newWebhookSecret(), ...input });
  expect(res.status, `PUT /admin/targets/${id}: ${JSON.stringify(res.json)}`).toBe(201);
  created.push(id);
}

/** Posts one signed NetEase 抄送 callback with exactly these headers, so a second post is a byte-exact replay. */
async function post(body: string, headers: Record<string, string> = neteaseHeaders(body)): Promise<string> {
  const res = await fetch(`${relayUrl()}/netease/cc`, { method: "POST", headers, body });
  await res.body?.cancel();
  expect(res.status).toBe(200);
  return res.headers.get("x-imrelay-event-id") ?? "";
}

const body = () => JSON.stringify({ ...neteaseCcText, msgidClient: uniqueId("msg") });

afterEach(async () => {
  for (const id of created.splice(0)) await admin("DELETE", `/targets/${id}`);
  await Receiver.closeAll();
});

afterAll(async () => {
  await Receiver.closeAll();
});

describe("e2e: delivery lanes", () => {
  it("delivers every event to a healthy target while a target that never answers still holds its own backlog", async () => {
    const healthy = await Receiver.start();
    const hanging = await Receiver.start({ fallback: { status: 200, delayMs: 60_000 } });
    const healthyId = uniqueId("healthy");
    const hangingId = uniqueId("hanging");
    await createTarget(healthyId, { url: healthy.url() });
    await createTarget(hangingId, { url: hanging.url() });

    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await post(body()));
    await waitFor("every event at the healthy target", () => ids.every((id) => healthy.withId(id).length > 0), {
      timeoutMs: 30_000,
    });

    const state = await admin("GET", `/targets/${hangingId}`);
    const delivery = (state.json as { delivery: { pending: number } }).delivery;
    // With 6 connections and a 1.5 s timeout the hanging lane cannot have got through 30 events yet.
    expect(delivery.pending).toBeGreaterThan(0);
    expect(healthy.requests).toHaveLength(30);
  });

  it("delivers a callback posted twice (a provider's duplicate, or a replay within the window) once", async () => {
    const receiver = await Receiver.start();
    const target = uniqueId("dedupe");
    await createTarget(target, { url: receiver.url() });
    const text = body();
    const headers = neteaseHeaders(text);

    const first = await post(text, headers);
    const second = await post(text, headers);
    expect(second).toBe(first);
    await waitFor("the event at the target", () => receiver.withId(first).length > 0);
    await sleep(2_500);

    expect(receiver.withId(first)).toHaveLength(1);
  });

  it("answers what happened to an event at each target: delivered at one, dead after 4 attempts at the other", async () => {
    const ok = await Receiver.start();
    const down = await Receiver.start({ fallback: { status: 503 } });
    const okId = uniqueId("log-ok");
    const downId = uniqueId("log-down");
    await createTarget(okId, { url: ok.url() });
    await createTarget(downId, { url: down.url() });

    const id = await post(body());
    const log = await waitFor(
      "the event dead at the failing target",
      async () => {
        const res = await admin("GET", `/events/${id}`);
        const json = res.json as { deliveries?: { target: string; state: string }[] };
        return json.deliveries?.find((d) => d.target === downId)?.state === "dead" ? json : undefined;
      },
      { timeoutMs: 20_000 },
    );

    expect((log as { event: { id: string } }).event.id).toBe(id);
    const deliveries = (log as { deliveries: { target: string; state: string; attempts: unknown[] }[] }).deliveries;
    const byTarget = Object.fromEntries(deliveries.map((d) => [d.target, d]));
    expect(byTarget[okId]).toMatchObject({ state: "delivered", attempts: [{ status: 200 }] });
    expect(byTarget[downId]?.attempts).toHaveLength(4);
    expect(byTarget[downId]?.attempts[0]).toMatchObject({ status: 503, error: "HTTP 503" });

    const page = await admin("GET", `/targets/${downId}/deliveries?state=dead`);
    expect(page.json).toMatchObject({ items: [{ event: id, state: "dead", attempts: 4, lastStatus: 503 }] });
    const letters = await admin("GET", `/dead-letters?target=${downId}`);
    expect((letters.json as { items: { eventId: string; attempts: number }[] }).items).toMatchObject([
      { eventId: id, attempts: 4 },
    ]);
    expect((await admin("GET", "/events/evt_00000000000000000000000000000000")).status).toBe(404);
  });
});
