import { decodeMessage } from "../../src/queue/message";

/**
 * Text messages are v2 (see src/queue/message.ts): recorded decoded, so tests read objects. A message whose body
 * is in R2 is recorded as its header's fields and `ref`. A text the consumer could not decode fails the send.
 */
function decoded(body: unknown, contentType: QueueContentType | undefined): unknown {
  if (contentType !== "text" || typeof body !== "string") return body;
  const message = decodeMessage(body);
  if (!message) throw new Error(`the relay sent a message the consumer cannot read: ${body.slice(0, 200)}`);
  return "message" in message ? message.message : { ...message.meta, ref: message.ref };
}

/** One message sent: decoded, as it was sent (`raw`, what the consumer receives), and its options. */
export type Sent = { body: unknown; raw: unknown; options?: QueueSendOptions };

/** A Queue binding that records what is sent, and can be told to fail, for tests of the ack path. */
export class FakeQueue {
  sent: Sent[] = [];
  failWith: Error | undefined;

  async send(body: unknown, options?: QueueSendOptions): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ body: decoded(body, options?.contentType), raw: body, options });
  }

  async sendBatch(messages: Iterable<MessageSendRequest>): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const m of messages) {
      const options = { contentType: m.contentType, delaySeconds: m.delaySeconds };
      this.sent.push({ body: decoded(m.body, m.contentType), raw: m.body, options });
    }
  }
}
