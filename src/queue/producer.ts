import { RelayError } from "../errors";
import type { QueuedEnvelope } from "../event";
import { MAX_MESSAGE_BYTES } from "../ingress/body";
import type { QueueMessage } from "./message";

/**
 * The only module that writes to the queue. A message is serialised once, here, and sent as JSON text: its size
 * is known exactly before sending, the queue does not serialise it again, and any consumer version can read it.
 */

const encoder = new TextEncoder();
/** `sendBatch` takes at most 100 messages or 256 KB per call. */
const BATCH_MESSAGES = 100;
const BATCH_BYTES = 250_000;

/**
 * Serialises a message. `bytes` bounds its UTF-8 size from above: 3 bytes per UTF-16 code unit when that already
 * fits the limit (no encoding pass for the usual small message), else the exact count.
 */
function serialize(message: QueueMessage): { json: string; bytes: number } {
  const json = JSON.stringify(message);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: small messages need no encoding pass to be known to fit.
  const bytes = json.length * 3 <= MAX_MESSAGE_BYTES ? json.length * 3 : encoder.encode(json).byteLength;
  return { json, bytes };
}

/** Puts a new event on the queue; resolves only once the queue has it. Throws PAYLOAD_TOO_LARGE / ENQUEUE_FAILED. */
export async function enqueueEvent(queue: Queue, event: QueuedEnvelope, data: string): Promise<void> {
  const { json, bytes } = serialize({ v: 1, kind: "event", event, data });
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new RelayError(
      "PAYLOAD_TOO_LARGE",
      `event exceeds ${MAX_MESSAGE_BYTES} bytes, the largest a queue message holds`,
    );
  }
  try {
    await queue.send(json, { contentType: "text" });
  } catch (err) {
    throw new RelayError("ENQUEUE_FAILED", "could not enqueue the event", { cause: String(err) });
  }
}

/** A message and the delay before it is read. */
type Scheduled = { message: QueueMessage; delaySeconds: number };

/**
 * Enqueues messages (operators' replays) with their delays, in as few `sendBatch` calls as the
 * Queue limits allow. Returns how many calls it made (each is a subrequest).
 */
export async function enqueueMessages(queue: Queue, messages: readonly Scheduled[]): Promise<number> {
  let calls = 0;
  let batch: MessageSendRequest[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await queue.sendBatch(batch);
    calls++;
    batch = [];
    size = 0;
  };
  for (const { message, delaySeconds } of messages) {
    const { json, bytes } = serialize(message);
    if (batch.length === BATCH_MESSAGES || size + bytes > BATCH_BYTES) await flush();
    batch.push({ body: json, contentType: "text", delaySeconds });
    size += bytes;
  }
  await flush();
  return calls;
}
