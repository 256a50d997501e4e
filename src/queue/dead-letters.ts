import * as z from "zod/mini";
import { EventEnvelope } from "../event";

/**
 * Dead letters in Workers KV: what could not be delivered after the last attempt, kept until an operator replays
 * or deletes it. Key layout: `dead:<scope>.<ms, 13 digits>.<random>` where scope is a target id, `_event` (a whole
 * event whose fan-out never completed) or `_malformed` (a queue message we could not read). Keys sort by time
 * within a scope; the id a caller sees is the key without `dead:`.
 */
const PREFIX = "dead:";
const EVENT_SCOPE = "_event";
const MALFORMED_SCOPE = "_malformed";

export const DeadLetter = z.object({
  id: z.string(),
  kind: z.enum(["delivery", "event", "malformed"]),
  target: z.optional(z.string()),
  event: z.optional(EventEnvelope),
  /** The event's `data`, as the raw JSON text of the callback body. */
  data: z.optional(z.string()),
  /** For malformed messages: the message body as received, truncated. */
  raw: z.optional(z.string()),
  lastStatus: z.optional(z.int()),
  lastError: z.string(),
  attempts: z.int(),
  deadAt: z.iso.datetime(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/** What `list` returns per item without reading values: KV metadata, ≤ 1024 bytes. */
export type DeadLetterSummary = Omit<DeadLetter, "event" | "data" | "raw"> & { eventId?: string; type?: string };

// Bounded, so an id from a request can never exceed KV's 512-byte key limit.
const ID = /^([a-z0-9_][a-z0-9_-]{0,63})\.(\d{13})\.([a-z0-9]{8,32})$/;

/** Splits a dead-letter id into its scope and time; undefined when it is not one of ours. */
function parseDeadLetterId(id: string): { scope: string; atMs: number } | undefined {
  const m = ID.exec(id);
  return m ? { scope: m[1] as string, atMs: Number(m[2]) } : undefined;
}

/**
 * A dead letter's id: scope, time (13 digits, so keys sort by time) and a unique part. A caller that passes its
 * own unique part to `putDeadLetter` knows the id before the write, and its log line can name it.
 */
export function deadLetterId(scope: string, atMs: number, unique: string): string {
  return `${scope}.${String(atMs).padStart(13, "0")}.${unique}`;
}

/** Stores a dead letter and returns its id. */
export async function putDeadLetter(
  kv: KVNamespace,
  entry: Omit<DeadLetter, "id" | "deadAt">,
  nowMs: number = Date.now(),
  /** Makes the id deterministic, so a write repeated after a failure overwrites instead of duplicating. */
  unique?: string,
): Promise<string> {
  const scope =
    entry.kind === "delivery" && entry.target ? entry.target : entry.kind === "event" ? EVENT_SCOPE : MALFORMED_SCOPE;
  const id = deadLetterId(scope, nowMs, unique ?? crypto.randomUUID().replaceAll("-", "").slice(0, 12));
  const value: DeadLetter = { ...entry, id, deadAt: new Date(nowMs).toISOString() };
  const summary: DeadLetterSummary = {
    id,
    kind: entry.kind,
    target: entry.target,
    lastStatus: entry.lastStatus,
    lastError: entry.lastError.slice(0, 200),
    attempts: entry.attempts,
    deadAt: value.deadAt,
    eventId: entry.event?.id,
    type: entry.event?.type.slice(0, 128),
  };
  await kv.put(PREFIX + id, JSON.stringify(value), { metadata: summary });
  return id;
}

/** Reads one dead letter. */
export async function getDeadLetter(kv: KVNamespace, id: string): Promise<DeadLetter | undefined> {
  if (!parseDeadLetterId(id)) return undefined;
  const parsed = DeadLetter.safeParse(await kv.get(PREFIX + id, "json"));
  return parsed.success ? parsed.data : undefined;
}

/** Deletes one dead letter (after a successful replay). */
export async function deleteDeadLetter(kv: KVNamespace, id: string): Promise<void> {
  await kv.delete(PREFIX + id);
}

/**
 * Lists dead letters, oldest first within a scope, optionally of one target and since a time, one KV page at a
 * time (`cursor` continues). Reads only keys and metadata.
 */
export async function listDeadLetters(
  kv: KVNamespace,
  opts: { target?: string; sinceMs?: number; limit: number; cursor?: string },
): Promise<{ items: DeadLetterSummary[]; cursor?: string }> {
  const prefix = opts.target ? `${PREFIX}${opts.target}.` : PREFIX;
  const page = await kv.list<DeadLetterSummary>({ prefix, limit: opts.limit, cursor: opts.cursor });
  const items: DeadLetterSummary[] = [];
  for (const key of page.keys) {
    const id = key.name.slice(PREFIX.length);
    const parsed = parseDeadLetterId(id);
    if (!parsed || (opts.sinceMs !== undefined && parsed.atMs < opts.sinceMs)) continue;
    items.push(
      key.metadata ?? { id, kind: "delivery", lastError: "", attempts: 0, deadAt: new Date(parsed.atMs).toISOString() },
    );
  }
  return { items, cursor: page.list_complete ? undefined : page.cursor };
}
