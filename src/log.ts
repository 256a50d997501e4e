/**
 * Structured logs, one line each: a JSON object when deployed, so Workers Logs and `wrangler tail` can filter on
 * fields, or a line for people in local development (`LOG_FORMAT=pretty`, which `npm run dev` sets).
 * Callers pass identifiers and outcomes only: never a secret, a signature or a request body.
 */
export type LogFields = Record<string, unknown>;

const LEVELS = { info: 1, warn: 2, error: 3 } as const;
export type Level = keyof typeof LEVELS;

/** Whether `value` names a log level. */
export const isLevel = (value: string): value is Level => Object.hasOwn(LEVELS, value);

export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  with(fields: LogFields): Logger;
};

/** `json` (the default, what deployed log pipelines parse) or `pretty` (one readable line per event, for dev). */
export type LogFormat = "json" | "pretty";

/** What a logger writes: lines at `min` and above, in `format`. */
export type LogSettings = { min: Level; format: LogFormat };

/**
 * The `LOG_LEVEL` and `LOG_FORMAT` vars. `info` logs every accepted callback and delivery; `warn` (the deployed
 * default) only refusals, retries and failures, leaving volume to the METRICS counters: a log line per event costs
 * as much CPU as the rest of the ack path under `wrangler dev`, and Workers Logs bills per line. Anything but
 * `LOG_FORMAT=pretty` is JSON, so a deployment that never heard of the var keeps machine-readable logs.
 */
export function logSettings(env: { LOG_LEVEL?: string; LOG_FORMAT?: string }): LogSettings {
  const level = env.LOG_LEVEL;
  return {
    min: level !== undefined && isLevel(level) ? level : "info",
    format: env.LOG_FORMAT === "pretty" ? "pretty" : "json",
  };
}

const DEFAULTS: LogSettings = { min: "info", format: "json" };

/** Creates a logger whose every line carries `base` (e.g. the request id), writing what `settings` lets through. */
export function createLogger(base: LogFields = {}, settings: LogSettings = DEFAULTS): Logger {
  const write = (level: Level, msg: string, fields: LogFields = {}) => {
    if (LEVELS[level] < LEVELS[settings.min]) return;
    const now = new Date();
    const line =
      settings.format === "pretty"
        ? prettyLine(now, level, msg, base, fields)
        : JSON.stringify({ level, msg, ...base, ...fields, ts: now.toISOString() });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    with: (fields) => createLogger({ ...base, ...fields }, settings),
  };
}

/**
 * `11:02:03 WARN callback refused code=BAD_SIGNATURE status=401 requestId=…`: the time (UTC, as workerd keeps it),
 * the level, the message, then the line's own fields before the logger's base ones, which repeat on every line.
 * Values that are not plain words are JSON-quoted, so a line never breaks in two.
 */
export function prettyLine(at: Date, level: Level, msg: string, base: LogFields, fields: LogFields): string {
  const pairs = [...Object.entries(fields), ...Object.entries(base).filter(([key]) => !Object.hasOwn(fields, key))];
  const rendered = pairs
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${prettyValue(value)}`)
    .join(" ");
  return `${at.toISOString().slice(11, 19)} ${level.toUpperCase()} ${msg}${rendered ? ` ${rendered}` : ""}`;
}

function prettyValue(value: unknown): string {
  if (typeof value === "string") return /^[\w.:/@#+-]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** Issue locations only: zod messages are safe, but payload values (PII, message text) never reach the logs. */
export function issueSummary(issues: readonly { path: readonly PropertyKey[]; code: string }[]): string[] {
  return issues.slice(0, 10).map((i) => `${i.path.map(String).join(".").slice(0, 120) || "(root)"}: ${i.code}`);
}
