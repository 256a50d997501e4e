import * as z from "zod/mini";
import { RelayError } from "../errors";
import { formatIp, type IpRange, inAnyRange, parseIp, parseRange } from "../net/cidr";

/**
 * An app's `allowIps`: the addresses its provider calls from, as IPv4/IPv6 addresses or CIDR ranges. Parsed once
 * (with the secret) into ranges, so a request costs one address parse and a few byte compares.
 */
export const AllowIps = z.pipe(
  z
    .array(z.string({ error: "must be a string" }), { error: 'must be a list, e.g. ["203.0.113.0/24"]' })
    .check(z.minLength(1, "is empty, which would refuse every callback: omit allowIps to accept any address")),
  z.transform((entries: string[], ctx): readonly IpRange[] => {
    const ranges: IpRange[] = [];
    entries.forEach((entry, index) => {
      const parsed = parseRange(entry.trim());
      if (parsed.ok) ranges.push(parsed.range);
      // The reason never repeats the entry: problems are shown on the public /healthz.
      else ctx.issues.push({ code: "custom", message: parsed.reason, input: entry, path: [index] });
    });
    return ranges;
  }),
);

/** Parsed `allowIps`. */
export type AllowList = z.output<typeof AllowIps>;

/**
 * Refuses a request whose peer is not in `allowList` (no list: any peer). The peer is `CF-Connecting-IP`, which
 * Cloudflare's edge sets on every request and overwrites when a client sends it; `X-Forwarded-For` and the like
 * are the client's word and never read. Without the header (a request that did not come through the edge) the
 * answer is a refusal: an allow-list fails closed.
 */
export function checkClientIp(headers: Headers, allowList: AllowList | undefined): void {
  if (allowList === undefined) return;
  const raw = headers.get("cf-connecting-ip");
  const address = raw === null ? undefined : parseIp(raw.trim());
  if (!address) throw new RelayError("IP_NOT_ALLOWED", "CF-Connecting-IP is missing or not an IP address");
  if (!inAnyRange(allowList, address)) {
    // The address is logged (never answered) so an operator can tell a provider's new range from an attack.
    throw new RelayError("IP_NOT_ALLOWED", "the caller's address is not in allowIps for this app", {
      clientIp: formatIp(address),
    });
  }
}
