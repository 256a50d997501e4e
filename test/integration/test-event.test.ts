import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../src/queue/message";
import { adminClient, errorOf } from "../helpers/admin-client";
import { clearKv } from "../helpers/consumer-harness";

/** `POST /admin/targets/:id/test`: a synthetic event for one target, queued like an operator's replay. */

afterEach(async () => {
  await clearKv(env.TARGETS);
});

async function withTarget(enabled = true) {
  const client = adminClient();
  const res = await client.call("PUT", "/admin/targets/test-a", { body: { url: "https://hooks.example/a", enabled } });
  expect(res.status).toBe(201);
  return client;
}

describe("admin: send a test event", () => {
  it("queues one delivery of an imrelay.test event for that target only, with a fresh event id each time", async () => {
    const client = await withTarget();
    const first = await client.call("POST", "/admin/targets/test-a/test");
    const second = await client.call("POST", "/admin/targets/test-a/test");
    expect(first.status).toBe(202);
    const { eventId } = (await first.json()) as { eventId: string };
    const { eventId: again } = (await second.json()) as { eventId: string };
    expect(eventId).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(again).not.toBe(eventId);
    const message = client.queue.sent[0]?.body as QueueMessage;
    expect(message).toMatchObject({
      kind: "delivery",
      target: "test-a",
      event: { id: eventId, type: "imrelay.test" },
    });
    expect(JSON.parse(message.data)).toMatchObject({ test: true });
  });

  it("answers 404 for an unknown target and 409 for a disabled one, queueing nothing", async () => {
    const client = await withTarget(false);
    const missing = await client.call("POST", "/admin/targets/nope/test");
    expect(missing.status).toBe(404);
    const disabled = await client.call("POST", "/admin/targets/test-a/test");
    expect(disabled.status).toBe(409);
    expect(client.queue.sent).toEqual([]);
  });

  it("answers 503 ENQUEUE_FAILED when the queue refuses", async () => {
    const client = await withTarget();
    client.queue.failWith = new Error("queue down");
    const res = await client.call("POST", "/admin/targets/test-a/test");
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("ENQUEUE_FAILED");
  });
});
