/**
 * Hostile input against POST /tencent. Every refusal must carry its documented 4xx status in Tencent's format
 * (`ActionStatus: "FAIL"`, non-zero ErrorCode), enqueue nothing, leak no secret, and leave the relay serving (see
 * test/helpers/hostile-harness.ts). Authentication tests use the app with a callback token (Sign/RequestTime);
 * the app without one accepts any caller who names it, by the protocol's design.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ERRORS, type ErrorCode } from "../../src/errors";
import { relayWithFakeQueue } from "../helpers/app";
import { TENCENT_APP, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "../helpers/bindings";
import { INVALID_UTF8, NO_EVENT_NAME, NOT_JSON, ODD_EVENT_NAMES, WRONG_JSON_TYPE } from "../helpers/hostile-bodies";
import {
  chunkedStream,
  endlessStream,
  expectRefused,
  expectStillServing,
  expectWellFormedMessage,
  flipChar,
  guardConsole,
  nowSeconds,
  rawTencent,
  sha256Hex,
  signedTencent,
  TENCENT_BODY,
  withHeaders,
  withStreamBody,
} from "../helpers/hostile-harness";
import { tencentRequest } from "../helpers/requests";

const COMMAND = "Group.CallbackAfterGroupDestroyed";
const COMMAND_RE = /^[A-Za-z][A-Za-z0-9_.]{0,127}$/;
const encoder = new TextEncoder();

/** A valid signed query for the token app, as ordered key/value pairs a test can then edit. */
async function signedPairs(requestTime = String(nowSeconds())): Promise<[string, string][]> {
  return [
    ["SdkAppid", TENCENT_TOKEN_APP],
    ["CallbackCommand", COMMAND],
    ["contenttype", "json"],
    ["ClientIP", "127.0.0.1"],
    ["OptPlatform", "RESTAPI"],
    ["RequestTime", requestTime],
    ["Sign", await sha256Hex(TENCENT_TOKEN + requestTime)],
  ];
}
const query = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();

const guard = guardConsole();

describe("Tencent hostile input: Sign", () => {
  it("refuses a single character flip anywhere in a valid Sign with 401 BAD_SIGNATURE (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 127 }), async (rawIndex, mask) => {
        const pairs = await signedPairs();
        const sign = pairs[6]?.[1] as string;
        const flipped = flipChar(sign, rawIndex % sign.length, mask);
        fc.pre(flipped.toLowerCase() !== sign); // hex is compared case-insensitively: a case flip is the same digest
        pairs[6] = ["Sign", flipped];
        const relay = relayWithFakeQueue();
        await expectRefused(relay, rawTencent(query(pairs)), "tencent", "BAD_SIGNATURE");
        await expectStillServing(relay);
      }),
      { numRuns: 120 },
    );
  });

  it("refuses any Sign that is not sha256(token + RequestTime) with 401 BAD_SIGNATURE (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.stringMatching(/^[0-9a-f]{64}$/)),
        async (sign) => {
          const pairs = await signedPairs();
          fc.pre(sign.toLowerCase() !== pairs[6]?.[1]);
          pairs[6] = ["Sign", sign];
          const relay = relayWithFakeQueue();
          await expectRefused(relay, rawTencent(query(pairs)), "tencent", "BAD_SIGNATURE");
        },
      ),
      { numRuns: 80 },
    );
  });

  const WRONG: [string, (rt: string) => Promise<string>][] = [
    ["computed with another token", (rt) => sha256Hex(`not-the-token${rt}`)],
    ["computed as sha256(RequestTime + token)", (rt) => sha256Hex(rt + TENCENT_TOKEN)],
    ["computed over the token alone", () => sha256Hex(TENCENT_TOKEN)],
    ["computed for another RequestTime", (rt) => sha256Hex(TENCENT_TOKEN + String(Number(rt) - 1))],
    ["that is the token itself", async () => TENCENT_TOKEN],
    ["truncated to 63 hex digits", async (rt) => (await sha256Hex(TENCENT_TOKEN + rt)).slice(0, 63)],
    ["with one extra hex digit", async (rt) => `${await sha256Hex(TENCENT_TOKEN + rt)}0`],
    ["with surrounding spaces", async (rt) => ` ${await sha256Hex(TENCENT_TOKEN + rt)} `],
  ];
  for (const [label, make] of WRONG) {
    it(`refuses a Sign ${label} with 401 BAD_SIGNATURE`, async () => {
      const pairs = await signedPairs();
      pairs[6] = ["Sign", await make(pairs[5]?.[1] as string)];
      const relay = relayWithFakeQueue();
      await expectRefused(relay, rawTencent(query(pairs)), "tencent", "BAD_SIGNATURE");
      await expectStillServing(relay);
    });
  }

  it("accepts a Sign in upper-case hex (the same digest)", async () => {
    const pairs = await signedPairs();
    pairs[6] = ["Sign", String(pairs[6]?.[1]).toUpperCase()];
    const relay = relayWithFakeQueue();
    expect((await relay.fetch(rawTencent(query(pairs)))).status).toBe(200);
    expect(relay.events()).toHaveLength(1);
  });

  for (const name of ["Sign", "RequestTime"]) {
    it(`refuses a request for an app with a token without ${name} with 401 MISSING_CREDENTIALS`, async () => {
      const pairs = (await signedPairs()).filter(([k]) => k !== name);
      const relay = relayWithFakeQueue();
      await expectRefused(relay, rawTencent(query(pairs)), "tencent", "MISSING_CREDENTIALS");
      await expectStillServing(relay);
    });
    it(`refuses a request for an app with a token with an empty ${name} with 401 MISSING_CREDENTIALS`, async () => {
      const pairs = (await signedPairs()).map(([k, v]): [string, string] => [k, k === name ? "" : v]);
      const relay = relayWithFakeQueue();
      await expectRefused(relay, rawTencent(query(pairs)), "tencent", "MISSING_CREDENTIALS");
      await expectStillServing(relay);
    });
    it(`refuses ${name} in another letter case (${name.toLowerCase()}) with 401 MISSING_CREDENTIALS`, async () => {
      const pairs = (await signedPairs()).map(([k, v]): [string, string] => [k === name ? k.toLowerCase() : k, v]);
      const relay = relayWithFakeQueue();
      await expectRefused(relay, rawTencent(query(pairs)), "tencent", "MISSING_CREDENTIALS");
      await expectStillServing(relay);
    });
    it(`refuses ${name} sent as a header instead of in the query with 401 MISSING_CREDENTIALS`, async () => {
      const all = await signedPairs();
      const pairs = all.filter(([k]) => k !== name);
      const req = rawTencent(query(pairs));
      const relay = relayWithFakeQueue();
      await expectRefused(
        relay,
        withHeaders(req, (h) => h.set(name, all.find(([k]) => k === name)?.[1] as string)),
        "tencent",
        "MISSING_CREDENTIALS",
      );
      await expectStillServing(relay);
    });
  }
});

describe("Tencent hostile input: RequestTime", () => {
  const NOW_S = 1_700_000_000;
  const WINDOW = 60;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW_S * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const ACCEPTED: [string, number][] = [
    ["exactly at the past edge of the window (now − 60 s)", NOW_S - WINDOW],
    ["exactly at the future edge of the window (now + 60 s)", NOW_S + WINDOW],
    ["just inside the past edge (now − 59 s)", NOW_S - WINDOW + 1],
    ["just inside the future edge (now + 59 s)", NOW_S + WINDOW - 1],
  ];
  for (const [label, requestTime] of ACCEPTED) {
    it(`accepts a signed RequestTime ${label}`, async () => {
      const relay = relayWithFakeQueue();
      const res = await relay.fetch(await signedTencent(TENCENT_BODY, { requestTime: String(requestTime) }));
      expect(res.status).toBe(200);
      expect(relay.events()).toHaveLength(1);
    });
  }

  const REFUSED: [string, string, ErrorCode][] = [
    ["1 s past the past edge", String(NOW_S - WINDOW - 1), "TIMESTAMP_OUT_OF_WINDOW"],
    ["1 s past the future edge", String(NOW_S + WINDOW + 1), "TIMESTAMP_OUT_OF_WINDOW"],
    ["a day old", String(NOW_S - 86_400), "TIMESTAMP_OUT_OF_WINDOW"],
    ["a day ahead", String(NOW_S + 86_400), "TIMESTAMP_OUT_OF_WINDOW"],
    ["zero", "0", "TIMESTAMP_OUT_OF_WINDOW"],
    ["the largest 12-digit value", "999999999999", "TIMESTAMP_OUT_OF_WINDOW"],
    ["in milliseconds (13 digits)", String(NOW_S * 1000), "INVALID_TIMESTAMP"],
    ["negative", String(-NOW_S), "INVALID_TIMESTAMP"],
    ["minus zero", "-0", "INVALID_TIMESTAMP"],
    ["non-numeric", "now", "INVALID_TIMESTAMP"],
    ["a float", `${NOW_S}.5`, "INVALID_TIMESTAMP"],
    ["in exponent notation", "1.7e9", "INVALID_TIMESTAMP"],
    ["hexadecimal", `0x${NOW_S.toString(16)}`, "INVALID_TIMESTAMP"],
    ["huge (20 digits)", "17000000000000000000", "INVALID_TIMESTAMP"],
    ["with a leading +", `+${NOW_S}`, "INVALID_TIMESTAMP"],
    ["with a leading space", ` ${NOW_S}`, "INVALID_TIMESTAMP"],
    ["Infinity", "Infinity", "INVALID_TIMESTAMP"],
    ["an ISO date", new Date(NOW_S * 1000).toISOString(), "INVALID_TIMESTAMP"],
    [
      "in Arabic-Indic digits",
      String(NOW_S).replace(/\d/g, (d) => String.fromCharCode(0x660 + Number(d))),
      "INVALID_TIMESTAMP",
    ],
    [
      "in full-width digits",
      String(NOW_S).replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))),
      "INVALID_TIMESTAMP",
    ],
    ["empty", "", "MISSING_CREDENTIALS"],
  ];
  for (const [label, requestTime, code] of REFUSED) {
    it(`refuses a correctly signed RequestTime ${label} with 401 ${code}`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, signedTencent(TENCENT_BODY, { requestTime }), "tencent", code);
      await expectStillServing(relay);
    });
  }

  it("refuses every signed RequestTime outside the ±60 s window and accepts every one inside (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -20 * WINDOW, max: 20 * WINDOW }), async (offset) => {
        const relay = relayWithFakeQueue();
        const req = signedTencent(TENCENT_BODY, { requestTime: String(NOW_S + offset) });
        if (Math.abs(offset) <= WINDOW) {
          expect((await relay.fetch(await req)).status).toBe(200);
          expect(relay.events()).toHaveLength(1);
        } else {
          await expectRefused(relay, req, "tencent", "TIMESTAMP_OUT_OF_WINDOW");
        }
        await expectStillServing(relay);
      }),
      { numRuns: 80, examples: [[WINDOW], [-WINDOW], [WINDOW + 1], [-WINDOW - 1]] },
    );
  });

  it("checks the Sign before the window: a stale RequestTime with a wrong Sign is 401 BAD_SIGNATURE, revealing nothing about the clock", async () => {
    const relay = relayWithFakeQueue();
    await expectRefused(
      relay,
      signedTencent(TENCENT_BODY, { requestTime: String(NOW_S - 86_400), token: "guess" }),
      "tencent",
      "BAD_SIGNATURE",
    );
  });
});

describe("Tencent hostile input: SdkAppid", () => {
  const NAMES = [
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "isPrototypeOf",
    "__defineGetter__",
    "prototype",
    "0",
    "-1",
    "1400000003",
    `0${TENCENT_APP}`,
    `${TENCENT_APP}.0`,
    ` ${TENCENT_APP}`,
    `${TENCENT_APP} `,
    `${TENCENT_APP}\u0000`,
    `${TENCENT_APP},${TENCENT_TOKEN_APP}`,
    "1e9",
    "٠",
  ];
  for (const appId of NAMES) {
    it(`refuses SdkAppid ${JSON.stringify(appId)} with 401 UNKNOWN_APP`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, tencentRequest(TENCENT_BODY, { appId }), "tencent", "UNKNOWN_APP");
      await expectStillServing(relay);
    });
  }

  it("refuses any SdkAppid that is not configured with 401 UNKNOWN_APP (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.nat().map(String), fc.stringMatching(/^14\d{8}$/)),
        async (appId) => {
          fc.pre(appId !== TENCENT_APP && appId !== TENCENT_TOKEN_APP);
          const relay = relayWithFakeQueue();
          await expectRefused(relay, tencentRequest(TENCENT_BODY, { appId }), "tencent", "UNKNOWN_APP");
          await expectStillServing(relay);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("refuses a 100 KB SdkAppid with 401 UNKNOWN_APP and logs only a prefix of it", async () => {
    const appId = "9".repeat(100_000);
    guard.forbid("9".repeat(200));
    const relay = relayWithFakeQueue();
    await expectRefused(relay, tencentRequest(TENCENT_BODY, { appId }), "tencent", "UNKNOWN_APP", ["9".repeat(200)]);
    await expectStillServing(relay);
  });
});

describe("Tencent hostile input: query-string tricks", () => {
  type Trick = [label: string, build: (pairs: [string, string][]) => string, code: ErrorCode];
  const TRICKS: Trick[] = [
    [
      "SdkAppid repeated with the same value",
      (p) => `${query(p)}&SdkAppid=${TENCENT_TOKEN_APP}`,
      "AMBIGUOUS_PARAMETER",
    ],
    [
      "SdkAppid repeated with another configured app",
      (p) => `${query(p)}&SdkAppid=${TENCENT_APP}`,
      "AMBIGUOUS_PARAMETER",
    ],
    [
      "SdkAppid of the app without a token first, then the app with one",
      (p) => `SdkAppid=${TENCENT_APP}&${query(p)}`,
      "AMBIGUOUS_PARAMETER",
    ],
    ["SdkAppid repeated, one of them empty", (p) => `SdkAppid=&${query(p)}`, "AMBIGUOUS_PARAMETER"],
    ["Sign repeated with the same valid value", (p) => `${query(p)}&Sign=${p[6]?.[1]}`, "AMBIGUOUS_PARAMETER"],
    ["Sign repeated, a forged one first", (p) => `Sign=${"0".repeat(64)}&${query(p)}`, "AMBIGUOUS_PARAMETER"],
    ["RequestTime repeated with the same value", (p) => `${query(p)}&RequestTime=${p[5]?.[1]}`, "AMBIGUOUS_PARAMETER"],
    ["RequestTime repeated with another value", (p) => `${query(p)}&RequestTime=1`, "AMBIGUOUS_PARAMETER"],
    [
      "CallbackCommand repeated",
      (p) => `${query(p)}&CallbackCommand=Group.CallbackAfterGroupFull`,
      "AMBIGUOUS_PARAMETER",
    ],
    [
      "CallbackCommand repeated with the same value",
      (p) => `${query(p)}&CallbackCommand=${COMMAND}`,
      "AMBIGUOUS_PARAMETER",
    ],
    [
      "an encoded separator inside SdkAppid (SdkAppid=…%26CallbackCommand%3DX)",
      (p) => query(p).replace(`SdkAppid=${TENCENT_TOKEN_APP}`, `SdkAppid=${TENCENT_TOKEN_APP}%26CallbackCommand%3DX`),
      "UNKNOWN_APP",
    ],
    [
      "an encoded = in the SdkAppid name (SdkAppid%3D…)",
      (p) => query(p).replace("SdkAppid=", "SdkAppid%3D"),
      "MISSING_CREDENTIALS",
    ],
    ["a ; separator instead of &", (p) => query(p).replaceAll("&", ";"), "UNKNOWN_APP"],
    ["sdkappid in lower case", (p) => query(p).replace("SdkAppid=", "sdkappid="), "MISSING_CREDENTIALS"],
    ["SDKAPPID in upper case", (p) => query(p).replace("SdkAppid=", "SDKAPPID="), "MISSING_CREDENTIALS"],
    ["SdkAppId with a capital I", (p) => query(p).replace("SdkAppid=", "SdkAppId="), "MISSING_CREDENTIALS"],
    ["SdkAppid[] array syntax", (p) => query(p).replace("SdkAppid=", "SdkAppid[]="), "MISSING_CREDENTIALS"],
    ["an empty SdkAppid", (p) => query(p).replace(`SdkAppid=${TENCENT_TOKEN_APP}`, "SdkAppid="), "MISSING_CREDENTIALS"],
    ["SdkAppid without =", (p) => query(p).replace(`SdkAppid=${TENCENT_TOKEN_APP}`, "SdkAppid"), "MISSING_CREDENTIALS"],
    [
      "SdkAppid only in the fragment",
      (p) => `${query(p.filter(([k]) => k !== "SdkAppid"))}#SdkAppid=${TENCENT_TOKEN_APP}`,
      "MISSING_CREDENTIALS",
    ],
    [
      "SdkAppid with a + (decoded as a space)",
      (p) => query(p).replace(`SdkAppid=${TENCENT_TOKEN_APP}`, `SdkAppid=+${TENCENT_TOKEN_APP}`),
      "UNKNOWN_APP",
    ],
    [
      "SdkAppid with an encoded NUL",
      (p) => query(p).replace(`SdkAppid=${TENCENT_TOKEN_APP}`, `SdkAppid=${TENCENT_TOKEN_APP}%00`),
      "UNKNOWN_APP",
    ],
    [
      "SdkAppid with malformed percent-encoding",
      (p) => query(p).replace(`SdkAppid=${TENCENT_TOKEN_APP}`, `SdkAppid=${TENCENT_TOKEN_APP}%E0%A4%A`),
      "UNKNOWN_APP",
    ],
    [
      "a forged Sign after 100 KB of junk parameters",
      (p) => `${"junk=1&".repeat(15_000)}${query(p).replace(/Sign=[0-9a-f]+/, `Sign=${"f".repeat(64)}`)}`,
      "BAD_SIGNATURE",
    ],
    ["a 100 KB Sign", (p) => query(p).replace(/Sign=[0-9a-f]+/, `Sign=${"a".repeat(100_000)}`), "BAD_SIGNATURE"],
    [
      "a 100 KB RequestTime",
      (p) => query(p).replace(/RequestTime=\d+/, `RequestTime=${"1".repeat(100_000)}`),
      "INVALID_TIMESTAMP",
    ],
  ];
  for (const [label, build, code] of TRICKS) {
    it(`refuses ${label} with ${ERRORS[code].status} ${code}`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, rawTencent(build(await signedPairs())), "tencent", code);
      await expectStillServing(relay);
    });
  }

  it("refuses a repeated SdkAppid for the app without a token with 400 AMBIGUOUS_PARAMETER", async () => {
    const relay = relayWithFakeQueue();
    await expectRefused(
      relay,
      rawTencent(`SdkAppid=${TENCENT_APP}&SdkAppid=${TENCENT_APP}&CallbackCommand=${COMMAND}`),
      "tencent",
      "AMBIGUOUS_PARAMETER",
    );
    await expectStillServing(relay);
  });

  it("refuses a request with no query string at all with 401 MISSING_CREDENTIALS", async () => {
    const relay = relayWithFakeQueue();
    const req = new Request("http://relay.test/tencent", { method: "POST", body: TENCENT_BODY });
    await expectRefused(relay, req, "tencent", "MISSING_CREDENTIALS");
    await expectStillServing(relay);
  });

  const WEIRD_COMMANDS = [
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "Group.Callback AfterGroupDestroyed",
    "Group.Callback\u0000X",
    "Group.Callback\nX",
    "Group.Callback-X",
    "1Group.X",
    "_Group.X",
    ".Group",
    "事件",
    "Group.CallbackAfterGroupDestroyed%",
    `A${"b".repeat(128)}`,
    "__proto__",
    "$" + "{jndi:ldap://x}", // log4shell-style lookup, spelled so it is not a template placeholder
  ];
  for (const command of WEIRD_COMMANDS) {
    it(`refuses a signed request whose query CallbackCommand is ${JSON.stringify(command.length > 40 ? `${command.slice(0, 40)}…` : command)} with 400 MISSING_EVENT_TYPE, even though the body names a valid one`, async () => {
      const relay = relayWithFakeQueue();
      await expectRefused(relay, signedTencent(TENCENT_BODY, { command }), "tencent", "MISSING_EVENT_TYPE");
      await expectStillServing(relay);
    });
  }

  it("refuses any query CallbackCommand outside [A-Za-z][A-Za-z0-9_.]{0,127} with 400 MISSING_EVENT_TYPE (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 140, unit: "binary" }), async (command) => {
        fc.pre(!COMMAND_RE.test(command));
        const relay = relayWithFakeQueue();
        await expectRefused(relay, signedTencent(TENCENT_BODY, { command }), "tencent", "MISSING_EVENT_TYPE");
      }),
      { numRuns: 100 },
    );
  });
});

describe("Tencent hostile input: correctly signed bodies that must not parse", () => {
  for (const { name, body, code } of [...INVALID_UTF8, ...NOT_JSON, ...WRONG_JSON_TYPE, ...NO_EVENT_NAME]) {
    it(`refuses a signed body that is ${name} with ${ERRORS[code].status} ${code}`, async () => {
      const relay = relayWithFakeQueue();
      const bytes = body("CallbackCommand", COMMAND);
      const req = await signedTencent("{}", { command: null });
      await expectRefused(
        relay,
        new Request(req.url, { method: "POST", headers: req.headers, body: bytes }),
        "tencent",
        code,
      );
      await expectStillServing(relay);
    });
  }

  const TENCENT_ODD: [string, string][] = [
    ...ODD_EVENT_NAMES,
    ["a name starting with a digit", '"1Group.X"'],
    ["a name starting with an underscore", '"_Group.X"'],
    ["__proto__", '"__proto__"'],
    ["a name with a hyphen", '"Group.Callback-X"'],
    ["a 129-character name", JSON.stringify(`A${"b".repeat(128)}`)],
  ];
  for (const [label, json] of TENCENT_ODD) {
    it(`refuses a signed body without a query command whose CallbackCommand is ${label} with 400 MISSING_EVENT_TYPE`, async () => {
      const relay = relayWithFakeQueue();
      const body = `{"CallbackCommand":${json},"GroupId":"@TGS#1","EventTime":1670574414123}`;
      const req = await signedTencent("{}", { command: null });
      await expectRefused(
        relay,
        new Request(req.url, { method: "POST", headers: req.headers, body }),
        "tencent",
        "MISSING_EVENT_TYPE",
      );
      await expectStillServing(relay);
    });
  }

  it("accepts a signed body with a UTF-8 BOM (valid UTF-8 JSON per RFC 8259 §8.1) and forwards the parsed object", async () => {
    const relay = relayWithFakeQueue();
    const req = await signedTencent(TENCENT_BODY);
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(TENCENT_BODY)]);
    const res = await relay.fetch(new Request(req.url, { method: "POST", headers: req.headers, body: bytes }));
    expect(res.status).toBe(200);
    expect(relay.events()[0]?.data).toEqual(JSON.parse(TENCENT_BODY));
  });

  for (const [label, nested] of [
    ["10 000 levels of nested arrays", `${"[".repeat(10_000)}${"]".repeat(10_000)}`],
    ["10 000 levels of nested objects", `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`],
  ] as const) {
    for (const [who, make] of [
      ["signed for the app with a token", (b: string) => signedTencent(b)],
      ["for the app without a token (no credential needed)", (b: string) => tencentRequest(b)],
    ] as const) {
      it(`refuses a callback ${who} carrying ${label} with 400 INVALID_BODY`, async () => {
        const relay = relayWithFakeQueue();
        const body = `{"CallbackCommand":"${COMMAND}","GroupId":"@TGS#1","x":${nested}}`;
        await expectRefused(relay, make(body), "tencent", "INVALID_BODY");
        await expectStillServing(relay);
      });
    }
  }

  for (const name of [
    "constructor",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
  ]) {
    for (const [where, make] of [
      ["in the query", () => tencentRequest(JSON.stringify({ GroupId: "@TGS#1" }), { command: name })],
      [
        "in the body only",
        () => tencentRequest(JSON.stringify({ CallbackCommand: name, GroupId: "@TGS#1" }), { command: null }),
      ],
    ] as const) {
      it(`forwards a callback whose CallbackCommand "${name}" is ${where} as the unknown type tencent.${name}, with a well-formed queue message`, async () => {
        const relay = relayWithFakeQueue();
        const res = await relay.fetch(await make());
        expect(res.status).toBe(200);
        expect(relay.events()).toHaveLength(1);
        expect(relay.events()[0]).toMatchObject({ providerevent: name, schemavalid: false });
        expect(relay.events()[0]?.type).toBe(`tencent.${name}`);
        expectWellFormedMessage(relay.queue.sent[0]?.body);
      });
    }
  }

  it("forwards __proto__ and constructor keys as plain data without polluting any prototype", async () => {
    const relay = relayWithFakeQueue();
    const body = `{"CallbackCommand":"${COMMAND}","GroupId":"@TGS#1","__proto__":{"polluted":true,"CallbackCommand":"X"},"constructor":{"prototype":{"polluted":true}}}`;
    const res = await relay.fetch(await signedTencent(body, { command: COMMAND }));
    expect(res.status).toBe(200);
    const event = relay.events()[0];
    expect(event?.providerevent).toBe(COMMAND);
    expect(Object.hasOwn(event?.data ?? {}, "__proto__")).toBe(true);
    expect(JSON.stringify(event?.data)).toBe(JSON.stringify(JSON.parse(body)));
    expect(Object.prototype).not.toHaveProperty("polluted");
    expectWellFormedMessage(relay.queue.sent[0]?.body);
  });
});

describe("Tencent hostile input: bodies over 1 MiB", () => {
  const huge = JSON.stringify({ CallbackCommand: COMMAND, GroupId: "x".repeat(1_048_576) });

  it("refuses a signed 1 MiB + 1 KB body sent with its Content-Length with 413 PAYLOAD_TOO_LARGE", async () => {
    const relay = relayWithFakeQueue();
    const req = withHeaders(await signedTencent(huge), (h) => h.set("content-length", String(huge.length)));
    await expectRefused(relay, req, "tencent", "PAYLOAD_TOO_LARGE");
    await expectStillServing(relay);
  });

  it("refuses a signed 1 MiB + 1 KB body sent chunked (no Content-Length) with 413 PAYLOAD_TOO_LARGE", async () => {
    const relay = relayWithFakeQueue();
    const req = withStreamBody(await signedTencent(huge), chunkedStream(encoder.encode(huge)));
    expect(req.headers.get("content-length")).toBeNull();
    await expectRefused(relay, req, "tencent", "PAYLOAD_TOO_LARGE");
    await expectStillServing(relay);
  });

  it("stops reading an endless upload after the 1 MiB limit and answers 413", async () => {
    const relay = relayWithFakeQueue();
    const { stream, counter } = endlessStream(16_384);
    await expectRefused(
      relay,
      withStreamBody(await signedTencent(TENCENT_BODY), stream),
      "tencent",
      "PAYLOAD_TOO_LARGE",
    );
    expect(counter.pulls).toBeLessThanOrEqual(Math.ceil(1_048_576 / 16_384) + 1);
    await expectStillServing(relay);
  });

  it("never reads the body of a request whose Sign is wrong", async () => {
    const relay = relayWithFakeQueue();
    const { stream, counter } = endlessStream(16_384);
    await expectRefused(
      relay,
      withStreamBody(await signedTencent(TENCENT_BODY, { token: "guess" }), stream),
      "tencent",
      "BAD_SIGNATURE",
    );
    expect(counter.pulls).toBe(0);
    await expectStillServing(relay);
  });
});
