/**
 * Hostile input against the admin API and the routing surface: bad or near-miss bearer tokens, target configs
 * with URLs that must be refused, hostile dead-letter ids and bodies, unsupported methods and unknown paths.
 * Every refusal must carry its documented 4xx status in the admin format `{error:{code,message}, requestId}` (or
 * the provider's format on a provider route), write nothing, leak no secret, and leave the relay serving.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ERRORS, type ErrorCode } from "../../src/errors";
import { relayWithFakeQueue } from "../helpers/app";
import { ADMIN_TOKEN } from "../helpers/bindings";
import {
  adminRequest,
  expectNoSecrets,
  expectRefusal,
  expectRefused,
  expectStillServing,
  type Format,
  guardConsole,
  type Relay,
  TARGET_SECRET,
} from "../helpers/hostile-harness";

const guard = guardConsole();

/** Every admin route, with a valid body where it takes one. */
const ROUTES: [method: string, path: string, body?: unknown][] = [
  ["GET", "/admin/openapi.json"],
  ["GET", "/admin/targets"],
  ["GET", "/admin/targets/hostile-a"],
  ["PUT", "/admin/targets/hostile-a", { url: "https://a.example.test/hook", secret: TARGET_SECRET }],
  ["DELETE", "/admin/targets/hostile-a"],
  ["GET", "/admin/dead-letters"],
  ["GET", "/admin/dead-letters/hostile-a.1700000000000.abcdefgh"],
  ["POST", "/admin/dead-letters/hostile-a.1700000000000.abcdefgh/replay"],
  ["POST", "/admin/dead-letters/replay", {}],
  ["DELETE", "/admin/dead-letters/hostile-a.1700000000000.abcdefgh"],
  ["GET", "/admin"],
  ["GET", "/admin/no-such-route"],
];

let idCounter = 0;
/** A target id no other test uses, so "nothing was written" can be checked by reading it back. */
const freshId = () => `hostile-${Date.now().toString(36)}-${idCounter++}`;

async function expectNoTarget(relay: Relay, id: string) {
  await expectRefused(relay, adminRequest("GET", `/admin/targets/${id}`), "admin", "NOT_FOUND");
  expect(await env.TARGETS.get(`target:${id}`)).toBeNull();
}

/** Expects 401 UNAUTHORIZED with a Bearer challenge; a PUT must not have written its target. */
async function expectUnauthorized(relay: Relay, req: Request, forbidden: string[] = []) {
  const before = relay.queue.sent.length;
  const res = await relay.fetch(req);
  expect(res.headers.get("www-authenticate")).toBe('Bearer realm="imrelay-admin"');
  await expectRefusal(res, "admin", "UNAUTHORIZED", forbidden);
  expect(relay.queue.sent.length).toBe(before);
}

describe("admin hostile input: bearer token", () => {
  const basic = (s: string) => `Basic ${btoa(s)}`;
  const BAD_AUTH: [label: string, edit: (h: Headers) => void][] = [
    ["no Authorization header", () => {}],
    ["a wrong token", (h) => h.set("authorization", "Bearer wrong-token")],
    ["an empty bearer", (h) => h.set("authorization", "Bearer ")],
    ["the scheme alone", (h) => h.set("authorization", "Bearer")],
    ["the token without a scheme", (h) => h.set("authorization", ADMIN_TOKEN)],
    ["the token under the Basic scheme", (h) => h.set("authorization", basic(ADMIN_TOKEN))],
    ["the token as a Basic password", (h) => h.set("authorization", basic(`admin:${ADMIN_TOKEN}`))],
    ["the token under a Token scheme", (h) => h.set("authorization", `Token ${ADMIN_TOKEN}`)],
    ["the token after 'Bearer:'", (h) => h.set("authorization", `Bearer: ${ADMIN_TOKEN}`)],
    ["the scheme glued to the token", (h) => h.set("authorization", `Bearer${ADMIN_TOKEN}`)],
    ["the token twice in one header", (h) => h.set("authorization", `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`)],
    [
      "two Authorization headers (comma-joined)",
      (h) => {
        h.append("authorization", `Bearer ${ADMIN_TOKEN}`);
        h.append("authorization", `Bearer ${ADMIN_TOKEN}`);
      },
    ],
    [
      "a wrong and a right Authorization header",
      (h) => {
        h.append("authorization", "Bearer wrong");
        h.append("authorization", `Bearer ${ADMIN_TOKEN}`);
      },
    ],
    ["the token quoted", (h) => h.set("authorization", `Bearer "${ADMIN_TOKEN}"`)],
    ["the token in upper case", (h) => h.set("authorization", `Bearer ${ADMIN_TOKEN.toUpperCase()}`)],
    [
      "the token percent-encoded",
      (h) => h.set("authorization", `Bearer ${encodeURIComponent(ADMIN_TOKEN).replace(/-/g, "%2D")}`),
    ],
    ["the token base64-encoded", (h) => h.set("authorization", `Bearer ${btoa(ADMIN_TOKEN)}`)],
    ["a 16 KiB token", (h) => h.set("authorization", `Bearer ${"t".repeat(16_384)}`)],
    ["the token in Proxy-Authorization", (h) => h.set("proxy-authorization", `Bearer ${ADMIN_TOKEN}`)],
    ["the token in X-Admin-Token", (h) => h.set("x-admin-token", ADMIN_TOKEN)],
    ["the token in a cookie", (h) => h.set("cookie", `token=${ADMIN_TOKEN}; admin_token=${ADMIN_TOKEN}`)],
  ];
  for (const [label, edit] of BAD_AUTH) {
    it(`refuses ${label} on every admin route with 401 UNAUTHORIZED, writing nothing`, async () => {
      const relay = relayWithFakeQueue();
      for (const [method, path, body] of ROUTES) {
        const headers = new Headers();
        edit(headers);
        const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
        await expectUnauthorized(relay, new Request(`http://relay.test${path}`, init));
      }
      await expectNoTarget(relay, "hostile-a");
      await expectStillServing(relay);
    });
  }

  for (const param of ["token", "access_token", "admin_token", "ADMIN_TOKEN", "authorization", "bearer"]) {
    it(`refuses the token in the query string (?${param}=…) with 401 UNAUTHORIZED`, async () => {
      const relay = relayWithFakeQueue();
      const value = param === "authorization" ? `Bearer ${ADMIN_TOKEN}` : ADMIN_TOKEN;
      const qs = new URLSearchParams({ [param]: value }).toString();
      await expectUnauthorized(relay, adminRequest("GET", `/admin/targets?${qs}`, { authorization: null }));
      await expectUnauthorized(
        relay,
        adminRequest("PUT", `/admin/targets/hostile-q?${qs}`, {
          authorization: null,
          body: { url: "https://a.example.test/" },
        }),
      );
      await expectNoTarget(relay, "hostile-q");
      await expectStillServing(relay);
    });
  }

  it("refuses every almost-right token (one character changed, removed, added, truncated or extended) with 401 (property)", async () => {
    const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
    const mutation = fc.oneof(
      fc.tuple(fc.nat(), printable).map(([i, c]) => {
        const k = i % ADMIN_TOKEN.length;
        return ADMIN_TOKEN.slice(0, k) + c + ADMIN_TOKEN.slice(k + 1);
      }),
      fc.nat().map((i) => {
        const k = i % ADMIN_TOKEN.length;
        return ADMIN_TOKEN.slice(0, k) + ADMIN_TOKEN.slice(k + 1);
      }),
      fc.tuple(fc.nat(), printable).map(([i, c]) => {
        const k = i % (ADMIN_TOKEN.length + 1);
        return ADMIN_TOKEN.slice(0, k) + c + ADMIN_TOKEN.slice(k);
      }),
      fc.integer({ min: 0, max: ADMIN_TOKEN.length - 1 }).map((n) => ADMIN_TOKEN.slice(0, n)),
      fc.string({ minLength: 1, maxLength: 16, unit: printable }).map((tail) => ADMIN_TOKEN + tail),
      fc.string({ minLength: 1, maxLength: 16, unit: printable }).map((head) => head + ADMIN_TOKEN),
      fc.nat().map((i) => {
        const k = i % ADMIN_TOKEN.length;
        const c = ADMIN_TOKEN[k] as string;
        const f = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
        return ADMIN_TOKEN.slice(0, k) + f + ADMIN_TOKEN.slice(k + 1);
      }),
    );
    const route = fc.constantFrom(...ROUTES);
    await fc.assert(
      fc.asyncProperty(mutation, route, async (token, [method, path, body]) => {
        fc.pre(token !== ADMIN_TOKEN);
        const relay = relayWithFakeQueue();
        guard.forbid(token);
        await expectUnauthorized(relay, adminRequest(method, path, { authorization: `Bearer ${token}`, body }), [
          token,
        ]);
        await expectStillServing(relay);
      }),
      { numRuns: 150 },
    );
    await expectNoTarget(relayWithFakeQueue(), "hostile-a");
  });

  it("accepts the token with a lower-case scheme and surrounding whitespace (RFC 7235: the scheme is case-insensitive)", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(
      adminRequest("GET", "/admin/targets", { authorization: `bearer   ${ADMIN_TOKEN}  ` }),
    );
    expect(res.status).toBe(200);
  });

  for (const [label, value] of [
    ["unset", undefined],
    ["empty", ""],
    ["whitespace only", "   "],
  ] as const) {
    it(`answers every admin route with 403 ADMIN_DISABLED when ADMIN_TOKEN is ${label}, whatever the Authorization`, async () => {
      const relay = relayWithFakeQueue({ ADMIN_TOKEN: value } as Partial<Env>);
      for (const authorization of [
        null,
        "Bearer ",
        "Bearer undefined",
        "Bearer null",
        `Bearer ${ADMIN_TOKEN}`,
        `Bearer ${value ?? ""}x`,
      ]) {
        for (const [method, path, body] of ROUTES) {
          await expectRefused(relay, adminRequest(method, path, { authorization, body }), "admin", "ADMIN_DISABLED");
        }
      }
      expect(await env.TARGETS.get("target:hostile-a")).toBeNull();
      await expectStillServing(relay, { admin: "disabled" });
    });
  }
});

describe("admin hostile input: target URLs", () => {
  const put = (relay: Relay, id: string, url: unknown) =>
    relay.fetch(
      adminRequest("PUT", `/admin/targets/${id}`, {
        body: { url, secret: TARGET_SECRET, headers: { authorization: "Bearer endpoint-credential-xyz" } },
      }),
    );

  /** PUT with `url` is refused 422 INVALID_TARGET naming the url field, nothing is stored, nothing leaks. */
  async function expectUrlRefused(relay: Relay, url: unknown, forbidden: string[] = []) {
    const id = freshId();
    const res = await put(relay, id, url);
    const body = (await expectRefusal(res, "admin", "INVALID_TARGET", ["endpoint-credential-xyz", ...forbidden])) as {
      error: { message: string };
    };
    expect(body.error.message).toMatch(/\burl\b/);
    await expectNoTarget(relay, id);
  }

  const SCHEMES = [
    "ftp",
    "ftps",
    "file",
    "javascript",
    "data",
    "ws",
    "wss",
    "gopher",
    "mailto",
    "ldap",
    "ssh",
    "sftp",
    "tel",
    "blob",
    "about",
    "chrome",
    "jar",
    "view-source",
    "httpx",
    "htttps",
    "http+unix",
    "hxxps",
  ];

  it("refuses every scheme other than https (and http to loopback) with 422 INVALID_TARGET, storing nothing (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SCHEMES), fc.domain(), fc.webPath(), async (scheme, host, path) => {
        const relay = relayWithFakeQueue();
        await expectUrlRefused(relay, `${scheme}://${host}${path}`);
      }),
      { numRuns: 60 },
    );
    const relay = relayWithFakeQueue();
    await expectStillServing(relay);
  });

  for (const url of [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:,https://a.example",
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "mailto:ops@a.example",
    "about:blank",
    "blob:https://a.example/0b1e",
    "ws://localhost:9999/",
    "wss://a.example/socket",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "ftp://127.0.0.1/x",
    "view-source:https://a.example/",
  ]) {
    it(`refuses the target URL ${url} with 422 INVALID_TARGET`, async () => {
      const relay = relayWithFakeQueue();
      await expectUrlRefused(relay, url);
      await expectStillServing(relay);
    });
  }

  it("refuses http:// to any host that is not localhost, 127.0.0.1 or [::1] with 422 INVALID_TARGET (property)", async () => {
    const host = fc
      .oneof(
        fc.domain(),
        fc.ipV4(),
        fc.ipV4Extended(),
        fc.ipV6().map((ip) => `[${ip}]`),
      )
      .filter((h) => {
        const hostname = new URL(`http://${h}/`).hostname;
        return !["localhost", "127.0.0.1", "[::1]"].includes(hostname);
      });
    await fc.assert(
      fc.asyncProperty(host, fc.option(fc.integer({ min: 1, max: 65535 })), async (h, port) => {
        const relay = relayWithFakeQueue();
        await expectUrlRefused(relay, `http://${h}${port === null ? "" : `:${port}`}/hook`);
      }),
      { numRuns: 80 },
    );
  });

  for (const url of [
    "http://127.0.0.2/",
    "http://127.1.2.3/",
    "http://localhost.evil.com/",
    "http://localhost./",
    "http://127.0.0.1.nip.io/",
    "http://[::2]/",
    "http://[::ffff:127.0.0.2]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://2130706434/",
    "http://0177.0.0.2/",
    "http://169.254.169.254/latest/meta-data/",
    "http://evil.com#@localhost/",
    "http://evil.com?@127.0.0.1/",
    "http://evil.com\\@127.0.0.1/",
    "http://127.0.0.1.evil.com/",
    "HTTP://EVIL.EXAMPLE/",
    "http://xn--80ak6aa92e.com/",
    "http://loca%6chost.evil.com/",
  ]) {
    it(`refuses the non-loopback http URL ${url} with 422 INVALID_TARGET`, async () => {
      const relay = relayWithFakeQueue();
      await expectUrlRefused(relay, url);
      await expectStillServing(relay);
    });
  }

  for (const url of [
    "https://user:s3cr3t-pass@a.example/hook",
    "https://user@a.example/hook",
    "https://:s3cr3t-pass@a.example/hook",
    "http://user:s3cr3t-pass@localhost:9999/hook",
    "https://a%40b:s3cr3t-pass@a.example/",
    "https://user:s3cr3t-pass@a.example:8443/p?q=1#f",
    "https://localhost:9999@evil.example/",
  ]) {
    it(`refuses the URL with credentials ${url} with 422 INVALID_TARGET, never echoing them`, async () => {
      const relay = relayWithFakeQueue();
      guard.forbid("s3cr3t-pass");
      await expectUrlRefused(relay, url, ["s3cr3t-pass"]);
      await expectStillServing(relay);
    });
  }

  for (const url of [
    "https://",
    "http://",
    "https:",
    "https:/",
    "https://:443/",
    "https://@/",
    "https://?x",
    "https://#x",
    "https:// /",
    "https://[::1/",
    "/hook",
    "hook",
    "//a.example/hook",
    "./hook",
    "?x=1",
    "#x",
    "a.example/hook",
    "",
    " ",
    "\t\n",
  ]) {
    it(`refuses the URL ${JSON.stringify(url)} (no host or relative) with 422 INVALID_TARGET`, async () => {
      const relay = relayWithFakeQueue();
      await expectUrlRefused(relay, url);
      await expectStillServing(relay);
    });
  }

  for (const [label, url] of [
    ["a 5 KB URL", `https://a.example/${"a".repeat(5_000)}`],
    ["a 2049-character URL", `https://a.example/${"b".repeat(2049 - "https://a.example/".length)}`],
    ["a 60 KB URL (the body stays under the 64 KiB admin limit)", `https://a.example/?q=${"c".repeat(60_000)}`],
  ] as const) {
    it(`refuses ${label} with 422 INVALID_TARGET`, async () => {
      const relay = relayWithFakeQueue();
      await expectUrlRefused(relay, url);
      await expectStillServing(relay);
    });
  }

  for (const [label, url] of [
    ["a number", 42],
    ["null", null],
    ["true", true],
    ["an array of URLs", ["https://a.example/"]],
    ["an object", { href: "https://a.example/" }],
  ] as const) {
    it(`refuses a url that is ${label} with 422 INVALID_TARGET`, async () => {
      const relay = relayWithFakeQueue();
      await expectUrlRefused(relay, url);
      await expectStillServing(relay);
    });
  }

  it("refuses a target without a url with 422 INVALID_TARGET", async () => {
    const relay = relayWithFakeQueue();
    const id = freshId();
    await expectRefused(
      relay,
      adminRequest("PUT", `/admin/targets/${id}`, { body: { secret: TARGET_SECRET } }),
      "admin",
      "INVALID_TARGET",
    );
    await expectNoTarget(relay, id);
  });

  it("keeps an existing target unchanged when a PUT with a bad URL is refused", async () => {
    const relay = relayWithFakeQueue();
    const id = freshId();
    const created = await relay.fetch(
      adminRequest("PUT", `/admin/targets/${id}`, {
        body: { url: "https://a.example.test/hook", secret: TARGET_SECRET },
      }),
    );
    expect(created.status).toBe(201);
    expectNoSecrets(created, await created.text());
    const stored = await env.TARGETS.get(`target:${id}`);
    await expectRefused(
      relay,
      adminRequest("PUT", `/admin/targets/${id}`, { body: { url: "http://evil.example/" } }),
      "admin",
      "INVALID_TARGET",
    );
    expect(await env.TARGETS.get(`target:${id}`)).toBe(stored);
    expect((await relay.fetch(adminRequest("DELETE", `/admin/targets/${id}`))).status).toBe(204);
    await expectStillServing(relay);
  });
});

describe("admin hostile input: target ids and bodies", () => {
  for (const id of [
    "UPPER",
    "-leading-dash",
    "_leading-underscore",
    "a".repeat(65),
    "a.b",
    "a%00b",
    "a%2Fb",
    "%E2%80%AE",
    "a%20b",
    "con%3A",
    "__proto__",
    "a%E0%A4%A",
  ]) {
    it(`refuses the target id ${JSON.stringify(id)} on PUT with 422 INVALID_TARGET, writing nothing`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(
        relay,
        adminRequest("PUT", `/admin/targets/${id}`, { body: { url: "https://a.example.test/" } }),
        "admin",
        "INVALID_TARGET",
      );
      expect(
        (await env.TARGETS.list({ prefix: "target:" })).keys
          .map((k) => k.name)
          .filter((k) => !k.startsWith("target:hostile-")),
      ).toEqual([]);
      await expectStillServing(relay);
    });
  }

  const BODIES: [label: string, body: string, code: ErrorCode][] = [
    ["not JSON", "url=https://a.example/", "INVALID_JSON"],
    ["truncated JSON", '{"url":"https://a.example/"', "INVALID_JSON"],
    ["a JSON array", '["https://a.example/"]', "INVALID_TARGET"],
    ["a JSON string", '"https://a.example/"', "INVALID_TARGET"],
    ["JSON null", "null", "INVALID_TARGET"],
    ["JSON true", "true", "INVALID_TARGET"],
    ["an unknown field", '{"url":"https://a.example/","admin":true}', "INVALID_TARGET"],
    ["a __proto__ field", '{"url":"https://a.example/","__proto__":{"enabled":false}}', "INVALID_TARGET"],
    ["a constructor field", '{"url":"https://a.example/","constructor":{"prototype":{"x":1}}}', "INVALID_TARGET"],
    ["a secret that is not whsec_", `{"url":"https://a.example/","secret":"${"s".repeat(40)}"}`, "INVALID_TARGET"],
    ["a reserved header", '{"url":"https://a.example/","headers":{"webhook-signature":"v1,x"}}', "INVALID_TARGET"],
    ["a header value with CR LF", '{"url":"https://a.example/","headers":{"x-a":"1\\r\\nx-b: 2"}}', "INVALID_TARGET"],
    ["10 000 levels of nesting", `{"url":${"[".repeat(10_000)}${"]".repeat(10_000)}}`, "INVALID_TARGET"],
    ["a 70 KB body", JSON.stringify({ url: "https://a.example/", events: ["x".repeat(70_000)] }), "PAYLOAD_TOO_LARGE"],
    [
      "a 100 KB URL (over the 64 KiB body limit)",
      JSON.stringify({ url: `https://a.example/?q=${"c".repeat(100_000)}` }),
      "PAYLOAD_TOO_LARGE",
    ],
  ];
  for (const [label, body, code] of BODIES) {
    it(`refuses a target body that is ${label} with ${ERRORS[code].status} ${code}, writing nothing`, async () => {
      const relay = relayWithFakeQueue();
      const id = freshId();
      await expectRefused(relay, adminRequest("PUT", `/admin/targets/${id}`, { body }), "admin", code);
      await expectNoTarget(relay, id);
      expect(Object.prototype).not.toHaveProperty("x");
      await expectStillServing(relay);
    });
  }

  it("never silently drops a header named __proto__: refuses it with 422 or stores it", async () => {
    const relay = relayWithFakeQueue();
    const id = freshId();
    const res = await relay.fetch(
      adminRequest("PUT", `/admin/targets/${id}`, {
        body: '{"url":"https://a.example/","headers":{"__proto__":"endpoint-credential-xyz","x-other":"1"}}',
      }),
    );
    if (res.status === 422) {
      await expectRefusal(res, "admin", "INVALID_TARGET");
      await expectNoTarget(relay, id);
    } else {
      expect(res.status).toBe(201);
      const saved = (await res.json()) as { headers?: Record<string, string> };
      expect(Object.keys(saved.headers ?? {}).sort()).toEqual(["__proto__", "x-other"]);
    }
    await expectStillServing(relay);
  });
});

describe("admin hostile input: dead letters", () => {
  it("answers 404 NOT_FOUND, never 5xx, for any well-formed dead-letter id that does not exist, whatever its length (property)", async () => {
    const id = fc
      .tuple(
        fc.stringMatching(/^[a-z0-9_][a-z0-9_-]{0,63}$/),
        fc.integer({ min: 0, max: 9_999_999_999_999 }),
        fc.integer({ min: 8, max: 1_000 }),
        fc.stringMatching(/^[a-z0-9]$/),
      )
      .map(([scope, ms, n, c]) => `${scope}.${String(ms).padStart(13, "0")}.${c.repeat(n)}`);
    await fc.assert(
      fc.asyncProperty(
        id,
        fc.constantFrom(["GET", ""], ["DELETE", ""], ["POST", "/replay"]),
        async (deadId, [method, suffix]) => {
          const relay = relayWithFakeQueue();
          await expectRefused(
            relay,
            adminRequest(method, `/admin/dead-letters/${deadId}${suffix}`),
            "admin",
            "NOT_FOUND",
          );
        },
      ),
      { numRuns: 60, examples: [[`hostile.1700000000000.${"a".repeat(600)}`, ["GET", ""]]] },
    );
  });

  for (const [method, suffix] of [
    ["GET", ""],
    ["DELETE", ""],
    ["POST", "/replay"],
  ] as const) {
    it(`answers ${method} /admin/dead-letters/<600-character id>${suffix} with 404 NOT_FOUND, not 503`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(
        relay,
        adminRequest(method, `/admin/dead-letters/t.1700000000000.${"a".repeat(600)}${suffix}`),
        "admin",
        "NOT_FOUND",
      );
      await expectStillServing(relay);
    });
  }

  it("answers 404 NOT_FOUND for any other dead-letter id (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300 }), async (raw) => {
        const relay = relayWithFakeQueue();
        const res = await relay.fetch(adminRequest("GET", `/admin/dead-letters/${encodeURIComponent(raw)}`));
        await expectRefusal(res, "admin", "NOT_FOUND");
      }),
      { numRuns: 60 },
    );
  });

  for (const qs of [
    "limit=0",
    "limit=-1",
    "limit=abc",
    "limit=1001",
    "limit=99999",
    "limit=1.5",
    "since=yesterday",
    "since=2026-13-01T00:00:00Z",
    "target=..%2Fx",
    "target=",
    "target=UPPER",
    `cursor=${"c".repeat(1025)}`,
  ]) {
    it(`refuses the dead-letter listing query ?${qs.slice(0, 40)} with 400 INVALID_REQUEST`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, adminRequest("GET", `/admin/dead-letters?${qs}`), "admin", "INVALID_REQUEST");
      await expectStillServing(relay);
    });
  }

  const REPLAY_BODIES: [label: string, body: string, code: ErrorCode][] = [
    ["not JSON", "target=a", "INVALID_JSON"],
    ["a JSON array", "[]", "INVALID_REQUEST"],
    ["JSON null", "null", "INVALID_REQUEST"],
    ["a limit of 0", '{"limit":0}', "INVALID_REQUEST"],
    ["a limit of 101", '{"limit":101}', "INVALID_REQUEST"],
    ["a fractional limit", '{"limit":1.5}', "INVALID_REQUEST"],
    ["a limit sent as a string", '{"limit":"10"}', "INVALID_REQUEST"],
    ["a path-like target", '{"target":"../x"}', "INVALID_REQUEST"],
    ["a since that is not a date", '{"since":"yesterday"}', "INVALID_REQUEST"],
    ["an unknown field", '{"all":true}', "INVALID_REQUEST"],
    ["a __proto__ field", '{"__proto__":{"limit":1}}', "INVALID_REQUEST"],
    ["a 70 KB body", JSON.stringify({ target: "a".repeat(70_000) }), "PAYLOAD_TOO_LARGE"],
  ];
  for (const [label, body, code] of REPLAY_BODIES) {
    it(`refuses a bulk replay body that is ${label} with ${ERRORS[code].status} ${code}, enqueuing nothing`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, adminRequest("POST", "/admin/dead-letters/replay", { body }), "admin", code);
      await expectStillServing(relay);
    });
  }
});

describe("hostile input: unsupported methods and unknown paths", () => {
  const PROVIDER_ROUTES: [path: string, format: Format][] = [
    ["/tencent", "tencent"],
    ["/netease/cc", "netease"],
    ["/netease/callback", "netease"],
  ];
  for (const [path, format] of PROVIDER_ROUTES) {
    for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"]) {
      it(`answers ${method} ${path} with 405 METHOD_NOT_ALLOWED in the provider's format`, async () => {
        const relay = relayWithFakeQueue();
        const body = method === "GET" || method === "OPTIONS" ? undefined : "{}";
        await expectRefused(
          relay,
          new Request(`http://relay.test${path}?SdkAppid=1400000001`, { method, body }),
          format,
          "METHOD_NOT_ALLOWED",
        );
        await expectStillServing(relay);
      });
    }
    it(`answers HEAD ${path} with 405 and no body`, async () => {
      const relay = relayWithFakeQueue();
      const res = await relay.fetch(new Request(`http://relay.test${path}`, { method: "HEAD" }));
      expect(res.status).toBe(405);
      expect(await res.text()).toBe("");
      expect(relay.queue.sent).toHaveLength(0);
      await expectStillServing(relay);
    });
  }

  /** A 404 or 405 in the plain format, with the code matching the status. */
  async function expectNotRouted(relay: Relay, req: Request) {
    const res = await relay.fetch(req);
    expect([404, 405], `status ${res.status}`).toContain(res.status);
    await expectRefusal(res, "admin", res.status === 405 ? "METHOD_NOT_ALLOWED" : "NOT_FOUND");
    expect(relay.queue.sent).toHaveLength(0);
  }

  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    it(`answers ${method} /healthz with 404 or 405 in the plain format`, async () => {
      const relay = relayWithFakeQueue();
      await expectNotRouted(relay, new Request("http://relay.test/healthz", { method, body: "{}" }));
      await expectStillServing(relay);
    });
  }

  const WRONG_ADMIN: [string, string][] = [
    ["POST", "/admin/targets"],
    ["PUT", "/admin/targets"],
    ["DELETE", "/admin/targets"],
    ["PATCH", "/admin/targets/hostile-a"],
    ["POST", "/admin/targets/hostile-a"],
    ["PUT", "/admin/dead-letters"],
    ["PATCH", "/admin/dead-letters/x.1700000000000.abcdefgh"],
    ["PUT", "/admin/dead-letters/replay"],
    ["POST", "/admin/openapi.json"],
    ["DELETE", "/admin/openapi.json"],
    ["OPTIONS", "/admin/targets"],
    ["GET", "/admin/targets/hostile-a/extra"],
    ["GET", "/admin/"],
    ["GET", "/admin/Targets"],
  ];
  for (const [method, path] of WRONG_ADMIN) {
    it(`answers an authenticated ${method} ${path} with 404 or 405 in the admin format`, async () => {
      const relay = relayWithFakeQueue();
      await expectNotRouted(
        relay,
        adminRequest(method, path, { body: method === "GET" || method === "OPTIONS" ? undefined : {} }),
      );
      await expectStillServing(relay);
    });
  }

  const UNKNOWN = [
    "/",
    "/tencent/",
    "/Tencent",
    "/TENCENT",
    "/tencent/x",
    "/netease",
    "/netease/",
    "/netease/cc/",
    "/NETEASE/CC",
    "/netease/CC",
    "/netease/callback/x",
    "/netease/other",
    "/netease%2Fcc",
    "/favicon.ico",
    "/.env",
    "/.git/config",
    "/robots.txt",
    "//tencent",
    "/tencent%00",
    "/tencent;x",
    "/healthz/",
    "/admin-x",
    "/administrator",
    `/${"a".repeat(8_000)}`,
    "/%E0%A4%A",
  ];
  for (const path of UNKNOWN) {
    for (const method of ["GET", "POST"]) {
      it(`answers ${method} ${path.length > 40 ? `${path.slice(0, 40)}…` : path} with 404 NOT_FOUND JSON`, async () => {
        const relay = relayWithFakeQueue();
        await expectRefused(
          relay,
          new Request(`http://relay.test${path}`, { method, body: method === "POST" ? "{}" : undefined }),
          "admin",
          "NOT_FOUND",
        );
        await expectStillServing(relay);
      });
    }
  }

  it("answers any other path with 404 NOT_FOUND JSON (property)", async () => {
    const known = new Set(["/tencent", "/netease/cc", "/netease/callback", "/healthz"]);
    await fc.assert(
      fc.asyncProperty(fc.webPath(), fc.constantFrom("GET", "POST", "PUT", "DELETE"), async (path, method) => {
        const p = path.startsWith("/") ? path : `/${path}`;
        const pathname = new URL(`http://relay.test${p}`).pathname;
        fc.pre(!known.has(pathname) && !pathname.startsWith("/admin"));
        const relay = relayWithFakeQueue();
        await expectRefused(
          relay,
          new Request(`http://relay.test${p}`, { method, body: method === "GET" ? undefined : "{}" }),
          "admin",
          "NOT_FOUND",
        );
      }),
      { numRuns: 60 },
    );
  });

  it("ignores method-override headers and parameters: a POST claiming to be a DELETE deletes nothing", async () => {
    const relay = relayWithFakeQueue();
    const id = freshId();
    expect(
      (await relay.fetch(adminRequest("PUT", `/admin/targets/${id}`, { body: { url: "https://a.example.test/" } })))
        .status,
    ).toBe(201);
    const overrides: Record<string, string>[] = [
      { "x-http-method-override": "DELETE" },
      { "x-http-method": "DELETE" },
      { "x-method-override": "DELETE" },
    ];
    for (const headers of overrides) {
      await expectNotRouted(relay, adminRequest("POST", `/admin/targets/${id}`, { headers, body: {} }));
    }
    await expectNotRouted(relay, adminRequest("POST", `/admin/targets/${id}?_method=DELETE`, { body: {} }));
    expect(await env.TARGETS.get(`target:${id}`)).not.toBeNull();
    expect((await relay.fetch(adminRequest("DELETE", `/admin/targets/${id}`))).status).toBe(204);
    await expectStillServing(relay);
  });

  it("answers unknown /admin paths with 401 before 404, so unauthenticated callers cannot map the admin API", async () => {
    const relay = relayWithFakeQueue();
    for (const path of ["/admin/nope", "/admin/targets/hostile-a/x", "/admin/.env"]) {
      await expectUnauthorized(relay, adminRequest("GET", path, { authorization: null }));
      await expectRefused(relay, adminRequest("GET", path), "admin", "NOT_FOUND");
    }
    await expectStillServing(relay);
  });
});
