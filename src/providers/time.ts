/** 2000-01-01: anything earlier in a payload is not a real event time. */
const EARLIEST_MS = 946_684_800_000;

/**
 * Reads an epoch timestamp sent as a number or a decimal string, in seconds or milliseconds (Tencent push
 * callbacks use seconds, everything else ms). Returns ms, or undefined when absent or implausible, so a bad
 * value falls back to the time of receipt instead of producing a nonsense `time`.
 */
export function epochMs(value: unknown, nowMs: number = Date.now()): number | undefined {
  const n =
    typeof value === "number" ? value : typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  const ms = n < 100_000_000_000 ? n * 1000 : n;
  return ms >= EARLIEST_MS && ms <= nowMs + 86_400_000 ? ms : undefined;
}

/** The first plausible timestamp among `keys` of `payload`. */
export function firstTime(payload: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const ms = epochMs(payload[key]);
    if (ms !== undefined) return ms;
  }
  return undefined;
}
