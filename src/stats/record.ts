import type { Logger } from "../log";
import type { Stats } from "./stats";
import type { StatEntry } from "./summary";

/** The one Stats object. */
export function statsStub(env: Env): DurableObjectStub<Stats> {
  return env.STATS.get(env.STATS.idFromName("global"));
}

/**
 * Adds counts to the Stats object. Never throws: the console's figures are worth less than the work that produced
 * them, so a failure is logged and the counts are lost, nothing else.
 */
export async function recordStats(env: Env, entries: StatEntry[], log?: Logger): Promise<void> {
  if (entries.length === 0) return;
  try {
    await statsStub(env).add(entries);
  } catch (err) {
    log?.warn("could not record console stats", { reason: String(err) });
  }
}

/** Adds one to the count of `kind`/`label` in `entries` (a small in-memory tally before one `recordStats`). */
export function tally(entries: StatEntry[], kind: StatEntry["kind"], label: string): void {
  const found = entries.find((e) => e.kind === kind && e.label === label);
  if (found) found.n++;
  else entries.push({ kind, label, n: 1 });
}

/** The error code of a provider-format refusal (`ErrorInfo` / `desc` start with it), else its HTTP status. */
async function refusalCode(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  return /"(?:ErrorInfo|desc)":"([A-Z][A-Z_]+):/.exec(text)?.[1] ?? `HTTP ${res.status}`;
}

/** An isolate sends its refusal counts at most this often: a flood of forged callbacks is not a flood of calls. */
export const REFUSALS_FLUSH_MS = 10_000;
/** Refusals counted in this isolate and not yet sent; lost if the isolate ends first (the figures are a guide). */
const refusals: StatEntry[] = [];
let flushedAt = 0;

/**
 * Counts a callback the ingress refused, after the answer has gone: the refusal's code is read from a copy of the
 * answer inside `waitUntil`, so the ack path waits for nothing. Sent in bulk, at most every REFUSALS_FLUSH_MS: one
 * Durable Object request per refusal would let anyone spend the account's requests (the Free plan's daily
 * allowance is shared with the lanes) by posting garbage.
 */
export async function countRefusal(answer: Response | Promise<Response>, env: Env, ctx: ExecutionContext) {
  const res = await answer;
  if (res.status >= 400) {
    const copy = res.clone();
    ctx.waitUntil(
      refusalCode(copy).then((code) => {
        tally(refusals, "refused", code);
        const nowMs = Date.now();
        if (nowMs - flushedAt < REFUSALS_FLUSH_MS) return;
        flushedAt = nowMs;
        return recordStats(env, refusals.splice(0));
      }),
    );
  }
  return res;
}
