/**
 * Hostile request bodies shared by the NetEase and Tencent hostile suites. Each is sent correctly signed, so it
 * reaches decoding and parsing; `key` is the field naming the event (`eventType` / `CallbackCommand`).
 */
import { concatBytes } from "../../src/crypto";
import type { ErrorCode } from "../../src/errors";

type Key = "eventType" | "CallbackCommand";
export type BodyCase = { name: string; body: (key: Key, valid: string) => string | Uint8Array; code: ErrorCode };

const encoder = new TextEncoder();

function concat(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  return concatBytes(parts.map((p) => (typeof p === "string" ? encoder.encode(p) : Uint8Array.from(p))));
}

/** `{"<key>":<valid>,"x":"<bytes>"}`: a well-formed object except for the bytes inside one string. */
const withBytes = (bytes: number[]) => (key: Key, valid: string) =>
  concat(`{"${key}":${JSON.stringify(valid)},"x":"`, bytes, `"}`);

export const INVALID_UTF8: BodyCase[] = [
  { name: "a lone 0xFF byte", body: withBytes([0xff]), code: "INVALID_BODY" },
  { name: "a lone continuation byte 0x80", body: withBytes([0x80]), code: "INVALID_BODY" },
  { name: "an overlong encoding of '/' (C0 AF)", body: withBytes([0xc0, 0xaf]), code: "INVALID_BODY" },
  { name: "a UTF-8-encoded surrogate (ED A0 80)", body: withBytes([0xed, 0xa0, 0x80]), code: "INVALID_BODY" },
  { name: "a truncated 3-byte sequence (E2 82)", body: withBytes([0xe2, 0x82]), code: "INVALID_BODY" },
  {
    name: "a code point above U+10FFFF (F4 90 80 80)",
    body: withBytes([0xf4, 0x90, 0x80, 0x80]),
    code: "INVALID_BODY",
  },
  { name: "Latin-1 text (E9 for é)", body: withBytes([0xe9]), code: "INVALID_BODY" },
  {
    name: "UTF-16LE with its BOM",
    body: (key, valid) => concat([0xff, 0xfe], ...[...`{"${key}":"${valid}"}`].map((c) => [c.charCodeAt(0), 0])),
    code: "INVALID_BODY",
  },
];

export const NOT_JSON: BodyCase[] = [
  { name: "an empty body", body: () => "", code: "INVALID_JSON" },
  { name: "whitespace only", body: () => " \n\t ", code: "INVALID_JSON" },
  { name: "a form-encoded body", body: (key, valid) => `${key}=${valid}`, code: "INVALID_JSON" },
  { name: "a truncated object", body: (key, valid) => `{"${key}":${JSON.stringify(valid)}`, code: "INVALID_JSON" },
  { name: "single-quoted JSON", body: (key, valid) => `{'${key}':'${valid}'}`, code: "INVALID_JSON" },
  { name: "NaN", body: () => "NaN", code: "INVALID_JSON" },
  { name: "a trailing comma", body: (key, valid) => `{"${key}":${JSON.stringify(valid)},}`, code: "INVALID_JSON" },
  {
    name: "two concatenated objects",
    body: (key, valid) => `{"${key}":${JSON.stringify(valid)}}{}`,
    code: "INVALID_JSON",
  },
  {
    name: "a NUL byte after the object",
    body: (key, valid) => `{"${key}":${JSON.stringify(valid)}}\u0000`,
    code: "INVALID_JSON",
  },
  {
    name: "two UTF-8 BOMs before the object",
    body: (key, valid) => concat([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], `{"${key}":${JSON.stringify(valid)}}`),
    code: "INVALID_JSON",
  },
  { name: "a UTF-8 BOM alone", body: () => concat([0xef, 0xbb, 0xbf]), code: "INVALID_JSON" },
  { name: "10 000 unclosed [", body: () => "[".repeat(10_000), code: "INVALID_JSON" },
  {
    name: "10 000 levels of nested arrays (not an object)",
    body: () => `${"[".repeat(10_000)}${"]".repeat(10_000)}`,
    code: "INVALID_JSON",
  },
  { name: '10 000 unclosed {"a":', body: () => '{"a":'.repeat(10_000), code: "INVALID_JSON" },
];

export const WRONG_JSON_TYPE: BodyCase[] = [
  { name: "an empty array", body: () => "[]", code: "INVALID_JSON" },
  {
    name: "an array holding a valid callback",
    body: (key, valid) => `[{"${key}":${JSON.stringify(valid)}}]`,
    code: "INVALID_JSON",
  },
  { name: "a string", body: (key) => JSON.stringify(key), code: "INVALID_JSON" },
  { name: "a number", body: () => "8", code: "INVALID_JSON" },
  { name: "null", body: () => "null", code: "INVALID_JSON" },
  { name: "true", body: () => "true", code: "INVALID_JSON" },
  { name: "false", body: () => "false", code: "INVALID_JSON" },
];

export const NO_EVENT_NAME: BodyCase[] = [
  { name: "an object with other fields only", body: () => '{"fromAccount":"a","to":"b"}', code: "MISSING_EVENT_TYPE" },
  {
    name: "the name field in another letter case",
    body: (key, valid) => `{"${key.toUpperCase()}":${JSON.stringify(valid)}}`,
    code: "MISSING_EVENT_TYPE",
  },
  {
    name: "the name field only under __proto__",
    body: (key, valid) => `{"__proto__":{"${key}":${JSON.stringify(valid)}}}`,
    code: "MISSING_EVENT_TYPE",
  },
  {
    name: "the name field only under constructor",
    body: (key, valid) => `{"constructor":{"${key}":${JSON.stringify(valid)}}}`,
    code: "MISSING_EVENT_TYPE",
  },
  {
    name: "the name field nested one level down",
    body: (key, valid) => `{"data":{"${key}":${JSON.stringify(valid)}}}`,
    code: "MISSING_EVENT_TYPE",
  },
];

/** Values of the event-name field that are never a valid eventType / CallbackCommand, whatever the provider. */
export const ODD_EVENT_NAMES: [name: string, json: string][] = [
  ["an object", '{"a":1}'],
  ["an array", "[8]"],
  ["an empty array", "[]"],
  ["a float", "8.5"],
  ["true", "true"],
  ["false", "false"],
  ["null", "null"],
  ["an empty string", '""'],
  ["a 200-character string", JSON.stringify("A".repeat(200))],
  ["a path traversal ../x", '"../x"'],
  ["an absolute path /etc/passwd", '"/etc/passwd"'],
  ["a string with a space", '"Group CallbackAfterGroupDestroyed"'],
  ["a string with a NUL", '"A\\u0000B"'],
  ["a string with a newline", '"A\\nB"'],
  ["markup", '"<script>alert(1)</script>"'],
  ["a non-ASCII string", '"事件"'],
  ["a string with an encoded separator", '"A%2FB"'],
];
