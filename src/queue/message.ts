import * as z from "zod/mini";
import { TargetId } from "../config/target";
import { EventEnvelope, QueuedEnvelope } from "../event";

/**
 * What travels on the queue, versioned so a deploy can change the shape while old messages drain.
 * - `event`: a new event from the ingress; the consumer fans it out to every matching target.
 * - `delivery`: one (event, target) pair an operator replays; it reaches that target's lane only.
 * Both carry the event's attributes and its `data`: the raw JSON text of the callback body, never re-serialised
 * (NetEase's 64-bit integers would lose precision).
 *
 * On the wire (v2) a message is text: its header as one line of JSON, a newline, then `data` as is. Inside a JSON
 * string the body would be escaped, and a body full of quotes would double in size against the queue's message
 * limit. A body too big even so travels in R2 (`BODIES`), and the header's `ref` names the object.
 */

/** Cloudflare Queues cap a message at 128 KB (1 KB = 1000 B), including ~100 B of metadata. */
export const MAX_MESSAGE_BYTES = 127_000;

const data = z.string().check(z.minLength(2));
const event = { kind: z.literal("event"), event: QueuedEnvelope };
const delivery = {
  kind: z.literal("delivery"),
  event: EventEnvelope,
  target: TargetId,
  /** An operator's replay: the dead letter's id. A lane re-delivers an event once per replay id. */
  replay: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
};

/** A message as the producer writes it and the consumer routes it, whatever its wire version. */
export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ ...event, data }),
  z.object({ ...delivery, data }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;
export type EventMessage = Extract<QueueMessage, { kind: "event" }>;
export type DeliveryMessage = Extract<QueueMessage, { kind: "delivery" }>;

/** v1: one JSON object with `data` as a string. No longer written; read while messages queued before v2 drain. */
export const QueueMessageV1 = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(1), ...event, data }),
  z.object({
    v: z.literal(1),
    ...delivery,
    data,
    /** Kept for messages enqueued before delivery lanes; lanes count attempts themselves. */
    attempt: z.int().check(z.minimum(1)),
  }),
]);
export type QueueMessageV1 = z.infer<typeof QueueMessageV1>;

/** Where a body too big for a message is: an object of the `BODIES` R2 bucket, and its size in bytes. */
export const BodyRef = z.object({
  key: z.string().check(z.regex(/^evt_[0-9a-f]{32}\/[0-9A-Za-z-]{1,64}$/)),
  bytes: z.int().check(z.minimum(2)),
});
export type BodyRef = z.infer<typeof BodyRef>;

const ref = z.optional(BodyRef);
/** v2: the header line. Without `ref`, `data` follows the newline; with it, nothing does. */
export const MessageHeader = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(2), ...event, ref }),
  z.object({ v: z.literal(2), ...delivery, ref }),
]);
export type MessageHeader = z.infer<typeof MessageHeader>;

/** Every shape a message on the queue may have (published as schemas/queue-message.json). */
export const QueueWireMessage = z.union([MessageHeader, QueueMessageV1]);

/** A message without its data: what a header says before its body is read from R2. */
export type MessageMeta = QueueMessage extends infer M ? (M extends unknown ? Omit<M, "data"> : never) : never;

/** A decoded message: complete, or waiting for its body from R2. */
export type Decoded = { message: QueueMessage } | { meta: MessageMeta; ref: BodyRef };

/** A message ready to send: its text, its exact size in UTF-8 bytes, and the R2 key its body must be put at first. */
export type Wire = { text: string; bytes: number; offload?: BodyRef };

const encoder = new TextEncoder();

/** UTF-8 size of `text`; no encoding pass when 3 bytes per UTF-16 code unit already fit `limit`. */
export function utf8Bytes(text: string, limit = 0): number {
  return text.length * 3 <= limit ? text.length * 3 : encoder.encode(text).byteLength;
}

function header(message: QueueMessage, ref?: BodyRef): string {
  const { data: _, ...meta } = message;
  return JSON.stringify({ v: 2, ...meta, ...(ref && { ref }) });
}

/** The v2 text of a message with its data inline, whatever its size. */
export function inlineText(message: QueueMessage): string {
  return `${header(message)}\n${message.data}`;
}

/**
 * The v2 text of a message: inline when it fits a queue message, else a reference to the object `key()` names,
 * which the caller puts in R2 before sending. `bytes` is exact when the message references its body, an upper
 * bound of at most MAX_MESSAGE_BYTES otherwise.
 */
export function encodeMessage(message: QueueMessage, key: () => string): Wire {
  const text = inlineText(message);
  const bytes = utf8Bytes(text, MAX_MESSAGE_BYTES);
  if (bytes <= MAX_MESSAGE_BYTES) return { text, bytes };
  const offload = { key: key(), bytes: utf8Bytes(message.data) };
  const small = `${header(message, offload)}\n`;
  return { text: small, bytes: utf8Bytes(small), offload };
}

/** The message with the data its header referenced. */
export function withData(meta: MessageMeta, data: string): QueueMessage {
  return { ...meta, data };
}

/**
 * Reads a message body as the queue delivers it: v2 text, v1 JSON text, or a v1 object (an old producer's JSON
 * content type). Undefined when it is none of them; never throws.
 */
export function decodeMessage(body: unknown): Decoded | undefined {
  if (typeof body !== "string") return fromV1(body);
  // JSON text never holds a raw newline: the first one ends a v2 header, and a v1 message has none.
  const newline = body.indexOf("\n");
  const head = parseJson(newline === -1 ? body : body.slice(0, newline));
  if (newline === -1) return fromV1(head);
  const parsed = MessageHeader.safeParse(head);
  if (!parsed.success) return undefined;
  const { v: _, ref: found, ...meta } = parsed.data;
  const rest = body.slice(newline + 1);
  if (found) return rest === "" ? { meta, ref: found } : undefined;
  return rest.length >= 2 ? { message: withData(meta, rest) } : undefined;
}

function fromV1(value: unknown): Decoded | undefined {
  const parsed = QueueMessageV1.safeParse(value);
  if (!parsed.success) return undefined;
  if (parsed.data.kind === "event") {
    const { v: _, ...message } = parsed.data;
    return { message };
  }
  const { v: _, attempt: __, ...message } = parsed.data;
  return { message };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
