import { Hono } from "hono";
import { listTargets } from "../config/store";
import type { AppEnv } from "../context";
import { mapLimit } from "../delivery/attempt";
import { RelayError } from "../errors";
import { type EventEnvelope, serializeEvent } from "../event";
import type { DeliveryView } from "../lanes/log";
import { laneStub, shardOf } from "../lanes/route";

const EVENT_ID = /^evt_[0-9a-f]{32}$/;
/** Lane calls in flight at once. */
const CONNECTIONS = 6;

/**
 * `/admin/events/:id`: what happened to one event at every target. Each target's lane is asked (one shard per
 * target, the one the event id maps to); the event itself comes from the first lane that still keeps it.
 */
export const eventRoutes = new Hono<AppEnv>().get("/:id", async (c) => {
  const id = c.req.param("id");
  if (!EVENT_ID.test(id)) throw new RelayError("INVALID_REQUEST", "event ids look like evt_ and 32 hex digits");
  // Targets whose stored config fails its schema too: their lanes keep the deliveries that wait for the fix.
  const { lanes: targets } = await listTargets(c.env.TARGETS);
  const views = await mapLimit(
    targets,
    CONNECTIONS,
    async (t): Promise<DeliveryView | undefined> => laneStub(c.env, t.id, shardOf(id, t.lanes)).lookup(id),
  );
  const found = views.filter((v) => v !== undefined);
  if (found.length === 0) throw new RelayError("NOT_FOUND", "no lane knows this event");
  const kept = found.find((v) => v.event !== null)?.event;
  // Spliced as text: `data` is the provider's body byte for byte (64-bit ids keep every digit).
  const event = kept ? serializeEvent(JSON.parse(kept.envelope) as EventEnvelope, kept.data) : "null";
  const deliveries = found.map(({ event: _, ...delivery }) => delivery);
  return c.body(`{"event":${event},"deliveries":${JSON.stringify(deliveries)}}`, 200, {
    "content-type": "application/json",
  });
});
