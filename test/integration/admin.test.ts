import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { disableTarget, getTarget, putTarget } from "../../src/config/store";
import { generateSecret, verify } from "../../src/delivery/signature";
import type { CloudEvent } from "../../src/event";
import { type DeadLetter, getDeadLetter, putDeadLetter } from "../../src/queue/dead-letters";
import { adminClient, errorOf, LOCAL_ORIGIN } from "../helpers/admin-client";
import { ADMIN_TOKEN } from "../helpers/bindings";
import {
  clearKv,
  consumerEnv,
  eventMessage,
  makeEvent,
  makeTarget,
  runBatch,
  split,
  stubFetch,
} from "../helpers/consumer-harness";
import { lane, settle } from "../helpers/lanes";

const URL_A = "https://a.example.test/hook";

/** Every route of the admin API, with a body where it takes one. */
const ROUTES: [method: string, path: string, body?: unknown][] = [
  ["GET", "/admin/openapi.json"],
  ["GET", "/admin/targets"],
  ["GET", "/admin/targets/a"],
  ["PUT", "/admin/targets/a", { url: URL_A }],
  ["DELETE", "/admin/targets/a"],
  ["GET", "/admin/deciders"],
  ["GET", "/admin/deciders/a"],
  ["PUT", "/admin/deciders/a", { url: URL_A }],
  ["POST", "/admin/deciders/a/rotate-secret"],
  ["DELETE", "/admin/deciders/a"],
  ["GET", "/admin/dead-letters"],
  ["GET", "/admin/dead-letters/a.1700000000000.abcdefgh"],
  ["POST", "/admin/dead-letters/a.1700000000000.abcdefgh/replay"],
  ["POST", "/admin/dead-letters/replay", {}],
  ["DELETE", "/admin/dead-letters/a.1700000000000.abcdefgh"],
];

async function storedTargetKeys(): Promise<string[]> {
  return (await env.TARGETS.list({ prefix: "target:" })).keys.map((k) => k.name);
}

function letterOf(event: CloudEvent, target: string, overrides: Partial<Omit<DeadLetter, "id" | "deadAt">> = {}) {
  return {
    kind: "delivery" as const,
    target,
    ...split(event),
    lastStatus: 503,
    lastError: "HTTP 503",
    attempts: 4,
    ...overrides,
  };
}

beforeEach(async () => {
  await clearKv(env.TARGETS);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("admin API: authentication", () => {
  for (const [label, token] of [
    ["empty", ""],
    ["unset", undefined],
    ["blank", "   "],
  ] as const) {
    it(`answers 403 ADMIN_DISABLED on every admin route when ADMIN_TOKEN is ${label}`, async () => {
      const admin = adminClient({ ADMIN_TOKEN: token });
      for (const [method, path, body] of ROUTES) {
        const res = await admin.call(method, path, { body });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect((await errorOf(res)).code).toBe("ADMIN_DISABLED");
      }
      expect(await storedTargetKeys()).toEqual([]);
      expect(admin.queue.sent).toHaveLength(0);
    });
  }

  const refused: [string, string | null][] = [
    ["a missing Authorization header", null],
    ["a wrong token", "Bearer not-the-admin-token"],
    ["a token one character off", `Bearer ${ADMIN_TOKEN.slice(0, -1)}${ADMIN_TOKEN.endsWith("9") ? "8" : "9"}`],
    ["a prefix of the token", `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
    ["the token with a suffix", `Bearer ${ADMIN_TOKEN}0`],
    ["the token under the Basic scheme", `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`],
    ["the bare token without a scheme", ADMIN_TOKEN],
    ["the token followed by another word", `Bearer ${ADMIN_TOKEN} extra`],
    ["an empty bearer", "Bearer "],
  ];
  for (const [label, authorization] of refused) {
    it(`answers 401 UNAUTHORIZED for ${label}`, async () => {
      const admin = adminClient();
      for (const [method, path, body] of ROUTES) {
        const res = await admin.call(method, path, { body, authorization });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect((await errorOf(res)).code).toBe("UNAUTHORIZED");
      }
      expect(await storedTargetKeys()).toEqual([]);
      expect(admin.queue.sent).toHaveLength(0);
    });
  }

  it("sends a www-authenticate Bearer challenge with every 401", async () => {
    const admin = adminClient();
    for (const [, authorization] of refused) {
      for (const [method, path, body] of ROUTES) {
        const res = await admin.call(method, path, { body, authorization });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate"), `${method} ${path} with ${authorization}`).toBe(
          'Bearer realm="imrelay-admin"',
        );
      }
    }
  });

  it("accepts the configured token, with the scheme in any case", async () => {
    const admin = adminClient();
    expect((await admin.call("GET", "/admin/targets")).status).toBe(200);
    expect((await admin.call("GET", "/admin/targets", { authorization: `bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });
});

describe("admin API: secret rotation", () => {
  it("rotates a secret: shows the new one once, keeps the old one signing for 24 h, never shows it", async () => {
    const admin = adminClient();
    const first = (await (
      await admin.call("PUT", "/admin/targets/r", { body: { url: "https://r.example/" } })
    ).json()) as { secret: string };
    const res = await admin.call("POST", "/admin/targets/r/rotate-secret");
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { secret: string; previousSecrets: { expiresAt: string }[] };
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(first.secret);
    expect(Date.parse(rotated.previousSecrets[0]?.expiresAt ?? "") - Date.now()).toBeGreaterThan(86_000_000);
    const stored = await getTarget(env.TARGETS, "r");
    expect(stored?.secret).toBe(rotated.secret);
    expect(stored?.previousSecrets?.map((p) => p.secret)).toEqual([first.secret]);
    const readBack = await (await admin.call("GET", "/admin/targets/r")).text();
    expect(readBack).not.toContain(first.secret);
    expect(readBack).not.toContain(rotated.secret);
  });

  it("treats a PUT with a different secret as a rotation, and a PUT with the same secret as none", async () => {
    const admin = adminClient();
    const s1 = generateSecret();
    const s2 = generateSecret();
    await admin.call("PUT", "/admin/targets/p", { body: { url: "https://p.example/", secret: s1 } });
    await admin.call("PUT", "/admin/targets/p", { body: { url: "https://p.example/", secret: s1 } });
    expect((await getTarget(env.TARGETS, "p"))?.previousSecrets ?? []).toEqual([]);
    await admin.call("PUT", "/admin/targets/p", { body: { url: "https://p.example/", secret: s2 } });
    const stored = await getTarget(env.TARGETS, "p");
    expect(stored?.secret).toBe(s2);
    expect(stored?.previousSecrets?.map((p) => p.secret)).toEqual([s1]);
  });

  it("answers 404 to rotating the secret of an unknown target", async () => {
    expect((await adminClient().call("POST", "/admin/targets/nobody/rotate-secret")).status).toBe(404);
  });
});

describe("admin API: targets", () => {
  it("creates a target with 201 and shows the generated whsec_ secret in that response only", async () => {
    const admin = adminClient();
    const created = await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Record<string, unknown>;
    const secret = body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(body).toMatchObject({ id: "a", url: URL_A, enabled: true });
    expect((await getTarget(env.TARGETS, "a"))?.secret).toBe(secret);

    const shown = await (await admin.call("GET", "/admin/targets/a")).json();
    expect(shown).toMatchObject({ id: "a", url: URL_A, secret: `whsec_****${secret.slice(-4)}` });
    const list = (await (await admin.call("GET", "/admin/targets")).json()) as { items: Record<string, unknown>[] };
    expect(list.items).toEqual([expect.objectContaining({ id: "a", secret: `whsec_****${secret.slice(-4)}` })]);
    const again = await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });
    for (const text of [JSON.stringify(shown), JSON.stringify(list), await again.text()]) {
      expect(text).not.toContain(secret.slice("whsec_".length, -4));
    }
  });

  it("keeps the secret and createdAt when a target is PUT again without a secret (200)", async () => {
    const admin = adminClient();
    await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });
    const before = await getTarget(env.TARGETS, "a");

    const res = await admin.call("PUT", "/admin/targets/a", {
      body: { url: "https://a2.example.test/hook", events: ["im.*"] },
    });

    expect(res.status).toBe(200);
    const after = await getTarget(env.TARGETS, "a");
    expect(after?.secret).toBe(before?.secret);
    expect(after?.createdAt).toBe(before?.createdAt);
    expect(after).toMatchObject({ url: "https://a2.example.test/hook", events: ["im.*"] });
    expect((await res.json()) as Record<string, unknown>).toMatchObject({
      secret: `whsec_****${before?.secret.slice(-4)}`,
    });
  });

  it("re-enables a disabled target and clears its disabledReason when it is PUT again", async () => {
    const admin = adminClient();
    await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });
    await disableTarget(env.TARGETS, "a", "answered 410 Gone");
    expect((await getTarget(env.TARGETS, "a"))?.enabled).toBe(false);

    const res = await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });

    expect(res.status).toBe(200);
    const stored = await getTarget(env.TARGETS, "a");
    expect(stored?.enabled).toBe(true);
    expect(stored?.disabledReason).toBeUndefined();
  });

  it("stores a secret given in the PUT, and the consumer signs deliveries with it", async () => {
    const secret = generateSecret();
    const admin = adminClient();
    const res = await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret } });
    expect(res.status).toBe(201);
    expect(await res.text()).not.toContain(secret);
    expect((await getTarget(env.TARGETS, "a"))?.secret).toBe(secret);

    const { calls } = stubFetch({ [URL_A]: 200 });
    await runBatch(consumerEnv().env, [{ body: eventMessage(await makeEvent()) }]);
    await settle(lane("a"));
    const req = calls[0];
    if (!req) throw new Error("no delivery");
    const headers = {
      id: req.headers.get("webhook-id") ?? "",
      timestamp: req.headers.get("webhook-timestamp") ?? "",
      signature: req.headers.get("webhook-signature") ?? "",
    };
    expect(await verify(secret, headers, req.body)).toBe(true);
  });

  it("rotates the secret when an update gives a new one", async () => {
    const admin = adminClient();
    await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });
    const rotated = generateSecret();

    const res = await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret: rotated } });

    expect(res.status).toBe(200);
    expect((await getTarget(env.TARGETS, "a"))?.secret).toBe(rotated);
    expect(await res.text()).not.toContain(rotated);
  });

  it("deletes a target with 204, after which GET and DELETE answer 404", async () => {
    const admin = adminClient();
    await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } });

    const res = await admin.call("DELETE", "/admin/targets/a");

    expect(res.status).toBe(204);
    expect(await storedTargetKeys()).toEqual([]);
    const get = await admin.call("GET", "/admin/targets/a");
    expect(get.status).toBe(404);
    expect((await errorOf(get)).code).toBe("NOT_FOUND");
    expect((await admin.call("DELETE", "/admin/targets/a")).status).toBe(404);
  });

  for (const url of [
    "http://localhost:8080/hook",
    "http://127.0.0.1/hook",
    "http://[::1]:3000/hook",
    "https://example.com/hook",
  ]) {
    it(`accepts the target url ${url} on a relay running locally`, async () => {
      const res = await adminClient().call("PUT", "/admin/targets/a", { body: { url }, origin: LOCAL_ORIGIN });
      expect(res.status).toBe(201);
      expect((await getTarget(env.TARGETS, "a"))?.url).toBe(url);
    });
  }

  const shortSecret = `whsec_${btoa(String.fromCharCode(...new Uint8Array(16).fill(7)))}`;
  const invalidBodies: [label: string, body: unknown, field: string][] = [
    ["an ftp:// url", { url: "ftp://a.example.test/hook" }, "url"],
    ["an http:// url to a non-loopback host", { url: "http://example.com/hook" }, "url"],
    [
      "an http:// url to a host that merely starts with localhost",
      { url: "http://localhost.attacker.test/hook" },
      "url",
    ],
    ["a url with credentials", { url: "https://user:hunter2@a.example.test/hook" }, "url"],
    ["a relative url", { url: "/hook" }, "url"],
    ["a missing url", {}, "url"],
    ["a secret without the whsec_ prefix", { url: URL_A, secret: generateSecret().slice("whsec_".length) }, "secret"],
    ["a secret that is too short", { url: URL_A, secret: shortSecret }, "secret"],
    ["an unknown field", { url: URL_A, retries: 3 }, "retries"],
    ["the reserved header webhook-signature", { url: URL_A, headers: { "webhook-signature": "v1,x" } }, "headers"],
    ["the reserved header content-type", { url: URL_A, headers: { "content-type": "text/plain" } }, "headers"],
    [
      "the reserved header Content-Type in another case",
      { url: URL_A, headers: { "Content-Type": "text/plain" } },
      "headers",
    ],
    ["a header value with CR/LF", { url: URL_A, headers: { "x-note": "a\r\nx-injected: 1" } }, "headers"],
    ["a header value with a lone LF", { url: URL_A, headers: { "x-note": "a\nb" } }, "headers"],
    ["timeoutMs below 100", { url: URL_A, timeoutMs: 99 }, "timeoutMs"],
    ["timeoutMs above 60000", { url: URL_A, timeoutMs: 60_001 }, "timeoutMs"],
    ["a fractional timeoutMs", { url: URL_A, timeoutMs: 150.5 }, "timeoutMs"],
    ["an unknown provider", { url: URL_A, providers: ["aws"] }, "providers"],
  ];
  for (const [label, body, field] of invalidBodies) {
    it(`refuses ${label} with 422 INVALID_TARGET naming ${field}, writing nothing`, async () => {
      const res = await adminClient().call("PUT", "/admin/targets/a", { body });
      expect(res.status).toBe(422);
      const error = await errorOf(res);
      expect(error.code).toBe("INVALID_TARGET");
      expect(error.message).toContain(field);
      expect(await storedTargetKeys()).toEqual([]);
    });
  }

  it("does not echo the rejected url's password or the rejected secret in the error", async () => {
    const admin = adminClient();
    const withPassword = await admin.call("PUT", "/admin/targets/a", {
      body: { url: "https://user:hunter2@a.example.test/hook" },
    });
    expect(await withPassword.text()).not.toContain("hunter2");
    const badSecret = generateSecret().slice("whsec_".length);
    const withSecret = await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret: badSecret } });
    expect(await withSecret.text()).not.toContain(badSecret);
  });

  for (const [label, id] of [
    ["uppercase", "Upper"],
    ["too long", "a".repeat(65)],
    ["../x", "..%2Fx"],
    ["a leading dash", "-x"],
    ["a dot", "a.b"],
  ] as const) {
    it(`refuses a target id with ${label} with 422 INVALID_TARGET, writing nothing`, async () => {
      const res = await adminClient().call("PUT", `/admin/targets/${id}`, { body: { url: URL_A } });
      expect(res.status).toBe(422);
      expect((await errorOf(res)).code).toBe("INVALID_TARGET");
      expect(await storedTargetKeys()).toEqual([]);
    });
  }

  it("accepts a 64-character target id", async () => {
    expect((await adminClient().call("PUT", `/admin/targets/${"a".repeat(64)}`, { body: { url: URL_A } })).status).toBe(
      201,
    );
  });

  it("refuses malformed JSON with 400 INVALID_JSON, writing nothing", async () => {
    const res = await adminClient().call("PUT", "/admin/targets/a", { body: '{"url": "https://a.example.test/hook",' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("INVALID_JSON");
    expect(await storedTargetKeys()).toEqual([]);
  });
});

describe("admin API: dead letters", () => {
  const T0 = Date.parse("2026-01-01T00:00:00Z");
  const HOUR = 3_600_000;

  it("lists dead letters with string ids and their summaries", async () => {
    const event = await makeEvent();
    const id = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    const malformed = await putDeadLetter(
      env.TARGETS,
      { kind: "malformed", raw: "{}", lastError: "bad", attempts: 1 },
      T0,
    );

    const res = await adminClient().call("GET", "/admin/dead-letters");

    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: Record<string, unknown>[] };
    expect(page.items.map((i) => i.id).sort()).toEqual([id, malformed].sort());
    for (const item of page.items) expect(typeof item.id).toBe("string");
    expect(page.items.find((i) => i.id === id)).toMatchObject({
      kind: "delivery",
      target: "a",
      eventId: event.id,
      type: event.type,
      lastStatus: 503,
      attempts: 4,
    });
  });

  it("filters the list by ?target=, without matching targets that share a prefix", async () => {
    const event = await makeEvent();
    const a = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    await putDeadLetter(env.TARGETS, letterOf(event, "ab"), T0);
    await putDeadLetter(env.TARGETS, letterOf(event, "b"), T0);

    const page = (await (await adminClient().call("GET", "/admin/dead-letters?target=a")).json()) as {
      items: { id: string }[];
    };

    expect(page.items.map((i) => i.id)).toEqual([a]);
  });

  it("filters the list by ?since=, in UTC or with an offset", async () => {
    const event = await makeEvent();
    await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0 - 2 * HOUR);
    const recent = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    const admin = adminClient();

    const utc = (await (
      await admin.call("GET", `/admin/dead-letters?since=${encodeURIComponent(new Date(T0 - HOUR).toISOString())}`)
    ).json()) as { items: { id: string }[] };
    expect(utc.items.map((i) => i.id)).toEqual([recent]);
    const offset = (await (
      await admin.call("GET", `/admin/dead-letters?since=${encodeURIComponent("2026-01-01T07:00:00+08:00")}`)
    ).json()) as { items: { id: string }[] };
    expect(offset.items.map((i) => i.id)).toEqual([recent]);
  });

  for (const query of ["since=yesterday", "since=2026-13-01T00:00:00Z", "limit=0", "limit=abc", "target=Bad%20Id"]) {
    it(`refuses the list query ${query} with 400 INVALID_REQUEST`, async () => {
      const res = await adminClient().call("GET", `/admin/dead-letters?${query}`);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
    });
  }

  it("returns one dead letter with its event", async () => {
    const event = await makeEvent();
    const id = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);

    const res = await adminClient().call("GET", `/admin/dead-letters/${id}`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...letterOf(event, "a"), id, deadAt: new Date(T0).toISOString() });
  });

  for (const id of ["a.1767225600000.abcdef012345", "garbage"]) {
    it(`answers 404 for the unknown dead letter ${id} on GET, replay and DELETE`, async () => {
      const admin = adminClient();
      for (const [method, path] of [
        ["GET", `/admin/dead-letters/${id}`],
        ["POST", `/admin/dead-letters/${id}/replay`],
        ["DELETE", `/admin/dead-letters/${id}`],
      ] as const) {
        const res = await admin.call(method, path);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect((await errorOf(res)).code).toBe("NOT_FOUND");
      }
      expect(admin.queue.sent).toHaveLength(0);
    });
  }

  it("replays a dead letter with 202 as a delivery carrying its id as the replay id, without delay, and deletes it", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(URL_A));
    const event = await makeEvent();
    const id = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    const admin = adminClient();

    const res = await admin.call("POST", `/admin/dead-letters/${id}/replay`);

    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ replayed: id, eventId: event.id, target: "a" });
    expect(admin.queue.sent.map(({ body, options }) => ({ body, options }))).toEqual([
      {
        body: { kind: "delivery", ...split(event), target: "a", replay: id },
        options: { contentType: "text", delaySeconds: 0 },
      },
    ]);
    expect(await getDeadLetter(env.TARGETS, id)).toBeUndefined();
  });

  it("replays an event-level dead letter as a new event message for the whole fan-out", async () => {
    const event = await makeEvent();
    const id = await putDeadLetter(
      env.TARGETS,
      { kind: "event", ...split(event), lastError: "queue retries exhausted", attempts: 1 },
      T0,
    );
    const admin = adminClient();

    const res = await admin.call("POST", `/admin/dead-letters/${id}/replay`);

    expect(res.status).toBe(202);
    expect(admin.queue.sent.map((s) => s.body)).toEqual([{ kind: "event", ...split(event) }]);
    expect(await getDeadLetter(env.TARGETS, id)).toBeUndefined();
  });

  it("refuses with 409 to replay a dead letter whose target was deleted, and keeps the letter", async () => {
    const id = await putDeadLetter(env.TARGETS, letterOf(await makeEvent(), "deleted"), T0);
    const admin = adminClient();

    const res = await admin.call("POST", `/admin/dead-letters/${id}/replay`);

    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("CONFLICT");
    expect(admin.queue.sent).toHaveLength(0);
    expect(await getDeadLetter(env.TARGETS, id)).toBeDefined();
  });

  it("refuses with 409 to replay a malformed dead letter, and keeps it", async () => {
    const id = await putDeadLetter(
      env.TARGETS,
      { kind: "malformed", raw: '{"foo":1}', lastError: "bad", attempts: 1 },
      T0,
    );
    const admin = adminClient();

    const res = await admin.call("POST", `/admin/dead-letters/${id}/replay`);

    expect(res.status).toBe(409);
    expect(admin.queue.sent).toHaveLength(0);
    expect(await getDeadLetter(env.TARGETS, id)).toBeDefined();
  });

  it("keeps the dead letter and answers 503 when the replay cannot be enqueued", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(URL_A));
    const id = await putDeadLetter(env.TARGETS, letterOf(await makeEvent(), "a"), T0);
    const admin = adminClient();
    admin.queue.failWith = new Error("queue unavailable");

    const res = await admin.call("POST", `/admin/dead-letters/${id}/replay`);

    expect(res.status).toBe(503);
    expect(await getDeadLetter(env.TARGETS, id)).toBeDefined();
  });

  it("bulk-replays exactly the letters of the given target since the given time and reports them", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(URL_A));
    await putTarget(env.TARGETS, "b", makeTarget("https://b.example.test/hook"));
    const event = await makeEvent();
    const oldA = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0 - 2 * HOUR);
    const newA1 = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    const newA2 = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0 + HOUR);
    const newB = await putDeadLetter(env.TARGETS, letterOf(event, "b"), T0);
    const admin = adminClient();

    const res = await admin.call("POST", "/admin/dead-letters/replay", {
      body: { target: "a", since: new Date(T0 - HOUR).toISOString() },
    });

    expect(res.status).toBe(202);
    const report = (await res.json()) as { replayed: string[]; skipped: unknown[]; more: boolean };
    expect(report.replayed.sort()).toEqual([newA1, newA2].sort());
    expect(report.skipped).toEqual([]);
    expect(report.more).toBe(false);
    expect(admin.queue.sent.map((s) => s.body)).toEqual([
      { kind: "delivery", ...split(event), target: "a", replay: newA1 },
      { kind: "delivery", ...split(event), target: "a", replay: newA2 },
    ]);
    expect(admin.queue.sent.every((s) => s.options?.delaySeconds === 0)).toBe(true);
    expect(await getDeadLetter(env.TARGETS, newA1)).toBeUndefined();
    expect(await getDeadLetter(env.TARGETS, newA2)).toBeUndefined();
    expect(await getDeadLetter(env.TARGETS, oldA)).toBeDefined();
    expect(await getDeadLetter(env.TARGETS, newB)).toBeDefined();
  });

  it("bulk replay skips malformed letters and letters of deleted targets, reporting why, and keeps them", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(URL_A));
    const event = await makeEvent();
    const ok = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    const orphan = await putDeadLetter(env.TARGETS, letterOf(event, "deleted"), T0);
    const malformed = await putDeadLetter(
      env.TARGETS,
      { kind: "malformed", raw: "{}", lastError: "bad", attempts: 1 },
      T0,
    );
    const admin = adminClient();

    const res = await admin.call("POST", "/admin/dead-letters/replay", { body: {} });

    expect(res.status).toBe(202);
    const report = (await res.json()) as { replayed: string[]; skipped: { id: string; reason: string }[] };
    expect(report.replayed).toEqual([ok]);
    expect(report.skipped.map((s) => s.id).sort()).toEqual([orphan, malformed].sort());
    for (const s of report.skipped) expect(s.reason).not.toBe("");
    expect(admin.queue.sent).toHaveLength(1);
    expect(await getDeadLetter(env.TARGETS, orphan)).toBeDefined();
    expect(await getDeadLetter(env.TARGETS, malformed)).toBeDefined();
  });

  it("bulk replay reports more: true when its limit stops it before every matching letter is replayed", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(URL_A));
    const event = await makeEvent();
    const first = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0);
    const second = await putDeadLetter(env.TARGETS, letterOf(event, "a"), T0 + 1);
    const admin = adminClient();

    const res = await admin.call("POST", "/admin/dead-letters/replay", { body: { target: "a", limit: 1 } });

    const report = (await res.json()) as { replayed: string[]; more: boolean };
    expect(report.replayed).toEqual([first]);
    expect(await getDeadLetter(env.TARGETS, second)).toBeDefined();
    expect(report.more).toBe(true);
  });

  it("refuses a bulk replay with an unknown field or a bad since with 400, replaying nothing", async () => {
    await putTarget(env.TARGETS, "a", makeTarget(URL_A));
    await putDeadLetter(env.TARGETS, letterOf(await makeEvent(), "a"), T0);
    const admin = adminClient();
    for (const body of [{ tartget: "a" }, { since: "yesterday" }, { limit: 0 }]) {
      const res = await admin.call("POST", "/admin/dead-letters/replay", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
    }
    expect(admin.queue.sent).toHaveLength(0);
  });

  it("deletes a dead letter with 204, then answers 404", async () => {
    const id = await putDeadLetter(env.TARGETS, letterOf(await makeEvent(), "a"), T0);
    const admin = adminClient();

    expect((await admin.call("DELETE", `/admin/dead-letters/${id}`)).status).toBe(204);
    expect(await getDeadLetter(env.TARGETS, id)).toBeUndefined();
    expect((await admin.call("GET", `/admin/dead-letters/${id}`)).status).toBe(404);
    expect((await admin.call("DELETE", `/admin/dead-letters/${id}`)).status).toBe(404);
  });
});

describe("admin API: secrets", () => {
  it("never shows a stored secret in any admin response, nor writes one to the logs", async () => {
    const spies = [
      vi.spyOn(console, "log"),
      vi.spyOn(console, "warn"),
      vi.spyOn(console, "error"),
      vi.spyOn(console, "info"),
      vi.spyOn(console, "debug"),
    ];
    const admin = adminClient();
    const given = generateSecret();
    const rotated = generateSecret();
    const rejected = generateSecret();
    const texts: string[] = [];
    const record = async (res: Response) =>
      texts.push(`${res.status} ${[...res.headers].join(" ")} ${await res.text()}`);

    await record(await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret: given } }));
    await record(await admin.call("GET", "/admin/targets/a"));
    await record(await admin.call("GET", "/admin/targets"));
    await record(await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A } }));
    await record(await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret: rotated } }));
    await record(await admin.call("GET", "/admin/targets/a"));
    // Refused writes that carry a secret: a bad url next to a good secret, an unknown field, a malformed secret.
    await record(
      await admin.call("PUT", "/admin/targets/a", { body: { url: "http://example.com", secret: rejected } }),
    );
    await record(await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret: rejected, extra: true } }));
    await record(await admin.call("PUT", "/admin/targets/a", { body: { url: URL_A, secret: rejected.slice(0, -8) } }));
    await record(await admin.call("PUT", "/admin/targets/a", { body: `{"url":"${URL_A}","secret":"${rejected}"` }));
    const id = await putDeadLetter(env.TARGETS, letterOf(await makeEvent(), "a"), Date.now());
    await record(await admin.call("GET", "/admin/dead-letters"));
    await record(await admin.call("GET", `/admin/dead-letters/${id}`));
    await record(await admin.call("POST", `/admin/dead-letters/${id}/replay`));
    await record(await admin.call("DELETE", "/admin/targets/a"));
    // A created target's generated secret appears in its creating response only.
    const created = await admin.call("PUT", "/admin/targets/b", { body: { url: URL_A } });
    const generated = ((await created.json()) as { secret: string }).secret;
    await record(await admin.call("GET", "/admin/targets/b"));
    await record(await admin.call("GET", "/admin/targets"));
    await record(await admin.call("PUT", "/admin/targets/b", { body: { url: URL_A } }));

    const logged = spies.flatMap((s) => s.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
    expect(logged).toContain("target saved");
    for (const secret of [given, rotated, rejected, generated]) {
      // The key's first 24 base64 characters: present in the secret and in any truncation of it tested above.
      const key = secret.slice("whsec_".length, "whsec_".length + 24);
      for (const text of texts) expect(text).not.toContain(key);
      expect(logged).not.toContain(key);
    }
  });
});

describe("admin API: paths", () => {
  it("serves the OpenAPI document from the static assets, behind the token", async () => {
    const admin = adminClient();
    const res = await admin.call("GET", "/admin/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths).toHaveProperty("/admin/deciders/{id}");
    expect((await admin.call("GET", "/admin/openapi.json", { authorization: null })).status).toBe(401);
  });

  it("answers a trailing slash with 404, after the token check: a path names one route", async () => {
    const admin = adminClient();
    expect((await admin.call("GET", "/admin/targets/")).status).toBe(404);
    expect((await admin.call("GET", "/admin/targets/", { authorization: null })).status).toBe(401);
    expect((await admin.call("GET", "/admin/targets")).status).toBe(200);
  });
});
