import { isOrdered, type TargetWithId } from "../config/target";
import type { EventEnvelope } from "../event";
import { laneConversation } from "../ordering/conversation";
import type { Lane } from "./lane";

/**
 * Which lane owns a (target, event): shard 0 is `idFromName(targetId)`, further shards `targetId#n`. The shard
 * follows from the event id, so every copy of an event reaches the same shard and is deduplicated there, and a
 * lookup by event id asks exactly one shard per target.
 */
export function shardOf(eventId: string, lanes: number): number {
  if (lanes <= 1) return 0;
  return Number.parseInt(eventId.slice(4, 12), 16) % lanes;
}

/**
 * The shard of one event at one target. An ordered target's events of one conversation must meet in one lane, so
 * they are sharded by conversation (FNV-1a of its lane key); every copy of an event has the same conversation,
 * so dedupe still holds. Events without a conversation are sharded by id.
 */
export function shardFor(target: Pick<TargetWithId, "lanes" | "ordering">, event: EventEnvelope): number {
  const lanes = target.lanes ?? 1;
  const key = isOrdered(target) ? laneConversation(event) : null;
  if (lanes <= 1 || key === null) return shardOf(event.id, lanes);
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

/**
 * The shards that may hold an event of a target, knowing only the event id: one, unless the target is ordered and
 * sharded (its conversations, not ids, pick the shard).
 */
export function shardsOf(eventId: string, target: Pick<TargetWithId, "lanes" | "ordering">): number[] {
  const lanes = target.lanes ?? 1;
  if (lanes > 1 && isOrdered(target)) return Array.from({ length: lanes }, (_, shard) => shard);
  return [shardOf(eventId, lanes)];
}

function laneName(targetId: string, shard: number): string {
  return shard === 0 ? targetId : `${targetId}#${shard}`;
}

/** The stub of one lane. */
export function laneStub(env: Env, targetId: string, shard: number): DurableObjectStub<Lane> {
  return env.LANES.get(env.LANES.idFromName(laneName(targetId, shard)));
}

/** Every shard of a target's lane. */
export function targetLanes(env: Env, target: Pick<TargetWithId, "id" | "lanes">): DurableObjectStub<Lane>[] {
  return Array.from({ length: target.lanes ?? 1 }, (_, shard) => laneStub(env, target.id, shard));
}
