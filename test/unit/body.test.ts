import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RelayError } from "../../src/errors";
import { parseJsonObject } from "../../src/ingress/body";

const encoder = new TextEncoder();

/** The error code parseJsonObject refuses `text` with, or "ok"; `key` null: no routing key. */
function outcome(text: string, key: string | null = "eventType"): string {
  try {
    parseJsonObject(encoder.encode(text), key ?? undefined);
    return "ok";
  } catch (err) {
    if (err instanceof RelayError) return err.code;
    throw err;
  }
}

describe("parseJsonObject: a repeated routing key", () => {
  for (const [label, text] of [
    ["twice with different values", '{"eventType":1,"eventType":2}'],
    ["twice with the same value", '{"eventType":"1","eventType":"1"}'],
    ["twice, far apart", `{"eventType":1,"a":${JSON.stringify("x".repeat(10_000))},"b":{"c":[1,2]},"eventType":2}`],
    ["three times", '{"eventType":1,"eventType":2,"eventType":3}'],
    ["spelled with a \\u escape the second time", '{"eventType":1,"event\\u0054ype":2}'],
    ["spelled with \\u escapes both times", '{"\\u0065ventType":1,"eventTyp\\u0065":2}'],
    [
      "spelled entirely in \\u escapes",
      `{"eventType":1,"${[..."eventType"].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}":2}`,
    ],
    ["with whitespace around every token", ' \n{ "eventType" :\t1 ,\r\n "eventType"  : 2 } '],
    ["the second after a nested object", '{"eventType":1,"attach":{"eventType":2,"x":{}},"eventType":3}'],
  ] as const) {
    it(`refuses a body with the routing key ${label} as AMBIGUOUS_BODY`, () => {
      expect(outcome(text)).toBe("AMBIGUOUS_BODY");
    });
  }

  it("says which key is repeated, and nothing of the body", () => {
    expect(() => parseJsonObject(encoder.encode('{"eventType":1,"eventType":"secret-value"}'), "eventType")).toThrow(
      expect.objectContaining({ message: "body has more than one top-level eventType key" }),
    );
  });

  for (const [label, text] of [
    ["once, with the same key in a nested object", '{"eventType":1,"attach":{"eventType":2}}'],
    ["once, with the same key in objects inside an array", '{"eventType":1,"list":[{"eventType":2},{"eventType":3}]}'],
    ["once, with the same key deeper down", '{"a":{"b":{"eventType":2}},"eventType":1,"c":[[{"eventType":4}]]}'],
    ["once, with the key inside a JSON string (attach as text)", '{"eventType":1,"attach":"{\\"eventType\\":2}"}'],
    ["once, with the key as a string value", '{"x":"eventType","eventType":1,"y":["eventType","eventType"]}'],
    ["once, after a string ending in an escaped backslash", '{"a":"\\\\","eventType":1,"b":"\\\\\\""}'],
    [
      "once, beside keys that only look alike",
      '{"eventType":1,"eventtype":2,"EventType":3,"eventType ":4,"xeventType":5}',
    ],
    ["once, with another key repeated", '{"eventType":1,"x":1,"x":2}'],
  ] as const) {
    it(`accepts a body with the routing key ${label}`, () => {
      expect(outcome(text)).toBe("ok");
    });
  }

  it("checks nothing when the channel names no routing key", () => {
    expect(outcome('{"eventType":1,"eventType":2}', null)).toBe("ok");
  });

  it("still refuses bodies nested too deep, whatever the keys", () => {
    expect(outcome(`{"eventType":1,"a":${"[".repeat(70)}${"]".repeat(70)}}`)).toBe("INVALID_BODY");
  });
});

/** `key` with each character written as a \u escape or not, as `escapes` says. */
function spelled(key: string, escapes: boolean[]): string {
  return [...key].map((c, i) => (escapes[i] ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c)).join("");
}

describe("parseJsonObject: the routing-key check agrees with the decoded object (property)", () => {
  const KEY = "CallbackCommand";
  // Nested values that repeat the key must never count: they are not the root's keys.
  const nested = fc.jsonValue({ maxDepth: 2 }).map((v) => ({ [KEY]: v, inner: [{ [KEY]: 1 }] }));
  const member = fc.record({
    key: fc.oneof(fc.constant(KEY), fc.constantFrom("Type", "callbackCommand", "Callback", "x"), fc.string()),
    escapes: fc.array(fc.boolean(), { maxLength: KEY.length }),
    value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), nested, fc.constant(KEY)),
    space: fc.constantFrom("", " ", "\n\t"),
  });

  it("refuses exactly the bodies whose root object names the key more than once", () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 6 }), (members) => {
        const text = `{${members
          .map(({ key, escapes, value, space }) => {
            const name = key === KEY ? `"${spelled(KEY, escapes)}"` : JSON.stringify(key);
            return `${space}${name}${space}:${space}${JSON.stringify(value)}${space}`;
          })
          .join(",")}}`;
        const times = members.filter((m) => m.key === KEY).length;
        expect(outcome(text, KEY)).toBe(times > 1 ? "AMBIGUOUS_BODY" : "ok");
      }),
      { numRuns: 1_000 },
    );
  });
});
