import { requestIdOf } from "../context";
import { decide } from "../deciders/decide";
import { toRelayError } from "../errors";
import { buildEvent } from "../event";
import { createLogger, issueSummary, logSettings } from "../log";
import { count } from "../metrics";
import { lookup } from "../providers/fields";
import type { Channel } from "../providers/provider";
import { enqueueEvent } from "../queue/producer";
import { parseJsonObject } from "./body";

/**
 * The ack path, identical for every provider channel: authenticate the raw bytes, parse, build the event,
 * await the enqueue, and only then answer in the provider's format; before-callbacks are also validated and,
 * where a decider wants them, decided. A callback that fails its schema (or whose command we do not know) is
 * still forwarded, marked `schemavalid: false` (by the consumer, for after-callbacks): it is authentic, and
 * dropping it would lose data the customer may need.
 *
 * It is a plain function, dispatched before the Hono app (see app.ts): the hot path pays for no router or
 * middleware it does not use.
 */
export async function handleCallback(channel: Channel, req: Request, url: URL, env: Env): Promise<Response> {
  const requestId = requestIdOf(req);
  const res = await respond(channel, req, url, env, requestId);
  res.headers.set("x-request-id", requestId);
  return res;
}

async function respond(channel: Channel, req: Request, url: URL, env: Env, requestId: string): Promise<Response> {
  const log = createLogger({ requestId, provider: channel.provider, channel: channel.channel }, logSettings(env));
  // Known once authenticated: a refusal after that (bad body, enqueue failed) names the app that sent it.
  let appId: string | undefined;
  try {
    const nowMs = Date.now();
    const authenticated = await channel.authenticate(req, url, env, nowMs);
    appId = authenticated.appId;
    const { body, requestTime } = authenticated;
    const { text, payload } = parseJsonObject(body, channel.routingKey);
    if (channel.isProbe(payload)) {
      log.info("address check answered", { appId });
      return channel.ack("", payload);
    }
    const key = channel.identify(payload, url);
    const entry = lookup(channel.catalogue, key);
    // Only a before-callback's answer can depend on its schema (its deciders see `schemavalid`); the consumer
    // checks the others, off the provider's wait.
    const before = entry?.phase === "before";
    const result = before ? entry.schema.safeParse(payload) : undefined;
    const ownTime = channel.eventTime(payload);
    const event = await buildEvent({
      provider: channel.provider,
      channel: channel.channel,
      appId,
      body,
      providerEvent: channel.providerEvent(key),
      type: channel.eventType(key, payload),
      timeMs: ownTime ?? nowMs,
      salt: ownTime === undefined ? (requestTime ?? String(nowMs)) : undefined,
      schemaValid: result?.success,
      attributes: channel.attributes?.(url),
    });
    // Before-callbacks alone read the deciders; the event is enqueued with their decision, before it is answered.
    const answer = before ? channel.decide : undefined;
    const decided = answer && (await decide(env, event, text, payload, nowMs, (v) => answer(key, payload, v), log));
    if (decided) {
      event.decision = decided.answer.decision;
      event.decidedby = decided.decidedBy;
    }
    await enqueueEvent(env, event, text, log);

    const fields = {
      appId,
      eventId: event.id,
      providerevent: event.providerevent,
      type: event.type,
      ...(result && { schemavalid: result.success }),
      ...(decided && { decision: event.decision, decidedby: event.decidedby }),
    };
    if (!entry) log.warn("accepted an unknown event type", fields);
    else if (result && !result.success)
      log.warn("accepted a callback that fails its schema", { ...fields, issues: issueSummary(result.error.issues) });
    else log.info("callback accepted", fields);

    count(env, "accepted", channel.provider, event.type, entry ? "" : "unknown_type");
    const res = decided ? Response.json(decided.answer.body) : channel.ack(key, payload);
    res.headers.set("x-imrelay-event-id", event.id);
    return res;
  } catch (thrown) {
    const err = toRelayError(thrown);
    const fields = { code: err.code, status: err.status, reason: err.message, ...(appId && { appId }), ...err.detail };
    if (err.status >= 500) log.error("callback failed", fields);
    else log.warn("callback refused", fields);
    count(env, "refused", channel.provider, channel.channel, err.code);
    return channel.reject(err, requestId);
  }
}
