import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import { getTarget } from "../config/store";
import { TargetId } from "../config/target";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";
import { type DeadLetter, deleteDeadLetter, getDeadLetter, listDeadLetters } from "../queue/dead-letters";
import type { QueueMessage } from "../queue/message";
import { enqueueMessages } from "../queue/producer";
import { invalid, readJson } from "./validate";

const Query = z.object({
  target: z.optional(TargetId),
  since: z.optional(z.iso.datetime({ offset: true })),
  limit: z.optional(z.pipe(z.string().check(z.regex(/^\d{1,4}$/)), z.transform(Number))),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
});

const BulkReplay = z.strictObject({
  target: z.optional(TargetId),
  since: z.optional(z.iso.datetime({ offset: true })),
  limit: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
});

/** The queue message that replays a dead letter: one delivery for a target, or a whole event's fan-out. */
async function replayMessage(env: Env, letter: DeadLetter): Promise<QueueMessage> {
  if (!letter.event || letter.data === undefined || letter.kind === "malformed") {
    throw new RelayError("CONFLICT", "a malformed queue message cannot be replayed; inspect it and delete it");
  }
  if (letter.kind === "event" || !letter.target) return { kind: "event", event: letter.event, data: letter.data };
  const target = await getTarget(env.TARGETS, letter.target);
  if (!target) throw new RelayError("CONFLICT", "the dead letter's target no longer exists");
  if (!target.enabled)
    throw new RelayError("CONFLICT", "the dead letter's target is disabled; re-enable it with PUT first");
  return { kind: "delivery", event: letter.event, data: letter.data, target: letter.target, replay: letter.id };
}

/** Puts a dead letter back on the queue, then removes it: if the enqueue fails, the letter stays. */
async function replay(env: Env, letter: DeadLetter): Promise<void> {
  await enqueueMessages(env, [{ message: await replayMessage(env, letter), delaySeconds: 0 }]);
  await deleteDeadLetter(env.TARGETS, letter.id);
}

/**
 * `/admin/dead-letters`: what failed after its last attempt. A replay puts it back on the queue as a fresh
 * delivery (a new retry schedule) and removes the dead letter once the queue has it; if the replay fails again,
 * a new dead letter records it.
 */
export const deadLetterRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const parsed = Query.safeParse(c.req.query());
    if (!parsed.success) throw invalid("INVALID_REQUEST", "invalid query", parsed.error.issues);
    const { target, since, limit = 100, cursor } = parsed.data;
    if (limit < 1 || limit > 1000) throw new RelayError("INVALID_REQUEST", "limit must be between 1 and 1000");
    const page = await listDeadLetters(c.env.TARGETS, {
      target,
      sinceMs: since ? Date.parse(since) : undefined,
      limit,
      cursor,
    });
    return c.json(page);
  })
  .post("/replay", async (c) => {
    const parsed = BulkReplay.safeParse(await readJson(c.req.raw));
    if (!parsed.success) throw invalid("INVALID_REQUEST", "invalid replay request", parsed.error.issues);
    const { target, since, limit = 100 } = parsed.data;
    const sinceMs = since ? Date.parse(since) : undefined;
    const replayed: string[] = [];
    const skipped: { id: string; reason: string }[] = [];
    let cursor: string | undefined;
    let leftOver = false;
    // Page until `limit` replayable letters are found or the list ends; each page reads keys only.
    do {
      const page = await listDeadLetters(c.env.TARGETS, { target, sinceMs, limit: 1000, cursor });
      cursor = page.cursor;
      for (const item of page.items) {
        if (replayed.length >= limit) {
          leftOver = true;
          break;
        }
        const letter = await getDeadLetter(c.env.TARGETS, item.id);
        if (!letter) continue;
        try {
          await replay(c.env, letter);
          replayed.push(item.id);
        } catch (err) {
          skipped.push({ id: item.id, reason: err instanceof RelayError ? err.message : "enqueue failed" });
        }
      }
    } while (cursor && replayed.length < limit);
    c.get("log").info("dead letters replayed", { count: replayed.length, skipped: skipped.length, target });
    return c.json({ replayed, skipped, more: leftOver || Boolean(cursor) }, 202);
  })
  .get("/:id", async (c) => {
    const letter = await getDeadLetter(c.env.TARGETS, c.req.param("id"));
    if (!letter) throw new RelayError("NOT_FOUND", "no such dead letter");
    return c.json(letter);
  })
  .post("/:id/replay", async (c) => {
    const id = c.req.param("id");
    const letter = await getDeadLetter(c.env.TARGETS, id);
    if (!letter) throw new RelayError("NOT_FOUND", "no such dead letter");
    await replay(c.env, letter);
    c.get("log").info("dead letter replayed", { deadLetter: id, eventId: letter.event?.id, target: letter.target });
    return c.json({ replayed: id, eventId: letter.event?.id, target: letter.target }, 202);
  })
  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (!(await getDeadLetter(c.env.TARGETS, id))) throw new RelayError("NOT_FOUND", "no such dead letter");
    await deleteDeadLetter(c.env.TARGETS, id);
    return c.body(null, 204);
  });
