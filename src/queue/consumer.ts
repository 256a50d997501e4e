import { cachedTargets } from "../config/store";
import type { TargetWithId } from "../config/target";
import { wants } from "../delivery/filter";
import { settings } from "../env";
import type { EventEnvelope, QueuedEnvelope } from "../event";
import { laneStub, shardFor } from "../lanes/route";
import type { LaneItem } from "../lanes/store";
import { createLogger, type Logger, logSettings } from "../log";
import { count } from "../metrics";
import { mapLimit } from "../pool";
import { recordStats, tally } from "../stats/record";
import type { StatEntry } from "../stats/summary";
import { withSchemaVerdict } from "../validate/schema";
import { putDeadLetter } from "./dead-letters";
import { prepare } from "./prepare";
import { INFRA_RETRY_SECONDS, MessageReader } from "./reader";

/** Lane calls in flight at once: each is a subrequest, and Workers allow 6 open connections per invocation. */
const CONNECTIONS = 6;

/** One call to one lane: a batch's events for that (target, shard). */
type LaneCall = { target: TargetWithId; shard: number; items: LaneItem[] };

/**
 * The queue handler: it routes each event to the lanes of the targets that want it and delivers nothing itself.
 * A lane stores its events before it answers, so a message is acked once every lane it went to has it; a message
 * whose lane call failed is retried, and lanes that already have it ignore the copy (the event id is their key).
 * It never throws: an uncaught throw would retry the whole batch.
 *
 * Cost: one lane call per (target, shard) per batch, however many of the batch's events it gets; the queue sees
 * one write, one read and one delete per event, however many targets it fans out to.
 */
export async function consumeBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const log = createLogger({ queue: batch.queue, batchSize: batch.messages.length }, logSettings(env));
  try {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetterQueue(batch, env, log);
    else await consumeEvents(batch, env, log);
  } catch (err) {
    // Reached when the config or KV fails before any lane is called: messages not yet acked or retried are
    // retried (per-message calls made earlier win).
    log.error("batch failed, retrying", { reason: String(err) });
    batch.retryAll({ delaySeconds: INFRA_RETRY_SECONDS });
  }
}

async function consumeEvents(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  const cfg = settings(env);
  const { targets, invalid, operations } = await cachedTargets(env.TARGETS, cfg.targetsCacheTtlMs, Date.now());
  if (invalid.length > 0) log.warn("targets with invalid config get no new events", { targets: invalid });
  const byId = new Map(targets.map((t) => [t.id, t]));

  const calls = new Map<string, LaneCall>();
  /** The console's counts for this batch, recorded in one call at the end. */
  const stats: StatEntry[] = [];
  /** The lanes each message went to: it is acked once they all have it; then its R2 body (if any) is deleted. */
  const routed: { msg: Message<unknown>; lanes: string[]; body?: string }[] = [];
  /** R2 bodies of messages acked without a lane call. */
  const done: string[] = [];
  // One subrequest is kept for the batch's stats.
  const reader = new MessageReader(env, log, Math.max(1, cfg.subrequestBudget - operations - 1));
  for (const msg of batch.messages) {
    const read = await reader.read(msg, calls.size > 0);
    if (!read) continue;
    const { message: body, key } = read;
    let routes: { target: TargetWithId; item: LaneItem }[];
    if (body.kind === "event") {
      const { event, order } = checked(env, body.event, body.data, log);
      if (msg.attempts === 1) countAccepted(stats, event);
      const item: LaneItem = { event, data: body.data, order, acked: msg.timestamp.getTime() };
      routes = targets.filter((t) => wants(t, event)).map((target) => ({ target, item }));
      if (routes.length === 0) {
        log.info("no target matches", { eventId: body.event.id, type: body.event.type });
        msg.ack();
        if (key) done.push(key);
        continue;
      }
    } else {
      const target = byId.get(body.target);
      if (!target?.enabled) {
        // A replay (or a delivery left from before lanes) for a target that is gone or off stays replayable.
        const deadLetter = await putDeadLetter(env.TARGETS, {
          kind: "delivery",
          target: body.target,
          event: body.event,
          data: body.data,
          lastError: target ? "target disabled" : "target deleted",
          attempts: 0,
        });
        log.warn("delivery for a target that is deleted or disabled, dead-lettered", {
          eventId: body.event.id,
          target: body.target,
          deadLetter,
        });
        msg.ack();
        if (key) done.push(key);
        continue;
      }
      const { event, order } = prepare(body.event, body.data);
      routes = [
        { target, item: { event, data: body.data, replay: body.replay, order, acked: msg.timestamp.getTime() } },
      ];
    }
    const keyed = routes.map((r) => ({ ...r, shard: shardFor(r.target, r.item.event) }));
    const lanes = keyed.map(({ target, shard }) => `${target.id}#${shard}`);
    const fresh = new Set(lanes.filter((lane) => !calls.has(lane))).size;
    if (!reader.spend(fresh, calls.size > 0)) {
      // Not enough subrequests left in this invocation: the next one takes this message.
      msg.retry({ delaySeconds: 0 });
      continue;
    }
    for (const [i, { target, shard, item }] of keyed.entries()) {
      const lane = lanes[i] as string;
      const call = calls.get(lane) ?? { target, shard, items: [] };
      call.items.push(item);
      calls.set(lane, call);
    }
    routed.push({ msg, lanes, body: key });
  }

  const failed = new Set<string>();
  const entries = [...calls.entries()];
  await mapLimit(entries, CONNECTIONS, async ([key, call]) => {
    try {
      await laneStub(env, call.target.id, call.shard).accept(call.target, call.shard, call.items);
    } catch (err) {
      failed.add(key);
      log.error("lane did not take its events; their messages are retried", {
        target: call.target.id,
        shard: call.shard,
        events: call.items.length,
        reason: String(err),
      });
    }
  });
  for (const { msg, lanes, body } of routed) {
    if (lanes.some((key) => failed.has(key))) msg.retry({ delaySeconds: INFRA_RETRY_SECONDS });
    else {
      msg.ack();
      if (body) done.push(body);
    }
  }
  await reader.forget(done);
  await recordStats(env, stats, log);
}

/** An event's first read: accepted, by provider, and the decider's verdict when one decided it. */
function countAccepted(stats: StatEntry[], event: EventEnvelope): void {
  tally(stats, "accepted", event.provider);
  if (event.decision === undefined) return;
  if (event.decidedby === "fallback") tally(stats, "fallback", event.decision);
  else tally(stats, "verdict", `${event.decidedby ?? "?"}:${event.decision}`);
}

/** The event as its lanes get it (see prepare.ts), logging and counting a schema failure. */
function checked(
  env: Env,
  queued: QueuedEnvelope,
  data: string,
  log: Logger,
): { event: EventEnvelope; order?: number } {
  const { event, order, issues, unknown } = prepare(queued, data);
  if (issues) {
    const fields = { eventId: event.id, appId: event.appid, providerevent: event.providerevent, issues };
    log.warn("forwarding a callback that fails its schema", fields);
    count(env, "schema_invalid", event.provider, event.type);
  } else if (unknown) count(env, "schema_invalid", event.provider, event.type, "unknown_type");
  return { event, order };
}

/**
 * The queue's own dead-letter queue receives what exhausted `max_retries` (the consumer kept failing to reach
 * KV, R2 or the lanes). Each message becomes a replayable dead letter in KV, its data inline (KV values hold 25
 * MiB), and its R2 body, if any, is deleted.
 */
async function consumeDeadLetterQueue(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  const reader = new MessageReader(env, log, settings(env).subrequestBudget);
  const done: string[] = [];
  for (const msg of batch.messages) {
    const read = await reader.read(msg, true);
    if (!read) continue;
    const { message: body, key } = read;
    const id = await putDeadLetter(env.TARGETS, {
      kind: body.kind,
      target: body.kind === "delivery" ? body.target : undefined,
      event: withSchemaVerdict(body.event, body.data).event,
      data: body.data,
      lastError: "queue retries exhausted",
      // Queue reads are not delivery attempts: no lane ever attempted this.
      attempts: 0,
    });
    log.error("queue retries exhausted; dead-lettered", { eventId: body.event.id, deadLetter: id });
    msg.ack();
    if (key) done.push(key);
  }
  await reader.forget(done);
}
