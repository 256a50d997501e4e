import { WorkerEntrypoint } from "cloudflare:workers";

/**
 * A stand-in for the relay's queue binding in the end-to-end outage test (test/e2e/outbox.test.ts), run as a
 * second Worker in the same `wrangler dev` session. The relay's `EVENTS` is bound to it; it passes `send` and
 * `sendBatch` through to the real local queue, or throws while switched off. Served on the dev server's port, it
 * switches on `POST /__queue/down` and `/__queue/up`, and forwards every other request to the relay.
 * Local Queues cannot be made to fail otherwise.
 */

type SwitchEnv = { REAL: Queue; RELAY: Fetcher };

/** Module state: the session runs one isolate of this Worker. */
let down = false;

export default class QueueSwitch extends WorkerEntrypoint<SwitchEnv> {
  override async fetch(req: Request): Promise<Response> {
    const { pathname } = new URL(req.url);
    if (req.method === "POST" && (pathname === "/__queue/down" || pathname === "/__queue/up")) {
      down = pathname === "/__queue/down";
      return Response.json({ down });
    }
    return this.env.RELAY.fetch(req);
  }

  async send(body: unknown, options?: QueueSendOptions): Promise<QueueSendResponse> {
    if (down) throw new Error("queue unavailable (switched off by the test)");
    return this.env.REAL.send(body, options);
  }

  async sendBatch(
    messages: Iterable<MessageSendRequest>,
    options?: QueueSendBatchOptions,
  ): Promise<QueueSendBatchResponse> {
    if (down) throw new Error("queue unavailable (switched off by the test)");
    return this.env.REAL.sendBatch([...messages], options);
  }
}
