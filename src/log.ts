/**
 * Structured JSON logs, one object per line, so Workers Logs and `wrangler tail` can filter on fields.
 * Callers pass identifiers and outcomes only: never a secret, a signature or a request body.
 */
export type LogFields = Record<string, unknown>;

const LEVELS = { info: 1, warn: 2, error: 3 } as const;
export type Level = keyof typeof LEVELS;

export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  with(fields: LogFields): Logger;
};

/**
 * The `LOG_LEVEL` var. `info` logs every accepted callback and delivery; `warn` (the deployed default) only
 * refusals, retries and failures, leaving volume to the METRICS counters: a log line per event costs as much CPU
 * as the rest of the ack path under `wrangler dev`, and Workers Logs bills per line.
 */
export function logLevel(env: { LOG_LEVEL?: string }): Level {
  const level = env.LOG_LEVEL;
  return level === "warn" || level === "error" ? level : "info";
}

/** Creates a logger whose every line carries `base` (e.g. the request id), writing lines at `min` and above. */
export function createLogger(base: LogFields = {}, min: Level = "info"): Logger {
  const write = (level: Level, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < LEVELS[min]) return;
    const line = JSON.stringify({ level, msg, ...base, ...fields, ts: new Date().toISOString() });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    with: (fields) => createLogger({ ...base, ...fields }, min),
  };
}

/** Issue locations only: zod messages are safe, but payload values (PII, message text) never reach the logs. */
export function issueSummary(issues: readonly { path: readonly PropertyKey[]; code: string }[]): string[] {
  return issues.slice(0, 10).map((i) => `${i.path.map(String).join(".").slice(0, 120) || "(root)"}: ${i.code}`);
}
