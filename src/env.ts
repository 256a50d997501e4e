import * as z from "zod/mini";
import { RelayError } from "./errors";
import { parseRetrySchedule } from "./queue/backoff";

/**
 * Secrets and vars, parsed once per isolate with zod (re-parsed only when the raw text changes, which happens
 * when a new secret is deployed). A broken secret is reported with the variable's name, never its value.
 */

const nonBlank = z.string().check(z.trim(), z.minLength(1));

/** `TENCENT_APPS`: SdkAppid → app. A token, when present, makes `Sign`/`RequestTime` mandatory. */
const TencentApps = z.record(z.string().check(z.regex(/^\d+$/)), z.strictObject({ token: z.optional(nonBlank) }));
/**
 * `NETEASE_APPS`: AppKey → app. `channels` confines an app to the channels it uses: NetEase signs no part of the
 * URL, so without it a captured callback could be replayed to the other channel, where its eventType means
 * something else.
 */
const NeteaseApps = z.record(
  nonBlank,
  z.strictObject({ secret: nonBlank, channels: z.optional(z.array(z.enum(["cc", "callback"])).check(z.minLength(1))) }),
);

export type TencentApp = z.infer<typeof TencentApps>[string];
export type NeteaseApp = z.infer<typeof NeteaseApps>[string];

const cache = new Map<string, { raw: string; value: unknown }>();

function parseSecretJson<T>(name: string, raw: string | undefined, schema: z.ZodMiniType<T>): T {
  if (raw === undefined || raw.trim() === "") {
    throw new RelayError("NOT_CONFIGURED", `${name} is not set`);
  }
  const hit = cache.get(name);
  if (hit && hit.raw === raw) return hit.value as T;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new RelayError("NOT_CONFIGURED", `${name} is not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    // Issue paths name the offending app id and field; issue messages never echo values.
    const where = parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new RelayError("NOT_CONFIGURED", `${name} is invalid at ${where}`);
  }
  cache.set(name, { raw, value: parsed.data });
  return parsed.data;
}

/** The configured Tencent apps. Throws NOT_CONFIGURED when the secret is missing or malformed. */
export function tencentApps(env: Env): Record<string, TencentApp> {
  return parseSecretJson("TENCENT_APPS", env.TENCENT_APPS, TencentApps);
}

/** The configured NetEase apps. Throws NOT_CONFIGURED when the secret is missing or malformed. */
export function neteaseApps(env: Env): Record<string, NeteaseApp> {
  return parseSecretJson("NETEASE_APPS", env.NETEASE_APPS, NeteaseApps);
}

function intVar(env: Env, name: keyof Env, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RelayError("NOT_CONFIGURED", `${String(name)} must be an integer in [${min}, ${max}]`);
  }
  return n;
}

/** Tunables from `[vars]`, with the defaults documented in the README. */
export type Settings = {
  neteaseWindowSeconds: number;
  tencentWindowSeconds: number;
  retrySchedule: number[];
  deliveryTimeoutMs: number;
  targetsCacheTtlMs: number;
  subrequestBudget: number;
  /** How long a lane remembers a delivered event id, so a duplicate is never sent again. */
  dedupeWindowMs: number;
  /** How long a lane keeps finished deliveries (and their payloads) in its delivery log. */
  deliveryLogRetentionMs: number;
  /** Consecutive failed attempts that open a lane's circuit breaker. */
  circuitBreakerFailures: number;
  /** First interval between probes of an open circuit; it doubles per failed probe. */
  circuitProbeSeconds: number;
};

const settingsCache = new WeakMap<Env, Settings>();

/** Reads the tunables (once per env object); throws NOT_CONFIGURED naming the var when one is out of range. */
export function settings(env: Env): Settings {
  const hit = settingsCache.get(env);
  if (hit) return hit;
  let retrySchedule: number[];
  try {
    retrySchedule = parseRetrySchedule(env.RETRY_SCHEDULE_SECONDS);
  } catch (err) {
    throw new RelayError("NOT_CONFIGURED", `RETRY_SCHEDULE_SECONDS: ${(err as Error).message}`);
  }
  const value: Settings = {
    neteaseWindowSeconds: intVar(env, "NETEASE_CURTIME_WINDOW_SECONDS", 300, 1, 86_400),
    tencentWindowSeconds: intVar(env, "TENCENT_REQUESTTIME_WINDOW_SECONDS", 60, 1, 86_400),
    retrySchedule,
    deliveryTimeoutMs: intVar(env, "DELIVERY_TIMEOUT_MS", 15_000, 100, 120_000),
    targetsCacheTtlMs: intVar(env, "TARGETS_CACHE_TTL_SECONDS", 10, 0, 300) * 1000,
    subrequestBudget: intVar(env, "SUBREQUEST_BUDGET", 50, 10, 10_000),
    dedupeWindowMs: intVar(env, "DEDUPE_WINDOW_SECONDS", 86_400, 60, 2_592_000) * 1000,
    deliveryLogRetentionMs: intVar(env, "DELIVERY_LOG_RETENTION_SECONDS", 604_800, 60, 7_776_000) * 1000,
    circuitBreakerFailures: intVar(env, "CIRCUIT_BREAKER_FAILURES", 10, 1, 1000),
    circuitProbeSeconds: intVar(env, "CIRCUIT_PROBE_SECONDS", 5, 1, 600),
  };
  settingsCache.set(env, value);
  return value;
}
