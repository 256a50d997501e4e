/**
 * Event filters: each target may list glob patterns matched against an event's names (e.g. the
 * CloudEvents `type` and the provider's own command name).
 */

// Patterns come from target config, so the set is small; the bound only guards against misuse.
const CACHE_LIMIT = 1000;
const cache = new Map<string, RegExp>();

/**
 * Compiles a glob into an anchored, case-sensitive regular expression.
 *
 * @param pattern - `*` matches any run of characters (dots included), `?` exactly one character;
 *   everything else is literal.
 * @returns The equivalent RegExp.
 */
export function compileGlob(pattern: string): RegExp {
  let source = "";
  for (const char of pattern) {
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else source += char.replace(/[\\^$.|+?*()[\]{}]/g, "\\$&");
  }
  // The `u` flag makes `?` consume one code point, not half of a surrogate pair.
  return new RegExp(`^${source}$`, "u");
}

function compiled(pattern: string): RegExp {
  let regex = cache.get(pattern);
  if (regex === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    regex = compileGlob(pattern);
    cache.set(pattern, regex);
  }
  return regex;
}

/**
 * Decides whether an event passes a target's filter.
 *
 * @param patterns - Glob patterns; undefined or empty means "every event".
 * @param candidates - Names of the event to test the patterns against.
 * @returns True when there are no patterns or any pattern matches any candidate.
 */
export function matchesFilter(patterns: readonly string[] | undefined, candidates: readonly string[]): boolean {
  if (patterns === undefined || patterns.length === 0) return true;
  return patterns.some((pattern) => {
    const regex = compiled(pattern);
    return candidates.some((candidate) => regex.test(candidate));
  });
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
