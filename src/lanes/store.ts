import type { EventEnvelope } from "../event";
import { type Circuit, CLOSED } from "./circuit";

/**
 * A lane's storage: its own SQLite. One row per event the lane owns (its outbox, retry schedule and delivery
 * log at once) and one row per attempt. Event ids are the natural key, so every write is idempotent: a consumer
 * retried after the lane accepted, or an alarm that runs twice, changes nothing it has already recorded.
 */

/** Ordered, named migrations; each runs once, inside the constructor's blockConcurrencyWhile. */
const MIGRATIONS: readonly { name: string; sql: string }[] = [
  {
    name: "001_deliveries",
    sql: `
      CREATE TABLE deliveries (
        event_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        envelope TEXT,
        data TEXT,
        state TEXT NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        last_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        replay_id TEXT,
        dead_letter INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX deliveries_due ON deliveries (state, next_at);
      CREATE INDEX deliveries_created ON deliveries (created_at, event_id);
      CREATE INDEX deliveries_updated ON deliveries (updated_at);
      CREATE INDEX deliveries_dead_letter ON deliveries (dead_letter) WHERE dead_letter = 1;
      CREATE TABLE attempts (
        event_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        at INTEGER NOT NULL,
        status INTEGER,
        duration_ms INTEGER NOT NULL,
        error TEXT,
        response TEXT,
        PRIMARY KEY (event_id, n)
      );
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
];

export type DeliveryState = "pending" | "delivered" | "dead";

export type DeliveryRow = {
  event_id: string;
  type: string;
  envelope: string | null;
  data: string | null;
  state: DeliveryState;
  tries: number;
  attempts: number;
  next_at: number | null;
  last_status: number | null;
  last_error: string | null;
  last_at: number | null;
  created_at: number;
  updated_at: number;
  replay_id: string | null;
  dead_letter: number;
};

export type AttemptRow = {
  n: number;
  at: number;
  status: number | null;
  duration_ms: number;
  error: string | null;
  response: string | null;
};

/** What the consumer hands a lane: one event, and for an operator's replay the replay's id. */
export type LaneItem = { event: EventEnvelope; data: string; replay?: string };

/** One attempt's record, as the lane writes it. */
export type AttemptRecord = {
  at: number;
  status?: number;
  durationMs: number;
  error?: string;
  response?: string;
};

/** What follows an attempt for its delivery. */
export type Next =
  | { state: "delivered" }
  | { state: "pending"; nextAt: number; tries: number }
  | { state: "dead"; reason: string };

type Row = Record<string, SqlStorageValue>;

export class LaneStore {
  /** Rows written since the object started: the bench reports rows written per delivery. */
  rowsWritten = 0;

  constructor(private readonly storage: DurableObjectStorage) {}

  private exec<T extends Row>(query: string, ...params: SqlStorageValue[]): T[] {
    const cursor = this.storage.sql.exec<T>(query, ...params);
    const rows = cursor.toArray();
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  migrate(): void {
    this.storage.sql.exec("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)");
    const done = new Set(this.exec<{ name: string }>("SELECT name FROM migrations").map((r) => r.name));
    for (const m of MIGRATIONS) {
      if (done.has(m.name)) continue;
      this.storage.transactionSync(() => {
        this.storage.sql.exec(m.sql);
        this.storage.sql.exec("INSERT INTO migrations (name) VALUES (?)", m.name);
      });
    }
  }

  /**
   * Records events for delivery, once each. An event the lane already has (pending, delivered or dead) is a
   * duplicate and changes nothing, unless it comes with a replay id the lane has not seen: an operator's replay
   * starts a fresh retry schedule. Returns how many were new or replayed.
   */
  accept(items: readonly LaneItem[], nowMs: number): { accepted: number; duplicates: number } {
    let accepted = 0;
    this.storage.transactionSync(() => {
      for (const { event, data, replay } of items) {
        const existing = this.exec<{ replay_id: string | null }>(
          "SELECT replay_id FROM deliveries WHERE event_id = ?",
          event.id,
        )[0];
        if (!existing) {
          this.exec(
            `INSERT INTO deliveries (event_id, type, envelope, data, state, next_at, created_at, updated_at, replay_id)
             VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
            event.id,
            event.type,
            JSON.stringify(event),
            data,
            nowMs,
            nowMs,
            nowMs,
            replay ?? null,
          );
          accepted++;
        } else if (replay !== undefined && existing.replay_id !== replay) {
          this.exec(
            `UPDATE deliveries SET envelope = ?, data = ?, state = 'pending', tries = 0, next_at = ?, updated_at = ?,
             replay_id = ?, dead_letter = 0 WHERE event_id = ?`,
            JSON.stringify(event),
            data,
            nowMs,
            nowMs,
            replay,
            event.id,
          );
          accepted++;
        }
      }
    });
    return { accepted, duplicates: items.length - accepted };
  }

  /** Pending deliveries due by `nowMs`, oldest first. */
  due(nowMs: number, limit: number): DeliveryRow[] {
    return this.exec<DeliveryRow>(
      "SELECT * FROM deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, created_at LIMIT ?",
      nowMs,
      limit,
    );
  }

  /** Records one attempt and its consequence in one transaction. */
  recordAttempt(eventId: string, attempt: AttemptRecord, next: Next): void {
    this.storage.transactionSync(() => {
      const row = this.exec<{ attempts: number }>("SELECT attempts FROM deliveries WHERE event_id = ?", eventId)[0];
      if (!row) return;
      const n = row.attempts + 1;
      this.exec(
        "INSERT OR REPLACE INTO attempts (event_id, n, at, status, duration_ms, error, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
        eventId,
        n,
        attempt.at,
        attempt.status ?? null,
        attempt.durationMs,
        attempt.error ?? null,
        attempt.response ?? null,
      );
      const error = next.state === "dead" ? next.reason : (attempt.error ?? null);
      this.exec(
        `UPDATE deliveries SET attempts = ?, state = ?, tries = ?, next_at = ?, last_status = ?, last_error = ?,
         last_at = ?, updated_at = ?, dead_letter = ? WHERE event_id = ?`,
        n,
        next.state,
        next.state === "pending" ? next.tries : 0,
        next.state === "pending" ? next.nextAt : null,
        attempt.status ?? null,
        error,
        attempt.at,
        attempt.at,
        next.state === "dead" ? 1 : 0,
        eventId,
      );
    });
  }

  /** Ends every pending delivery as dead without an attempt (target disabled or deleted): each becomes a dead letter. */
  killPending(reason: string, nowMs: number): number {
    const rows = this.exec(
      `UPDATE deliveries SET state = 'dead', next_at = NULL, last_error = ?, updated_at = ?, dead_letter = 1
       WHERE state = 'pending' RETURNING event_id`,
      reason,
      nowMs,
    );
    return rows.length;
  }

  /** Dead deliveries whose dead letter is not yet in KV. */
  unwrittenDeadLetters(limit: number): DeliveryRow[] {
    return this.exec<DeliveryRow>("SELECT * FROM deliveries WHERE dead_letter = 1 LIMIT ?", limit);
  }

  /** Removes one delivery and its attempts. */
  forget(eventId: string): void {
    this.exec("DELETE FROM attempts WHERE event_id = ?", eventId);
    this.exec("DELETE FROM deliveries WHERE event_id = ?", eventId);
  }

  /** Removes every delivery that owes nothing (delivered, or dead with its dead letter written). */
  forgetFinished(): void {
    this.storage.transactionSync(() => {
      this.exec(
        "DELETE FROM attempts WHERE event_id IN (SELECT event_id FROM deliveries WHERE state != 'pending' AND dead_letter = 0)",
      );
      this.exec("DELETE FROM deliveries WHERE state != 'pending' AND dead_letter = 0");
    });
  }

  markDeadLetterWritten(eventId: string): void {
    this.exec("UPDATE deliveries SET dead_letter = 0 WHERE event_id = ?", eventId);
  }

  /** When the lane must next wake to deliver: the earliest pending `next_at`. */
  nextDueAt(): number | undefined {
    const row = this.exec<{ at: number | null }>(
      "SELECT MIN(next_at) AS at FROM deliveries WHERE state = 'pending'",
    )[0];
    return row?.at ?? undefined;
  }

  /** When `prune` next has work, given how long payloads and records of finished deliveries are kept. */
  nextPruneAt(payloadMs: number, recordMs: number): number | undefined {
    const row = this.exec<{ payload: number | null; record: number | null }>(
      `SELECT MIN(CASE WHEN data IS NOT NULL THEN updated_at END) AS payload, MIN(updated_at) AS record
       FROM deliveries WHERE state != 'pending' AND dead_letter = 0`,
    )[0];
    const times = [
      row?.payload == null ? undefined : row.payload + payloadMs,
      row?.record == null ? undefined : row.record + recordMs,
    ].filter((t): t is number => t !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /**
   * Bounds storage: finished deliveries lose their payload after `payloadBefore` and their whole record (and
   * attempts) after `recordBefore`. Pending ones are never pruned. At most `limit` records per call.
   */
  prune(payloadBefore: number, recordBefore: number, limit: number): number {
    let removed = 0;
    this.storage.transactionSync(() => {
      const old = this.exec<{ event_id: string }>(
        `SELECT event_id FROM deliveries WHERE state != 'pending' AND dead_letter = 0 AND updated_at < ? LIMIT ?`,
        recordBefore,
        limit,
      );
      for (const { event_id } of old) this.forget(event_id);
      removed = old.length;
      this.exec(
        `UPDATE deliveries SET envelope = NULL, data = NULL WHERE event_id IN (SELECT event_id FROM deliveries
         WHERE state != 'pending' AND dead_letter = 0 AND updated_at < ? AND data IS NOT NULL LIMIT ?)`,
        payloadBefore,
        limit,
      );
    });
    return removed;
  }

  get(eventId: string): { row: DeliveryRow; attempts: AttemptRow[] } | undefined {
    const row = this.exec<DeliveryRow>("SELECT * FROM deliveries WHERE event_id = ?", eventId)[0];
    if (!row) return undefined;
    const attempts = this.exec<AttemptRow>(
      "SELECT n, at, status, duration_ms, error, response FROM attempts WHERE event_id = ? ORDER BY n",
      eventId,
    );
    return { row, attempts };
  }

  /** Newest first, keyset-paginated on (created_at, event_id) so pages from several shards merge. */
  list(opts: { state?: DeliveryState; sinceMs?: number; before?: { at: number; id: string }; limit: number }) {
    const where: string[] = [];
    const params: SqlStorageValue[] = [];
    if (opts.state) {
      where.push("state = ?");
      params.push(opts.state);
    }
    if (opts.sinceMs !== undefined) {
      where.push("created_at >= ?");
      params.push(opts.sinceMs);
    }
    if (opts.before) {
      where.push("(created_at < ? OR (created_at = ? AND event_id < ?))");
      params.push(opts.before.at, opts.before.at, opts.before.id);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return this.exec<DeliveryRow>(
      `SELECT event_id, type, state, attempts, last_status, last_at, next_at, created_at FROM deliveries ${clause}
       ORDER BY created_at DESC, event_id DESC LIMIT ?`,
      ...params,
      opts.limit,
    );
  }

  counts(): { pending: number; delivered: number; dead: number } {
    const out = { pending: 0, delivered: 0, dead: 0 };
    for (const r of this.exec<{ state: DeliveryState; n: number }>(
      "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state",
    )) {
      out[r.state] = r.n;
    }
    return out;
  }

  circuit(): Circuit {
    const row = this.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'circuit'")[0];
    return row ? (JSON.parse(row.value) as Circuit) : CLOSED;
  }

  setCircuit(circuit: Circuit): void {
    this.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('circuit', ?)", JSON.stringify(circuit));
  }

  /** A KV write the lane still owes (the 410 disable of its target), kept until it succeeds. */
  pendingDisable(): string | undefined {
    return this.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'disable'")[0]?.value;
  }

  setPendingDisable(reason: string | undefined): void {
    if (reason === undefined) this.exec("DELETE FROM meta WHERE key = 'disable'");
    else this.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('disable', ?)", reason);
  }
}
