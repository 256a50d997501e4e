/**
 * Counters per provider, event type and outcome, written to an optional Workers Analytics Engine dataset
 * (`METRICS` binding). Without the binding this is a no-op, so the relay runs the same without it. Writing a data
 * point is fire-and-forget and never throws into the ack path.
 */
export type Outcome =
  | "accepted"
  | "refused"
  | "delivered"
  | "retried"
  | "dead_lettered"
  | "disabled"
  | "decided"
  | "schema_invalid"
  | "decider_fallback"
  /** The queue (or R2, for a big body) refused an accepted event: it went to the outbox. */
  | "outboxed"
  /** An outbox moved an event to the queue. */
  | "drained";

/** Records one occurrence. `detail` is a refusal code or failure reason, never payload data. */
export function count(env: Env, outcome: Outcome, provider: string, type: string, detail = ""): void {
  try {
    env.METRICS?.writeDataPoint({ indexes: [provider], blobs: [outcome, provider, type, detail], doubles: [1] });
  } catch {
    // Metrics must never cost an event.
  }
}
