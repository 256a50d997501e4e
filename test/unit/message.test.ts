import { describe, expect, it } from "vitest";
import type { EventEnvelope } from "../../src/event";
import { DRAIN_RETRY_FIRST_MS, DRAIN_RETRY_MAX_MS, drainDelayMs } from "../../src/outbox/backoff";
import {
  decodeMessage,
  encodeMessage,
  inlineText,
  MAX_MESSAGE_BYTES,
  type QueueMessage,
  utf8Bytes,
} from "../../src/queue/message";
import { BATCH_BYTES, BATCH_MESSAGES, batches } from "../../src/queue/producer";

const EVENT: EventEnvelope = {
  specversion: "1.0",
  id: `evt_${"a".repeat(32)}`,
  source: "/netease/app/cc",
  type: "netease.cc.1",
  time: "2026-01-01T00:00:00.000Z",
  datacontenttype: "application/json",
  provider: "netease",
  providerevent: "cc.1",
  appid: "app",
  schemavalid: true,
};
const KEY = `${EVENT.id}/00000000-0000-4000-8000-000000000000`;
const key = () => KEY;
const event = (data: string): QueueMessage => ({ kind: "event", event: EVENT, data });

describe("queue message v2: encoding", () => {
  it("writes one JSON header line, a newline, then the data unescaped", () => {
    const data = '{"msgId":184409700039655569,"t":"a\\"b\\n\\\\c","x":"\u7a7a"}';
    const wire = encodeMessage(event(data), key);
    expect(wire.text).toBe(`${JSON.stringify({ v: 2, kind: "event", event: EVENT })}\n${data}`);
    expect(wire.offload).toBeUndefined();
    expect(wire.bytes).toBeGreaterThanOrEqual(utf8Bytes(wire.text));
  });

  it("round-trips data byte for byte, raw newlines and 64-bit integers included", () => {
    const data = '{\n  "msgId": 184409700039655569,\n  "note": "line\\nbreak"\n}\n';
    expect(decodeMessage(encodeMessage(event(data), key).text)).toEqual({ message: event(data) });
  });

  it("keeps a newline inside an envelope field from ending the header", () => {
    const message: QueueMessage = { kind: "event", event: { ...EVENT, type: "a\nb" }, data: "{}" };
    expect(decodeMessage(inlineText(message))).toEqual({ message });
  });

  it("round-trips a replayed delivery with its target and replay id", () => {
    const message: QueueMessage = { kind: "delivery", event: EVENT, data: "{}", target: "crm", replay: "r-1" };
    expect(decodeMessage(inlineText(message))).toEqual({ message });
  });

  it("keeps the data inline up to exactly MAX_MESSAGE_BYTES, and references R2 one byte above", () => {
    const room = MAX_MESSAGE_BYTES - utf8Bytes(inlineText(event('{"p":""}')));
    const fits = event(`{"p":"${"x".repeat(room)}"}`);
    const over = event(`{"p":"${"x".repeat(room + 1)}"}`);
    expect(utf8Bytes(inlineText(fits))).toBe(MAX_MESSAGE_BYTES);
    expect(encodeMessage(fits, key).offload).toBeUndefined();
    const wire = encodeMessage(over, key);
    expect(wire.offload).toEqual({ key: KEY, bytes: utf8Bytes(over.data) });
    expect(wire.text).toBe(`${JSON.stringify({ v: 2, kind: "event", event: EVENT, ref: wire.offload })}\n`);
    expect(wire.bytes).toBe(utf8Bytes(wire.text));
  });

  it("counts multi-byte characters in UTF-8: 43 000 CJK characters are 129 000 bytes, too big to go inline", () => {
    const data = `{"t":"${"空".repeat(43_000)}"}`;
    expect(data.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(encodeMessage(event(data), key).offload?.bytes).toBe(utf8Bytes(data));
  });

  it("asks for the R2 key only when the body goes to R2", () => {
    let asked = 0;
    encodeMessage(event("{}"), () => {
      asked++;
      return KEY;
    });
    expect(asked).toBe(0);
  });
});

describe("queue message: decoding", () => {
  it("decodes a reference message into the header's fields and the R2 reference", () => {
    const wire = encodeMessage(event(`{"p":"${"x".repeat(200_000)}"}`), key);
    const { data: _, ...meta } = event("");
    expect(decodeMessage(wire.text)).toEqual({ meta, ref: wire.offload });
  });

  it("reads v1 messages, as an object or as JSON text, dropping v and attempt", () => {
    const data = '{"msgId":184409700039655569}';
    const v1 = { v: 1, kind: "delivery", event: EVENT, data, target: "crm", attempt: 3 };
    const expected = { message: { kind: "delivery", event: EVENT, data, target: "crm" } };
    expect(decodeMessage(v1)).toEqual(expected);
    expect(decodeMessage(JSON.stringify(v1))).toEqual(expected);
  });

  const bad: [string, unknown][] = [
    ["a v2 header as an object", { v: 2, kind: "event", event: EVENT }],
    ["a v2 header without data", `${JSON.stringify({ v: 2, kind: "event", event: EVENT })}\n`],
    ["a v2 header with 1 byte of data", `${JSON.stringify({ v: 2, kind: "event", event: EVENT })}\n{`],
    [
      "a reference followed by data",
      `${JSON.stringify({ v: 2, kind: "event", event: EVENT, ref: { key: KEY, bytes: 9 } })}\n{}`,
    ],
    [
      "a reference to another event's key",
      `${JSON.stringify({ v: 2, kind: "event", event: EVENT, ref: { key: "../x", bytes: 9 } })}\n`,
    ],
    ["an unknown version", `${JSON.stringify({ v: 3, kind: "event", event: EVENT })}\n{}`],
    ["a header that is not JSON", "{v:2}\n{}"],
    ["a v1 message with an invalid event", { v: 1, kind: "event", event: { ...EVENT, id: "x" }, data: "{}" }],
    ["a number", 42],
    ["an empty string", ""],
  ];
  for (const [name, body] of bad) {
    it(`refuses ${name}`, () => expect(decodeMessage(body)).toBeUndefined());
  }
});

describe("sendBatch batches", () => {
  it("splits at 100 messages", () => {
    const out = batches(
      Array.from({ length: 250 }, (_, i) => i),
      () => 10,
    );
    expect(out.map((b) => b.length)).toEqual([BATCH_MESSAGES, BATCH_MESSAGES, 50]);
  });

  it("splits before a message that would take a batch over BATCH_BYTES, keeping the order", () => {
    const sizes = [100_000, 100_000, 60_000, 127_000, 127_000, 1];
    const out = batches(sizes, (n) => n);
    expect(out).toEqual([
      [100_000, 100_000],
      [60_000, 127_000],
      [127_000, 1],
    ]);
    for (const b of out) expect(b.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(BATCH_BYTES);
  });
});

describe("outbox drain backoff", () => {
  it("doubles from the first delay up to the cap, within ±20 %", () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect(drainDelayMs(1, low)).toBe(0.8 * DRAIN_RETRY_FIRST_MS);
    expect(drainDelayMs(1, high)).toBe(1.2 * DRAIN_RETRY_FIRST_MS);
    expect(drainDelayMs(3, () => 0.5)).toBe(4 * DRAIN_RETRY_FIRST_MS);
    expect(drainDelayMs(30, () => 0.5)).toBe(DRAIN_RETRY_MAX_MS);
    expect(drainDelayMs(1000, high)).toBe(1.2 * DRAIN_RETRY_MAX_MS);
  });
});
