/**
 * Retry timing for failed deliveries, in whole seconds. A lane schedules its retries with its own alarm, so they
 * are not bound by the Queue's 12-hour delay cap.
 */

/** The longest single delay: a scheduled retry or a target's `Retry-After` (1 day). */
export const MAX_DELAY_SECONDS = 86_400;

/** Delay before each retry, in seconds: ~5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix-like, ~27 h total). */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];

const MAX_SCHEDULE_ENTRIES = 50;
// Svix's jitter factor: spreads retries of a burst of failures so they don't hit the target together.
const JITTER = 0.2;

/**
 * Parses a retry schedule from configuration.
 *
 * @param text - Comma-separated delays in seconds (whitespace allowed), e.g. `"5, 300, 1800"`;
 *   undefined or blank selects {@link DEFAULT_RETRY_SCHEDULE}.
 * @returns 1–50 non-negative integer delays, each at most {@link MAX_DELAY_SECONDS}.
 * @throws Error naming the first bad entry, or the entry count when out of range.
 */
export function parseRetrySchedule(text: string | undefined): number[] {
  if (text === undefined || text.trim() === "") return [...DEFAULT_RETRY_SCHEDULE];
  const entries = text.split(",").map((entry) => entry.trim());
  if (entries.length > MAX_SCHEDULE_ENTRIES) {
    throw new Error(`retry schedule has ${entries.length} entries, at most ${MAX_SCHEDULE_ENTRIES} allowed`);
  }
  return entries.map((entry, index) => {
    const position = `retry schedule entry ${index + 1}`;
    if (entry === "") throw new Error(`${position} is empty`);
    if (!/^\d+$/.test(entry)) throw new Error(`${position} "${entry}" is not a non-negative integer`);
    const seconds = Number(entry);
    if (seconds > MAX_DELAY_SECONDS) {
      throw new Error(`${position} "${entry}" exceeds the ${MAX_DELAY_SECONDS} s delay limit`);
    }
    return seconds;
  });
}

/**
 * Applies ±20 % random jitter to a delay.
 *
 * @param seconds - The scheduled delay.
 * @param random - Source of uniform numbers in [0, 1); injectable for tests.
 * @returns Whole seconds in [0, {@link MAX_DELAY_SECONDS}]; a zero (or invalid) delay stays 0.
 */
export function withJitter(seconds: number, random: () => number = Math.random): number {
  if (!(seconds > 0)) return 0;
  const factor = 1 + JITTER * (2 * random() - 1);
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(seconds * factor)));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
// RFC 9110 §5.6.7: senders use IMF-fixdate; recipients must also accept the two obsolete forms.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

function utc(year: number, month: string, day: string, hh: string, mm: string, ss: string): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const [d, h, m, s] = [Number(day), Number(hh), Number(mm), Number(ss)];
  // Seconds up to 60 for leap seconds, as the grammar allows.
  if (d < 1 || d > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, monthIndex, d, h, m, Math.min(s, 59));
  // Reject dates like 31 Feb, which Date.UTC would silently roll over.
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}

function parseHttpDate(value: string, nowMs: number): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match !== null) {
    const [, day = "", month = "", year = "", hh = "", mm = "", ss = ""] = match;
    return utc(Number(year), month, day, hh, mm, ss);
  }
  match = RFC850_DATE.exec(value);
  if (match !== null) {
    const [, day = "", month = "", yy = "", hh = "", mm = "", ss = ""] = match;
    // RFC 9110: a two-digit year more than 50 years in the future means the most recent past such year.
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return utc(year, month, day, hh, mm, ss);
  }
  match = ASCTIME_DATE.exec(value);
  if (match !== null) {
    const [, month = "", day = "", hh = "", mm = "", ss = "", year = ""] = match;
    return utc(Number(year), month, day.trim(), hh, mm, ss);
  }
  return undefined;
}

/**
 * Interprets a `Retry-After` response header.
 *
 * @param value - The header value: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * @param nowMs - Current time in milliseconds, to turn a date into a delay.
 * @returns Whole seconds to wait (≥ 0; a past date gives 0), or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const dateMs = parseHttpDate(trimmed, nowMs);
  if (dateMs === undefined) return undefined;
  // Round up so we never come back before the moment the target named.
  return Math.max(0, Math.ceil((dateMs - nowMs) / 1000));
}

/**
 * Chooses the delay before the next attempt.
 *
 * @param scheduledSeconds - The (jittered) delay from the retry schedule.
 * @param retryAfterSeconds - The target's `Retry-After`, if any.
 * @returns `min(MAX_DELAY_SECONDS, max(scheduled, retryAfter ?? 0))`: Retry-After can slow us down
 *   but never make us retry sooner than scheduled, and never beyond what the queue can hold.
 */
export function retryDelay(scheduledSeconds: number, retryAfterSeconds: number | undefined): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, scheduledSeconds, retryAfterSeconds ?? 0));
}
