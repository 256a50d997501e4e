import { afterEach, describe, expect, it, vi } from "vitest";
import { issueSession, SESSION_SECONDS, verifySession } from "../../src/console/session";
import { errorOf, LOCAL_ORIGIN, RELAY_ORIGIN } from "../helpers/admin-client";
import { relayWithFakeQueue } from "../helpers/app";
import { ADMIN_TOKEN } from "../helpers/bindings";
import { guardConsole } from "../helpers/hostile-harness";

/**
 * The console's session: sign-in with the admin token in a form body, a signed HttpOnly cookie that stands in for
 * the bearer token on the admin API, and CSRF protection (token + same origin) on every state change.
 */

const logs = guardConsole();
type Relay = ReturnType<typeof relayWithFakeQueue>;

function signIn(relay: Relay, token: string, opts: { origin?: string | null; base?: string } = {}) {
  const base = opts.base ?? RELAY_ORIGIN;
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
  const origin = opts.origin === undefined ? base : opts.origin;
  if (origin !== null) headers.set("origin", origin);
  return relay.fetch(
    new Request(`${base}/console/session`, { method: "POST", headers, body: new URLSearchParams({ token }) }),
  );
}

/** Signs in and returns the cookie pair and CSRF token a browser would hold. */
async function session(relay: Relay, base = RELAY_ORIGIN) {
  const res = await signIn(relay, ADMIN_TOKEN, { base });
  expect(res.status).toBe(200);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const { csrf } = (await res.json()) as { csrf: string };
  logs.forbid(cookie.slice(cookie.indexOf("=") + 1), csrf);
  return { cookie, csrf };
}

/** An admin request carrying the session cookie, as the console page sends it. */
function withCookie(
  method: string,
  path: string,
  cookie: string,
  opts: { csrf?: string; origin?: string | null; fetchSite?: string; body?: unknown } = {},
): Request {
  const headers = new Headers({ cookie });
  if (opts.csrf !== undefined) headers.set("x-csrf-token", opts.csrf);
  const origin = opts.origin === undefined ? RELAY_ORIGIN : opts.origin;
  if (origin !== null) headers.set("origin", origin);
  if (opts.fetchSite) headers.set("sec-fetch-site", opts.fetchSite);
  if (opts.body !== undefined) headers.set("content-type", "application/json");
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Request(`${RELAY_ORIGIN}${path}`, { method, headers, body });
}

const TARGET = { url: "https://hooks.example/console" };

afterEach(() => {
  vi.useRealTimers();
});

describe("console sign-in", () => {
  it("sets an HttpOnly, SameSite=Strict, Secure, 12-hour session cookie that does not contain the token", async () => {
    const relay = relayWithFakeQueue();
    const res = await signIn(relay, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^imrelay_session=v1\.\d{13}\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain("; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure");
    expect(cookie).not.toContain(ADMIN_TOKEN);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { csrf: string; expiresAt: string };
    expect(body.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan((SESSION_SECONDS - 60) * 1000);
  });

  it("leaves Secure off on 127.0.0.1, where npm run dev serves plain http", async () => {
    const res = await signIn(relayWithFakeQueue(), ADMIN_TOKEN, { base: LOCAL_ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).not.toContain("Secure");
  });

  it("refuses a wrong token with 401 and no cookie, logging neither the token nor the attempt's value", async () => {
    logs.forbid("wrong-admin-token-0123456789");
    const res = await signIn(relayWithFakeQueue(), "wrong-admin-token-0123456789");
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await errorOf(res)).toEqual({ code: "UNAUTHORIZED", message: "wrong admin token" });
  });

  it("refuses a sign-in posted from another origin, or without Origin or Sec-Fetch-Site (login CSRF)", async () => {
    const relay = relayWithFakeQueue();
    for (const origin of ["https://evil.example", null]) {
      const res = await signIn(relay, ADMIN_TOKEN, { origin });
      expect(res.status).toBe(403);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect((await errorOf(res)).code).toBe("CSRF_REFUSED");
    }
  });

  it("refuses the token sent as JSON instead of a form", async () => {
    const res = await relayWithFakeQueue().fetch(
      new Request(`${RELAY_ORIGIN}/console/session`, {
        method: "POST",
        headers: { origin: RELAY_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ token: ADMIN_TOKEN }),
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("answers 403 ADMIN_DISABLED when no admin token is configured", async () => {
    const res = await signIn(relayWithFakeQueue({ ADMIN_TOKEN: "" }), ADMIN_TOKEN);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("ADMIN_DISABLED");
  });
});

describe("the admin API with a console session", () => {
  it("reads with the cookie alone, and GET /console/session returns the same CSRF token", async () => {
    const relay = relayWithFakeQueue();
    const { cookie, csrf } = await session(relay);
    const list = await relay.fetch(withCookie("GET", "/admin/targets", cookie, { origin: null }));
    expect(list.status).toBe(200);
    const state = await relay.fetch(withCookie("GET", "/console/session", cookie, { origin: null }));
    expect(((await state.json()) as { csrf: string }).csrf).toBe(csrf);
  });

  it("changes state with the CSRF token from the relay's own origin", async () => {
    const relay = relayWithFakeQueue();
    const { cookie, csrf } = await session(relay);
    const res = await relay.fetch(withCookie("PUT", "/admin/targets/console-a", cookie, { csrf, body: TARGET }));
    expect(res.status).toBe(201);
    const sameSite = await relay.fetch(
      withCookie("PUT", "/admin/targets/console-b", cookie, {
        csrf,
        origin: null,
        fetchSite: "same-origin",
        body: TARGET,
      }),
    );
    expect(sameSite.status).toBe(201);
  });

  const refused: [string, (csrf: string) => Parameters<typeof withCookie>[3]][] = [
    ["no CSRF token", () => ({ body: TARGET })],
    ["another session's CSRF token", () => ({ csrf: "A".repeat(43), body: TARGET })],
    ["the right CSRF token from another origin", (csrf) => ({ csrf, origin: "https://evil.example", body: TARGET })],
    ["the right CSRF token from a cross-site fetch", (csrf) => ({ csrf, origin: null, fetchSite: "cross-site" })],
    ["the right CSRF token and neither Origin nor Sec-Fetch-Site", (csrf) => ({ csrf, origin: null, body: TARGET })],
  ];
  for (const [label, opts] of refused) {
    it(`refuses a PUT with ${label}: 403 CSRF_REFUSED, nothing written`, async () => {
      const relay = relayWithFakeQueue();
      const { cookie, csrf } = await session(relay);
      const res = await relay.fetch(withCookie("PUT", "/admin/targets/console-x", cookie, opts(csrf)));
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("CSRF_REFUSED");
      expect(await relay.env.TARGETS.get("target:console-x")).toBeNull();
    });
  }

  it("refuses POST and DELETE without the CSRF token too", async () => {
    const relay = relayWithFakeQueue();
    const { cookie } = await session(relay);
    for (const [method, path] of [
      ["POST", "/admin/dead-letters/replay"],
      ["DELETE", "/admin/targets/console-x"],
      ["POST", "/admin/targets/console-x/rotate-secret"],
    ] as const) {
      const res = await relay.fetch(withCookie(method, path, cookie));
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect(relay.queue.sent).toEqual([]);
  });

  it("refuses a tampered, truncated or foreign cookie with 401", async () => {
    const relay = relayWithFakeQueue();
    const { cookie } = await session(relay);
    const other = await issueSession("another-admin-token-0123456789", Date.now());
    for (const bad of [
      `${cookie.slice(0, -1)}${cookie.endsWith("A") ? "B" : "A"}`,
      cookie.slice(0, -5),
      `imrelay_session=${other.value}`,
      `imrelay_session=${ADMIN_TOKEN}`,
    ]) {
      const res = await relay.fetch(withCookie("GET", "/admin/targets", bad, { origin: null }));
      expect(res.status).toBe(401);
    }
  });

  it("ends every session when ADMIN_TOKEN is rotated", async () => {
    const { cookie } = await session(relayWithFakeQueue());
    const rotated = relayWithFakeQueue({ ADMIN_TOKEN: "rotated-admin-token-0123456789" });
    const res = await rotated.fetch(withCookie("GET", "/admin/targets", cookie, { origin: null }));
    expect(res.status).toBe(401);
  });

  it("expires a session after 12 hours", async () => {
    const now = Date.now();
    const { value } = await issueSession(ADMIN_TOKEN, now);
    expect(await verifySession(ADMIN_TOKEN, value, now + SESSION_SECONDS * 1000 - 1)).toBeDefined();
    expect(await verifySession(ADMIN_TOKEN, value, now + SESSION_SECONDS * 1000)).toBeUndefined();
  });

  it("lets a bearer-token client ignore CSRF: an Authorization header is judged alone", async () => {
    const relay = relayWithFakeQueue();
    const { cookie } = await session(relay);
    const req = withCookie("PUT", "/admin/targets/console-bearer", cookie, {
      origin: "https://evil.example",
      body: TARGET,
    });
    req.headers.set("authorization", "Bearer wrong-token");
    expect((await relay.fetch(req)).status).toBe(401);
  });
});

describe("console sign-out", () => {
  it("clears the cookie with the CSRF token, and refuses a sign-out without it", async () => {
    const relay = relayWithFakeQueue();
    const { cookie, csrf } = await session(relay);
    const forged = await relay.fetch(withCookie("DELETE", "/console/session", cookie));
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie")).toBeNull();
    const res = await relay.fetch(withCookie("DELETE", "/console/session", cookie, { csrf }));
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^imrelay_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
  });
});
