/** The first pause after a failed drain, and the longest: the queue is asked again at least every 5 minutes. */
export const DRAIN_RETRY_FIRST_MS = 1_000;
export const DRAIN_RETRY_MAX_MS = 300_000;

/**
 * How long an outbox waits before draining again after `failures` failed drains in a row: doubling from
 * DRAIN_RETRY_FIRST_MS up to DRAIN_RETRY_MAX_MS, ±20 % so the outboxes do not all ask the queue at once.
 */
export function drainDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(DRAIN_RETRY_MAX_MS, DRAIN_RETRY_FIRST_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
