import { createExecutionContext, env } from "cloudflare:test";
import { createApp } from "../../src/app";
import { type QueuedEnvelope, serializeEvent } from "../../src/event";
import type { QueueMessage } from "../../src/queue/message";
import { prepare } from "../../src/queue/prepare";
import { FakeQueue } from "./fake-queue";

/** The relay's fetch handler over the test bindings, with a recording queue in place of the real one. */
export function relayWithFakeQueue(overrides: Partial<Env> = {}) {
  const queue = new FakeQueue();
  const testEnv = { ...env, ...overrides, EVENTS: queue as unknown as Queue } as Env;
  const app = createApp();
  return {
    queue,
    env: testEnv,
    fetch: (req: Request) => app.fetch(req, testEnv, createExecutionContext()),
    /** The events enqueued so far, as customers receive them: checked by the consumer, `data` parsed. */
    events: () =>
      queue.sent.map((s) => {
        const message = s.body as QueueMessage;
        const { event } = prepare(message.event, message.data);
        return { ...event, data: JSON.parse(message.data) as Record<string, unknown> };
      }),
    /** The envelopes exactly as the ack path enqueued them. */
    queued: () => queue.sent.map((s) => (s.body as QueueMessage).event),
  };
}

/** The body a target receives for an enqueued event: what the consumer adds (verdict, conversation), `data` raw. */
export function asDelivered(event: QueuedEnvelope, data: string): string {
  return serializeEvent(prepare(event, data).event, data);
}
