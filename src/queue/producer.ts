import { bodyKey, putBody } from "../bodies/store";
import { RelayError } from "../errors";
import type { QueuedEnvelope } from "../event";
import type { Logger } from "../log";
import { count } from "../metrics";
import { outboxStub } from "../outbox/route";
import { encodeMessage, inlineText, type QueueMessage, type Wire } from "./message";

/**
 * The only module that writes new messages to the queue (the outbox re-sends what it kept). A message is encoded
 * once, here (see message.ts): its size is known before sending, the queue does not serialise it again, and a
 * body too big for a message is put in R2 first.
 */

/** `sendBatch` takes at most 100 messages or 256 KB per call. */
export const BATCH_MESSAGES = 100;
export const BATCH_BYTES = 250_000;

/** Why an event went to the outbox: R2 refused its body, or the queue refused the message. */
type Refused = { by: "bodies" | "queue"; cause: unknown };

/**
 * Makes a new event durable; resolves only once it is. Normally that is one `queue.send` (plus one R2 put for a
 * body too big for a message). When R2 or the queue refuses, the event goes to the outbox instead, which moves it
 * to the queue once the queue takes messages again: providers do not retry every callback, so a queue outage
 * must not become a refusal. Throws ENQUEUE_FAILED only when the outbox fails too.
 */
export async function enqueueEvent(env: Env, event: QueuedEnvelope, data: string, log?: Logger): Promise<void> {
  const message: QueueMessage = { kind: "event", event, data };
  const wire = encodeMessage(message, () => bodyKey(event.id));
  const refused = await send(env, wire, data);
  if (!refused) return;
  try {
    // The outbox keeps the data inline and puts a big body in R2 itself when it drains: what it holds never
    // depends on an object that may expire (an object put above and left behind goes with the lifecycle rule).
    await outboxStub(env, event.id).put(wire.offload ? inlineText(message) : wire.text);
  } catch (err) {
    throw new RelayError("ENQUEUE_FAILED", "could not enqueue the event", {
      refusedBy: refused.by,
      cause: String(refused.cause),
      outbox: String(err),
    });
  }
  log?.warn("event kept in the outbox: it reaches the queue once the queue takes it", {
    eventId: event.id,
    refusedBy: refused.by,
    cause: String(refused.cause),
  });
  count(env, "outboxed", event.provider, event.type, refused.by);
}

/** Puts a message on the queue, its body in R2 first when it has to be; says what refused it, if anything. */
async function send(env: Env, wire: Wire, data: string): Promise<Refused | undefined> {
  if (wire.offload) {
    try {
      await putBody(env.BODIES, wire.offload.key, data);
    } catch (cause) {
      return { by: "bodies", cause };
    }
  }
  try {
    await env.EVENTS.send(wire.text, { contentType: "text" });
  } catch (cause) {
    return { by: "queue", cause };
  }
  return undefined;
}

/** A message and the delay before it is read. */
type Scheduled = { message: QueueMessage; delaySeconds: number };

/**
 * Enqueues messages (operators' replays) with their delays, in as few `sendBatch` calls as the Queue limits
 * allow, bodies too big for a message put in R2 first. Returns how many subrequests it made.
 */
export async function enqueueMessages(env: Env, messages: readonly Scheduled[]): Promise<number> {
  let calls = 0;
  const wires: { wire: Wire; delaySeconds: number }[] = [];
  for (const { message, delaySeconds } of messages) {
    const wire = encodeMessage(message, () => bodyKey(message.event.id));
    if (wire.offload) {
      await putBody(env.BODIES, wire.offload.key, message.data);
      calls++;
    }
    wires.push({ wire, delaySeconds });
  }
  for (const batch of batches(wires, (w) => w.wire.bytes)) {
    await env.EVENTS.sendBatch(
      batch.map(({ wire, delaySeconds }) => ({ body: wire.text, contentType: "text", delaySeconds })),
    );
    calls++;
  }
  return calls;
}

/** Splits items into `sendBatch` calls: at most BATCH_MESSAGES messages and BATCH_BYTES bytes each, in order. */
export function batches<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (batch.length === BATCH_MESSAGES || (batch.length > 0 && size + bytes > BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(item);
    size += bytes;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}
