import { signingSecrets, type TargetWithId } from "../config/target";
import type { AttemptResult } from "./classify";
import { sign } from "./signature";

/** Sent on every delivery so receivers can recognise (and allow-list) the relay. */
const USER_AGENT = "imrelay/0.1 (+https://github.com/imrelay/imrelay)";

/**
 * One HTTP delivery of an event to a target, as a Standard Webhooks request carrying a CloudEvent in structured
 * mode. Redirects are not followed (a redirect is a misconfiguration to retry and surface, and following one
 * would send the signed body to a URL nobody validated). The response body is discarded unread.
 */
export async function attemptDelivery(
  target: TargetWithId,
  eventId: string,
  body: string,
  timeoutMs: number,
  nowMs: number = Date.now(),
): Promise<AttemptResult> {
  const timestamp = Math.floor(nowMs / 1000);
  const headers = new Headers(target.headers);
  headers.set("content-type", "application/cloudevents+json");
  headers.set("user-agent", USER_AGENT);
  headers.set("webhook-id", eventId);
  headers.set("webhook-timestamp", String(timestamp));
  // One signature per live secret, space-separated as the spec allows, so a secret can rotate without downtime.
  const signatures = await Promise.all(signingSecrets(target, nowMs).map((s) => sign(s, eventId, timestamp, body)));
  headers.set("webhook-signature", signatures.join(" "));
  try {
    const res = await fetch(target.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(target.timeoutMs ?? timeoutMs),
    });
    await res.body?.cancel();
    return { kind: "response", status: res.status, retryAfter: res.headers.get("retry-after") };
  } catch (err) {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return { kind: "timeout" };
    return { kind: "network", message: err instanceof Error ? err.message.slice(0, 200) : "fetch failed" };
  }
}

/** Runs `fn` over `items` with at most `limit` in flight: Workers allow 6 open connections per invocation, and a
 * request queued behind them must not spend its timeout waiting for a connection. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
