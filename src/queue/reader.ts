import { deleteBodies, getBody } from "../bodies/store";
import type { Logger } from "../log";
import { putDeadLetter } from "./dead-letters";
import { decodeMessage, type QueueMessage, withData } from "./message";

/** Delay before a message is retried after an infrastructure failure (KV, R2, or a lane, unavailable). */
export const INFRA_RETRY_SECONDS = 30;
/**
 * Bodies read from R2 per invocation, in bytes. Workers have 128 MB of memory, and a lane call carries at most
 * 32 MiB: past this, the next invocation takes the rest of the batch.
 */
const R2_BYTES_PER_BATCH = 8_000_000;

/** A message as the consumer routes it, and the R2 key of its body when it was too big to travel inline. */
export type Read = { message: QueueMessage; key?: string };

/**
 * Reads a batch's messages, fetching from R2 the bodies too big for a message, within the invocation's
 * subrequest budget (shared with the lane calls) and R2_BYTES_PER_BATCH. A message it cannot read now is retried;
 * a malformed one is dead-lettered. Either way it answers undefined, and the message is settled.
 */
export class MessageReader {
  private bytes = 0;
  /** One subrequest is kept back for deleting the batch's R2 bodies once any is read. */
  private reserved = false;

  constructor(
    private readonly env: Env,
    private readonly log: Logger,
    private budget: number,
  ) {}

  /** Takes `n` subrequests; false when they are not left (and `started`: this invocation has other work). */
  spend(n: number, started: boolean): boolean {
    if (n > this.budget && started) return false;
    this.budget -= n;
    return true;
  }

  /** One message, its body read from R2 when it references one; `started` as for `spend`. */
  async read(msg: Message<unknown>, started: boolean): Promise<Read | undefined> {
    const decoded = decodeMessage(msg.body);
    if (!decoded) {
      await deadLetterMalformed(this.env, msg, this.log);
      return undefined;
    }
    if ("message" in decoded) return { message: decoded.message };
    const { meta, ref } = decoded;
    const overMemory = this.bytes > 0 && this.bytes + ref.bytes > R2_BYTES_PER_BATCH;
    if (overMemory || !this.spend(this.reserved ? 1 : 2, started || this.bytes > 0)) {
      msg.retry({ delaySeconds: 0 });
      return undefined;
    }
    this.reserved = true;
    let data: string | undefined;
    try {
      data = await getBody(this.env.BODIES, ref.key);
    } catch (err) {
      this.log.error("could not read an event's body from R2; its message is retried", {
        eventId: meta.event.id,
        reason: String(err),
      });
      msg.retry({ delaySeconds: INFRA_RETRY_SECONDS });
      return undefined;
    }
    if (data === undefined) {
      // Deleted only once a copy of this same message was done with: every lane it goes to has the event.
      this.log.warn("event body already gone from R2: another copy of its message was handled; acked", {
        eventId: meta.event.id,
        messageId: msg.id,
      });
      msg.ack();
      return undefined;
    }
    this.bytes += ref.bytes;
    return { message: withData(meta, data), key: ref.key };
  }

  /** Deletes the R2 bodies of acked messages. A failure costs nothing but storage: the lifecycle rule removes them. */
  async forget(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await deleteBodies(this.env.BODIES, keys);
    } catch (err) {
      this.log.warn("could not delete event bodies from R2; the bucket's lifecycle rule will", {
        bodies: keys.length,
        reason: String(err),
      });
    }
  }
}

async function deadLetterMalformed(env: Env, msg: Message<unknown>, log: Logger): Promise<void> {
  let raw: string;
  try {
    raw = JSON.stringify(msg.body) ?? String(msg.body);
  } catch {
    raw = String(msg.body);
  }
  const id = await putDeadLetter(env.TARGETS, {
    kind: "malformed",
    raw: raw.slice(0, 100_000),
    lastError: "message does not match the queue message schema",
    attempts: msg.attempts,
  });
  log.error("malformed queue message dead-lettered", { messageId: msg.id, deadLetter: id });
  msg.ack();
}
