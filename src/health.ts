import {
  type ConfigProblem,
  NETEASE_APPS_SHAPE,
  problemPath,
  readNeteaseApps,
  readSettings,
  readTencentApps,
  TENCENT_APPS_SHAPE,
  unsignedTencentApps,
} from "./env";
import { isLevel } from "./log";

/** Shorter than this, an admin token is guessable enough to refuse to call the configuration healthy. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** A problem as /healthz shows it: with `at`, its path (`TENCENT_APPS["1400000001"].allowIps[2]`). */
export type ShownProblem = ConfigProblem & { at: string };

/** What `GET /healthz` answers: the configuration as the relay reads it, with ids but never a secret value. */
export type HealthReport = {
  /** True when nothing in `problems`: every configured app can be served and the vars are in range. */
  ok: boolean;
  /** `ok` or `misconfigured` (kept from the first /healthz, which scripts and monitors read). */
  status: "ok" | "misconfigured";
  /** Whether each secret is set and valid. */
  configured: { tencent: boolean; netease: boolean; admin: boolean };
  /** The configured app ids per provider (a provider whose secret is unusable lists none). */
  apps: { tencent: string[]; netease: string[] };
  /** Tencent apps that accept callbacks without `Sign` (`allowUnsigned: true`). */
  unsignedTencentApps: string[];
  /** What makes the configuration unusable or unsafe; each names the secret or var and the expected shape. */
  problems: ShownProblem[];
  /** What works but is probably not what you want (a provider left unset, the admin API closed). */
  warnings: ShownProblem[];
};

/**
 * Checks every secret and var the relay reads, collecting all problems rather than stopping at the first, so a
 * deploy (or `npm run dev`) shows what to fix before the first callback is refused for it.
 */
export function healthReport(env: Env): HealthReport {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];

  const tencent = readTencentApps(env);
  const netease = readNeteaseApps(env);
  const providers = [
    { name: "TENCENT_APPS", read: tencent, shape: TENCENT_APPS_SHAPE, route: "/tencent" },
    { name: "NETEASE_APPS", read: netease, shape: NETEASE_APPS_SHAPE, route: "/netease/*" },
  ] as const;
  for (const { name, read, shape, route } of providers) {
    if (read.state === "invalid") problems.push(...read.problems);
    else if (read.state === "unset") {
      warnings.push({ name, problem: `is not set: ${route} refuses every callback`, expected: shape });
    } else if (Object.keys(read.value).length === 0) {
      warnings.push({ name, problem: `lists no app: ${route} refuses every callback`, expected: shape });
    }
  }
  if (tencent.state === "unset" && netease.state === "unset") {
    problems.push({
      name: "TENCENT_APPS, NETEASE_APPS",
      problem: "neither is set: the relay refuses every callback",
      expected: `at least one of them: ${TENCENT_APPS_SHAPE} / ${NETEASE_APPS_SHAPE}`,
    });
  }

  const adminToken = env.ADMIN_TOKEN?.trim() ?? "";
  if (adminToken === "") {
    warnings.push({
      name: "ADMIN_TOKEN",
      problem: "is not set: the admin API is closed",
      expected: `a random token of at least ${MIN_ADMIN_TOKEN_LENGTH} characters to open it`,
    });
  } else if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    problems.push({
      name: "ADMIN_TOKEN",
      problem: `is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters`,
      expected: `at least ${MIN_ADMIN_TOKEN_LENGTH} random characters, e.g. from openssl rand -base64 32`,
    });
  }

  problems.push(...readSettings(env).problems);
  const logLevel = env.LOG_LEVEL;
  if (logLevel !== undefined && logLevel !== "" && !isLevel(logLevel)) {
    warnings.push({
      name: "LOG_LEVEL",
      problem: "is not a known level, so info is used",
      expected: "info, warn or error",
    });
  }

  const ok = problems.length === 0;
  const shown = (list: ConfigProblem[]) => list.map((p) => ({ at: problemPath(p), ...p }));
  return {
    ok,
    status: ok ? "ok" : "misconfigured",
    configured: {
      tencent: tencent.state === "valid",
      netease: netease.state === "valid",
      admin: adminToken.length >= MIN_ADMIN_TOKEN_LENGTH,
    },
    apps: {
      tencent: tencent.state === "valid" ? Object.keys(tencent.value) : [],
      netease: netease.state === "valid" ? Object.keys(netease.value) : [],
    },
    unsignedTencentApps: tencent.state === "valid" ? unsignedTencentApps(tencent.value) : [],
    problems: shown(problems),
    warnings: shown(warnings),
  };
}
