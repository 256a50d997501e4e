import { Hono } from "hono/tiny";
import { getTarget } from "../config/store";
import { TargetId } from "../config/target";
import type { TestEventAnswer } from "../console/schemas";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";
import type { EventEnvelope } from "../event";
import { enqueueMessages } from "../queue/producer";
import { invalid } from "./validate";

/** The type of the synthetic event; a receiver can tell it from every provider's events by it. */
export const TEST_EVENT_TYPE = "imrelay.test";

/** A synthetic event with a fresh id, so a lane's dedupe never swallows a second test. */
export function testEvent(nowMs: number): { event: EventEnvelope; data: string } {
  const id = `evt_${crypto.randomUUID().replaceAll("-", "")}`;
  return {
    // The envelope's schema requires a provider and app; these name the relay itself through source and type.
    event: {
      specversion: "1.0",
      id,
      source: "/imrelay/test",
      type: TEST_EVENT_TYPE,
      time: new Date(nowMs).toISOString(),
      datacontenttype: "application/json",
      provider: "tencent",
      providerevent: TEST_EVENT_TYPE,
      appid: "imrelay",
      schemavalid: true,
    },
    data: JSON.stringify({ test: true, sentAt: new Date(nowMs).toISOString() }),
  };
}

/**
 * `POST /admin/targets/:id/test`: queues a signed test event for that one target, through its lane like any
 * delivery, so it shows in the delivery log and proves the URL, the secret and the network path.
 */
export const testEventRoutes = new Hono<AppEnv>().post("/:id/test", async (c) => {
  const parsed = TargetId.safeParse(c.req.param("id"));
  if (!parsed.success) throw invalid("INVALID_TARGET", "invalid target id", parsed.error.issues);
  const target = await getTarget(c.env.TARGETS, parsed.data);
  if (!target) throw new RelayError("NOT_FOUND", "no such target");
  if (!target.enabled) throw new RelayError("CONFLICT", "the target is disabled; enable it first");
  const { event, data } = testEvent(Date.now());
  const message = { kind: "delivery", event, data, target: parsed.data } as const;
  try {
    await enqueueMessages(c.env, [{ message, delaySeconds: 0 }]);
  } catch (err) {
    throw new RelayError("ENQUEUE_FAILED", "could not enqueue the test event", { cause: String(err) });
  }
  c.get("log").info("test event queued", { target: parsed.data, eventId: event.id });
  return c.json({ eventId: event.id, target: parsed.data } satisfies TestEventAnswer, 202);
});
