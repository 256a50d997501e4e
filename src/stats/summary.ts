import type { StatsSummary } from "./schema";

type Totals = StatsSummary["totals"];
/** What is counted; `label` says which: a provider, an error code, a verdict, or a target. */
export type StatKind = keyof Totals;
export type StatEntry = { kind: StatKind; label: string; n: number; atMs?: number };

type Row = { minute: number; kind: string; label: string; n: number };

/** Sums per-minute rows into totals and `buckets` equal slices from `sinceMs` to `nowMs`. Pure. */
export function summarize(rows: readonly Row[], sinceMs: number, nowMs: number, buckets: number): StatsSummary {
  const totals: Totals = {
    accepted: {},
    delivered: {},
    retried: {},
    dead: {},
    refused: {},
    verdict: {},
    fallback: {},
  };
  const width = Math.max(1, (nowMs - sinceMs) / buckets);
  const series = Array.from({ length: buckets }, (_, i) => ({
    at: new Date(sinceMs + i * width).toISOString(),
    accepted: 0,
    delivered: 0,
    dead: 0,
    refused: 0,
  }));
  for (const row of rows) {
    const into = totals[row.kind as keyof Totals];
    if (!into) continue;
    into[row.label] = (into[row.label] ?? 0) + row.n;
    const slice = series[Math.min(buckets - 1, Math.max(0, Math.floor((row.minute * 60_000 - sinceMs) / width)))];
    if (slice && (row.kind === "accepted" || row.kind === "delivered" || row.kind === "dead" || row.kind === "refused"))
      slice[row.kind] += row.n;
  }
  return { since: new Date(sinceMs).toISOString(), totals, series };
}
