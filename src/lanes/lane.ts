import { DurableObject } from "cloudflare:workers";
import { disableTarget, readTarget, type TargetLookup } from "../config/store";
import { isOrdered, LANE_CONNECTIONS, REORDER_WINDOW_MS, type TargetWithId } from "../config/target";
import { attemptDelivery } from "../delivery/attempt";
import { type AttemptResult, classify, type Verdict } from "../delivery/classify";
import { type Settings, settings } from "../env";
import { type EventEnvelope, spliceData } from "../event";
import { createLogger, type Logger, logSettings } from "../log";
import { count } from "../metrics";
import { pool, type Take } from "../pool";
import { parseRetryAfter, retryDelay, withJitter } from "../queue/backoff";
import { deadLetterId, putDeadLetter } from "../queue/dead-letters";
import { recordStats, tally } from "../stats/record";
import type { StatEntry } from "../stats/summary";
import { afterAttempt, allowance } from "./circuit";
import type { DeliveryView, LaneStatus, LaneSummary, ListQuery } from "./log";
import { type AttemptRecord, type DeliveryRow, type LaneItem, LaneStore, type Next } from "./store";

/** An alarm run stops starting deliveries after this long, and re-arms: one run never holds the lane for long. */
const RUN_MS = 30_000;
/** Due rows an alarm run reads at a time. */
const ROUND_ROWS = 50;
/** How long to wait before retrying a KV write the lane owes, or re-reading a target that fails its schema. */
const INFRA_RETRY_MS = 30_000;
/** How long after the consumer last saw the target a missing KV read is not yet believed (KV's propagation). */
const KV_SETTLE_MS = 60_000;
/** Finished records pruned per alarm run. */
const PRUNE_ROWS = 500;

/** Who a lane is: its target and shard, recorded on first contact (an alarm has no caller to say it). */
type Identity = { target: string; shard: number };

/** How often a busy lane sends its outcome counts to the Stats object; lost if the lane is evicted first. */
const STATS_FLUSH_MS = 5_000;

/**
 * A delivery lane: the one place a target's deliveries live. A SQLite-backed Durable Object per (target, shard)
 * that the queue consumer hands events to and that delivers them on its own schedule, driven by one alarm set to
 * the earliest due row. A target that hangs or fails fills only its own lane: it holds its own connections, its
 * own alarm and its own retry schedule, and nothing else waits for it.
 *
 * Every method is idempotent on the event id: the consumer may call `accept` again after a lost answer, and an
 * alarm may run twice (alarms are at-least-once).
 */
export class Lane extends DurableObject<Env> {
  private readonly store: LaneStore;
  /** The target as last seen, from the consumer or KV; re-read from KV once older than the targets cache TTL. */
  private target: { lookup: TargetLookup; at: number } | undefined;
  /** When the next delivery may start under the target's `ratePerSecond`. */
  private nextStartAt = 0;
  /** When the consumer last handed this lane events (and so its target); see KV_SETTLE_MS. */
  private seenAt = 0;
  /** When `prune` next has work (infinity: nothing finished yet); undefined until computed. */
  private pruneAt: number | undefined;
  /** Who this lane is, once read from storage. */
  private known: Identity | undefined;
  /** The alarm as last set or read (null: none); undefined until read, after which only this object changes it. */
  private alarmAt: number | null | undefined;
  /** Set after a KV write the lane owes failed, or while its target fails its schema: wait before trying again. */
  private holdUntil = 0;
  /** Outcomes for the console's counters not yet recorded, and when they last were. */
  private outcomes: StatEntry[] = [];
  private statsAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LaneStore(ctx.storage);
    void ctx.blockConcurrencyWhile(async () => this.store.migrate());
  }

  /**
   * Takes a batch's events for this lane. They are in the lane's storage when this resolves, so the consumer may
   * ack them: from here on the lane owns their delivery.
   */
  async accept(
    target: TargetWithId,
    shard: number,
    items: LaneItem[],
  ): Promise<{ accepted: number; duplicates: number }> {
    const nowMs = Date.now();
    this.identify({ target: target.id, shard });
    this.target = { lookup: { kind: "ok", target }, at: nowMs };
    this.seenAt = nowMs;
    const windowMs = target.reorderWindowMs ?? REORDER_WINDOW_MS;
    const result = this.store.accept(items, nowMs, isOrdered(target) ? { windowMs } : undefined);
    // New events are due now. Armed even when every item was a duplicate: the call that stored them may have
    // failed to set the alarm. The run then sets the alarm precisely.
    await this.setAlarm(nowMs, nowMs);
    return result;
  }

  /** The delivery log entry of one event, or undefined when this lane does not know it. */
  async lookup(eventId: string): Promise<DeliveryView | undefined> {
    const row = this.store.get(eventId);
    if (!row) return undefined;
    const attempts = JSON.parse(row.log) as AttemptRecord[];
    return {
      target: this.identity()?.target ?? "",
      event: row.envelope === null || row.data === null ? null : { envelope: row.envelope, data: row.data },
      state: row.state,
      attempts: attempts.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
      ...nextAttempt(row),
      ...(row.blocked_by !== null && { blockedBy: row.blocked_by }),
    };
  }

  /** A page of this lane's delivery log, newest first. */
  async list(query: ListQuery): Promise<LaneSummary[]> {
    return this.store.list(query).map((row) => ({
      event: row.event_id,
      type: row.type,
      ...(row.provider !== null && { provider: row.provider }),
      state: row.state,
      attempts: row.attempts,
      createdAt: row.created_at,
      ...(row.last_status !== null && { lastStatus: row.last_status }),
      ...(row.last_at !== null && { lastAttemptAt: new Date(row.last_at).toISOString() }),
      ...nextAttempt(row),
      ...(row.blocked_by !== null && { blockedBy: row.blocked_by }),
    }));
  }

  /**
   * Retires the lane when its target is deleted: every pending delivery becomes a dead letter (replayable if the
   * target comes back), and once they are all in KV the lane forgets everything, so a new target with the same id
   * starts with a clean log and dedupe memory. Writes at most a budget's worth of dead letters per call; the
   * caller calls again while `remaining` > 0. Throws, leaving everything in place, when KV fails.
   */
  async retire(): Promise<{ remaining: number }> {
    const id = this.identity();
    if (!id) return { remaining: 0 };
    const { remaining } = await this.retireSteps(id.target, Math.max(1, settings(this.env).subrequestBudget - 2));
    return { remaining };
  }

  /** Returns how many pending deliveries it dead-lettered, and how many dead letters are still to be written. */
  private async retireSteps(target: string, limit: number): Promise<{ killed: number; remaining: number }> {
    const killed = this.store.killPending("target deleted", Date.now());
    this.store.forgetFinished();
    await this.writeDeadLetters(target, limit, true);
    const remaining = this.store.unwrittenDeadLetters(1).length;
    if (remaining === 0) {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.alarmAt = null;
      this.known = undefined;
      this.pruneAt = undefined;
      this.store.reset();
      this.store.migrate();
      this.target = undefined;
      this.holdUntil = 0;
    }
    return { killed, remaining };
  }

  /** The lane's circuit breaker and backlog, for the admin API and the bench. */
  async status(): Promise<LaneStatus> {
    const circuit = this.store.circuit();
    return {
      circuit: circuit.state,
      consecutiveFailures: circuit.failures,
      ...(circuit.openedAt !== undefined && { openedAt: new Date(circuit.openedAt).toISOString() }),
      ...(circuit.state === "open" &&
        circuit.probeAt !== undefined && { nextProbeAt: new Date(circuit.probeAt).toISOString() }),
      ...this.store.counts(),
      rowsWritten: this.store.rowsWritten,
    };
  }

  /** The alarm run under way. Runs never overlap: one that starts while another is under way waits for it. */
  private running: Promise<void> = Promise.resolve();

  override async alarm(): Promise<void> {
    // The runtime clears the alarm it is running.
    this.alarmAt = null;
    const run = this.running.then(() => this.run());
    this.running = run.catch(() => undefined);
    await run;
  }

  private async run(): Promise<void> {
    const id = this.identity();
    if (!id) return;
    const cfg = settings(this.env);
    const log = createLogger({ target: id.target, shard: id.shard }, logSettings(this.env));
    const started = Date.now();
    // Every fetch and KV call of this run shares the invocation's subrequest budget.
    let budget = Math.max(2, cfg.subrequestBudget - 2);
    try {
      budget -= await this.settleOwed(id, budget, log);
      const lookup = await this.resolveTarget(id.target, cfg, started);
      budget -= lookup.operations;
      const found = lookup.lookup;
      if (found.kind === "missing" && Date.now() - this.seenAt < KV_SETTLE_MS) {
        // KV is eventually consistent: a target the consumer handed us moments ago may not read back yet here.
        this.holdUntil = Date.now() + INFRA_RETRY_MS;
      } else if (found.kind === "missing") {
        const { killed, remaining } = await this.retireSteps(id.target, budget);
        log.warn("target deleted; its pending deliveries are dead-lettered", { deliveries: killed, remaining });
        if (remaining === 0) return;
      } else if (found.kind === "invalid") {
        // Never dropped as if deleted: the deliveries wait for an operator to fix the stored target.
        log.error("target fails its schema; deliveries wait until it is fixed", {});
        this.holdUntil = Date.now() + INFRA_RETRY_MS;
      } else if (!found.target.enabled || this.store.pendingDisable() !== undefined) {
        // A 410 whose disable is not yet in KV counts as disabled: the target asked for nothing more.
        const n = this.store.killPending("target disabled", Date.now());
        if (n > 0) log.warn("target disabled; its pending deliveries are dead-lettered", { deliveries: n });
      } else {
        budget -= await this.deliverDue(found.target, cfg, log, started, budget);
      }
      await this.settleOwed(id, budget, log);
      const nowMs = Date.now();
      if (nowMs >= (this.pruneAt ?? 0)) {
        this.store.prune(nowMs - cfg.deliveryLogRetentionMs, nowMs - keepMs(cfg), PRUNE_ROWS);
        this.pruneAt = undefined;
      }
    } catch (err) {
      // Thrown only when neither KV nor memory knows the target, or storage failed: nothing was lost, and the
      // next run, after a pause, tries again. Not rethrown: the runtime's own alarm retries give up after six.
      log.error("lane run failed; will retry", { reason: String(err) });
      this.holdUntil = Date.now() + INFRA_RETRY_MS;
    } finally {
      const next = await this.arm(Date.now());
      // The console's counts go in one call per STATS_FLUSH_MS while the lane is busy (a call per run cost the
      // fan-out a Durable Object request each), and at once when nothing more is due.
      const nowMs = Date.now();
      if (next === undefined || nowMs - this.statsAt >= STATS_FLUSH_MS) {
        this.statsAt = nowMs;
        await recordStats(this.env, this.outcomes.splice(0), log);
      }
    }
  }

  /**
   * Delivers what is due until nothing is, the run's time or budget is spent, the circuit opens or the target
   * answers 410. Each connection starts the next due delivery as soon as its last one finished, so a slow answer
   * holds one connection, never the others; due rows are read ROUND_ROWS at a time. A connection that finds
   * nothing due waits while others are in flight, then looks again: a delivered head releases the next row of its
   * conversation, and a probe that closes the circuit releases everything. While open, only a probe runs, alone.
   */
  private async deliverDue(
    target: TargetWithId,
    cfg: Settings,
    log: Logger,
    started: number,
    budget: number,
  ): Promise<number> {
    const lanes = target.lanes ?? 1;
    const connections = Math.min(LANE_CONNECTIONS, Math.ceil((target.maxInFlight ?? LANE_CONNECTIONS) / lanes));
    const rate = target.ratePerSecond === undefined ? undefined : target.ratePerSecond / lanes;
    const ordered = isOrdered(target);
    /** Rows read as due and not yet started; read again only once they are all started. */
    let ready: DeliveryRow[] = [];
    /** Rows under way: `due` skips them until their attempt is recorded (then it skips unwritten records). */
    const inFlight = new Set<string>();
    let spent = 0;
    let gone = false;
    const next = (running: number): Take<{ row: DeliveryRow; probe: boolean }> => {
      const nowMs = Date.now();
      if (gone || spent >= budget || nowMs - started >= RUN_MS) return undefined;
      const allowed = allowance(this.store.circuit(), nowMs);
      if (allowed === "none") return undefined;
      const probe = allowed === "probe";
      if (probe && running > 0) return "wait";
      if (probe || ready.length === 0) {
        ready = this.store.due(nowMs, probe ? 1 : Math.min(ROUND_ROWS, budget - spent), ordered, inFlight);
      }
      const row = ready.shift();
      if (!row) return "wait";
      spent++;
      inFlight.add(row.event_id);
      return { row, probe };
    };
    await pool(connections, next, async ({ row, probe }) => {
      try {
        if (rate !== undefined) await this.waitForRate(rate);
        gone = (await this.deliverOne(target, row, cfg, log, probe)) || gone;
      } finally {
        inFlight.delete(row.event_id);
      }
    });
    return spent;
  }

  /** One attempt of one delivery and its record. Returns whether the target answered 410 Gone. */
  private async deliverOne(
    target: TargetWithId,
    row: DeliveryRow,
    cfg: Settings,
    log: Logger,
    probe: boolean,
  ): Promise<boolean> {
    if (row.envelope === null || row.data === null) {
      const at = Date.now();
      this.store.recordAttempt(
        row,
        { at, durationMs: 0, error: "payload missing" },
        { state: "dead", reason: "payload missing" },
      );
      return false;
    }
    const event = JSON.parse(row.envelope) as EventEnvelope;
    const at = Date.now();
    const result = await attemptDelivery(target, event.id, spliceData(row.envelope, row.data), cfg.deliveryTimeoutMs);
    const finished = Date.now();
    const verdict = classify(result);
    const next = plan(row, verdict, result, cfg, finished);
    this.store.recordAttempt(row, attemptRecord(result, verdict, at, finished - at), next);
    this.updateCircuit(verdict, finished, cfg, log, probe);

    const status = result.kind === "response" ? result.status : undefined;
    const fields = { eventId: event.id, type: event.type, attempt: row.attempts + 1, status };
    const counted = (outcome: Parameters<typeof count>[1], detail = "") =>
      count(this.env, outcome, event.provider, event.type, detail);
    if (next.state === "delivered") {
      log.info("delivered", fields);
      counted("delivered");
      tally(this.outcomes, "delivered", target.id);
    } else if (verdict.outcome === "gone") {
      log.warn("target answered 410 Gone; disabling it", {
        ...fields,
        deadLetter: laneDeadLetterId(target.id, at, event.id),
      });
      counted("disabled", "HTTP 410");
      this.store.setPendingDisable(`answered 410 Gone at ${new Date(finished).toISOString()}`);
      this.store.killPending("target disabled (HTTP 410)", finished);
      return true;
    } else if (next.state === "dead") {
      log.warn("retries exhausted; dead-lettered", {
        ...fields,
        reason: next.reason,
        deadLetter: laneDeadLetterId(target.id, at, event.id),
      });
      counted("dead_lettered", next.reason);
      tally(this.outcomes, "dead", target.id);
    } else {
      log.warn("delivery failed; will retry", { ...fields, reason: attemptError(result, verdict), at: next.nextAt });
      counted("retried", attemptError(result, verdict));
      tally(this.outcomes, "retried", target.id);
    }
    return false;
  }

  private updateCircuit(verdict: Verdict, nowMs: number, cfg: Settings, log: Logger, probe: boolean): void {
    const before = this.store.circuit();
    const opts = { threshold: cfg.circuitBreakerFailures, probeSeconds: cfg.circuitProbeSeconds };
    const after = afterAttempt(before, verdict.outcome !== "retry", nowMs, opts, probe);
    if (before.state !== after.state) {
      log.warn(after.state === "open" ? "circuit opened" : "circuit closed", { failures: before.failures });
    }
    // A healthy lane's circuit stays closed at 0 failures: not rewriting it saves rows on every delivery.
    if (JSON.stringify(before) !== JSON.stringify(after)) this.store.setCircuit(after);
  }

  /** Writes the dead letters and the 410 disable that the lane owes KV. Returns the KV operations used. */
  private async settleOwed(id: Identity, budget: number, log: Logger): Promise<number> {
    if (Date.now() < this.holdUntil) return 0;
    let used = 0;
    try {
      const reason = this.store.pendingDisable();
      if (reason !== undefined) {
        used += 2;
        await disableTarget(this.env.TARGETS, id.target, reason);
        this.store.setPendingDisable(undefined);
        this.target = undefined;
      }
      used += await this.writeDeadLetters(id.target, Math.max(0, budget - used), false);
    } catch (err) {
      // Kept in the lane's storage, and written on a later run: a KV outage never loses a dead letter.
      log.error("could not write to KV; will retry", { reason: String(err) });
      this.holdUntil = Date.now() + INFRA_RETRY_MS;
    }
    return used;
  }

  /**
   * Writes up to `limit` owed dead letters to KV, each under an id derived from the event and the time it died,
   * so a write repeated after a failure overwrites itself. Throws on the first failed write.
   */
  private async writeDeadLetters(target: string, limit: number, remove: boolean): Promise<number> {
    const rows = this.store.unwrittenDeadLetters(limit);
    for (const row of rows) {
      const event = row.envelope === null ? undefined : (JSON.parse(row.envelope) as EventEnvelope);
      await putDeadLetter(
        this.env.TARGETS,
        {
          kind: "delivery",
          target,
          event,
          data: row.data ?? undefined,
          lastStatus: row.last_status ?? undefined,
          lastError: row.last_error ?? "dead",
          attempts: row.attempts,
        },
        row.updated_at,
        laneDeadLetterUnique(row.event_id),
      );
      if (remove) this.store.forget(row.event_id);
      else this.store.markDeadLetterWritten(row.event_id);
    }
    return rows.length;
  }

  /** The target, from what the consumer last passed or from KV once that is older than the cache TTL. */
  private async resolveTarget(
    targetId: string,
    cfg: Settings,
    nowMs: number,
  ): Promise<{ lookup: TargetLookup; operations: number }> {
    if (this.target && nowMs - this.target.at < cfg.targetsCacheTtlMs) {
      return { lookup: this.target.lookup, operations: 0 };
    }
    try {
      const lookup = await readTarget(this.env.TARGETS, targetId);
      this.target = { lookup, at: nowMs };
      return { lookup, operations: 1 };
    } catch (err) {
      // KV unavailable: keep delivering with what we last saw, or wait for KV if we saw nothing.
      if (this.target) return { lookup: this.target.lookup, operations: 1 };
      throw err;
    }
  }

  private async waitForRate(rate: number): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.nextStartAt);
    this.nextStartAt = start + 1000 / rate;
    if (start > now) await new Promise((resolve) => setTimeout(resolve, start - now));
  }

  /**
   * Sets the one alarm to the earliest moment there is work: a due delivery, an owed KV write, or pruning. Returns
   * when the next delivery is due, if any is.
   */
  private async arm(nowMs: number): Promise<number | undefined> {
    const cfg = settings(this.env);
    const times: number[] = [];
    const due = this.store.nextDueAt(this.ordered());
    if (due !== undefined) {
      const circuit = this.store.circuit();
      const open = circuit.state === "open" ? (circuit.probeAt ?? nowMs) : 0;
      times.push(Math.max(due, open, this.holdUntil));
    }
    if (this.store.pendingDisable() !== undefined || this.store.unwrittenDeadLetters(1).length > 0) {
      times.push(Math.max(nowMs, this.holdUntil));
    }
    // Recomputed after each prune, and while no finished delivery is known: a delivery that finishes now is
    // prunable only after every one already finished.
    if (this.pruneAt === undefined || this.pruneAt === Number.POSITIVE_INFINITY) {
      this.pruneAt = this.store.nextPruneAt(cfg.deliveryLogRetentionMs, keepMs(cfg)) ?? Number.POSITIVE_INFINITY;
    }
    if (this.pruneAt !== Number.POSITIVE_INFINITY) times.push(this.pruneAt + 1000);
    if (times.length > 0) await this.setAlarm(Math.max(nowMs, Math.min(...times)), nowMs);
    return due;
  }

  /** Moves the alarm to `at` unless it is already set, in the future, no later than that. */
  private async setAlarm(at: number, nowMs: number): Promise<void> {
    this.alarmAt ??= await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at && this.alarmAt >= nowMs) return;
    await this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
  }

  /** Whether the target, as last seen, is ordered: only then are a conversation's later rows held back. */
  private ordered(): boolean {
    return this.target?.lookup.kind === "ok" && isOrdered(this.target.lookup.target);
  }

  private identify(id: Identity): void {
    const known = this.identity();
    if (known?.target === id.target && known.shard === id.shard) return;
    this.ctx.storage.kv.put("identity", id);
    this.known = id;
  }

  private identity(): Identity | undefined {
    this.known ??= this.ctx.storage.kv.get<Identity>("identity");
    return this.known;
  }
}

/**
 * A lane writes a delivery's dead letter under its event id and the time it died (the row's `updated_at`, the
 * start of its last attempt), so a repeated write overwrites itself and the log line of the death names the id
 * before the write happens.
 */
function laneDeadLetterUnique(eventId: string): string {
  return eventId.slice("evt_".length);
}

function laneDeadLetterId(target: string, diedAt: number, eventId: string): string {
  return deadLetterId(target, diedAt, laneDeadLetterUnique(eventId));
}

/** `nextAttemptAt` of the delivery log: only a pending delivery has one. */
function nextAttempt(row: Pick<DeliveryRow, "state" | "next_at">): { nextAttemptAt?: string } {
  return row.state === "pending" && row.next_at !== null ? { nextAttemptAt: new Date(row.next_at).toISOString() } : {};
}

/** How long a finished delivery's record is kept: the log's retention, and at least the dedupe window. */
function keepMs(cfg: Settings): number {
  return Math.max(cfg.deliveryLogRetentionMs, cfg.dedupeWindowMs);
}

/** What follows an attempt: delivered, the next retry on the schedule (honouring Retry-After), or dead. */
function plan(row: DeliveryRow, verdict: Verdict, result: AttemptResult, cfg: Settings, nowMs: number): Next {
  if (verdict.outcome === "delivered") return { state: "delivered" };
  if (verdict.outcome === "gone") return { state: "dead", reason: "HTTP 410 (target disabled)" };
  const scheduled = cfg.retrySchedule[row.tries];
  if (scheduled === undefined) return { state: "dead", reason: verdict.reason };
  const retryAfter = result.kind === "response" ? parseRetryAfter(result.retryAfter, nowMs) : undefined;
  const delaySeconds = retryDelay(withJitter(scheduled), retryAfter);
  return { state: "pending", tries: row.tries + 1, nextAt: nowMs + delaySeconds * 1000 };
}

function attemptError(result: AttemptResult, verdict: Verdict): string {
  return verdict.outcome === "retry" ? verdict.reason : result.kind === "response" ? `HTTP ${result.status}` : "";
}

function attemptRecord(result: AttemptResult, verdict: Verdict, at: number, durationMs: number): AttemptRecord {
  if (result.kind !== "response") return { at, durationMs, error: attemptError(result, verdict) };
  return {
    at,
    status: result.status,
    durationMs,
    ...(verdict.outcome !== "delivered" && { error: attemptError(result, verdict) }),
    ...(result.body !== undefined && { response: result.body }),
  };
}
