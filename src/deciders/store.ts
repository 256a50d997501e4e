import { type Kept, keptOf } from "../config/endpoint";
import { readPrefix } from "../config/store";
import { Decider, type DeciderWithId } from "./config";

/**
 * Deciders in Workers KV, beside the targets: `decider:<id>` → Decider JSON (schema in `schemas/decider.json`).
 * Only before-callbacks read them, through a per-isolate cache.
 */
const PREFIX = "decider:";

export function deciderKey(id: string): string {
  return PREFIX + id;
}

/** A stored decider, told apart from a missing one and from one that no longer passes its schema. */
export type DeciderLookup =
  | { kind: "ok"; decider: DeciderWithId }
  | { kind: "missing" }
  | { kind: "invalid"; kept: Kept | undefined };

function lookupOf(id: string, value: unknown): DeciderLookup {
  if (value === null) return { kind: "missing" };
  const parsed = Decider.safeParse(value);
  return parsed.success ? { kind: "ok", decider: { ...parsed.data, id } } : { kind: "invalid", kept: keptOf(value) };
}

export async function readDecider(kv: KVNamespace, id: string): Promise<DeciderLookup> {
  return lookupOf(id, await kv.get(deciderKey(id), "json"));
}

export async function getDecider(kv: KVNamespace, id: string): Promise<DeciderWithId | undefined> {
  const found = await readDecider(kv, id);
  return found.kind === "ok" ? found.decider : undefined;
}

export async function putDecider(kv: KVNamespace, id: string, decider: Decider): Promise<void> {
  await kv.put(deciderKey(id), JSON.stringify(decider));
  invalidateDeciderCache();
}

export async function deleteDecider(kv: KVNamespace, id: string): Promise<void> {
  await kv.delete(deciderKey(id));
  invalidateDeciderCache();
}

/** Every decider, sorted by id (the order ties are broken in); `invalid` names those failing their schema. */
export async function listDeciders(kv: KVNamespace): Promise<{ deciders: DeciderWithId[]; invalid: string[] }> {
  const { entries } = await readPrefix(kv, PREFIX);
  const deciders: DeciderWithId[] = [];
  const invalid: string[] = [];
  for (const [id, value] of entries) {
    const found = lookupOf(id, value);
    if (found.kind === "ok") deciders.push(found.decider);
    else if (found.kind === "invalid") invalid.push(id);
  }
  deciders.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { deciders, invalid };
}

let cache: { at: number; deciders: DeciderWithId[]; invalid: string[] } | undefined;
/** The read under way, so a burst of before-callbacks on a cold isolate costs one KV read, not one each. */
let loading: Promise<CachedDeciders> | undefined;

/** What the ack path knows of the deciders; `stale` when KV failed and an older list (or none) stands in. */
export type CachedDeciders = { deciders: DeciderWithId[]; invalid: string[]; stale?: { error: string } };

/**
 * Deciders for the ack path, cached per isolate for `ttlMs` (TARGETS_CACHE_TTL_SECONDS, like targets): a change
 * applies within that TTL plus KV's own propagation (up to ~60 s in other locations). When KV fails, the last
 * list read keeps deciding, marked `stale`; with none, there are no deciders and the caller says so.
 */
export function cachedDeciders(kv: KVNamespace, ttlMs: number, nowMs: number): Promise<CachedDeciders> {
  if (cache && nowMs - cache.at < ttlMs) return Promise.resolve(cache);
  loading ??= listDeciders(kv)
    .then((fresh): CachedDeciders => {
      cache = { at: nowMs, ...fresh };
      return cache;
    })
    .catch((err: unknown) => ({
      deciders: cache?.deciders ?? [],
      invalid: cache?.invalid ?? [],
      stale: { error: String(err).slice(0, 200) },
    }))
    .finally(() => {
      loading = undefined;
    });
  return loading;
}

/** Drops the per-isolate cache; admin writes call it so the same isolate sees its own changes at once. */
export function invalidateDeciderCache(): void {
  cache = undefined;
  loading = undefined;
}
