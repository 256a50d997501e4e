import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * A real webhook receiver for the end-to-end tests: node:http on 127.0.0.1, recording every request and
 * answering each one as scripted, or as `respond` decides from the request itself (a decider, see
 * e2e-decider.ts). It can go "down" (server closed, connections refused) and come back up on the same port.
 */

/** How to answer one request. */
export type Behaviour = {
  /** Status to answer with (default 200). */
  status?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the connection instead of answering. */
  drop?: boolean;
  headers?: Record<string, string>;
  /** The answer's body (default "ok", as text/plain unless `headers` say otherwise). */
  body?: string;
};

/** One request as received. */
export type ReceivedRequest = {
  method: string;
  path: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** ms since epoch when the body had been read. */
  at: number;
  /** ms since epoch when the client closed the connection before the answer was complete (e.g. its timeout). */
  abortedAt?: number;
};

export type ReceiverOptions = {
  /** Behaviours used in order, one per request; then `fallback`. */
  script?: Behaviour[];
  /** Answer once the script is used up (default 200). */
  fallback?: Behaviour;
  /** Picks the answer from the request as received; when it returns undefined, the script (or fallback) answers. */
  respond?: (req: ReceivedRequest) => Behaviour | undefined;
};

const live = new Set<Receiver>();

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  /** Behaviours still to be used, one per request. */
  script: Behaviour[];
  fallback: Behaviour;
  private readonly respond: ReceiverOptions["respond"];
  private server: Server | undefined;
  private portNumber = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(opts: ReceiverOptions) {
    this.script = [...(opts.script ?? [])];
    this.fallback = opts.fallback ?? { status: 200 };
    this.respond = opts.respond;
  }

  /** Starts a receiver on a free port of 127.0.0.1. */
  static async start(opts: ReceiverOptions = {}): Promise<Receiver> {
    const receiver = new Receiver(opts);
    live.add(receiver);
    await receiver.up();
    return receiver;
  }

  /** Closes every receiver started so far (for afterEach/afterAll). */
  static async closeAll(): Promise<void> {
    await Promise.all([...live].map((r) => r.close()));
  }

  get port(): number {
    return this.portNumber;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.portNumber}${path}`;
  }

  /** Requests that carried this `webhook-id`. */
  withId(webhookId: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.headers["webhook-id"] === webhookId);
  }

  /** Listens again (on the same port once it has had one). */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.portNumber, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("receiver has no TCP address");
    this.portNumber = address.port;
    this.server = server;
  }

  /** Goes down: stops listening and drops every open connection, so the next attempt is refused. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Goes down for good. */
  async close(): Promise<void> {
    live.delete(this);
    await this.down();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Uint8Array[] = [];
    req.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const record: ReceivedRequest = { method: req.method ?? "", path: req.url ?? "", headers, body, at: Date.now() };
      this.requests.push(record);
      res.on("close", () => {
        if (!res.writableFinished) record.abortedAt = Date.now();
      });
      const behaviour = this.respond?.(record) ?? this.script.shift() ?? this.fallback;
      const answer = () => {
        if (behaviour.drop) {
          req.socket.destroy();
          return;
        }
        if (res.destroyed) return;
        res.writeHead(behaviour.status ?? 200, { "content-type": "text/plain", ...behaviour.headers });
        res.end(behaviour.body ?? "ok");
      };
      if (!behaviour.delayMs) {
        answer();
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        answer();
      }, behaviour.delayMs);
      this.timers.add(timer);
    });
  }
}
