/**
 * Shared checks for the hostile-input suites (test/integration/hostile-*.test.ts): every refusal must carry its
 * documented 4xx status in its route's own format, enqueue nothing, leak no secret (response or console), and
 * leave the relay serving valid requests.
 */
import { afterEach, beforeEach, expect, vi } from "vitest";
import { ERRORS, type ErrorCode } from "../../src/errors";
import { CloudEvent, serializeEvent } from "../../src/event";
import { QueueMessage } from "../../src/queue/message";
import { withSchemaVerdict } from "../../src/validate/schema";
import { adminRequest } from "./admin-client";
import type { relayWithFakeQueue } from "./app";

export { adminRequest };

import { ADMIN_TOKEN, NETEASE_SECRET, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "./bindings";
import { neteaseRequest, type TencentOptions, tencentRequest } from "./requests";

export type Relay = ReturnType<typeof relayWithFakeQueue>;
export type Format = "tencent" | "netease" | "admin";

/** A valid Standard Webhooks secret for targets created by the hostile suites (32 bytes, base64). */
export const TARGET_SECRET_RAW = "hostile-target-secret-32-bytes!!";
export const TARGET_SECRET = `whsec_${btoa(TARGET_SECRET_RAW)}`;

/** Every secret the relay knows in the tests; none may ever appear in an answer or a log line. */
export const SECRETS: readonly string[] = [
  NETEASE_SECRET,
  TENCENT_TOKEN,
  ADMIN_TOKEN,
  TARGET_SECRET,
  btoa(TARGET_SECRET_RAW),
  TARGET_SECRET_RAW,
];

/** A signed NetEase 第三方回调 team-dismiss request body (valid, known eventType). */
export const NETEASE_BODY = JSON.stringify({
  eventType: 8,
  fromAccount: "wmtest3",
  fromClientType: "IOS",
  tid: 2637250619,
  timestamp: "1564575855993",
});
/** A Tencent Group.CallbackAfterGroupDestroyed body (valid, known command). */
export const TENCENT_BODY = JSON.stringify({
  CallbackCommand: "Group.CallbackAfterGroupDestroyed",
  GroupId: "@TGS#2J4SZEAEL",
  Type: "Public",
  Owner_Account: "leckie",
  Name: "MyFirstGroup",
  EventTime: 1670574414123,
});

/** A correctly signed request for the Tencent app that has a callback token (Sign/RequestTime required). */
export function signedTencent(body: string, opts: TencentOptions = {}): Promise<Request> {
  return tencentRequest(body, { appId: TENCENT_TOKEN_APP, token: TENCENT_TOKEN, ...opts });
}

/** A POST to /tencent with a hand-written query string (no normalisation by URLSearchParams). */
export function rawTencent(query: string, body: string = TENCENT_BODY): Request {
  return new Request(`http://relay.test/tencent?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
}

/** Current Unix seconds / ms as the relay will see them (Date may be faked). */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Captures console output for the whole test (the relay logs one JSON line per request) and, after each test,
 * asserts that no line carries a secret or a value the test marked as forbidden, and that nothing was logged
 * at error level (the relay logs errors only for 5xx answers, which no hostile input may cause).
 */
export function guardConsole() {
  const state = { lines: [] as { level: string; text: string }[], forbidden: [] as string[] };
  beforeEach(() => {
    state.lines = [];
    state.forbidden = [];
    for (const level of ["log", "info", "debug", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        state.lines.push({ level, text: args.map((a) => (typeof a === "string" ? a : safeString(a))).join(" ") });
      });
    }
  });
  afterEach(() => {
    const lines = state.lines;
    vi.restoreAllMocks();
    for (const { text } of lines) {
      for (const secret of [...SECRETS, ...state.forbidden]) {
        expect(
          text.includes(secret),
          `a console line contains the secret or forbidden value ${abbreviate(secret)}: ${abbreviate(text, 300)}`,
        ).toBe(false);
      }
    }
    const errors = lines.filter((l) => l.level === "error");
    expect(
      errors.map((l) => abbreviate(l.text, 400)),
      "no hostile input may be logged as a server error",
    ).toEqual([]);
  });
  return {
    /** Values that must not show up in any console line (e.g. a near-miss admin token, an oversized header). */
    forbid(...values: string[]) {
      state.forbidden.push(...values.filter((v) => v.length >= 6));
    },
    lines: () => state.lines,
  };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function abbreviate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

/** Asserts that neither the body text nor any header of `res` carries a secret or a forbidden value. */
export function expectNoSecrets(res: Response, text: string, forbidden: readonly string[] = []) {
  for (const secret of [...SECRETS, ...forbidden.filter((v) => v.length >= 6)]) {
    expect(text.includes(secret), `response body contains ${abbreviate(secret)}`).toBe(false);
    for (const [name, value] of res.headers) {
      expect(value.includes(secret), `response header ${name} contains ${abbreviate(secret)}`).toBe(false);
    }
  }
}

/**
 * Asserts a refusal: the documented status of `code` (a 4xx), the route's error format with that code, the
 * request id echoed in `x-request-id`, and no secret in the answer.
 */
export async function expectRefusal(
  res: Response,
  format: Format,
  code: ErrorCode,
  forbidden: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const text = await res.text();
  const status = ERRORS[code].status;
  expect(res.status, `expected ${status} ${code}, got ${res.status}: ${abbreviate(text, 300)}`).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expectNoSecrets(res, text, forbidden);
  const requestId = res.headers.get("x-request-id");
  expect(requestId).toBeTruthy();
  if (res.headers.get("content-length") === "0" || text === "") {
    throw new Error(`a ${res.status} refusal must have a JSON body`);
  }
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  if (format === "tencent") {
    expect(body).toEqual({
      ActionStatus: "FAIL",
      ErrorCode: ERRORS[code].num,
      ErrorInfo: expect.stringMatching(new RegExp(`^${code}: `)),
      RequestId: requestId,
    });
    expect(body.ErrorCode).not.toBe(0);
  } else if (format === "netease") {
    expect(body).toEqual({ code: status, desc: expect.stringMatching(new RegExp(`^${code}: `)), requestId });
    expect(body).not.toHaveProperty("errCode");
  } else {
    expect(body).toEqual({ error: { code, message: expect.any(String) }, requestId });
  }
  return body;
}

/** Sends `req` and asserts it is refused with `code` in `format` and that nothing reached the queue. */
export async function expectRefused(
  relay: Relay,
  req: Request | Promise<Request>,
  format: Format,
  code: ErrorCode,
  forbidden: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const before = relay.queue.sent.length;
  const res = await relay.fetch(await req);
  const body = await expectRefusal(res, format, code, forbidden);
  expect(relay.queue.sent.length, "a refused request must enqueue nothing").toBe(before);
  return body;
}

/** Asserts that a queued message is exactly what a real Queue (JSON content type) would carry and the consumer accept. */
export function expectWellFormedMessage(message: unknown) {
  const overTheWire = JSON.parse(JSON.stringify(message)) as unknown;
  expect(overTheWire, "the queue message must survive JSON serialisation unchanged").toEqual(message);
  const parsed = QueueMessage.safeParse(overTheWire);
  expect(
    parsed.success,
    `queue message fails its schema: ${JSON.stringify(parsed.error?.issues ?? []).slice(0, 300)}`,
  ).toBe(true);
  if (parsed.success) {
    // What the consumer delivers: the checked envelope with the raw data spliced in must be a valid CloudEvent.
    const { event } = withSchemaVerdict(parsed.data.event, parsed.data.data);
    const delivered = JSON.parse(serializeEvent(event, parsed.data.data)) as unknown;
    expect(CloudEvent.safeParse(delivered).success).toBe(true);
  }
}

/**
 * The relay keeps serving: with the same app instance, a correctly signed NetEase callback, a correctly signed
 * Tencent callback and an authenticated admin read all succeed (the admin read is 403 when the admin API is
 * disabled), and exactly the two callbacks are enqueued.
 */
export async function expectStillServing(relay: Relay, opts: { admin?: "ok" | "disabled" } = {}) {
  const before = relay.queue.sent.length;
  const ne = await relay.fetch(await neteaseRequest(NETEASE_BODY, { channel: "callback" }));
  expect(ne.status).toBe(200);
  expect(await ne.json()).toEqual({ errCode: 0 });
  const tc = await relay.fetch(await signedTencent(TENCENT_BODY));
  expect(tc.status).toBe(200);
  expect(await tc.json()).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
  const admin = await relay.fetch(adminRequest("GET", "/admin/targets"));
  expect(admin.status).toBe(opts.admin === "disabled" ? 403 : 200);
  await admin.arrayBuffer();
  expect(relay.queue.sent.length).toBe(before + 2);
  for (const sent of relay.queue.sent.slice(before)) expectWellFormedMessage(sent.body);
}

/** Replaces the UTF-16 code unit at `index` of `value` by itself xor `mask`. */
export function flipChar(value: string, index: number, mask: number): string {
  return value.slice(0, index) + String.fromCharCode(value.charCodeAt(index) ^ mask) + value.slice(index + 1);
}

/** True when `Headers` accepts `value` for a header (no NUL, CR, LF); the fetch API refuses the rest outright. */
export function headerAllows(value: string): boolean {
  try {
    new Headers().set("x-probe", value);
    return true;
  } catch {
    return false;
  }
}

/** A body stream of `chunk`-sized chunks that never ends, pulled only when read; `pulls` counts the chunks read. */
export function endlessStream(chunk = 16_384) {
  const counter = { pulls: 0 };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        counter.pulls++;
        controller.enqueue(new Uint8Array(chunk).fill(0x20));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, counter };
}

/** A body stream that yields `bytes` in chunks of `chunk`, with no Content-Length. */
export function chunkedStream(bytes: Uint8Array, chunk = 8_192): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/** A copy of `req` with another body (a stream: no Content-Length, sent chunked). */
export function withStreamBody(req: Request, body: ReadableStream<Uint8Array>): Request {
  const headers = new Headers(req.headers);
  headers.delete("content-length");
  return new Request(req.url, { method: req.method, headers, body, duplex: "half" } as RequestInit);
}

/** A copy of `req` whose headers `edit` changed. */
export function withHeaders(req: Request, edit: (headers: Headers) => void): Request {
  const headers = new Headers(req.headers);
  edit(headers);
  return new Request(req.url, { method: req.method, headers, body: req.body, duplex: "half" } as RequestInit);
}
