import type { MiddlewareHandler } from "hono";
import { csrfMatches, sameOrigin, sessionCookieOf, verifySession } from "../console/session";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";

const encoder = new TextEncoder();
/** Methods that change nothing; every other one needs the CSRF token when signed in by cookie. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** The admin token, or a refusal when none is configured: with no token the admin API is closed, never open. */
export function adminToken(env: Env): string {
  const token = env.ADMIN_TOKEN?.trim();
  if (!token) throw new RelayError("ADMIN_DISABLED", "the admin API is disabled: set the ADMIN_TOKEN secret");
  return token;
}

/**
 * Whether `given` is the admin token. Both sides are hashed before the constant-time compare, so neither the
 * token's bytes nor its length leak.
 */
export async function isAdminToken(token: string, given: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(token)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

function unauthorized(): RelayError {
  return new RelayError("UNAUTHORIZED", "missing or invalid bearer token", undefined, {
    "www-authenticate": 'Bearer realm="imrelay-admin"',
  });
}

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`, or the console's session cookie. A request with an Authorization header is
 * judged by it alone. A cookie-authenticated request that changes state must come from the relay's own origin and
 * carry the session's CSRF token in `x-csrf-token`: the browser attaches the cookie to any request, the token only
 * a page of ours can read.
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = adminToken(c.env);
    const header = c.req.header("authorization");
    if (header === undefined) {
      const cookie = sessionCookieOf(c.req.header("cookie"));
      const session = cookie ? await verifySession(token, cookie, Date.now()) : undefined;
      if (!session) throw unauthorized();
      if (!SAFE_METHODS.has(c.req.method)) {
        if (!sameOrigin(c.req.raw) || !(await csrfMatches(session, c.req.header("x-csrf-token")))) {
          throw new RelayError("CSRF_REFUSED", "a console request needs its CSRF token and the relay's own origin");
        }
      }
      await next();
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !(await isAdminToken(token, match[1] ?? ""))) throw unauthorized();
    await next();
  };
}
