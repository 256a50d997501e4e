import { type Kept, keptOf } from "./endpoint";
import type { Target, TargetWithId } from "./target";
import { MAX_LANES, Target as TargetSchema } from "./target";

/**
 * Targets in Workers KV. Layout (documented in the README, schema in `schemas/target.json`):
 *   `target:<id>` → Target JSON
 * One key per target so concurrent admin writes to different targets never overwrite each other.
 */
const PREFIX = "target:";

/** KV key of a target. */
export function targetKey(id: string): string {
  return PREFIX + id;
}

/** Reads one target; undefined when absent (or unreadable, which is logged by the caller's validation). */
export async function getTarget(kv: KVNamespace, id: string): Promise<Target | undefined> {
  const found = await readTarget(kv, id);
  return found.kind === "ok" ? found.target : undefined;
}

/** A stored target, told apart from a missing one and from one that no longer passes its schema. */
export type TargetLookup =
  | { kind: "ok"; target: TargetWithId }
  | { kind: "missing" }
  | { kind: "invalid"; lanes: number; kept: Kept | undefined };

/** The `lanes` of a stored value that may fail the schema, so its lanes can still be found; else 1. */
function lanesOf(value: unknown): number {
  const lanes = (value as { lanes?: unknown } | null)?.lanes;
  return Number.isInteger(lanes) && (lanes as number) >= 1 && (lanes as number) <= MAX_LANES ? (lanes as number) : 1;
}

/**
 * Reads one target. A stored value that fails the schema is `invalid`, not missing: its deliveries must wait for
 * an operator to fix it, never be dropped as if it had been deleted.
 */
export async function readTarget(kv: KVNamespace, id: string): Promise<TargetLookup> {
  return lookupOf(id, await kv.get(targetKey(id), "json"));
}

/** What a stored value (null: no key) is as a target. */
function lookupOf(id: string, value: unknown): TargetLookup {
  if (value === null) return { kind: "missing" };
  const parsed = TargetSchema.safeParse(value);
  return parsed.success
    ? { kind: "ok", target: { ...parsed.data, id } }
    : { kind: "invalid", lanes: lanesOf(value), kept: keptOf(value) };
}

/** Writes a target (whole document). */
export async function putTarget(kv: KVNamespace, id: string, target: Target): Promise<void> {
  await kv.put(targetKey(id), JSON.stringify(target));
  invalidateTargetCache();
}

/** Deletes a target. */
export async function deleteTarget(kv: KVNamespace, id: string): Promise<void> {
  await kv.delete(targetKey(id));
  invalidateTargetCache();
}

/**
 * Reads every value under `prefix`: one `list` per 1000 keys plus one bulk `get` per 100 (a bulk get is one KV
 * operation). Returns the ids (the key without the prefix) with their parsed JSON, and the operations used.
 */
export async function readPrefix(
  kv: KVNamespace,
  prefix: string,
): Promise<{ entries: [string, unknown][]; operations: number }> {
  const keys: string[] = [];
  let operations = 0;
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await kv.list({ prefix, cursor });
    operations++;
    for (const key of page.keys) keys.push(key.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  const entries: [string, unknown][] = [];
  for (let i = 0; i < keys.length; i += 100) {
    const values = await kv.get(keys.slice(i, i + 100), "json");
    operations++;
    for (const [key, value] of values) entries.push([key.slice(prefix.length), value]);
  }
  return { entries, operations };
}

/**
 * Reads every target: one `list` plus one bulk `get` per 100 keys (a bulk get is one KV operation). Returns the
 * number of KV operations used, so the consumer can count them against its subrequest budget. Entries that do
 * not parse are reported in `invalid` instead of being delivered with a half-read config.
 */
export async function listTargets(kv: KVNamespace): Promise<{
  targets: TargetWithId[];
  invalid: string[];
  /** Every stored target's id and lane count, valid or not: their lanes may hold deliveries. */
  lanes: { id: string; lanes: number }[];
  operations: number;
}> {
  const { entries, operations } = await readPrefix(kv, PREFIX);
  const targets: TargetWithId[] = [];
  const invalid: string[] = [];
  const lanes: { id: string; lanes: number }[] = [];
  for (const [id, value] of entries) {
    const found = lookupOf(id, value);
    if (found.kind === "missing") continue;
    if (found.kind === "ok") targets.push(found.target);
    else invalid.push(id);
    lanes.push({ id, lanes: found.kind === "ok" ? (found.target.lanes ?? 1) : found.lanes });
  }
  targets.sort((a, b) => a.id.localeCompare(b.id));
  return { targets, invalid, lanes, operations };
}

let cache: { at: number; targets: TargetWithId[]; invalid: string[] } | undefined;

/** Drops the per-isolate cache; admin writes call it so the same isolate sees its own changes at once. */
export function invalidateTargetCache(): void {
  cache = undefined;
}

/**
 * Targets for the consumer, cached per isolate for `ttlMs` so a batch (and the batches right after it) cost at
 * most one KV read round. KV itself is eventually consistent (~60 s across locations), so the TTL adds little.
 */
export async function cachedTargets(
  kv: KVNamespace,
  ttlMs: number,
  nowMs: number,
): Promise<{ targets: TargetWithId[]; invalid: string[]; operations: number }> {
  if (cache && nowMs - cache.at < ttlMs) return { targets: cache.targets, invalid: cache.invalid, operations: 0 };
  const fresh = await listTargets(kv);
  cache = { at: nowMs, targets: fresh.targets, invalid: fresh.invalid };
  return fresh;
}

/** Disables a target on the receiver's request (410 Gone); a later PUT re-enables it. */
export async function disableTarget(
  kv: KVNamespace,
  id: string,
  reason: string,
  nowMs: number = Date.now(),
): Promise<void> {
  const target = await getTarget(kv, id);
  if (!target?.enabled) return;
  await putTarget(kv, id, {
    ...target,
    enabled: false,
    disabledReason: reason,
    updatedAt: new Date(nowMs).toISOString(),
  });
}
