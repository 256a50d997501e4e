import { readAtMost } from "../crypto";
import { signedHeaders } from "../delivery/attempt";
import { issueSummary } from "../log";
import type { DeciderWithId } from "./config";
import { type Asked, DeciderAnswer, type Verdict } from "./verdict";

/** A verdict is a few fields and perhaps a rewritten message; anything longer is not one. */
const ANSWER_BYTES = 65_536;

const decoder = new TextDecoder();

/** The body as text, or undefined when it is longer than `limit` bytes (then it is not read further). */
async function readLimited(res: Response, limit: number): Promise<string | undefined> {
  if (!res.body) return "";
  const bytes = await readAtMost(res.body, limit);
  return bytes && decoder.decode(bytes);
}

/** The verdict in an answer, or why it is none (naming the fields, never their values). */
function parseVerdict(text: string): string | { verdict: Verdict } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "invalid verdict: not JSON";
  }
  const parsed = DeciderAnswer.safeParse(json);
  return parsed.success ? { verdict: parsed.data } : `invalid verdict: ${issueSummary(parsed.error.issues).join("; ")}`;
}

/**
 * Asks one decider, with the signed CloudEvent targets receive, and waits until `deadlineMs` at most. Whatever
 * goes wrong (timeout, connection error, non-2xx, an answer that is not a verdict) gives the decider's fallback,
 * with the reason: this never throws, and never outlasts the deadline, however the decider's answer trickles.
 */
export async function askDecider(
  decider: DeciderWithId,
  eventId: string,
  body: string,
  deadlineMs: number,
): Promise<Asked> {
  const fallback = (reason: string): Asked => ({
    id: decider.id,
    verdict: { decision: decider.fallback ?? "allow" },
    fallback: reason,
  });
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<Asked>((resolve) => {
    timer = setTimeout(
      () => {
        controller.abort();
        resolve(fallback("timeout"));
      },
      Math.max(0, deadlineMs - Date.now()),
    );
  });
  const asked = (async (): Promise<Asked> => {
    try {
      const headers = await signedHeaders(decider, eventId, body, Date.now());
      const res = await fetch(decider.url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: controller.signal,
      });
      if (res.status < 200 || res.status > 299) {
        await res.body?.cancel();
        return fallback(`HTTP ${res.status}`);
      }
      const text = await readLimited(res, ANSWER_BYTES);
      if (text === undefined) return fallback(`invalid verdict: longer than ${ANSWER_BYTES} bytes`);
      const result = parseVerdict(text);
      return typeof result === "string" ? fallback(result) : { id: decider.id, verdict: result.verdict };
    } catch (err) {
      if (controller.signal.aborted) return fallback("timeout");
      return fallback(`network: ${err instanceof Error ? err.message.slice(0, 200) : "fetch failed"}`);
    }
  })();
  try {
    return await Promise.race([asked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
