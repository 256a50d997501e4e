import { Hono } from "hono/tiny";
import { listTargets } from "../config/store";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";
import { spliceData } from "../event";
import type { DeliveryView } from "../lanes/log";
import { laneStub, shardsOf } from "../lanes/route";
import { mapLimit } from "../pool";

const EVENT_ID = /^evt_[0-9a-f]{32}$/;
/** Lane calls in flight at once. */
const CONNECTIONS = 6;

/**
 * `/admin/events/:id`: what happened to one event at every target. Each target's lane is asked (one shard per
 * target, the one the event id maps to, or each shard of an ordered target, which shards by conversation); the
 * event itself comes from the first lane that still keeps it.
 */
export const eventRoutes = new Hono<AppEnv>().get("/:id", async (c) => {
  const id = c.req.param("id");
  if (!EVENT_ID.test(id)) throw new RelayError("INVALID_REQUEST", "event ids look like evt_ and 32 hex digits");
  // Targets whose stored config fails its schema too: their lanes keep the deliveries that wait for the fix.
  const { lanes: targets, targets: valid } = await listTargets(c.env.TARGETS);
  const configs = new Map(valid.map((t) => [t.id, t]));
  // A target whose config fails its schema may be ordered: each of its shards is asked.
  const lanes = targets.flatMap((t) =>
    shardsOf(id, configs.get(t.id) ?? { lanes: t.lanes, ordering: "conversation" }).map((shard) => ({ t, shard })),
  );
  const views = await mapLimit(
    lanes,
    CONNECTIONS,
    async ({ t, shard }): Promise<DeliveryView | undefined> => laneStub(c.env, t.id, shard).lookup(id),
  );
  const found = views.filter((v) => v !== undefined);
  if (found.length === 0) throw new RelayError("NOT_FOUND", "no lane knows this event");
  const kept = found.find((v) => v.event !== null)?.event;
  // Spliced as text: `data` is the provider's body byte for byte (64-bit ids keep every digit).
  const event = kept ? spliceData(kept.envelope, kept.data) : "null";
  const deliveries = found.map(({ event: _, ...delivery }) => delivery);
  return c.body(`{"event":${event},"deliveries":${JSON.stringify(deliveries)}}`, 200, {
    "content-type": "application/json",
  });
});
