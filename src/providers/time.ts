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

/** Where a time may be: a top-level key, or a path through nested objects, arrays and JSON-encoded strings. */
export type TimePath = string | readonly (string | number)[];

/** The value at `path`; a string met on the way is parsed as JSON (NetEase nests JSON text in some fields). */
function valueAt(payload: Record<string, unknown>, path: TimePath): unknown {
  if (typeof path === "string") return payload[path];
  let value: unknown = payload;
  for (const key of path) {
    if (typeof value === "string") value = parseNested(value);
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

function parseNested(text: string): unknown {
  if (!text.startsWith("{") && !text.startsWith("[")) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first plausible timestamp among `paths` of `payload`, in the order given (the most specific first). */
export function firstTime(payload: Record<string, unknown>, paths: readonly TimePath[]): number | undefined {
  for (const path of paths) {
    const ms = epochMs(valueAt(payload, path));
    if (ms !== undefined) return ms;
  }
  return undefined;
}
