import { verifyWebhook } from "../../scripts/receiver.mjs";
import { type Behaviour, type ReceivedRequest, Receiver } from "./e2e-receiver";

/**
 * A real decider for the end-to-end tests: a Receiver (node:http on 127.0.0.1, free port) that checks each
 * request's Standard Webhooks signature with the decider's secret (scripts/receiver.mjs verifyWebhook) and
 * answers what the test scripted for the callback: it is keyed by the `e2eCase` member the test put in the
 * callback's body, which the relay passes on as the CloudEvent's `data`.
 */

/** The body member a test marks its callback with, so the decider knows which script entry answers it. */
export const MARKER = "e2eCase";

/** What the relay POSTs a decider, as far as the decider reads it. */
type AskedEvent = { id?: string; data?: Record<string, unknown> };

export class Decider {
  /**
   * The `whsec_` secrets of the deciders registered at this server (the admin API shows a generated one once, on
   * create); a request must verify with one of them.
   */
  readonly secrets = new Set<string>();
  /** Requests whose signature did not verify; each was answered 401 (so the relay fell back). */
  readonly unverified: ReceivedRequest[] = [];
  /** Requests for a callback nobody scripted; each was answered 404. */
  readonly unscripted: ReceivedRequest[] = [];
  private readonly answers = new Map<string, Behaviour>();

  private constructor(private readonly receiver: Receiver) {}

  /** Starts a decider; close() or Receiver.closeAll() stops it. */
  static async start(): Promise<Decider> {
    let self: Decider | undefined;
    const receiver = await Receiver.start({ respond: (req) => self?.answer(req) });
    self = new Decider(receiver);
    return self;
  }

  url(path = "/decide"): string {
    return this.receiver.url(path);
  }

  /** Stops listening: the relay's next request is refused. */
  close(): Promise<void> {
    return this.receiver.close();
  }

  /** Answers the callback marked `marker` with this verdict (200, JSON). */
  verdict(marker: string, verdict: Record<string, unknown>): void {
    this.behave(marker, {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(verdict),
    });
  }

  /** Answers the callback marked `marker` as `behaviour` says (a status, a delay, a body that is no verdict). */
  behave(marker: string, behaviour: Behaviour): void {
    this.answers.set(marker, behaviour);
  }

  /** The requests the relay made for the callback marked `marker`. */
  asked(marker: string): ReceivedRequest[] {
    return this.receiver.requests.filter((req) => markerOf(req) === marker);
  }

  private answer(req: ReceivedRequest): Behaviour {
    if (![...this.secrets].some((secret) => verifyWebhook(secret, req.headers, req.body).ok)) {
      this.unverified.push(req);
      return { status: 401 };
    }
    const behaviour = this.answers.get(markerOf(req) ?? "");
    if (!behaviour) {
      this.unscripted.push(req);
      return { status: 404 };
    }
    return behaviour;
  }
}

function markerOf(req: ReceivedRequest): string | undefined {
  try {
    const marker = (JSON.parse(req.body) as AskedEvent).data?.[MARKER];
    return typeof marker === "string" ? marker : undefined;
  } catch {
    return undefined;
  }
}
