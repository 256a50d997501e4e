/** Text messages are JSON (see src/queue/producer.ts): recorded decoded, so tests read objects. */
function decoded(body: unknown, contentType: QueueContentType | undefined): unknown {
  return contentType === "text" && typeof body === "string" ? JSON.parse(body) : body;
}

/** A Queue binding that records what is sent, and can be told to fail, for tests of the ack path. */
export class FakeQueue {
  sent: { body: unknown; options?: QueueSendOptions }[] = [];
  failWith: Error | undefined;

  async send(body: unknown, options?: QueueSendOptions): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ body: decoded(body, options?.contentType), options });
  }

  async sendBatch(messages: Iterable<MessageSendRequest>): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const m of messages) {
      const options = { contentType: m.contentType, delaySeconds: m.delaySeconds };
      this.sent.push({ body: decoded(m.body, m.contentType), options });
    }
  }
}
