import * as z from "zod/mini";
import { RelayError } from "./errors";
import { AllowIps } from "./ingress/allow-ips";
import { createLogger, logSettings } from "./log";
import { parseRetrySchedule } from "./queue/backoff";

/**
 * Secrets and vars, parsed once per isolate with zod (re-parsed only when the raw text changes, which happens
 * when a new secret is deployed). A broken secret is reported with the variable's name, the app and the field,
 * never a value: the same problems are shown on the public /healthz.
 */

/** One thing wrong with the configuration: where, what, and what was expected. Never carries a secret value. */
export type ConfigProblem = {
  /** The secret or var, e.g. `TENCENT_APPS`. */
  name: string;
  /** The app id (SdkAppid / AppKey) the problem is in, when it is in one. */
  app?: string;
  /** The field within the app, e.g. `allowIps.2`. */
  field?: string;
  problem: string;
  expected: string;
};

/** Where a problem is, as a path: `TENCENT_APPS["1400000001"].allowIps[2]`. */
export function problemPath(p: Pick<ConfigProblem, "name" | "app" | "field">): string {
  const field = (p.field ?? "")
    .split(".")
    .filter((part) => part !== "")
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join("");
  return `${p.name}${p.app === undefined ? "" : `[${JSON.stringify(p.app)}]`}${field}`;
}

/** One problem as a sentence, for error messages, logs and the dev console. */
export function describeProblem(p: ConfigProblem): string {
  return `${problemPath(p)}: ${p.problem}; expected ${p.expected}`;
}

const ALLOW_IPS_SHAPE = `"allowIps": ["203.0.113.0/24", "2001:db8::/32", …], IPv4/IPv6 addresses or CIDR ranges`;

// Messages name no field: a problem's path does.
const nonBlank = z
  .string({ error: (issue) => (issue.input === undefined ? "is missing" : "must be a string") })
  .check(z.trim(), z.minLength(1, "is blank"));

function appObject<S extends z.core.$ZodLooseShape>(shape: S, fields: string) {
  return z.strictObject(shape, {
    // Unknown field names are not repeated: a value pasted as a key would otherwise reach /healthz.
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `has an unknown field (allowed: ${fields})` : "must be a JSON object",
  });
}

const isObject = (payload: { value: unknown }) => typeof payload.value === "object" && payload.value !== null;

/**
 * `TENCENT_APPS`: SdkAppid → app. An app has a `token` (every callback must carry a valid `Sign`), or opts out
 * explicitly with `allowUnsigned: true`: a forgotten token must not silently turn signature checks off.
 */
const TencentApps = z.record(
  z.string().check(z.regex(/^\d+$/)),
  appObject(
    {
      token: z.optional(nonBlank),
      allowUnsigned: z.optional(z.boolean({ error: "must be true or false" })),
      allowIps: z.optional(AllowIps),
    },
    "token, allowUnsigned, allowIps",
  ).check(
    z.superRefine(
      (app, ctx) => {
        if (app.token === undefined && app.allowUnsigned !== true) {
          ctx.issues.push({
            code: "custom",
            input: undefined,
            message:
              'has no token: set "token" (the callback token of 回调鉴权), or opt out with "allowUnsigned": true',
          });
        } else if (app.token !== undefined && app.allowUnsigned === true) {
          ctx.issues.push({
            code: "custom",
            input: undefined,
            message: 'has both a token and "allowUnsigned": true; with a token every callback must carry Sign',
          });
        }
      },
      // Checked even when another field is wrong, so /healthz names every problem at once.
      { when: isObject },
    ),
  ),
  {
    error: (issue) =>
      issue.code === "invalid_key" ? "a key is not a SdkAppid (digits only)" : "must be a JSON object",
  },
);

/**
 * `NETEASE_APPS`: AppKey → app. `channels` is required: NetEase signs no part of the URL, so a callback captured
 * on one channel replays onto the other, where its eventType means something else (a 第三方回调 team creation,
 * eventType 7, posted to /netease/cc reads as a message recall).
 */
const NeteaseApps = z.record(
  nonBlank,
  appObject(
    {
      secret: nonBlank,
      channels: z
        .array(z.enum(["cc", "callback"], { error: 'must be "cc" or "callback"' }), {
          error: (issue) => (issue.input === undefined ? "is missing" : "must be a list"),
        })
        .check(
          z.minLength(1, "is empty"),
          z.refine((list) => new Set(list).size === list.length, "lists a channel twice"),
        ),
      allowIps: z.optional(AllowIps),
    },
    "secret, channels, allowIps",
  ),
  { error: (issue) => (issue.code === "invalid_key" ? "a key is blank" : "must be a JSON object") },
);

export type TencentApp = z.infer<typeof TencentApps>[string];
export type NeteaseApp = z.infer<typeof NeteaseApps>[string];

/** A secret, its schema, and what each part of it should look like (for problems). */
type SecretSpec<T> = {
  name: "TENCENT_APPS" | "NETEASE_APPS";
  schema: z.ZodMiniType<T>;
  shape: string;
  fields: Readonly<Record<string, string>>;
};

/** What a secret should look like, whole and per field. */
export const TENCENT_APPS_SHAPE = `{"<SdkAppid>": {"token": "<callback token>"}}, or {"<SdkAppid>": {"allowUnsigned": true}} for an app that sends no Sign; optional ${ALLOW_IPS_SHAPE}`;
export const NETEASE_APPS_SHAPE = `{"<AppKey>": {"secret": "<AppSecret>", "channels": ["cc"] | ["callback"] | ["cc", "callback"]}}; optional ${ALLOW_IPS_SHAPE}`;

const TENCENT: SecretSpec<z.infer<typeof TencentApps>> = {
  name: "TENCENT_APPS",
  schema: TencentApps,
  shape: TENCENT_APPS_SHAPE,
  fields: {
    token: `"token": "<callback token>", the token set under 回调鉴权 in the Tencent console`,
    allowUnsigned: `"allowUnsigned": true, only for an app without a token`,
    allowIps: ALLOW_IPS_SHAPE,
  },
};

const NETEASE: SecretSpec<z.infer<typeof NeteaseApps>> = {
  name: "NETEASE_APPS",
  schema: NeteaseApps,
  shape: NETEASE_APPS_SHAPE,
  fields: {
    secret: `"secret": "<AppSecret>", from the app's App Key 管理 page`,
    channels: `"channels": ["cc"], ["callback"] or ["cc", "callback"], the channels the app's callbacks are set up for`,
    allowIps: ALLOW_IPS_SHAPE,
  },
};

/** How reading a secret went. */
export type SecretRead<T> =
  | { state: "unset" }
  | { state: "valid"; value: T }
  | { state: "invalid"; problems: ConfigProblem[] };

function problemsOf<T>(spec: SecretSpec<T>, issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  return issues.map((issue) => {
    const [app, field, ...rest] = issue.path.map(String);
    return {
      name: spec.name,
      // A key that is not an app id may be anything, a pasted secret included: it is not repeated.
      ...(app !== undefined && issue.code !== "invalid_key" && { app: app.slice(0, 64) }),
      ...(field !== undefined && { field: [field, ...rest].join(".") }),
      problem: issue.message,
      expected: (field !== undefined && spec.fields[field]) || spec.shape,
    };
  });
}

const cache = new Map<string, { raw: string; read: SecretRead<unknown> }>();

/** Reads a JSON secret; `fresh` is true when it was parsed now rather than taken from the isolate's cache. */
function readSecret<T>(spec: SecretSpec<T>, raw: string | undefined): { read: SecretRead<T>; fresh: boolean } {
  if (raw === undefined || raw.trim() === "") return { read: { state: "unset" }, fresh: false };
  const hit = cache.get(spec.name);
  if (hit && hit.raw === raw) return { read: hit.read as SecretRead<T>, fresh: false };
  let json: unknown;
  let read: SecretRead<T> | undefined;
  try {
    json = JSON.parse(raw);
  } catch {
    read = { state: "invalid", problems: [{ name: spec.name, problem: "is not valid JSON", expected: spec.shape }] };
  }
  if (!read) {
    const parsed = spec.schema.safeParse(json);
    read = parsed.success
      ? { state: "valid", value: parsed.data }
      : { state: "invalid", problems: problemsOf(spec, parsed.error.issues) };
  }
  cache.set(spec.name, { raw, read });
  return { read, fresh: true };
}

function valueOrThrow<T>(spec: SecretSpec<T>, read: SecretRead<T>): T {
  if (read.state === "valid") return read.value;
  if (read.state === "unset") throw new RelayError("NOT_CONFIGURED", `${spec.name} is not set`);
  const [first, ...more] = read.problems;
  if (!first) throw new RelayError("NOT_CONFIGURED", `${spec.name} is invalid`);
  if (first.app === undefined && first.field === undefined && first.problem === "is not valid JSON") {
    throw new RelayError("NOT_CONFIGURED", `${spec.name} is not valid JSON`);
  }
  const suffix = more.length > 0 ? ` (and ${more.length} more problem${more.length > 1 ? "s" : ""}, see /healthz)` : "";
  throw new RelayError("NOT_CONFIGURED", `${describeProblem(first)}${suffix}`);
}

/** The Tencent apps that opted out of signatures. */
export function unsignedTencentApps(apps: Readonly<Record<string, TencentApp>>): string[] {
  return Object.entries(apps)
    .filter(([, app]) => app.token === undefined)
    .map(([id]) => id);
}

/** `TENCENT_APPS` as read; the first read in an isolate names the unsigned apps in the log, once. */
export function readTencentApps(env: Env): SecretRead<Record<string, TencentApp>> {
  const { read, fresh } = readSecret(TENCENT, env.TENCENT_APPS);
  if (fresh && read.state === "valid") {
    const unsigned = unsignedTencentApps(read.value);
    if (unsigned.length > 0) {
      // Anyone who knows such an SdkAppid can post callbacks for it: say so where operators look.
      createLogger({}, logSettings(env)).warn("Tencent apps accept unsigned callbacks (allowUnsigned)", {
        unsignedApps: unsigned,
        withoutAllowIps: unsigned.filter((id) => read.value[id]?.allowIps === undefined),
      });
    }
  }
  return read;
}

/** `NETEASE_APPS` as read. */
export function readNeteaseApps(env: Env): SecretRead<Record<string, NeteaseApp>> {
  return readSecret(NETEASE, env.NETEASE_APPS).read;
}

/** The configured Tencent apps. Throws NOT_CONFIGURED, naming the app and field, when the secret is unusable. */
export function tencentApps(env: Env): Record<string, TencentApp> {
  return valueOrThrow(TENCENT, readTencentApps(env));
}

/** The configured NetEase apps. Throws NOT_CONFIGURED, naming the app and field, when the secret is unusable. */
export function neteaseApps(env: Env): Record<string, NeteaseApp> {
  return valueOrThrow(NETEASE, readNeteaseApps(env));
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

/** The vars `settings()` reads, read into settings or problems. */
export type SettingsRead = { value: Settings; problems: [] } | { value: undefined; problems: ConfigProblem[] };

const settingsCache = new WeakMap<Env, SettingsRead>();

/** Reads every tunable, collecting a problem per bad var instead of stopping at the first (once per env object). */
export function readSettings(env: Env): SettingsRead {
  const hit = settingsCache.get(env);
  if (hit) return hit;
  const problems: ConfigProblem[] = [];
  const int = (name: keyof Env & string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    problems.push({
      name,
      problem: "is not an integer in range",
      expected: `an integer in [${min}, ${max}] (default ${fallback})`,
    });
    return fallback;
  };
  let retrySchedule: number[] = [];
  try {
    retrySchedule = parseRetrySchedule(env.RETRY_SCHEDULE_SECONDS);
  } catch (err) {
    problems.push({
      name: "RETRY_SCHEDULE_SECONDS",
      problem: (err as Error).message,
      expected: "1–50 comma-separated delays in seconds, each at most 86400, e.g. 5,300,1800",
    });
  }
  const value: Settings = {
    neteaseWindowSeconds: int("NETEASE_CURTIME_WINDOW_SECONDS", 300, 1, 86_400),
    tencentWindowSeconds: int("TENCENT_REQUESTTIME_WINDOW_SECONDS", 60, 1, 86_400),
    retrySchedule,
    deliveryTimeoutMs: int("DELIVERY_TIMEOUT_MS", 15_000, 100, 120_000),
    targetsCacheTtlMs: int("TARGETS_CACHE_TTL_SECONDS", 10, 0, 300) * 1000,
    subrequestBudget: int("SUBREQUEST_BUDGET", 50, 10, 10_000),
    dedupeWindowMs: int("DEDUPE_WINDOW_SECONDS", 86_400, 60, 2_592_000) * 1000,
    deliveryLogRetentionMs: int("DELIVERY_LOG_RETENTION_SECONDS", 604_800, 60, 7_776_000) * 1000,
    circuitBreakerFailures: int("CIRCUIT_BREAKER_FAILURES", 10, 1, 1000),
    circuitProbeSeconds: int("CIRCUIT_PROBE_SECONDS", 5, 1, 600),
  };
  const read: SettingsRead = problems.length === 0 ? { value, problems: [] } : { value: undefined, problems };
  settingsCache.set(env, read);
  return read;
}

/** The tunables; throws NOT_CONFIGURED naming the first bad var (all of them are on /healthz). */
export function settings(env: Env): Settings {
  const read = readSettings(env);
  if (read.value) return read.value;
  const [first] = read.problems;
  throw new RelayError("NOT_CONFIGURED", first ? describeProblem(first) : "vars are invalid");
}
