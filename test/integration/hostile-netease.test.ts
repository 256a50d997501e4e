/**
 * Hostile input against the NetEase endpoints (/netease/cc, /netease/callback). Every refusal must carry its
 * documented 4xx status in NetEase's `{code, desc, requestId}` format, enqueue nothing, leak no secret, and leave
 * the relay serving (see test/helpers/hostile-harness.ts).
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ERRORS, type ErrorCode } from "../../src/errors";
import { relayWithFakeQueue } from "../helpers/app";
import { NETEASE_APP } from "../helpers/bindings";
import { INVALID_UTF8, NO_EVENT_NAME, NOT_JSON, ODD_EVENT_NAMES, WRONG_JSON_TYPE } from "../helpers/hostile-bodies";
import {
  chunkedStream,
  endlessStream,
  expectRefused,
  expectStillServing,
  expectWellFormedMessage,
  flipChar,
  guardConsole,
  headerAllows,
  NETEASE_BODY,
  withHeaders,
  withStreamBody,
} from "../helpers/hostile-harness";
import { neteaseRequest } from "../helpers/requests";

const HEADERS = ["AppKey", "CurTime", "MD5", "CheckSum"] as const;
type HeaderName = (typeof HEADERS)[number];
const CHANNELS = ["cc", "callback"] as const;

const encoder = new TextEncoder();

async function md5Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return [...new Uint8Array(await crypto.subtle.digest("MD5", bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The refusal a request gets when only `header` was changed to `value` (trimmed, non-empty). */
function expectedCodeFor(header: HeaderName, value: string): ErrorCode {
  if (header === "AppKey") return "UNKNOWN_APP";
  if (header === "CurTime") return /^\d{1,16}$/.test(value) ? "BAD_SIGNATURE" : "INVALID_TIMESTAMP";
  return "BAD_SIGNATURE"; // MD5 is bound by the CheckSum; CheckSum is compared to the expected one
}

const guard = guardConsole();

describe("NetEase hostile input: tampering with a signed request", () => {
  it("refuses any single byte flip anywhere in a signed body with 401 BODY_DIGEST_MISMATCH (property)", async () => {
    const bodies = [
      NETEASE_BODY,
      JSON.stringify({
        eventType: "1",
        convType: "PERSON",
        to: "b",
        fromAccount: "a",
        msgType: "TEXT",
        body: "你好, world",
      }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CHANNELS),
        fc.constantFrom(...bodies),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (channel, body, rawIndex, mask) => {
          const bytes = encoder.encode(body);
          const index = rawIndex % bytes.byteLength;
          const tampered = bytes.slice();
          tampered[index] = (tampered[index] as number) ^ mask;
          const relay = relayWithFakeQueue();
          // Signed over the original body, then the flipped body is sent.
          await expectRefused(
            relay,
            neteaseRequest(body, { channel, sentBody: tampered }),
            "netease",
            "BODY_DIGEST_MISMATCH",
          );
          await expectStillServing(relay);
        },
      ),
      { numRuns: 120 },
    );
  });

  it("refuses a single character flip in any auth header value with 401 (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HEADERS),
        fc.nat(),
        fc.integer({ min: 1, max: 127 }),
        async (header, rawIndex, mask) => {
          const req = await neteaseRequest(NETEASE_BODY, { channel: "callback" });
          const original = req.headers.get(header) as string;
          const flipped = flipChar(original, rawIndex % original.length, mask);
          fc.pre(headerAllows(flipped)); // NUL, CR and LF cannot be sent at all
          // CheckSum is hex and compared case-insensitively: a case flip names the same digest (see the example test).
          fc.pre(!(header === "CheckSum" && flipped.toLowerCase() === original.toLowerCase()));
          // Headers strip HTTP whitespace at both ends; the relay then applies String.prototype.trim (also VT, FF, …).
          const sent = flipped.trim();
          fc.pre(sent !== "");
          const relay = relayWithFakeQueue();
          await expectRefused(
            relay,
            withHeaders(req, (h) => h.set(header, flipped)),
            "netease",
            expectedCodeFor(header, sent),
          );
          await expectStillServing(relay);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("accepts a CheckSum that differs only in the letter case of its hex digits (same digest)", async () => {
    const relay = relayWithFakeQueue();
    const req = await neteaseRequest(NETEASE_BODY, { channel: "callback" });
    const res = await relay.fetch(
      withHeaders(req, (h) => h.set("CheckSum", (h.get("CheckSum") as string).toUpperCase())),
    );
    expect(res.status).toBe(200);
    expect(relay.events()).toHaveLength(1);
  });

  it("refuses an MD5 header in upper case when the CheckSum was computed over the lower-case MD5", async () => {
    const relay = relayWithFakeQueue();
    const req = await neteaseRequest(NETEASE_BODY, { channel: "callback" });
    await expectRefused(
      relay,
      withHeaders(req, (h) => h.set("MD5", (h.get("MD5") as string).toUpperCase())),
      "netease",
      "BAD_SIGNATURE",
    );
    await expectStillServing(relay);
  });

  it("accepts a signed callback replayed to the other channel's URL (NetEase signs no URL), as an event with another id", async () => {
    // Documents a protocol limit, reported as doubtful: callback.8 (team dismiss request) replayed to /netease/cc
    // becomes cc.8 (team message recall), and its id differs, so consumers cannot deduplicate it.
    const relay = relayWithFakeQueue();
    expect((await relay.fetch(await neteaseRequest(NETEASE_BODY, { channel: "callback" }))).status).toBe(200);
    expect((await relay.fetch(await neteaseRequest(NETEASE_BODY, { channel: "cc" }))).status).toBe(200);
    const [a, b] = relay.events();
    expect(a?.id).not.toBe(b?.id);
  });
});

describe("NetEase hostile input: auth headers missing, duplicated, empty or malformed", () => {
  type Variant = {
    name: string;
    edit: (h: Headers, header: HeaderName, value: string) => void;
    code: (header: HeaderName, value: string) => ErrorCode;
    forbid?: (value: string) => string;
  };
  const OVERSIZED = 16 * 1024;
  const oversized = (header: HeaderName) =>
    (header === "CurTime" ? "1" : header === "AppKey" ? "k" : "a").repeat(OVERSIZED);
  const VARIANTS: Variant[] = [
    { name: "missing", edit: (h, header) => h.delete(header), code: () => "MISSING_CREDENTIALS" },
    { name: "empty", edit: (h, header) => h.set(header, ""), code: () => "MISSING_CREDENTIALS" },
    { name: "whitespace-only", edit: (h, header) => h.set(header, " \t  "), code: () => "MISSING_CREDENTIALS" },
    {
      name: "duplicated with the same value (comma-joined)",
      edit: (h, header, value) => h.append(header, value),
      code: (header, value) => expectedCodeFor(header, `${value}, ${value}`),
    },
    {
      name: "duplicated under a lower-case name with another value",
      edit: (h, header) => h.append(header.toLowerCase(), header === "CurTime" ? "0" : "x"),
      code: (header) => expectedCodeFor(header, "1, 0"),
    },
    {
      name: `oversized (${OVERSIZED} bytes)`,
      edit: (h, header) => h.set(header, oversized(header)),
      code: (header) => expectedCodeFor(header, oversized(header)),
      forbid: () => "k".repeat(200),
    },
    {
      name: "carrying a control character (0x01)",
      edit: (h, header, value) => h.set(header, `${value.slice(0, 4)}\u0001${value.slice(4)}`),
      code: (header) => expectedCodeFor(header, "x\u0001"),
    },
    {
      name: "carrying DEL (0x7F)",
      edit: (h, header, value) => h.set(header, `${value}\u007f`),
      code: (header) => expectedCodeFor(header, "x\u007f"),
    },
    {
      name: "carrying an inner tab",
      edit: (h, header, value) => h.set(header, `${value.slice(0, 3)}\t${value.slice(3)}`),
      code: (header) => expectedCodeFor(header, "x\t"),
    },
    {
      name: "carrying a non-ASCII Latin-1 character",
      edit: (h, header, value) => h.set(header, `${value}\u00e9`),
      code: (header) => expectedCodeFor(header, "x\u00e9"),
    },
  ];

  for (const header of HEADERS) {
    for (const variant of VARIANTS) {
      it(`refuses the ${header} header ${variant.name} with 401 ${variant.code(header, "1700000000000")}`, async () => {
        const relay = relayWithFakeQueue();
        const req = await neteaseRequest(NETEASE_BODY, { channel: "callback" });
        const value = req.headers.get(header) as string;
        if (variant.forbid) guard.forbid(variant.forbid(value));
        await expectRefused(
          relay,
          withHeaders(req, (h) => variant.edit(h, header, value)),
          "netease",
          variant.code(header, value),
        );
        await expectStillServing(relay);
      });
    }
  }

  it("refuses a request without any auth header with 401 MISSING_CREDENTIALS on both channels", async () => {
    for (const channel of CHANNELS) {
      const relay = relayWithFakeQueue();
      await expectRefused(
        relay,
        neteaseRequest(NETEASE_BODY, { channel, omit: [...HEADERS] }),
        "netease",
        "MISSING_CREDENTIALS",
      );
      await expectStillServing(relay);
    }
  });

  it("refuses auth material sent in the query string instead of headers with 401 MISSING_CREDENTIALS", async () => {
    const relay = relayWithFakeQueue();
    const signed = await neteaseRequest(NETEASE_BODY, { channel: "callback" });
    const query = new URLSearchParams(HEADERS.map((h) => [h, signed.headers.get(h) as string])).toString();
    const req = new Request(`http://relay.test/netease/callback?${query}`, { method: "POST", body: NETEASE_BODY });
    await expectRefused(relay, req, "netease", "MISSING_CREDENTIALS");
    await expectStillServing(relay);
  });
});

describe("NetEase hostile input: unknown AppKey", () => {
  const NAMES = [
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "isPrototypeOf",
    "__defineGetter__",
    "prototype",
    NETEASE_APP.toUpperCase(),
    `${NETEASE_APP}x`,
    NETEASE_APP.slice(0, -1),
    `${NETEASE_APP}, ${NETEASE_APP}`,
  ];

  for (const appKey of NAMES) {
    it(`refuses AppKey ${JSON.stringify(appKey.length > 40 ? `${appKey.slice(0, 40)}…` : appKey)} with 401 UNKNOWN_APP`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(
        relay,
        neteaseRequest(NETEASE_BODY, { channel: "callback", appKey }),
        "netease",
        "UNKNOWN_APP",
      );
      await expectStillServing(relay);
    });
  }

  it("refuses any AppKey other than the configured one with 401 UNKNOWN_APP, even when signed with the real AppSecret (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.constantFrom(...CHANNELS),
        async (appKey, channel) => {
          fc.pre(appKey.trim() !== "" && appKey.trim() !== NETEASE_APP && headerAllows(appKey));
          const relay = relayWithFakeQueue();
          await expectRefused(relay, neteaseRequest(NETEASE_BODY, { channel, appKey }), "netease", "UNKNOWN_APP");
          await expectStillServing(relay);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("NetEase hostile input: CurTime", () => {
  const NOW = 1_700_000_000_000;
  const WINDOW_MS = 300_000;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const ACCEPTED: [string, string][] = [
    ["exactly at the past edge of the window (now − 300 s)", String(NOW - WINDOW_MS)],
    ["exactly at the future edge of the window (now + 300 s)", String(NOW + WINDOW_MS)],
    ["just inside the past edge (now − 299.999 s)", String(NOW - WINDOW_MS + 1)],
    ["just inside the future edge (now + 299.999 s)", String(NOW + WINDOW_MS - 1)],
  ];
  for (const [label, curTime] of ACCEPTED) {
    it(`accepts a signed CurTime ${label}`, async () => {
      const relay = relayWithFakeQueue();
      const res = await relay.fetch(await neteaseRequest(NETEASE_BODY, { channel: "callback", curTime }));
      expect(res.status).toBe(200);
      expect(relay.events()).toHaveLength(1);
      expectWellFormedMessage(relay.queue.sent[0]?.body);
    });
  }

  const REFUSED: [string, string, ErrorCode][] = [
    ["1 ms past the past edge", String(NOW - WINDOW_MS - 1), "TIMESTAMP_OUT_OF_WINDOW"],
    ["1 ms past the future edge", String(NOW + WINDOW_MS + 1), "TIMESTAMP_OUT_OF_WINDOW"],
    ["a day old", String(NOW - 86_400_000), "TIMESTAMP_OUT_OF_WINDOW"],
    ["a day ahead", String(NOW + 86_400_000), "TIMESTAMP_OUT_OF_WINDOW"],
    ["in seconds instead of milliseconds", String(NOW / 1000), "TIMESTAMP_OUT_OF_WINDOW"],
    ["zero", "0", "TIMESTAMP_OUT_OF_WINDOW"],
    ["the largest 16-digit value", "9999999999999999", "TIMESTAMP_OUT_OF_WINDOW"],
    ["negative", String(-NOW), "INVALID_TIMESTAMP"],
    ["minus zero", "-0", "INVALID_TIMESTAMP"],
    ["non-numeric", "yesterday", "INVALID_TIMESTAMP"],
    ["a float", `${NOW}.5`, "INVALID_TIMESTAMP"],
    ["a float with a zero fraction", `${NOW}.0`, "INVALID_TIMESTAMP"],
    ["in exponent notation", "1.7e12", "INVALID_TIMESTAMP"],
    ["hexadecimal", `0x${NOW.toString(16)}`, "INVALID_TIMESTAMP"],
    ["huge (20 digits)", "17000000000000000000", "INVALID_TIMESTAMP"],
    ["with a leading +", `+${NOW}`, "INVALID_TIMESTAMP"],
    ["with an inner space", `${String(NOW).slice(0, 5)} ${String(NOW).slice(5)}`, "INVALID_TIMESTAMP"],
    ["with digit group separators", NOW.toLocaleString("en-US"), "INVALID_TIMESTAMP"],
    ["Infinity", "Infinity", "INVALID_TIMESTAMP"],
    ["an ISO date", new Date(NOW).toISOString(), "INVALID_TIMESTAMP"],
    [
      "in Arabic-Indic digits",
      String(NOW).replace(/\d/g, (d) => String.fromCharCode(0x660 + Number(d))),
      "INVALID_TIMESTAMP",
    ],
    [
      "in full-width digits",
      String(NOW).replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))),
      "INVALID_TIMESTAMP",
    ],
    ["empty", "", "MISSING_CREDENTIALS"],
  ];
  for (const [label, curTime, code] of REFUSED) {
    it(`refuses a correctly signed CurTime ${label} with 401 ${code}`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, neteaseRequest(NETEASE_BODY, { channel: "callback", curTime }), "netease", code);
      await expectStillServing(relay);
    });
  }

  it("refuses every signed CurTime outside the ±300 s window and accepts every one inside (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -10 * WINDOW_MS, max: 10 * WINDOW_MS }), async (offset) => {
        const relay = relayWithFakeQueue();
        const req = neteaseRequest(NETEASE_BODY, { channel: "callback", curTime: String(NOW + offset) });
        if (Math.abs(offset) <= WINDOW_MS) {
          expect((await relay.fetch(await req)).status).toBe(200);
          expect(relay.events()).toHaveLength(1);
        } else {
          await expectRefused(relay, req, "netease", "TIMESTAMP_OUT_OF_WINDOW");
        }
        await expectStillServing(relay);
      }),
      { numRuns: 100, examples: [[WINDOW_MS], [-WINDOW_MS], [WINDOW_MS + 1], [-WINDOW_MS - 1]] },
    );
  });
});

describe("NetEase hostile input: correctly signed bodies that must not parse", () => {
  for (const { name, body, code } of [...INVALID_UTF8, ...NOT_JSON, ...WRONG_JSON_TYPE, ...NO_EVENT_NAME]) {
    for (const channel of CHANNELS) {
      it(`refuses a signed ${channel} body that is ${name} with ${ERRORS[code].status} ${code}`, async () => {
        const relay = relayWithFakeQueue();
        await expectRefused(relay, neteaseRequest(body("eventType", "8"), { channel }), "netease", code);
        await expectStillServing(relay);
      });
    }
  }

  const NETEASE_ODD: [string, string][] = [
    ...ODD_EVENT_NAMES,
    ["a negative number", "-1"],
    ["a negative numeric string", '"-1"'],
    ["a numeric string with a fraction", '"8.0"'],
    ["a number beyond 2^53", "9007199254740993"],
    ["1e21", "1e21"],
    ["a 65-character name", JSON.stringify("A".repeat(65))],
  ];
  for (const [label, json] of NETEASE_ODD) {
    it(`refuses a signed body whose eventType is ${label} with 400 MISSING_EVENT_TYPE`, async () => {
      const relay = relayWithFakeQueue();
      const body = `{"eventType":${json},"fromAccount":"a","timestamp":"1564575855993"}`;
      await expectRefused(relay, neteaseRequest(body, { channel: "cc" }), "netease", "MISSING_EVENT_TYPE");
      await expectStillServing(relay);
    });
  }

  it("refuses a signed body whose eventType is not a 1–64 character [A-Za-z0-9_] name or a safe integer with 400 (property)", async () => {
    const odd = fc.oneof(
      fc.double().filter((n) => !Number.isSafeInteger(n) || n < 0),
      fc.string({ maxLength: 80 }).filter((s) => !/^[A-Za-z0-9_]{1,64}$/.test(s)),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(odd, fc.constantFrom(...CHANNELS), async (eventType, channel) => {
        const body = JSON.stringify({ eventType, fromAccount: "a" });
        const relay = relayWithFakeQueue();
        await expectRefused(relay, neteaseRequest(body, { channel }), "netease", "MISSING_EVENT_TYPE");
      }),
      { numRuns: 100 },
    );
  });

  it("accepts a signed body with a UTF-8 BOM (valid UTF-8 JSON per RFC 8259 §8.1) and forwards the parsed object", async () => {
    const relay = relayWithFakeQueue();
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(NETEASE_BODY)]);
    const res = await relay.fetch(await neteaseRequest(bytes, { channel: "callback" }));
    expect(res.status).toBe(200);
    expect(relay.events()[0]?.data).toEqual(JSON.parse(NETEASE_BODY));
    expectWellFormedMessage(relay.queue.sent[0]?.body);
  });

  for (const [label, nested] of [
    ["10 000 levels of nested arrays", `${"[".repeat(10_000)}${"]".repeat(10_000)}`],
    ["10 000 levels of nested objects", `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`],
  ] as const) {
    it(`refuses a signed callback carrying ${label} (${Math.round(nested.length / 1000)} KB) with 400 INVALID_BODY`, async () => {
      const relay = relayWithFakeQueue();
      const body = `{"eventType":"1","convType":"PERSON","msgType":"CUSTOM","x":${nested}}`;
      await expectRefused(relay, neteaseRequest(body, { channel: "cc" }), "netease", "INVALID_BODY");
      await expectStillServing(relay);
    });
  }

  for (const name of ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"]) {
    for (const channel of CHANNELS) {
      it(`forwards an authentic ${channel} callback with eventType "${name}" as the unknown type netease.${channel}.${name}, with a well-formed queue message`, async () => {
        const relay = relayWithFakeQueue();
        const res = await relay.fetch(
          await neteaseRequest(JSON.stringify({ eventType: name, fromAccount: "a" }), { channel }),
        );
        expect(res.status).toBe(200);
        expect(relay.events()).toHaveLength(1);
        expect(relay.events()[0]).toMatchObject({ providerevent: `${channel}.${name}`, schemavalid: false });
        expect(relay.events()[0]?.type).toBe(`netease.${channel}.${name}`);
        expectWellFormedMessage(relay.queue.sent[0]?.body);
      });
    }
  }

  it("forwards __proto__ and constructor keys as plain data without polluting any prototype", async () => {
    const relay = relayWithFakeQueue();
    const body =
      '{"eventType":8,"fromAccount":"a","__proto__":{"polluted":true,"eventType":"1"},"constructor":{"prototype":{"polluted":true}}}';
    const res = await relay.fetch(await neteaseRequest(body, { channel: "callback" }));
    expect(res.status).toBe(200);
    const event = relay.events()[0];
    expect(event?.providerevent).toBe("callback.8");
    expect(Object.hasOwn(event?.data ?? {}, "__proto__")).toBe(true);
    expect(JSON.stringify(event?.data)).toBe(JSON.stringify(JSON.parse(body)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expectWellFormedMessage(relay.queue.sent[0]?.body);
  });
});

describe("NetEase hostile input: bodies over 1 MiB", () => {
  const huge = JSON.stringify({ eventType: "1", body: "x".repeat(1_048_576) });

  it("refuses a signed 1 MiB + 1 KB body sent with its Content-Length with 413 PAYLOAD_TOO_LARGE", async () => {
    const relay = relayWithFakeQueue();
    const req = withHeaders(await neteaseRequest(huge, { channel: "cc" }), (h) =>
      h.set("content-length", String(huge.length)),
    );
    await expectRefused(relay, req, "netease", "PAYLOAD_TOO_LARGE");
    await expectStillServing(relay);
  });

  it("refuses a signed 1 MiB + 1 KB body sent chunked (no Content-Length) with 413 PAYLOAD_TOO_LARGE", async () => {
    const relay = relayWithFakeQueue();
    const req = withStreamBody(await neteaseRequest(huge, { channel: "cc" }), chunkedStream(encoder.encode(huge)));
    expect(req.headers.get("content-length")).toBeNull();
    await expectRefused(relay, req, "netease", "PAYLOAD_TOO_LARGE");
    await expectStillServing(relay);
  });

  it("refuses a small signed body that declares a 1 GB Content-Length with 413, before reading it", async () => {
    const relay = relayWithFakeQueue();
    const req = withHeaders(await neteaseRequest(NETEASE_BODY, { channel: "callback" }), (h) =>
      h.set("content-length", "1000000000"),
    );
    await expectRefused(relay, req, "netease", "PAYLOAD_TOO_LARGE");
    await expectStillServing(relay);
  });

  it("stops reading an endless signed upload after the 1 MiB limit and answers 413", async () => {
    const relay = relayWithFakeQueue();
    const { stream, counter } = endlessStream(16_384);
    // CheckSum covers the MD5 header, not the body: a valid CheckSum over a made-up MD5 gets the body read.
    const req = withStreamBody(
      await neteaseRequest(NETEASE_BODY, { channel: "cc", md5: await md5Hex("anything") }),
      stream,
    );
    await expectRefused(relay, req, "netease", "PAYLOAD_TOO_LARGE");
    expect(counter.pulls).toBeLessThanOrEqual(Math.ceil(1_048_576 / 16_384) + 1);
    await expectStillServing(relay);
  });

  it("never reads the body of a request whose CheckSum is wrong (an endless upload costs nothing)", async () => {
    const relay = relayWithFakeQueue();
    const { stream, counter } = endlessStream(16_384);
    const req = withStreamBody(await neteaseRequest(NETEASE_BODY, { channel: "cc", secret: "not-the-secret" }), stream);
    await expectRefused(relay, req, "netease", "BAD_SIGNATURE");
    expect(counter.pulls).toBe(0);
    await expectStillServing(relay);
  });
});
