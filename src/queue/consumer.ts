import { cachedTargets, disableTarget } from "../config/store";
import type { TargetWithId } from "../config/target";
import { attemptDelivery, mapLimit } from "../delivery/attempt";
import { classify, type Verdict } from "../delivery/classify";
import { matchesFilter } from "../delivery/filter";
import { type Settings, settings } from "../env";
import { type EventEnvelope, serializeEvent } from "../event";
import { createLogger, type Logger, logLevel } from "../log";
import { count } from "../metrics";
import { parseRetryAfter, retryDelay, withJitter } from "./backoff";
import { putDeadLetter } from "./dead-letters";
import { type DeliveryMessage, QueueMessage } from "./message";
import { enqueueMessages, type ScheduledDelivery } from "./producer";

/** Workers allow 6 simultaneous outgoing connections per invocation. */
const CONNECTIONS = 6;
/** Delay before a message is retried after an infrastructure failure (KV or Queue unavailable). */
const INFRA_RETRY_SECONDS = 30;
/** Slack kept between a message's planned next read and the queue's retention limit. */
const RETENTION_MARGIN_SECONDS = 3_600;

/** Whether a target wants this event. */
function targetMatches(target: TargetWithId, event: EventEnvelope): boolean {
  return (
    target.enabled &&
    (!target.providers || target.providers.includes(event.provider)) &&
    (!target.apps || target.apps.includes(event.appid)) &&
    matchesFilter(target.events, [event.type, event.providerevent])
  );
}

/** One queue message, read and planned. */
type Job = {
  msg: Message<unknown>;
  event: EventEnvelope;
  /** The event's `data`, raw JSON text. */
  data: string;
  /** Attempt number of the deliveries made now. */
  attempt: number;
  /** Targets delivered to in this invocation. */
  now: TargetWithId[];
  /** Set for `delivery` messages: retried in place with `msg.retry`, so a retry costs one queue read. */
  single: boolean;
  /** Deliveries this message hands on to later messages; it is acked only once they are on the queue. */
  followUps: ScheduledDelivery[];
};

type Outcome = { target: TargetWithId; verdict: Verdict; status?: number; retryAfter?: number };

function delivery(
  event: EventEnvelope,
  data: string,
  target: string,
  attempt: number,
  delaySeconds: number,
): ScheduledDelivery {
  const message: DeliveryMessage = { v: 1, kind: "delivery", event, data, target, attempt };
  return { message, delaySeconds };
}

/**
 * The queue handler. Per message it decides: ack, retry with a delay, or dead-letter; it never throws (an
 * uncaught throw would retry the whole batch and re-deliver to targets that already have their events) and
 * awaits every promise.
 *
 * Cost: an `event` message whose targets all answer 2xx is one queue write (the ingress), one read and one
 * delete, however many targets it fans out to. Only failed (event, target) pairs are re-enqueued, one message
 * each with its delay; their later retries use `msg.retry`, which costs one more read and no write.
 */
export async function consumeBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const log = createLogger({ queue: batch.queue, batchSize: batch.messages.length }, logLevel(env));
  try {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetterQueue(batch, env, log);
    else await consumeEvents(batch, env, log);
  } catch (err) {
    // Reached when the config, KV or a dead-letter write fails before any delivery is made: messages not yet
    // acked or retried are retried (per-message calls made earlier win).
    log.error("batch failed, retrying", { reason: String(err) });
    batch.retryAll({ delaySeconds: INFRA_RETRY_SECONDS });
  }
}

async function consumeEvents(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  const cfg = settings(env);
  const nowMs = Date.now();
  const { targets, invalid, operations } = await cachedTargets(env.TARGETS, cfg.targetsCacheTtlMs, nowMs);
  if (invalid.length > 0) log.warn("targets with invalid config are skipped", { targets: invalid });
  const byId = new Map(targets.map((t) => [t.id, t]));

  const jobs: Job[] = [];
  // Outbound deliveries, the target read and the one follow-up send share the subrequest budget. Dead-letter
  // and 410 writes are KV operations, which have their own limit of 1,000 per invocation.
  const fullBudget = Math.max(1, cfg.subrequestBudget - operations - 1);
  let budget = fullBudget;
  for (const msg of batch.messages) {
    const body = await readMessage(env, msg, log);
    if (!body) continue;
    if (body.kind === "event") {
      const matching = targets.filter((t) => targetMatches(t, body.event));
      if (matching.length === 0) {
        log.info("no target matches", { eventId: body.event.id, type: body.event.type });
        msg.ack();
        continue;
      }
      if (matching.length > budget && budget < fullBudget) {
        // Not enough subrequests left in this invocation: try the whole event again in the next one.
        msg.retry({ delaySeconds: 0 });
        continue;
      }
      const take = Math.min(matching.length, budget);
      budget -= take;
      const later = matching.slice(take).map((t) => delivery(body.event, body.data, t.id, 1, 0));
      jobs.push({
        msg,
        event: body.event,
        data: body.data,
        attempt: 1,
        now: matching.slice(0, take),
        single: false,
        followUps: later,
      });
      continue;
    }
    const attempt = body.attempt + msg.attempts - 1;
    const target = byId.get(body.target);
    if (!target) {
      log.warn("target deleted, delivery dropped", { eventId: body.event.id, target: body.target });
      msg.ack();
    } else if (!target.enabled) {
      await putDeadLetter(env.TARGETS, {
        kind: "delivery",
        target: target.id,
        event: body.event,
        data: body.data,
        lastError: "target disabled",
        attempts: attempt - 1,
      });
      log.warn("target disabled, delivery dead-lettered", { eventId: body.event.id, target: target.id });
      msg.ack();
    } else if (budget === 0) {
      // Re-sent rather than retried: a retry would count as a delivery attempt.
      const followUps = [delivery(body.event, body.data, target.id, attempt, 0)];
      jobs.push({ msg, event: body.event, data: body.data, attempt, now: [], single: false, followUps });
    } else {
      budget--;
      jobs.push({ msg, event: body.event, data: body.data, attempt, now: [target], single: true, followUps: [] });
    }
  }

  const results = await deliverAll(jobs, cfg);
  const settle = jobs.map((job, i) => settleJob(job, results[i] ?? [], env, cfg, log));

  // Only failed pairs are re-enqueued, in one send for the whole batch. If that fails, the messages that had
  // follow-ups are retried whole (targets that already succeeded may get a duplicate, with the same
  // webhook-id: at-least-once, never lost); the others are settled as usual.
  const followUps = jobs.flatMap((job) => job.followUps);
  let enqueued = true;
  if (followUps.length > 0) {
    try {
      await enqueueMessages(env.EVENTS, followUps);
    } catch (err) {
      enqueued = false;
      log.error("could not re-enqueue failed deliveries; retrying their messages", { reason: String(err) });
    }
  }
  for (const [i, job] of jobs.entries()) {
    try {
      if (enqueued || job.followUps.length === 0) await settle[i]?.();
      else job.msg.retry({ delaySeconds: cfg.retrySchedule[0] ?? INFRA_RETRY_SECONDS });
    } catch (err) {
      // A dead-letter or disable write failed: only this message is retried, the others keep their outcome.
      log.error("could not record a delivery outcome; retrying its message", {
        messageId: job.msg.id,
        reason: String(err),
      });
      job.msg.retry({ delaySeconds: INFRA_RETRY_SECONDS });
    }
  }
}

async function deliverAll(jobs: readonly Job[], cfg: Settings): Promise<Outcome[][]> {
  const bodies = jobs.map((job) => serializeEvent(job.event, job.data));
  const pairs = jobs.flatMap((job, i) => job.now.map((target) => ({ i, target })));
  const outcomes = await mapLimit(pairs, CONNECTIONS, async ({ i, target }): Promise<Outcome> => {
    const job = jobs[i] as Job;
    const result = await attemptDelivery(target, job.event.id, bodies[i] as string, cfg.deliveryTimeoutMs);
    const verdict = classify(result);
    if (result.kind !== "response") return { target, verdict };
    return { target, verdict, status: result.status, retryAfter: parseRetryAfter(result.retryAfter, Date.now()) };
  });
  const grouped: Outcome[][] = jobs.map(() => []);
  for (const [k, { i }] of pairs.entries()) grouped[i]?.push(outcomes[k] as Outcome);
  return grouped;
}

/**
 * Records what happened to one message's deliveries and returns the ack/retry to apply once the follow-up
 * deliveries are safely on the queue.
 */
function settleJob(job: Job, outcomes: readonly Outcome[], env: Env, cfg: Settings, log: Logger): () => Promise<void> {
  const eventLog = log.with({
    messageId: job.msg.id,
    eventId: job.event.id,
    type: job.event.type,
    attempt: job.attempt,
  });
  let retryInPlace: number | undefined;
  // KV writes wait until the follow-ups are on the queue, and a failing one retries only this message.
  const writes: (() => Promise<unknown>)[] = [];
  const deadLetter = (target: string, lastStatus: number | undefined, lastError: string) =>
    putDeadLetter(env.TARGETS, {
      kind: "delivery",
      target,
      event: job.event,
      data: job.data,
      lastStatus,
      lastError,
      attempts: job.attempt,
    });

  for (const { target, verdict, status, retryAfter } of outcomes) {
    const fields = { target: target.id, status };
    const counted = (outcome: Parameters<typeof count>[1], detail = "") =>
      count(env, outcome, job.event.provider, job.event.type, detail);
    if (verdict.outcome === "delivered") {
      eventLog.info("delivered", fields);
      counted("delivered");
      continue;
    }
    if (verdict.outcome === "gone") {
      eventLog.warn("target answered 410 Gone; disabling it", fields);
      counted("disabled", "HTTP 410");
      writes.push(() => disableTarget(env.TARGETS, target.id, `answered 410 Gone at ${new Date().toISOString()}`));
      writes.push(() => deadLetter(target.id, 410, "HTTP 410 (target disabled)"));
      continue;
    }
    const scheduled = cfg.retrySchedule[job.attempt - 1];
    if (scheduled === undefined) {
      eventLog.warn("retries exhausted; dead-lettered", { ...fields, reason: verdict.reason });
      counted("dead_lettered", verdict.reason);
      writes.push(() => deadLetter(target.id, status, verdict.reason));
      continue;
    }
    const delaySeconds = retryDelay(withJitter(scheduled), retryAfter);
    eventLog.warn("delivery failed; will retry", { ...fields, reason: verdict.reason, delaySeconds });
    counted("retried", verdict.reason);
    // A queue keeps a message for a fixed time from its first send (24 h on the Free plan) however often it is
    // retried; the default schedule spans ~27.6 h. A retry that would outlive that is sent as a fresh message.
    const ageSeconds = (Date.now() - job.msg.timestamp.getTime()) / 1000;
    if (job.single && ageSeconds + delaySeconds < cfg.queueRetentionSeconds - RETENTION_MARGIN_SECONDS)
      retryInPlace = delaySeconds;
    else job.followUps.push(delivery(job.event, job.data, target.id, job.attempt + 1, delaySeconds));
  }

  return async () => {
    for (const write of writes) await write();
    if (retryInPlace !== undefined) job.msg.retry({ delaySeconds: retryInPlace });
    else job.msg.ack();
  };
}

/** Messages are JSON text (see producer.ts); an object body is read as is. */
function decode(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The message's body, or undefined once a malformed message is dead-lettered (never retried forever). */
async function readMessage(env: Env, msg: Message<unknown>, log: Logger): Promise<QueueMessage | undefined> {
  const parsed = QueueMessage.safeParse(decode(msg.body));
  if (parsed.success) return parsed.data;
  await deadLetterMalformed(env, msg, log);
  return undefined;
}

async function deadLetterMalformed(env: Env, msg: Message<unknown>, log: Logger): Promise<void> {
  let raw: string;
  try {
    raw = JSON.stringify(msg.body) ?? String(msg.body);
  } catch {
    raw = String(msg.body);
  }
  const id = await putDeadLetter(env.TARGETS, {
    kind: "malformed",
    raw: raw.slice(0, 100_000),
    lastError: "message does not match the queue message schema",
    attempts: msg.attempts,
  });
  log.error("malformed queue message dead-lettered", { messageId: msg.id, deadLetter: id });
  msg.ack();
}

/**
 * The queue's own dead-letter queue receives what exhausted `max_retries` (the consumer kept failing on
 * infrastructure). Each message becomes a replayable dead letter in KV.
 */
async function consumeDeadLetterQueue(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  for (const msg of batch.messages) {
    const body = await readMessage(env, msg, log);
    if (!body) continue;
    const id = await putDeadLetter(env.TARGETS, {
      kind: body.kind,
      target: body.kind === "delivery" ? body.target : undefined,
      event: body.event,
      data: body.data,
      lastError: "queue retries exhausted",
      // The DLQ's own read count says nothing about delivery attempts; the message's attempt number does.
      attempts: body.kind === "delivery" ? body.attempt : 1,
    });
    log.error("queue retries exhausted; dead-lettered", { eventId: body.event.id, deadLetter: id });
    msg.ack();
  }
}
