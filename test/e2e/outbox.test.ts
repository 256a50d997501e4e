import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startDevServer } from "../../scripts/lib/dev-server.mjs";
import tencentDestroyed from "../fixtures/tencent/Group.CallbackAfterGroupDestroyed.json";
import { ADMIN_TOKEN } from "../helpers/bindings";
import { uniqueId, waitFor } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";
import { E2E_VARS, e2ePorts } from "../helpers/e2e-server";
import { neteaseHeaders, newWebhookSecret, tencentQuery } from "../helpers/e2e-sign";

/**
 * A queue outage end to end under `wrangler dev`: the relay's queue binding is a switch (test/helpers/queue-switch.ts)
 * in the same session, which the test turns off and on; everything else is real (the outbox Durable Objects and
 * their alarms, the local queue and R2, the consumer, the lanes, a receiver on 127.0.0.1). Callbacks sent while the
 * queue refuses are answered OK and reach the target, each once and byte for byte, after it comes back.
 *
 * This file runs its own dev server (the suite's one binds the real queue). It also needs no other test's state.
 */

let server: { url: string; stop(): Promise<void>; output(): string };
let dir = "";

/** The relay's config with EVENTS bound to the switch instead of the queue. */
function bindEventsToSwitch(toml: string): string {
  const producer = '[[queues.producers]]\nbinding = "EVENTS"\nqueue = "imrelay-events"\n';
  if (!toml.includes(producer)) throw new Error("wrangler.toml no longer has the EVENTS producer this test replaces");
  return toml.replace(producer, '[[services]]\nbinding = "EVENTS"\nservice = "imrelay-queue-switch"\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imrelay-switch-"));
  const config = join(dir, "queue-switch.toml");
  await writeFile(
    config,
    [
      'name = "imrelay-queue-switch"',
      `main = ${JSON.stringify(join(ROOT, "test", "helpers", "queue-switch.ts"))}`,
      'compatibility_date = "2026-11-17"',
      "[[queues.producers]]",
      'binding = "REAL"',
      'queue = "imrelay-events"',
      "[[services]]",
      'binding = "RELAY"',
      'service = "imrelay"',
      "",
    ].join("\n"),
  );
  server = await startDevServer({
    vars: E2E_VARS,
    before: [config],
    editConfig: bindEventsToSwitch,
    verbose: process.env.IMRELAY_E2E_VERBOSE === "1",
    ...e2ePorts(2),
  });
}, 180_000);

afterAll(async () => {
  await Receiver.closeAll();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
}

async function setQueue(state: "down" | "up"): Promise<void> {
  const res = await call(`/__queue/${state}`, { method: "POST" });
  expect(await res.json()).toEqual({ down: state === "down" });
}

/** Sends a signed NetEase 抄送 callback; returns its status and event id. */
async function sendNetease(body: string): Promise<{ status: number; id: string }> {
  const res = await call("/netease/cc", { method: "POST", headers: neteaseHeaders(body), body });
  await res.body?.cancel();
  return { status: res.status, id: res.headers.get("x-imrelay-event-id") ?? "" };
}

describe("e2e: a queue outage", () => {
  it("answers callbacks OK while the queue refuses, and delivers each once, byte for byte, after it is back", async () => {
    const receiver = await Receiver.start();
    const target = uniqueId("outage");
    const put = await call(`/admin/targets/${target}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ url: receiver.url(), secret: newWebhookSecret() }),
    });
    expect(put.status).toBe(201);

    await setQueue("down");
    // A 64-bit integer, which a re-serialisation would change; and one body too big for a queue message, which
    // the outbox puts in R2 when it drains.
    const bodies = Array.from(
      { length: 5 },
      (_, i) => `{"eventType":2,"fromAccount":"${uniqueId("a")}","msgId":184409700039655569,"i":${i}}`,
    );
    bodies.push(`{"eventType":2,"fromAccount":"${uniqueId("a")}","pad":"${'\\"'.repeat(75_000)}"}`);
    const sent: { body: string; id: string }[] = [];
    for (const body of bodies) {
      const res = await sendNetease(body);
      expect(res.status).toBe(200);
      sent.push({ body, id: res.id });
    }
    const tencentBody = JSON.stringify({ ...tencentDestroyed, GroupId: uniqueId("@TGS#") });
    const command = "Group.CallbackAfterGroupDestroyed";
    const tc = await call(`/tencent?${tencentQuery(command)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: tencentBody,
    });
    expect(await tc.json()).toMatchObject({ ActionStatus: "OK", ErrorCode: 0 });
    sent.push({ body: tencentBody, id: tc.headers.get("x-imrelay-event-id") ?? "" });

    // The outboxes' first drains (1 s after each event) fail while the queue is down.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(receiver.requests).toEqual([]);
    await setQueue("up");

    await waitFor(
      "every event sent during the outage at the target",
      () => sent.every((s) => receiver.withId(s.id).length > 0),
      {
        timeoutMs: 30_000,
        describe: () => ({ received: receiver.requests.length, output: server.output().slice(-2_000) }),
      },
    );
    // Another drain or queue read would show up as a second request within a few seconds.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    for (const { body, id } of sent) {
      const received = receiver.withId(id);
      expect(received, `event ${id} once`).toHaveLength(1);
      expect(received[0]?.body.endsWith(`,"data":${body}}`)).toBe(true);
    }
    // The last 20 KB of the dev server's output: the drain's line is among the latest.
    expect(server.output()).toContain("outbox drained into the queue");
  });
});
