import type { TargetWithId } from "../config/target";
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
