import { shardOf } from "../lanes/route";
import type { Outbox } from "./outbox";

/**
 * How many outboxes share the fallback. The event id picks one, so a queue outage spreads the callbacks it
 * diverts over all of them instead of funnelling every one through a single object.
 */
export const OUTBOX_SHARDS = 8;

/** The outbox that keeps event `eventId` while the queue refuses it. */
export function outboxStub(env: Env, eventId: string): DurableObjectStub<Outbox> {
  return outboxShard(env, shardOf(eventId, OUTBOX_SHARDS));
}

/** One outbox by its number, 0 to OUTBOX_SHARDS - 1. */
export function outboxShard(env: Env, shard: number): DurableObjectStub<Outbox> {
  return env.OUTBOX.get(env.OUTBOX.idFromName(`outbox-${shard}`));
}
