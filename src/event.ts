import * as z from "zod/mini";
import { concatBytes, hexDigest } from "./crypto";
import type { ProviderName } from "./providers/provider";

/**
 * The event's attributes: everything customers receive except `data`. The relay carries `data` separately, as
 * the raw JSON text of the callback body, and splices it in when delivering (see `serializeEvent`): parsing and
 * re-serialising would change it (integers above 2^53, such as NetEase's 64-bit `msgId`, lose precision).
 */
export const EventEnvelope = z.object({
  specversion: z.literal("1.0"),
  /**
   * Deterministic from (provider, app, channel, raw body), plus the request time when the body has no time of
   * its own: a provider's duplicate, or a replay of a captured request, gets the same id.
   */
  id: z.string().check(z.regex(/^evt_[0-9a-f]{32}$/)),
  source: z.string().check(z.minLength(1)),
  type: z.string().check(z.minLength(1)),
  time: z.iso.datetime(),
  datacontenttype: z.literal("application/json"),
  provider: z.enum(["tencent", "netease"]),
  /** Tencent CallbackCommand, or NetEase `cc.<eventType>` / `callback.<eventType>`. */
  providerevent: z.string().check(z.minLength(1)),
  appid: z.string().check(z.minLength(1)),
  schemavalid: z.boolean(),
  /** Tencent only: the `ClientIP` and `OptPlatform` query parameters, which the body does not repeat. */
  clientip: z.optional(z.string().check(z.maxLength(64))),
  optplatform: z.optional(z.string().check(z.maxLength(32))),
  /**
   * Before-callbacks a decider wanted: what the provider was answered (`modify` is an allow that changed the
   * action), and by whom: the winning decider's id, or `fallback` when that was a decider's fallback verdict.
   * Absent when no decider wanted the event (it was allowed unmodified, as every callback without one is).
   */
  decision: z.optional(z.enum(["allow", "modify", "deny", "drop"])),
  decidedby: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /**
   * The conversation the event belongs to (`c2c:alice:bob`, `group:@TGS#1`, `team:123` …; see src/ordering/),
   * within its provider and app; absent for an event that belongs to none. Targets with `ordering:
   * "conversation"` receive each conversation's events one at a time, in order.
   */
  conversation: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/**
 * The envelope as the ingress enqueues it. Checking an after-callback against its schema does not change the
 * provider's answer, so the ack path leaves `schemavalid` to the consumer (src/validate/); before-callbacks are
 * checked at once, since deciders receive the event before the answer.
 */
export const QueuedEnvelope = z.object({ ...EventEnvelope.shape, schemavalid: z.optional(z.boolean()) });
export type QueuedEnvelope = z.infer<typeof QueuedEnvelope>;

/**
 * The event customers receive: CloudEvents 1.0, structured JSON mode. `data` is the provider's callback body
 * exactly as received; the extension attributes say where it came from and whether it matched the provider's
 * documented schema. (Published as schemas/event.json.)
 *
 * Open to attributes it does not name: CloudEvents consumers must ignore unknown extension attributes, and the
 * relay adds new ones (as it added `decision`), so a receiver validating with schemas/event.json must not reject
 * an event a newer relay sends. The internal queue message stays closed: one producer writes it, under `v`.
 */
export const CloudEvent = z.looseObject({ ...EventEnvelope.shape, data: z.record(z.string(), z.unknown()) });
export type CloudEvent = z.infer<typeof CloudEvent>;

/**
 * The delivered body: the envelope's JSON with the raw `data` text spliced in, byte for byte. `data` is known
 * to be a JSON object: the ingress parsed it before accepting the callback.
 */
export function serializeEvent(event: QueuedEnvelope, data: string): string {
  return spliceData(JSON.stringify(event), data);
}

/** The same, from the envelope's JSON as stored (a lane keeps it serialised: no parse and stringify again). */
export function spliceData(envelopeJson: string, data: string): string {
  return `${envelopeJson.slice(0, -1)},"data":${data}}`;
}

const encoder = new TextEncoder();

/**
 * Event id: SHA-256 over the provider, app, channel and the raw body bytes, 128 bits in hex. Hashing the raw
 * bytes (not a re-serialisation) keeps the id stable across parsers; the prefix keeps apps and channels apart.
 * `salt` makes distinct events with identical bodies distinct (see `EventInput.salt`).
 */
export async function eventId(
  provider: ProviderName,
  appId: string,
  channel: string,
  body: Uint8Array,
  salt?: string,
): Promise<string> {
  const prefix = encoder.encode(`${provider}\n${appId}\n${channel}\n${salt === undefined ? "" : `${salt}\n`}`);
  const hex = await hexDigest("SHA-256", concatBytes([prefix, body]));
  return `evt_${hex.slice(0, 32)}`;
}

/** Everything the envelope is made of, as the ingress knows it. */
export type EventInput = {
  provider: ProviderName;
  channel: string;
  appId: string;
  body: Uint8Array;
  providerEvent: string;
  type: string;
  /** ms since epoch; the event's own time where the payload has one, else the time of receipt. */
  timeMs: number;
  /**
   * Set when the body carries no time of its own: the provider's request time, else the receipt time. Lanes
   * deduplicate on the event id, and two distinct events with identical bodies (a friend deleted twice) must
   * not share one. A provider's retry of such a body, sent with a new request time, is then a new event.
   */
  salt?: string;
  /** Known at ingress for before-callbacks only; the consumer checks the rest. */
  schemaValid?: boolean;
  /** Extension attributes a channel reads from outside the body. */
  attributes?: Pick<EventEnvelope, "clientip" | "optplatform">;
};

/** Builds the envelope of the CloudEvent for a verified callback. */
export async function buildEvent(input: EventInput): Promise<QueuedEnvelope> {
  const source = input.provider === "tencent" ? `/tencent/${input.appId}` : `/netease/${input.appId}/${input.channel}`;
  return {
    specversion: "1.0",
    id: await eventId(input.provider, input.appId, input.channel, input.body, input.salt),
    source,
    type: input.type,
    time: new Date(input.timeMs).toISOString(),
    datacontenttype: "application/json",
    provider: input.provider,
    providerevent: input.providerEvent,
    appid: input.appId,
    ...(input.schemaValid !== undefined && { schemavalid: input.schemaValid }),
    ...input.attributes,
  };
}
