/**
 * An outbox's storage: its own SQLite, one row per event the queue refused, in arrival order. The event id is
 * the natural key, so keeping the same event twice (a provider's duplicate during the outage) stores it once.
 */

const MIGRATIONS: readonly { name: string; sql: string }[] = [
  {
    name: "001_outbox",
    // `text` is the v2 message with its data inline (up to 1 MiB: a row holds 2 MB); `bytes` its UTF-8 size,
    // which decides at drain time whether the body goes to R2 under `body_key` first.
    sql: `
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        provider TEXT NOT NULL,
        type TEXT NOT NULL,
        text TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        body_key TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
];

/** A kept event, without its text (read one at a time: a row may hold a megabyte). */
export type OutboxRow = {
  seq: number;
  event_id: string;
  provider: string;
  type: string;
  bytes: number;
  body_key: string;
};

export type NewRow = Omit<OutboxRow, "seq"> & { text: string; createdAt: number };

type Row = Record<string, SqlStorageValue>;

export class OutboxStore {
  constructor(private readonly sql: SqlStorage) {}

  private exec<T extends Row>(query: string, ...params: SqlStorageValue[]): T[] {
    return this.sql.exec<T>(query, ...params).toArray();
  }

  migrate(): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)");
    const done = new Set(this.exec<{ name: string }>("SELECT name FROM migrations").map((r) => r.name));
    for (const m of MIGRATIONS) {
      if (done.has(m.name)) continue;
      this.sql.exec(m.sql);
      this.sql.exec("INSERT INTO migrations (name) VALUES (?)", m.name);
    }
  }

  /** Keeps an event; returns false when it is already kept. */
  add(row: NewRow): boolean {
    return (
      this.exec(
        `INSERT INTO outbox (event_id, provider, type, text, bytes, body_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (event_id) DO NOTHING RETURNING seq`,
        row.event_id,
        row.provider,
        row.type,
        row.text,
        row.bytes,
        row.body_key,
        row.createdAt,
      ).length > 0
    );
  }

  /** Up to `limit` kept events after `seq`, oldest first. */
  after(seq: number, limit: number): OutboxRow[] {
    return this.exec<OutboxRow>(
      "SELECT seq, event_id, provider, type, bytes, body_key FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
      seq,
      limit,
    );
  }

  text(seq: number): string | undefined {
    return this.exec<{ text: string }>("SELECT text FROM outbox WHERE seq = ?", seq)[0]?.text;
  }

  /** Forgets events the queue has. */
  remove(seqs: readonly number[]): void {
    this.sql.exec("DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))", JSON.stringify(seqs));
  }

  pending(): number {
    return this.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox")[0]?.n ?? 0;
  }

  /** Failed drains in a row: the backoff survives the object being evicted between alarms. */
  failures(): number {
    return Number(this.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'failures'")[0]?.value ?? 0);
  }

  setFailures(n: number): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('failures', ?)", String(n));
  }
}
