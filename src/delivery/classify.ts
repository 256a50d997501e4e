/**
 * Maps the outcome of one HTTP delivery attempt to what the consumer should do with the message.
 */

/** What happened when we tried to deliver. */
export type AttemptResult =
  | {
      kind: "response";
      status: number;
      retryAfter: string | null;
      /** The start of a failing answer's body. */
      body?: string;
    }
  | { kind: "timeout" }
  | { kind: "network"; message: string };

/** What to do next: ack as delivered, disable the target, or retry later (with a reason for logs). */
export type Verdict = { outcome: "delivered" } | { outcome: "gone" } | { outcome: "retry"; reason: string };

/**
 * Classifies a delivery attempt.
 *
 * 2xx is delivered. 410 Gone is the target's explicit request to stop sending, so it disables the
 * target. Everything else is retried: 3xx too, because following redirects would send signed
 * payloads to a URL the customer never configured; and other 4xx, because a misconfigured receiver
 * is usually fixed within the retry window and dropping events would lose data.
 *
 * @param result - The attempt's response, timeout or network error.
 * @returns The verdict; retries carry a short reason such as `"HTTP 503"`, `"timeout"` or `"network: …"`.
 */
export function classify(result: AttemptResult): Verdict {
  switch (result.kind) {
    case "response":
      if (result.status >= 200 && result.status <= 299) return { outcome: "delivered" };
      if (result.status === 410) return { outcome: "gone" };
      return { outcome: "retry", reason: `HTTP ${result.status}` };
    case "timeout":
      return { outcome: "retry", reason: "timeout" };
    case "network":
      return { outcome: "retry", reason: `network: ${result.message}` };
  }
}
