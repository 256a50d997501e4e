import { readAtMost } from "../crypto";
import { RelayError } from "../errors";

/**
 * The largest callback body accepted, 1 MiB. A body too big for a queue message travels in R2 (see producer.ts);
 * a lane stores it in a SQLite row (2 MB at most), a dead letter in a KV value (25 MiB at most).
 */
export const MAX_BODY_BYTES = 1_048_576;

/**
 * Reads the request body as bytes, refusing it as soon as it exceeds `maxBytes`, so a huge or endless upload
 * costs neither memory nor CPU. Content-Length is checked first but not trusted: chunked bodies have none.
 */
export async function readBody(req: Request, maxBytes = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (req.body === null) return new Uint8Array(0);
  // A declared length within the limit bounds the body (the runtime enforces HTTP framing): one read, which
  // costs far less than a read per chunk. Providers send Content-Length; only chunked bodies take the loop.
  if (declared !== null && /^\d+$/.test(declared)) return new Uint8Array(await req.arrayBuffer());
  const body = await readAtMost(req.body, maxBytes);
  if (body === undefined) throw tooLarge(maxBytes);
  return body;
}

function tooLarge(maxBytes: number): RelayError {
  return new RelayError("PAYLOAD_TOO_LARGE", `body exceeds ${maxBytes} bytes, the largest callback the relay accepts`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Deeper than this is no IM payload (they nest a handful of levels); receivers' JSON tooling would choke too. */
const MAX_DEPTH = 64;

/** What one pass over a JSON object's text finds that JSON.parse does not say. */
type Scan = { tooDeep: boolean; repeated: boolean };

/**
 * One pass over the characters of JSON text JSON.parse accepted as an object, O(length), allocating only to decode
 * a root key written with escapes: whether it nests deeper than `MAX_DEPTH`, and whether `key` occurs more than
 * once among the root object's own keys. JSON.parse
 * keeps the last of duplicate keys without a word, so the relay and a receiver whose parser keeps the first would
 * route one body as two different events. Keys are compared as decoded (`"event\u0054ype"` is `eventType`);
 * keys of nested objects are not the root's.
 */
function scan(json: string, key: string | undefined): Scan {
  let depth = 0;
  let inString = false;
  let isKey = false;
  let escaped = false;
  let start = 0;
  // Inside the root object, after `{` or `,`, the next string is a key.
  let keyNext = false;
  let seen = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        escaped = true;
        i++; // backslash: skip the escaped character
      } else if (c === 0x22) {
        inString = false;
        if (isKey && key !== undefined && keyEquals(json, start, i, escaped, key) && ++seen > 1) {
          return { tooDeep: false, repeated: true };
        }
      }
    } else if (c === 0x22) {
      inString = true;
      isKey = keyNext;
      keyNext = false;
      escaped = false;
      start = i + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return { tooDeep: true, repeated: false };
      keyNext = depth === 1;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) keyNext = true;
  }
  return { tooDeep: false, repeated: false };
}

/** Whether the JSON string text json[start, end) decodes to `key`; only a key with escapes is decoded. */
function keyEquals(json: string, start: number, end: number, escaped: boolean, key: string): boolean {
  if (!escaped) return end - start === key.length && json.startsWith(key, start);
  return JSON.parse(json.slice(start - 1, end + 1)) === key;
}

/**
 * Decodes and parses a JSON object body; anything else (invalid UTF-8, not JSON, not an object, nested deeper
 * than MAX_DEPTH, `routingKey` repeated among the root object's keys) is a 400. Returns the text too: it is what
 * customers receive as `data`, unchanged.
 *
 * @param routingKey - The root key the channel routes on (see `Channel.routingKey`).
 */
export function parseJsonObject(
  body: Uint8Array,
  routingKey?: string,
): { text: string; payload: Record<string, unknown> } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new RelayError("INVALID_BODY", "body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RelayError("INVALID_JSON", "body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RelayError("INVALID_JSON", "body must be a JSON object");
  }
  const found = scan(text, routingKey);
  if (found.tooDeep) throw new RelayError("INVALID_BODY", `body is nested deeper than ${MAX_DEPTH} levels`);
  if (found.repeated) {
    throw new RelayError("AMBIGUOUS_BODY", `body has more than one top-level ${routingKey} key`);
  }
  return { text, payload: value as Record<string, unknown> };
}
