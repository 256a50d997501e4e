import { type Signed, signingSecrets } from "../config/endpoint";
import type { TargetWithId } from "../config/target";
import { concatBytes } from "../crypto";
import type { AttemptResult } from "./classify";
import { networkErrorReason } from "./lost-connection";
import { sign } from "./signature";

/** Sent on every delivery so receivers can recognise (and allow-list) the relay. */
const USER_AGENT = "imrelay/0.1 (+https://github.com/imrelay/imrelay)";

/**
 * The headers of a signed Standard Webhooks request carrying a CloudEvent in structured mode, as targets and
 * deciders receive it: the endpoint's own headers, then the relay's, which they cannot override.
 */
export async function signedHeaders(
  endpoint: Signed & { headers?: Record<string, string> | undefined },
  eventId: string,
  body: string,
  nowMs: number,
): Promise<Headers> {
  const timestamp = Math.floor(nowMs / 1000);
  const headers = new Headers(endpoint.headers);
  headers.set("content-type", "application/cloudevents+json");
  headers.set("user-agent", USER_AGENT);
  headers.set("webhook-id", eventId);
  headers.set("webhook-timestamp", String(timestamp));
  // One signature per live secret, space-separated as the spec allows, so a secret can rotate without downtime.
  const signatures = await Promise.all(signingSecrets(endpoint, nowMs).map((s) => sign(s, eventId, timestamp, body)));
  headers.set("webhook-signature", signatures.join(" "));
  return headers;
}

/**
 * One HTTP delivery of an event to a target. Redirects are not followed (a redirect is a misconfiguration to
 * retry and surface, and following one would send the signed body to a URL nobody validated). Of a failing
 * answer the first 512 bytes are kept for the delivery log; the rest of any answer is discarded unread.
 */
export async function attemptDelivery(
  target: TargetWithId,
  eventId: string,
  body: string,
  timeoutMs: number,
  nowMs: number = Date.now(),
): Promise<AttemptResult> {
  const headers = await signedHeaders(target, eventId, body, nowMs);
  try {
    const res = await fetch(target.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(target.timeoutMs ?? timeoutMs),
    });
    const ok = res.status >= 200 && res.status <= 299;
    const start = ok ? undefined : await bodyStart(res);
    // An empty answer (the usual 2xx/204) has nothing to drain; cancelling it costs as much as a small request.
    if (res.headers.get("content-length") !== "0") await res.body?.cancel();
    return { kind: "response", status: res.status, retryAfter: res.headers.get("retry-after"), body: start };
  } catch (err) {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return { kind: "timeout" };
    const message = err instanceof Error ? err.message.slice(0, 200) : "fetch failed";
    return { kind: "network", message: await networkErrorReason(target.url, message) };
  }
}

const RESPONSE_BYTES = 512;
const decoder = new TextDecoder();

/** The first {@link RESPONSE_BYTES} bytes of a body as text; a receiver's error page is often the only clue. */
async function bodyStart(res: Response): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A connection dropped mid-body still leaves its status to classify.
  } finally {
    reader.releaseLock();
  }
  if (size === 0) return undefined;
  return decoder.decode(concatBytes(chunks).slice(0, RESPONSE_BYTES));
}
