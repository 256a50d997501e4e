import { DurableObject } from "cloudflare:workers";
import { putBody } from "../bodies/store";
import { settings } from "../env";
import { createLogger, type Logger, logSettings } from "../log";
import { count } from "../metrics";
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, utf8Bytes, type Wire } from "../queue/message";
import { BATCH_BYTES, BATCH_MESSAGES } from "../queue/producer";
import { drainDelayMs } from "./backoff";
import { type OutboxRow, OutboxStore } from "./store";

/** The first drain after an event arrives: the queue just refused it, so it is not asked again at once. */
const FIRST_DRAIN_MS = 1_000;
/** A drain stops sending after this long, and re-arms: one run never holds the object for long. */
const RUN_MS = 20_000;

/** What the admin API and tests see of an outbox. */
export type OutboxStatus = { pending: number; failures: number; nextDrainAt: string | null };

/**
 * The fallback for a queue outage: a SQLite-backed Durable Object that keeps the events the queue (or R2) refused,
 * so the ack path can still answer the provider OK, and moves them to the queue from its alarm once the queue
 * takes messages again. An event leaves the outbox only after `sendBatch` resolved with it, so a drain that fails
 * half-way loses nothing; one that fails after sending re-sends, which lanes dedupe (the event id is their key).
 * While the queue stays down, the drain backs off (drainDelayMs).
 */
export class Outbox extends DurableObject<Env> {
  private readonly store: OutboxStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new OutboxStore(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => this.store.migrate());
  }

  /**
   * Keeps one event: a v2 queue message with its data inline. It is in storage when this resolves. Idempotent on
   * the event id. Throws on anything that is not such a message, so a drain never meets one.
   */
  async put(text: string): Promise<void> {
    const decoded = decodeMessage(text);
    if (!decoded || !("message" in decoded)) throw new Error("the outbox keeps inline queue messages only");
    const { event } = decoded.message;
    this.store.add({
      event_id: event.id,
      provider: event.provider,
      type: event.type,
      text,
      bytes: utf8Bytes(text),
      body_key: `${event.id}/${crypto.randomUUID()}`,
      createdAt: Date.now(),
    });
    // A drain already scheduled (or backing off) keeps its time: a new event must not make it ask the queue early.
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + FIRST_DRAIN_MS);
  }

  /** How many events wait, after how many failed drains, and when the next drain is. */
  async status(): Promise<OutboxStatus> {
    const at = await this.ctx.storage.getAlarm();
    return {
      pending: this.store.pending(),
      failures: this.store.failures(),
      nextDrainAt: at === null ? null : new Date(at).toISOString(),
    };
  }

  override async alarm(): Promise<void> {
    const log = createLogger({ outbox: this.ctx.id.toString() }, logSettings(this.env));
    let drained = 0;
    let failed = false;
    try {
      drained = await this.drain();
      if (this.store.failures() > 0) this.store.setFailures(0);
    } catch (err) {
      // Not rethrown: the runtime's own alarm retries give up after six, and a queue outage lasts longer.
      failed = true;
      const failures = this.store.failures() + 1;
      this.store.setFailures(failures);
      log.error("could not drain the outbox into the queue; will retry", {
        reason: String(err),
        failures,
        pending: this.store.pending(),
      });
    }
    await this.rearm(failed, log);
    if (drained > 0) log.warn("outbox drained into the queue", { events: drained, pending: this.store.pending() });
  }

  /**
   * Sends kept events to the queue, oldest first, in `sendBatch` calls within the Queue's limits, deleting each
   * batch's rows once its call resolved. Stops when none are left or the run's time or subrequests are spent.
   * Returns how many it sent; throws on the first failure, after keeping what it had sent.
   */
  private async drain(): Promise<number> {
    const started = Date.now();
    // Every sendBatch and R2 put shares the invocation's subrequest budget.
    let budget = Math.max(2, settings(this.env).subrequestBudget - 2);
    let sent = 0;
    let cursor = 0;
    while (budget > 0 && Date.now() - started < RUN_MS) {
      const rows = this.store.after(cursor, BATCH_MESSAGES);
      if (rows.length === 0) break;
      const batch = await this.nextBatch(rows, budget - 1);
      if (batch.rows.length === 0) break;
      await this.env.EVENTS.sendBatch(batch.messages);
      this.store.remove(batch.rows.map((r) => r.seq));
      for (const row of batch.rows) count(this.env, "drained", row.provider, row.type);
      budget -= batch.subrequests + 1;
      sent += batch.rows.length;
      cursor = batch.rows.at(-1)?.seq ?? cursor;
    }
    return sent;
  }

  /**
   * The messages of one `sendBatch` from the head of `rows`, putting bodies too big for a message in R2 first
   * (at most `budget` puts). The object key is the row's: a drain repeated after a failure overwrites it.
   */
  private async nextBatch(rows: readonly OutboxRow[], budget: number) {
    const messages: MessageSendRequest[] = [];
    const taken: OutboxRow[] = [];
    let size = 0;
    let subrequests = 0;
    for (const row of rows) {
      const text = this.store.text(row.seq);
      if (text === undefined) continue;
      let wire: Wire = { text, bytes: row.bytes };
      let data = "";
      if (row.bytes > MAX_MESSAGE_BYTES) {
        const decoded = decodeMessage(text);
        // put() stored only messages that decode; never reached.
        if (!decoded || !("message" in decoded)) throw new Error(`outbox row ${row.seq} is not a queue message`);
        wire = encodeMessage(decoded.message, () => row.body_key);
        data = decoded.message.data;
      }
      if (messages.length > 0 && size + wire.bytes > BATCH_BYTES) break;
      if (wire.offload) {
        if (subrequests >= budget) break;
        await putBody(this.env.BODIES, wire.offload.key, data);
        subrequests++;
      }
      messages.push({ body: wire.text, contentType: "text" });
      taken.push(row);
      size += wire.bytes;
    }
    return { messages, rows: taken, subrequests };
  }

  /** Sets the one alarm: now while events remain, later after a failure, none once the outbox is empty. */
  private async rearm(failed: boolean, log: Logger): Promise<void> {
    try {
      const pending = this.store.pending();
      if (pending === 0) return;
      const at = failed ? Date.now() + drainDelayMs(this.store.failures()) : Date.now();
      await this.ctx.storage.setAlarm(at);
    } catch (err) {
      // Rethrown: the runtime retries an alarm that throws, which is the only way left to run again.
      log.error("could not re-arm the outbox's alarm", { reason: String(err) });
      throw err;
    }
  }
}
