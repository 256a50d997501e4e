import type { EventEnvelope } from "../event";
import { laneConversation } from "../ordering/conversation";
import { type Circuit, CLOSED } from "./circuit";
import type { DeliveryState, ListQuery } from "./log";

/**
 * A lane's storage: its own SQLite. One row per event the lane owns: its outbox, retry schedule and delivery
 * log at once, with its attempts as a JSON array on the row. Event ids are the natural key, so every write is idempotent: a consumer
 * retried after the lane accepted, or an alarm that runs twice, changes nothing it has already recorded.
 */

/** Ordered, named migrations; each runs once, inside the constructor's blockConcurrencyWhile. */
const MIGRATIONS: readonly { name: string; sql: string }[] = [
  {
    name: "001_deliveries",
    // Partial indexes, each over the rows one query needs (due ones, finished ones, owed dead letters): a row
    // only enters the indexes of the states it passes through, which keeps rows written per delivery low.
    // Attempts are a JSON array on the row, so recording one is a single UPDATE.
    sql: `
      CREATE TABLE deliveries (
        event_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        envelope TEXT,
        data TEXT,
        state TEXT NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        log TEXT NOT NULL DEFAULT '[]',
        next_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        last_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        replay_id TEXT,
        dead_letter INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
      CREATE INDEX deliveries_created ON deliveries (created_at, event_id);
      CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE state != 'pending' AND dead_letter = 0;
      CREATE INDEX deliveries_dead_letter ON deliveries (dead_letter) WHERE dead_letter = 1;
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
  {
    name: "002_ordering",
    // Ordered delivery: a row's conversation (NULL: unordered, as every row written before this), its order value
    // and the relay's ack time. The index holds only pending rows of conversations: it finds a row's predecessor.
    sql: `
      ALTER TABLE deliveries ADD COLUMN conversation TEXT;
      ALTER TABLE deliveries ADD COLUMN ord REAL;
      ALTER TABLE deliveries ADD COLUMN acked INTEGER;
      CREATE INDEX deliveries_conversation ON deliveries (conversation, ord, acked)
        WHERE state = 'pending' AND conversation IS NOT NULL;`,
  },
];

/**
 * The pending rows of `d`'s conversation that come before it: lower order value, then earlier ack, then earlier
 * accepted here (rowid). A row of a conversation may be attempted only when there are none.
 */
const PREDECESSORS = `FROM deliveries p WHERE p.state = 'pending' AND p.conversation = d.conversation
  AND (p.ord, p.acked, p.rowid) < (d.ord, d.acked, d.rowid)`;
/** Rows that may be attempted when their time comes: unordered ones, and each conversation's head. */
const HEAD = `(d.conversation IS NULL OR NOT EXISTS (SELECT 1 ${PREDECESSORS}))`;
/** What a pending row of a conversation waits for: the head of its conversation (NULL for a head). */
const BLOCKED_BY = `CASE WHEN d.state = 'pending' AND d.conversation IS NOT NULL THEN (SELECT p.event_id
  ${PREDECESSORS} ORDER BY p.ord, p.acked, p.rowid LIMIT 1) END AS blocked_by`;

export type DeliveryRow = {
  event_id: string;
  type: string;
  envelope: string | null;
  data: string | null;
  state: DeliveryState;
  tries: number;
  attempts: number;
  /** JSON array of AttemptRecord. */
  log: string;
  next_at: number | null;
  last_status: number | null;
  last_error: string | null;
  last_at: number | null;
  created_at: number;
  updated_at: number;
  replay_id: string | null;
  dead_letter: number;
  /** Ordered delivery: the lane key of the event's conversation (NULL: unordered), its order value, its ack time. */
  conversation: string | null;
  ord: number | null;
  acked: number | null;
};

/** A row as the delivery log reads it: with the event it waits behind, for a blocked one. */
export type LoggedRow = DeliveryRow & { blocked_by: string | null };

/** The columns a delivery-log page reads. */
type SummaryRow = Pick<
  DeliveryRow,
  "event_id" | "type" | "state" | "attempts" | "last_status" | "last_at" | "next_at" | "created_at"
> & { blocked_by: string | null; provider: string | null };

/**
 * What the consumer hands a lane: one event, and for an operator's replay the replay's id. For ordered delivery:
 * the event's order value in its conversation (src/ordering/) and when the relay acknowledged it (the queue
 * message's timestamp, ms), which breaks ties.
 */
export type LaneItem = { event: EventEnvelope; data: string; replay?: string; order?: number; acked?: number };

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

/**
 * Rows per upsert: each binds its 9 values, and all share the time, within the 100 parameters a statement binds.
 * Bound values, not one JSON parameter: that escaped the envelope and data again, and SQLite parsed them back
 * (the lanes' costliest statement in `npm run profile`). A value holds 2 MB, a body at most 1 MiB.
 */
const ROWS_PER_UPSERT = 11;

const UPSERT = `INSERT INTO deliveries (event_id, type, envelope, data, state, next_at, created_at, updated_at,
  replay_id, conversation, ord, acked)`;
const ON_CONFLICT = `ON CONFLICT (event_id) DO UPDATE SET envelope = excluded.envelope, data = excluded.data,
  state = 'pending', tries = 0, next_at = excluded.next_at, updated_at = excluded.updated_at,
  replay_id = excluded.replay_id, dead_letter = 0, conversation = excluded.conversation, ord = excluded.ord,
  acked = excluded.acked
  WHERE excluded.replay_id IS NOT NULL AND excluded.replay_id IS NOT deliveries.replay_id
  RETURNING event_id`;

/** event id, type, envelope, data, replay id, conversation, order, ack time, next attempt. */
type AcceptRow = [string, string, string, string, string | null, string | null, number | null, number | null, number];

/** The VALUES of an upsert of `n` rows: ?1 is the time, then each row's 9 values in AcceptRow order. */
function upsertValues(n: number): string {
  return Array.from({ length: n }, (_, i) => {
    const p = (k: number) => `?${2 + i * 9 + k}`;
    return `(${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}, 'pending', ${p(8)}, ?1, ?1, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)})`;
  }).join(", ");
}

/**
 * How long finished attempts may wait to be written together. A commit costs more than the rows it writes; a
 * crash within this window loses only records, so those deliveries are attempted again (at least once).
 */
const FLUSH_DELAY_MS = 50;

/** Deliveries that owe nothing more: delivered, or dead with their dead letter in KV. Matches deliveries_finished. */
const FINISHED = "state != 'pending' AND dead_letter = 0";

export class LaneStore {
  /** Rows written since the object started: the bench reports rows written per delivery. */
  rowsWritten = 0;
  // Write-through caches of what every alarm run consults: each SQL statement costs, so these are read from
  // storage once per object lifetime. The object is the only writer of its storage, so they cannot go stale.
  private circuitCache: Circuit | undefined;
  private disableCache: { reason: string | undefined } | undefined;
  /** Whether dead letters may be owed; false once a lookup found none, until a delivery dies again. */
  private owed = true;

  constructor(private readonly storage: DurableObjectStorage) {}

  /**
   * Attempt records and the circuit waiting to be written. A statement and a commit cost far more than a row:
   * the attempts that finish within FLUSH_DELAY_MS of each other are written by one UPDATE in one transaction,
   * and always before anything reads the table.
   */
  private attemptsToWrite = new Map<string, SqlStorageValue[]>();
  private circuitToWrite: string | undefined;
  /** The timer that writes them FLUSH_DELAY_MS after the first of them; any earlier flush cancels it. */
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flushQuietly(), FLUSH_DELAY_MS);
  }

  /** Writes what is deferred, in one transaction. Throws if storage fails; the writes are then lost. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.attemptsToWrite.size === 0 && this.circuitToWrite === undefined) return;
    const attempts = [...this.attemptsToWrite.values()];
    const circuit = this.circuitToWrite;
    this.attemptsToWrite = new Map();
    this.circuitToWrite = undefined;
    this.storage.transactionSync(() => {
      if (attempts.length > 0) {
        // One statement for every record, passed as one JSON parameter. A join (UPDATE … FROM): each record is
        // one primary-key lookup. A correlated subquery instead scanned every record for every row (quadratic:
        // 68 µs a row at 200 records against 5 µs, measured).
        this.run(
          `UPDATE deliveries SET attempts = attempts + 1, log = v.log, state = v.state, tries = v.tries,
             next_at = v.next_at, last_status = v.last_status, last_error = v.last_error, last_at = v.last_at,
             updated_at = v.last_at, dead_letter = v.dead_letter
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS log, value ->> 2 AS state, value ->> 3 AS tries,
             value ->> 4 AS next_at, value ->> 5 AS last_status, value ->> 6 AS last_error, value ->> 7 AS last_at,
             value ->> 8 AS dead_letter FROM json_each(?)) AS v
           WHERE deliveries.event_id = v.id`,
          JSON.stringify(attempts),
        );
      }
      if (circuit !== undefined) this.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('circuit', ?)", circuit);
    });
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch (err) {
      // The deliveries stay pending and are attempted again: only their 2xx record was lost.
      console.error(JSON.stringify({ level: "error", msg: "could not record attempts", reason: String(err) }));
    }
  }

  private exec<T extends Row>(query: string, ...params: SqlStorageValue[]): T[] {
    this.flush();
    return this.run<T>(query, ...params);
  }

  private run<T extends Row>(query: string, ...params: SqlStorageValue[]): T[] {
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
  accept(
    items: readonly LaneItem[],
    nowMs: number,
    ordering?: { windowMs: number },
  ): { accepted: number; duplicates: number } {
    if (items.length === 0) return { accepted: 0, duplicates: 0 };
    // One upsert per ROWS_PER_UPSERT rows (a statement costs far more than a row): a new event is inserted; a known
    // one changes only for a replay id it has not seen, which starts a fresh retry schedule. RETURNING lists just
    // those rows. All in one transaction.
    // An ordered target's events of a conversation wait out the reorder window before they are due: one the queue
    // hands over later, with a lower order value, then still goes first. Without an order value of its own, an
    // event is placed by its time (its own, else when the relay received it).
    const rows = items.map(({ event, data, replay, order, acked }): AcceptRow => {
      const conversation = ordering ? laneConversation(event) : null;
      return [
        event.id,
        event.type,
        JSON.stringify(event),
        data,
        replay ?? null,
        conversation,
        conversation === null ? null : (order ?? Date.parse(event.time)),
        conversation === null ? null : (acked ?? nowMs),
        conversation === null || !ordering ? nowMs : nowMs + ordering.windowMs,
      ];
    });
    let accepted = 0;
    this.flush();
    this.storage.transactionSync(() => {
      for (let i = 0; i < rows.length; i += ROWS_PER_UPSERT) {
        accepted += this.upsert(rows.slice(i, i + ROWS_PER_UPSERT), nowMs);
      }
    });
    return { accepted, duplicates: items.length - accepted };
  }

  /** One upsert of at most ROWS_PER_UPSERT rows; returns how many it inserted or replayed. */
  private upsert(rows: readonly AcceptRow[], nowMs: number): number {
    return this.run(`${UPSERT} VALUES ${upsertValues(rows.length)} ${ON_CONFLICT}`, nowMs, ...rows.flat()).length;
  }

  /**
   * Pending deliveries due by `nowMs`, oldest first, but for those in `busy` (under way). It does not wait for
   * deferred attempt records: it skips their rows instead (a row whose attempt is recorded but not yet written is
   * not due), so a read costs no commit of its own.
   *
   * For an ordered target, only the head of each conversation (see HEAD) is due: one row per conversation at a
   * time, and the next only once the head is delivered or dead. Its records are written first, so a delivered
   * head releases the next row at the very next read.
   */
  due(nowMs: number, limit: number, ordered: boolean, busy: ReadonlySet<string>): DeliveryRow[] {
    if (ordered) this.flush();
    const unwritten = this.attemptsToWrite;
    const query = ordered
      ? `SELECT * FROM deliveries d WHERE d.state = 'pending' AND d.next_at <= ? AND ${HEAD} ORDER BY d.next_at LIMIT ?`
      : "SELECT * FROM deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?";
    return this.run<DeliveryRow>(query, nowMs, limit + unwritten.size + busy.size)
      .filter((row) => !unwritten.has(row.event_id) && !busy.has(row.event_id))
      .slice(0, limit);
  }

  /** Records one attempt and its consequence, in one statement. */
  recordAttempt(row: Pick<DeliveryRow, "event_id" | "log">, attempt: AttemptRecord, next: Next): void {
    // The log is appended from the row as read (only this object writes it): cheaper than json_insert.
    const log = `${row.log.slice(0, -1)}${row.log === "[]" ? "" : ","}${JSON.stringify(attempt)}]`;
    // One record per row and flush: the join applies one of several at random (never happens: `due` skips a
    // row with a record unwritten, and an ordered lane writes them before it picks).
    if (this.attemptsToWrite.has(row.event_id)) this.flush();
    this.attemptsToWrite.set(row.event_id, [
      row.event_id,
      log,
      next.state,
      next.state === "pending" ? next.tries : 0,
      next.state === "pending" ? next.nextAt : null,
      attempt.status ?? null,
      next.state === "dead" ? next.reason : (attempt.error ?? null),
      attempt.at,
      next.state === "dead" ? 1 : 0,
    ]);
    this.scheduleFlush();
    if (next.state === "dead") this.owed = true;
  }

  /** Ends every pending delivery as dead without an attempt (target disabled or deleted): each becomes a dead letter. */
  killPending(reason: string, nowMs: number): number {
    const rows = this.exec(
      `UPDATE deliveries SET state = 'dead', next_at = NULL, last_error = ?, updated_at = ?, dead_letter = 1
       WHERE state = 'pending' RETURNING event_id`,
      reason,
      nowMs,
    );
    if (rows.length > 0) this.owed = true;
    return rows.length;
  }

  /** Dead deliveries whose dead letter is not yet in KV. */
  unwrittenDeadLetters(limit: number): DeliveryRow[] {
    if (!this.owed) return [];
    const rows = this.exec<DeliveryRow>("SELECT * FROM deliveries WHERE dead_letter = 1 LIMIT ?", limit);
    this.owed = rows.length > 0;
    return rows;
  }

  /** Removes one delivery. */
  forget(eventId: string): void {
    this.exec("DELETE FROM deliveries WHERE event_id = ?", eventId);
  }

  /** Removes every delivery that owes nothing (delivered, or dead with its dead letter written). */
  forgetFinished(): void {
    this.exec(`DELETE FROM deliveries WHERE ${FINISHED}`);
  }

  markDeadLetterWritten(eventId: string): void {
    this.exec("UPDATE deliveries SET dead_letter = 0 WHERE event_id = ?", eventId);
  }

  /**
   * When the lane must next wake to deliver: the earliest pending `next_at`; for an ordered target, of the rows
   * `due` may pick (a row blocked behind its conversation's head waits for the head, not for its own time).
   */
  nextDueAt(ordered = false): number | undefined {
    const row = this.exec<{ at: number | null }>(
      `SELECT MIN(d.next_at) AS at FROM deliveries d WHERE d.state = 'pending'${ordered ? ` AND ${HEAD}` : ""}`,
    )[0];
    return row?.at ?? undefined;
  }

  /** When `prune` next has work, given how long payloads and records of finished deliveries are kept. */
  nextPruneAt(payloadMs: number, recordMs: number): number | undefined {
    const oldest = (extra: string) =>
      this.exec<{ at: number }>(
        `SELECT updated_at AS at FROM deliveries WHERE ${FINISHED} ${extra} ORDER BY updated_at LIMIT 1`,
      )[0]?.at;
    const payload = oldest("AND data IS NOT NULL");
    const record = oldest("");
    if (record === undefined) return undefined;
    // A finished row with its payload is also a finished row: `record` exists whenever `payload` does.
    return Math.min(record + recordMs, payload === undefined ? Number.POSITIVE_INFINITY : payload + payloadMs);
  }

  /**
   * Bounds storage: finished deliveries lose their payload after `payloadBefore` and their whole record after
   * `recordBefore`. Pending ones, and dead ones whose dead letter is not yet in KV, are never pruned. At most
   * `limit` records per call.
   */
  prune(payloadBefore: number, recordBefore: number, limit: number): number {
    const removed = this.exec(
      `DELETE FROM deliveries WHERE event_id IN (SELECT event_id FROM deliveries WHERE ${FINISHED} AND updated_at < ?
       ORDER BY updated_at LIMIT ?) RETURNING event_id`,
      recordBefore,
      limit,
    ).length;
    this.exec(
      `UPDATE deliveries SET envelope = NULL, data = NULL WHERE event_id IN (SELECT event_id FROM deliveries
       WHERE ${FINISHED} AND updated_at < ? AND data IS NOT NULL ORDER BY updated_at LIMIT ?)`,
      payloadBefore,
      limit,
    );
    return removed;
  }

  get(eventId: string): LoggedRow | undefined {
    return this.exec<LoggedRow>(`SELECT d.*, ${BLOCKED_BY} FROM deliveries d WHERE d.event_id = ?`, eventId)[0];
  }

  /** Newest first, keyset-paginated on (created_at, event_id) so pages from several shards merge. */
  list(opts: ListQuery): SummaryRow[] {
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
    return this.exec<SummaryRow>(
      `SELECT event_id, type, envelope ->> '$.provider' AS provider, state, attempts, last_status, last_at, next_at,
         created_at, ${BLOCKED_BY}
       FROM deliveries d ${clause} ORDER BY created_at DESC, event_id DESC LIMIT ?`,
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
    if (this.circuitCache === undefined) {
      const row = this.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'circuit'")[0];
      this.circuitCache = row ? (JSON.parse(row.value) as Circuit) : CLOSED;
    }
    return this.circuitCache;
  }

  setCircuit(circuit: Circuit): void {
    this.circuitCache = circuit;
    this.circuitToWrite = JSON.stringify(circuit);
    this.scheduleFlush();
  }

  /** A KV write the lane still owes (the 410 disable of its target), kept until it succeeds. */
  pendingDisable(): string | undefined {
    this.disableCache ??= {
      reason: this.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'disable'")[0]?.value,
    };
    return this.disableCache.reason;
  }

  setPendingDisable(reason: string | undefined): void {
    if (reason === undefined) this.exec("DELETE FROM meta WHERE key = 'disable'");
    else this.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('disable', ?)", reason);
    this.disableCache = { reason };
  }

  /** Forgets the caches, after the object's storage was wiped. */
  reset(): void {
    this.attemptsToWrite = new Map();
    this.circuitToWrite = undefined;
    this.circuitCache = undefined;
    this.disableCache = undefined;
    this.owed = true;
  }
}
