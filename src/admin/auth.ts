import type { MiddlewareHandler } from "hono";
import { checkCsrf, sessionOf } from "../console/session";
import type { AppEnv } from "../context";
import { hashedEqual } from "../crypto";
import { RelayError } from "../errors";

/** Methods that change nothing; every other one needs the CSRF token when signed in by cookie. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The admin token, or a refusal when none is configured: with no token the admin API is closed, never open. */
export function adminToken(env: Env): string {
  const token = env.ADMIN_TOKEN?.trim();
  if (!token) throw new RelayError("ADMIN_DISABLED", "the admin API is disabled: set the ADMIN_TOKEN secret");
  return token;
}

/** Whether `given` is the admin token, compared without leaking the token's bytes or length. */
export function isAdminToken(token: string, given: string): Promise<boolean> {
  return hashedEqual(given, token);
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
      const session = await sessionOf(c.req.raw, token);
      if (!session) throw unauthorized();
      if (!SAFE_METHODS.has(c.req.method)) await checkCsrf(c.req.raw, session);
      await next();
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !(await isAdminToken(token, match[1] ?? ""))) throw unauthorized();
    await next();
  };
}
