/** A Queue binding that records what is sent, and can be told to fail, for tests of the ack path. */
export class FakeQueue {
  sent: { body: unknown; options?: QueueSendOptions }[] = [];
  failWith: Error | undefined;

  async send(body: unknown, options?: QueueSendOptions): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ body, options });
  }

  async sendBatch(messages: Iterable<MessageSendRequest>): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const m of messages)
      this.sent.push({ body: m.body, options: { contentType: m.contentType, delaySeconds: m.delaySeconds } });
  }
}
