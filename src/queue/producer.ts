import { RelayError } from "../errors";
import type { EventEnvelope } from "../event";
import { MAX_MESSAGE_BYTES } from "../ingress/body";
import type { DeliveryMessage, QueueMessage } from "./message";

/**
 * The only module that writes to the queue. Messages are sent as JSON (not V8 serialisation) so their size is
 * known exactly before sending and a message any consumer version can read.
 */

const encoder = new TextEncoder();

function sizeOf(message: QueueMessage): number {
  return encoder.encode(JSON.stringify(message)).byteLength;
}

/** Puts a new event on the queue; resolves only once the queue has it. Throws PAYLOAD_TOO_LARGE / ENQUEUE_FAILED. */
export async function enqueueEvent(queue: Queue, event: EventEnvelope, data: string): Promise<void> {
  const message: QueueMessage = { v: 1, kind: "event", event, data };
  if (sizeOf(message) > MAX_MESSAGE_BYTES) {
    throw new RelayError(
      "PAYLOAD_TOO_LARGE",
      `event exceeds ${MAX_MESSAGE_BYTES} bytes, the largest a queue message holds`,
    );
  }
  try {
    await queue.send(message, { contentType: "json" });
  } catch (err) {
    throw new RelayError("ENQUEUE_FAILED", "could not enqueue the event", { cause: String(err) });
  }
}

/** A message and the delay before it is read. */
export type Scheduled<M extends QueueMessage = QueueMessage> = { message: M; delaySeconds: number };
/** A delivery (one event, one target) and its delay. */
export type ScheduledDelivery = Scheduled<DeliveryMessage>;

/**
 * Enqueues messages (retries, deferred deliveries, replays) with their delays, in as few `sendBatch` calls as the Queue limits allow
 * (100 messages or 256 KB per call). Returns how many calls it made (each is a subrequest).
 */
export async function enqueueMessages(queue: Queue, messages: readonly Scheduled[]): Promise<number> {
  const BATCH_BYTES = 250_000;
  let calls = 0;
  let batch: MessageSendRequest[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await queue.sendBatch(batch);
    calls++;
    batch = [];
    bytes = 0;
  };
  for (const { message, delaySeconds } of messages) {
    const size = sizeOf(message);
    if (batch.length === 100 || bytes + size > BATCH_BYTES) await flush();
    batch.push({ body: message, contentType: "json", delaySeconds });
    bytes += size;
  }
  await flush();
  return calls;
}
