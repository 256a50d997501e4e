import { wants } from "../delivery/filter";
import { settings } from "../env";
import { type QueuedEnvelope, serializeEvent } from "../event";
import type { Logger } from "../log";
import { count } from "../metrics";
import { placement } from "../ordering/conversation";
import { askDecider } from "./ask";
import { DECIDER_TIMEOUT_MS } from "./config";
import { cachedDeciders } from "./store";
import { type Answer, combine, type Verdict } from "./verdict";

/** Outgoing connections a Workers request holds at once. */
const CONNECTIONS = 6;

/** What the ack path answers a before-callback with, and the event's `decision` / `decidedby` attributes. */
export type Decided = { answer: Answer; decidedBy: string };

/**
 * Asks every enabled decider that wants this before-callback, in parallel, each until its own deadline counted
 * from the callback's receipt, and reduces their verdicts to one answer in the provider's terms. Undefined when no
 * decider wants it: the caller answers as it always has.
 */
export async function decide(
  env: Env,
  event: QueuedEnvelope,
  data: string,
  payload: Record<string, unknown>,
  receivedAtMs: number,
  answer: (verdict: Verdict) => Answer,
  log: Logger,
): Promise<Decided | undefined> {
  const known = await cachedDeciders(env.TARGETS, settings(env).targetsCacheTtlMs, receivedAtMs);
  if (known.stale) log.error("deciders unreadable; deciding with the last list read", { error: known.stale.error });
  // Loud on purpose: a decider whose stored config broke is not asked, whatever its fallback says.
  if (known.invalid.length > 0) log.error("deciders fail their schema and are not asked", { invalid: known.invalid });
  const matching = known.deciders.filter((d) => wants(d, event));
  if (matching.length === 0) return undefined;
  if (matching.length > CONNECTIONS)
    log.warn("more deciders match than a request has connections; the rest wait for one", {
      matching: matching.length,
    });

  // Deciders get the event as targets will, conversation included (the consumer adds it to every other event).
  const { conversation } = placement(event.provider, event.providerevent, payload);
  if (conversation !== undefined) event.conversation = conversation;
  const body = serializeEvent(event, data);
  const asked = await Promise.all(
    matching.map((d) => askDecider(d, event.id, body, receivedAtMs + (d.timeoutMs ?? DECIDER_TIMEOUT_MS.default))),
  );
  for (const a of asked) {
    if (a.fallback === undefined) continue;
    log.warn("decider failed; its fallback applies", {
      decider: a.id,
      reason: a.fallback,
      fallback: a.verdict.decision,
    });
    count(env, "decider_fallback", event.provider, a.id, a.fallback.split(":", 1)[0]);
  }
  const combined = combine(asked);
  if (!combined) return undefined;
  const { winner, conflict } = combined;
  if (conflict.length > 0)
    log.warn("deciders asked for different changes; the lowest id wins", { winner: winner.id, lost: conflict });
  const result = answer(winner.verdict);
  if (result.ignored.length > 0)
    log.warn("part of the verdict does not apply here", { decider: winner.id, ignored: result.ignored });
  const decidedBy = winner.fallback === undefined ? winner.id : "fallback";
  count(env, "decided", event.provider, event.type, `${result.decision}:${decidedBy}`);
  return { answer: result, decidedBy };
}
