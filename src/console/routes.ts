import { Hono } from "hono/tiny";
import { adminToken, isAdminToken } from "../admin/auth";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";
import type { SessionAnswer } from "./schemas";
import { checkCsrf, issueSession, SESSION_SECONDS, sameOrigin, sessionCookie, sessionOf } from "./session";

const NO_STORE = { "cache-control": "no-store" };

function answer(session: { expiresAtMs: number; csrf: string }): SessionAnswer {
  return { expiresAt: new Date(session.expiresAtMs).toISOString(), csrf: session.csrf };
}

/** The admin token from a sign-in form post; the body is never logged or echoed. */
async function tokenFrom(req: Request): Promise<string> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) throw new RelayError("INVALID_REQUEST", "post a form");
  const text = await req.text();
  if (text.length > 4096) throw new RelayError("PAYLOAD_TOO_LARGE", "the sign-in form is limited to 4 KiB");
  const token = new URLSearchParams(text).get("token");
  return token?.trim() ?? "";
}

/**
 * `/console/session`: the console's sign-in (POST, the admin token in a form body), its state and CSRF token
 * (GET), and sign-out (DELETE). The page itself is a static asset; these are the Worker's only console routes.
 */
export const consoleRoutes = new Hono<AppEnv>()
  .post("/session", async (c) => {
    const token = adminToken(c.env);
    // Login CSRF: another site must not sign a browser into this console, even with a token it knows.
    if (!sameOrigin(c.req.raw)) throw new RelayError("CSRF_REFUSED", "sign in from the relay's own console page");
    if (!(await isAdminToken(token, await tokenFrom(c.req.raw)))) {
      c.get("log").warn("console sign-in refused", { reason: "wrong admin token" });
      throw new RelayError("UNAUTHORIZED", "wrong admin token");
    }
    const session = await issueSession(token, Date.now());
    c.get("log").info("console signed in", {});
    return c.json(answer(session), 200, {
      ...NO_STORE,
      "set-cookie": sessionCookie(c.req.url, session.value, SESSION_SECONDS),
    });
  })
  .get("/session", async (c) => {
    const session = await sessionOf(c.req.raw, adminToken(c.env));
    if (!session) throw new RelayError("UNAUTHORIZED", "not signed in");
    return c.json(answer(session), 200, NO_STORE);
  })
  .delete("/session", async (c) => {
    const session = await sessionOf(c.req.raw, adminToken(c.env));
    // Signing out is a state change too: a cross-site page must not sign the operator out.
    if (session) await checkCsrf(c.req.raw, session);
    return c.body(null, 204, { ...NO_STORE, "set-cookie": sessionCookie(c.req.url, "", 0) });
  });
