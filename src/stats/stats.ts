import { DurableObject } from "cloudflare:workers";
import type { StatsSummary } from "./schema";
import { type StatEntry, summarize } from "./summary";

/** Counters are kept this long; the console reads a day at most. */
const KEEP_MS = 2 * 24 * 3600_000;
/** How often, at most, old minutes are pruned. */
const PRUNE_EVERY_MS = 3600_000;

/**
 * The relay's own counters, for the console: accepted, delivered, retried, dead, refused (by code) and decider
 * verdicts, per minute, in one SQLite-backed object. Analytics Engine (METRICS) has the same counts in production
 * but can be read only through Cloudflare's SQL API, and not at all under `wrangler dev`. Writers call it off the
 * ack path: the consumer once per batch, a lane once per alarm run, the ingress after its answer.
 */
export class Stats extends DurableObject<Env> {
  private prunedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS counts (
         minute INTEGER NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL, n INTEGER NOT NULL,
         PRIMARY KEY (minute, kind, label))`,
    );
  }

  /** Adds counts; entries of one (minute, kind, label) sum up. */
  async add(entries: StatEntry[]): Promise<void> {
    const nowMs = Date.now();
    for (const e of entries) {
      if (!(e.n > 0)) continue;
      this.ctx.storage.sql.exec(
        `INSERT INTO counts (minute, kind, label, n) VALUES (?, ?, ?, ?)
         ON CONFLICT (minute, kind, label) DO UPDATE SET n = n + excluded.n`,
        Math.floor((e.atMs ?? nowMs) / 60_000),
        e.kind,
        e.label.slice(0, 64),
        e.n,
      );
    }
    if (nowMs - this.prunedAt > PRUNE_EVERY_MS) {
      this.ctx.storage.sql.exec("DELETE FROM counts WHERE minute < ?", Math.floor((nowMs - KEEP_MS) / 60_000));
      this.prunedAt = nowMs;
    }
  }

  /** Totals since `sinceMs` and a series of `buckets` equal slices up to now. */
  async summary(sinceMs: number, buckets: number): Promise<StatsSummary> {
    const rows = this.ctx.storage.sql
      .exec<{ minute: number; kind: string; label: string; n: number }>(
        "SELECT minute, kind, label, n FROM counts WHERE minute >= ?",
        Math.floor(sinceMs / 60_000),
      )
      .toArray();
    return summarize(rows, sinceMs, Date.now(), buckets);
  }
}
