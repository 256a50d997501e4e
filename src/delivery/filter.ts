/**
 * Event filters: each target may list glob patterns matched against an event's names (e.g. the
 * CloudEvents `type` and the provider's own command name).
 */

const STAR = 0x2a;
const QUESTION = 0x3f;

/** UTF-16 units of the code point `cp`. */
const width = (cp: number): number => (cp > 0xffff ? 2 : 1);

/**
 * Whether `candidate` matches the glob `pattern`, in O(pattern × candidate) steps at worst and without a regular
 * expression: a regex compiled from a glob backtracks catastrophically (`*a*a*…*ab` took 56 s on a 68-character
 * type). The classic two-pointer algorithm: on a mismatch it only resumes after the last `*`, one code point
 * further, since any earlier `*` could only absorb what the last one already can.
 *
 * @param pattern - `*` matches any run of code points (dots included), `?` exactly one; everything else is
 *   literal and case-sensitive.
 * @param candidate - The name tested (an event `type` or `providerevent`, at most ~140 characters).
 */
export function globMatch(pattern: string, candidate: string): boolean {
  let p = 0;
  let c = 0;
  // Where matching resumes after the last `*` seen: the pattern just past it, and the candidate position it
  // absorbs up to. -1: no `*` yet, a mismatch is final.
  let starP = -1;
  let starC = 0;
  while (c < candidate.length) {
    const pc = p < pattern.length ? (pattern.codePointAt(p) as number) : -1;
    if (pc === STAR) {
      p++;
      starP = p;
      starC = c;
      continue;
    }
    const cc = candidate.codePointAt(c) as number;
    if (pc === cc || pc === QUESTION) {
      p += width(pc);
      c += width(cc);
    } else if (starP !== -1) {
      starC += width(candidate.codePointAt(starC) as number);
      c = starC;
      p = starP;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/**
 * Decides whether an event passes a target's filter.
 *
 * @param patterns - Glob patterns (at most 100 of at most 128 characters, per the endpoint schema); undefined or
 *   empty means "every event".
 * @param candidates - Names of the event to test the patterns against.
 * @returns True when there are no patterns or any pattern matches any candidate.
 */
export function matchesFilter(patterns: readonly string[] | undefined, candidates: readonly string[]): boolean {
  if (patterns === undefined || patterns.length === 0) return true;
  return patterns.some((pattern) => candidates.some((candidate) => globMatch(pattern, candidate)));
}

/** What an endpoint's routing fields say it wants. */
export type Routing = {
  enabled: boolean;
  providers?: readonly string[] | undefined;
  apps?: readonly string[] | undefined;
  events?: readonly string[] | undefined;
};

/** Whether an enabled endpoint (target or decider) wants an event of this provider, app and names. */
export function wants(
  endpoint: Routing,
  event: { provider: string; appid: string; type: string; providerevent: string },
): boolean {
  return (
    endpoint.enabled &&
    (!endpoint.providers || endpoint.providers.includes(event.provider)) &&
    (!endpoint.apps || endpoint.apps.includes(event.appid)) &&
    matchesFilter(endpoint.events, [event.type, event.providerevent])
  );
}
