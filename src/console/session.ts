import { hashedEqual } from "../crypto";
import { encodeBase64 } from "../delivery/signature";
import { RelayError } from "../errors";
import { LOOPBACK_NAMES } from "../net/address";

/**
 * Console sessions: a signed, expiring cookie value that never contains the admin token. The signing key is
 * derived from ADMIN_TOKEN, so rotating the token ends every session at once; the CSRF token is derived from the
 * session, so a page that can read it (same origin) can send it back, and a cross-site form cannot.
 */

const encoder = new TextEncoder();
const VERSION = "v1";
/** How long a session lasts: a working day, then sign in again. */
export const SESSION_SECONDS = 12 * 60 * 60;
/** The cookie's name; not `__Host-`, which requires `Secure` and so would not work on http://127.0.0.1. */
export const SESSION_COOKIE = "imrelay_session";

function base64url(bytes: ArrayBuffer): string {
  return encodeBase64(new Uint8Array(bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The session key: HMAC-SHA256 keyed by the admin token over a fixed label, so the token itself never signs. */
async function sessionKey(adminToken: string): Promise<CryptoKey> {
  const hmac = { name: "HMAC", hash: "SHA-256" };
  const tokenKey = await crypto.subtle.importKey("raw", encoder.encode(adminToken), hmac, false, ["sign"]);
  const derived = await crypto.subtle.sign("HMAC", tokenKey, encoder.encode("imrelay console session key v1"));
  return crypto.subtle.importKey("raw", derived, hmac, false, ["sign"]);
}

async function mac(key: CryptoKey, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

/** A valid session: when it ends and the CSRF token bound to it. */
export type Session = { expiresAtMs: number; csrf: string };

/** A new session's cookie value: `v1.<expiry ms>.<random>.<signature>`. */
export async function issueSession(adminToken: string, nowMs: number): Promise<{ value: string } & Session> {
  const key = await sessionKey(adminToken);
  const expiresAtMs = nowMs + SESSION_SECONDS * 1000;
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const payload = `${VERSION}.${expiresAtMs}.${nonce}`;
  const [signature, csrf] = await Promise.all([mac(key, payload), mac(key, `csrf.${nonce}`)]);
  return { value: `${payload}.${signature}`, expiresAtMs, csrf };
}

/** The session a cookie value stands for, or undefined when it is malformed, forged, or expired. */
export async function verifySession(adminToken: string, value: string, nowMs: number): Promise<Session | undefined> {
  const m = /^v1\.(\d{13})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return undefined;
  const [, expiry, nonce, signature] = m as unknown as [string, string, string, string];
  const key = await sessionKey(adminToken);
  const expected = await mac(key, `${VERSION}.${expiry}.${nonce}`);
  if (!(await hashedEqual(signature, expected))) return undefined;
  const expiresAtMs = Number(expiry);
  if (expiresAtMs <= nowMs || expiresAtMs > nowMs + SESSION_SECONDS * 1000) return undefined;
  return { expiresAtMs, csrf: await mac(key, `csrf.${nonce}`) };
}

/** Whether a CSRF token sent back matches the session's. */
function csrfMatches(session: Session, given: string | undefined): Promise<boolean> {
  return given ? hashedEqual(session.csrf, given) : Promise.resolve(false);
}

/** The session a request's cookie stands for, if any. */
export async function sessionOf(req: Request, adminToken: string): Promise<Session | undefined> {
  const cookie = sessionCookieOf(req.headers.get("cookie") ?? undefined);
  return cookie ? verifySession(adminToken, cookie, Date.now()) : undefined;
}

/**
 * Refuses a cookie-authenticated state change that does not come from the relay's own page: its origin must be
 * the relay's and it must carry the session's CSRF token in `x-csrf-token`.
 */
export async function checkCsrf(req: Request, session: Session): Promise<void> {
  if (!sameOrigin(req) || !(await csrfMatches(session, req.headers.get("x-csrf-token") ?? undefined))) {
    throw new RelayError("CSRF_REFUSED", "a console request needs its CSRF token and the relay's own origin");
  }
}

/** The session cookie's value in a Cookie header; the first one wins, as browsers send the most specific first. */
function sessionCookieOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header for a session value (or, with `value` empty and `maxAge` 0, one that clears it). */
export function sessionCookie(requestUrl: string, value: string, maxAge: number): string {
  // Loopback hosts get a cookie without `Secure`: `npm run dev` serves plain http on 127.0.0.1.
  const secure = LOOPBACK_NAMES.has(new URL(requestUrl).hostname) ? "" : "; Secure";
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`;
}

/**
 * Whether a request comes from the relay's own pages: its `Origin` is the relay's, or, where a browser sends no
 * Origin, `Sec-Fetch-Site` says same-origin. A request with neither is refused: browsers send at least one on
 * every state-changing request, so only a non-browser client lacks both, and it should use the bearer token.
 */
export function sameOrigin(req: Request): boolean {
  const origin = req.headers.get("origin");
  if (origin !== null) return origin === new URL(req.url).origin;
  return req.headers.get("sec-fetch-site") === "same-origin";
}
