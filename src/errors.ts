/**
 * The relay's one error model. Every refusal carries a machine-readable code; `ERRORS` maps each code to its
 * HTTP status and to the numeric code Tencent's response format requires, and each route renders it in its
 * provider's own format. Messages are short and fixed: they never contain secrets or request data.
 */
export const ERRORS = {
  INVALID_BODY: { status: 400, num: 40001 },
  INVALID_JSON: { status: 400, num: 40002 },
  MISSING_EVENT_TYPE: { status: 400, num: 40003 },
  AMBIGUOUS_PARAMETER: { status: 400, num: 40004 },
  INVALID_REQUEST: { status: 400, num: 40005 },
  AMBIGUOUS_BODY: { status: 400, num: 40006 },
  MISSING_CREDENTIALS: { status: 401, num: 40101 },
  UNKNOWN_APP: { status: 401, num: 40102 },
  BAD_SIGNATURE: { status: 401, num: 40103 },
  BODY_DIGEST_MISMATCH: { status: 401, num: 40104 },
  TIMESTAMP_OUT_OF_WINDOW: { status: 401, num: 40105 },
  INVALID_TIMESTAMP: { status: 401, num: 40106 },
  UNAUTHORIZED: { status: 401, num: 40107 },
  UNVERIFIABLE_SIGNATURE: { status: 401, num: 40108 },
  ADMIN_DISABLED: { status: 403, num: 40301 },
  // 403, not 401: no credential would change the answer, the caller's address is refused. Neither provider counts
  // a 403 as delivered (NetEase 抄送 takes only 200 and 500), so a genuine callback from a range missing from
  // allowIps fails visibly at the provider instead of being lost.
  IP_NOT_ALLOWED: { status: 403, num: 40302 },
  // A console request signed in by cookie but without its CSRF token, or from another origin.
  CSRF_REFUSED: { status: 403, num: 40303 },
  NOT_FOUND: { status: 404, num: 40401 },
  METHOD_NOT_ALLOWED: { status: 405, num: 40501 },
  CONFLICT: { status: 409, num: 40901 },
  PAYLOAD_TOO_LARGE: { status: 413, num: 41301 },
  INVALID_TARGET: { status: 422, num: 42201 },
  INVALID_DECIDER: { status: 422, num: 42202 },
  // Server-side failures are 503, never 500: NetEase 抄送 counts a 500 as "received", so a 500 for an event
  // we did not enqueue would lose it. 503 makes every provider treat the callback as failed.
  NOT_CONFIGURED: { status: 503, num: 50301 },
  ENQUEUE_FAILED: { status: 503, num: 50302 },
  INTERNAL: { status: 503, num: 50303 },
} as const satisfies Record<string, { status: number; num: number }>;

/** A machine-readable error code, `SCREAMING_SNAKE`. */
export type ErrorCode = keyof typeof ERRORS;

/** An error the relay answers with on purpose; anything else thrown is a bug and answers INTERNAL. */
export class RelayError extends Error {
  override readonly name = "RelayError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, non-secret fields for the log line (never rendered to the caller). */
    readonly detail?: Record<string, unknown>,
    /** Response headers the answer must carry (e.g. a `www-authenticate` challenge). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  /** HTTP status for this error. */
  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** Coerces anything thrown into a RelayError, so one code path renders every failure. */
export function toRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  return new RelayError("INTERNAL", "internal error", { cause: String(err) });
}

/**
 * Runs the checks of an app the request named and the config knows: a refusal they throw names the app in its
 * log line (the id is configured, so not attacker text), which is what an operator looks up first.
 */
export async function forApp<T>(appId: string, checks: () => Promise<T>): Promise<T> {
  try {
    return await checks();
  } catch (err) {
    if (err instanceof RelayError && err.detail?.appId === undefined) {
      throw new RelayError(err.code, err.message, { ...err.detail, appId }, err.headers);
    }
    throw err;
  }
}
