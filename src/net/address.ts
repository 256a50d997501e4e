/**
 * Where a URL's host would send a request: to the public internet, to this machine, or somewhere the relay must
 * never send a signed request (private networks, cloud metadata services, reserved ranges). Pure: names are judged
 * as written, never resolved, so it costs nothing on any path and behaves the same in tests and in production.
 *
 * The input is a WHATWG `URL.hostname`, which has already turned every IPv4 spelling (decimal `2130706433`, octal
 * `0177.0.0.1`, hex `0x7f.1`, short `127.1`, full-width digits) into dotted decimal, lower-cased names, mapped
 * Unicode names to their punycode (the form DNS resolves), and refused IPv6 zone ids.
 */

/** What a host is, for the relay's purpose of POSTing signed events to it. */
export type HostClass = { kind: "public" } | { kind: "loopback" } | { kind: "refused"; reason: string };

const PUBLIC: HostClass = { kind: "public" };
const LOOPBACK: HostClass = { kind: "loopback" };

/** The loopback host names as `URL.hostname` spells them: where local development runs. */
export const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);
const refused = (reason: string): HostClass => ({ kind: "refused", reason });

/** IPv4 ranges that are not the public internet (IANA special-purpose registry), most specific reason first. */
const IPV4_RANGES: readonly [base: string, bits: number, what: string][] = [
  ["0.0.0.0", 8, "the unspecified / this-network range 0.0.0.0/8"],
  ["10.0.0.0", 8, "the private range 10.0.0.0/8"],
  ["100.64.0.0", 10, "the carrier-grade NAT range 100.64.0.0/10"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "the link-local range 169.254.0.0/16, where cloud metadata services answer"],
  ["172.16.0.0", 12, "the private range 172.16.0.0/12"],
  ["192.0.0.0", 24, "the IETF protocol range 192.0.0.0/24"],
  ["192.0.2.0", 24, "the documentation range 192.0.2.0/24"],
  ["192.88.99.0", 24, "the deprecated 6to4 relay range 192.88.99.0/24"],
  ["192.168.0.0", 16, "the private range 192.168.0.0/16"],
  ["198.18.0.0", 15, "the benchmarking range 198.18.0.0/15"],
  ["198.51.100.0", 24, "the documentation range 198.51.100.0/24"],
  ["203.0.113.0", 24, "the documentation range 203.0.113.0/24"],
  ["224.0.0.0", 4, "the multicast range 224.0.0.0/4"],
  ["240.0.0.0", 4, "the reserved range 240.0.0.0/4 (with the broadcast address)"],
];

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A dotted-decimal IPv4 address as a 32-bit unsigned integer; undefined for anything else. */
export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

const IPV4_MASKED = IPV4_RANGES.map(([base, bits, what]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { network: (parseIpv4(base) as number) & mask, mask, what };
});

/** Classifies an IPv4 address given as a 32-bit unsigned integer. */
export function classifyIpv4(address: number): HostClass {
  for (const { network, mask, what } of IPV4_MASKED) {
    if ((address & mask) >>> 0 === network >>> 0) {
      return what === "loopback" ? LOOPBACK : refused(`${formatIpv4(address)} is in ${what}`);
    }
  }
  return PUBLIC;
}

function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join(".");
}

/**
 * An IPv6 address (without brackets) as its eight 16-bit groups; undefined when it is not one. Accepts `::`
 * compression and a trailing dotted IPv4 part, so it reads any textual form, not only the canonical one.
 */
export function parseIpv6(text: string): number[] | undefined {
  if (text.includes("%")) return undefined; // a zone id names an interface of this machine: never an endpoint
  let body = text;
  let tail: number[] = [];
  if (text.includes(".")) {
    const lastColon = text.lastIndexOf(":");
    const v4 = lastColon === -1 ? undefined : parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    body = text.slice(0, text.endsWith("::", lastColon + 1) ? lastColon + 1 : lastColon);
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const head = hexGroups(halves[0] as string);
  const rest = halves.length === 2 ? hexGroups(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  const after = [...rest, ...tail];
  if (halves.length === 1) return head.length + after.length === 8 ? [...head, ...after] : undefined;
  const missing = 8 - head.length - after.length;
  return missing < 1 ? undefined : [...head, ...new Array<number>(missing).fill(0), ...after];
}

function hexGroups(part: string): number[] | undefined {
  if (part === "") return [];
  const out: number[] = [];
  for (const group of part.split(":")) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    out.push(Number.parseInt(group, 16));
  }
  return out;
}

/** The IPv4 address in groups `hi` and `hi + 1` (6–7 for most forms; 1–2 for 6to4). */
const embedded = (g: readonly number[], hi = 6): number => (g[hi] ?? 0) * 0x10000 + (g[hi + 1] ?? 0);

/** An IPv6 address that carries an IPv4 one is judged by the IPv4 address it would reach. */
function viaIpv4(address: number, form: string): HostClass {
  const inner = classifyIpv4(address);
  return inner.kind === "refused" ? refused(`${form} embedding ${inner.reason}`) : inner;
}

/**
 * Classifies an IPv6 address given as eight groups. Only global unicast (2000::/3) is public, minus its special
 * ranges; the forms that embed an IPv4 address (mapped, compatible, translated, NAT64, 6to4) are judged by it.
 */
export function classifyIpv6(g: readonly number[]): HostClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0] = g;
  /** Whether the first `n` groups are all zero. */
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return refused(":: is the unspecified address");
  if (zeroTo(7) && g[7] === 1) return LOOPBACK;
  if (zeroTo(5) && g5 === 0xffff) return viaIpv4(embedded(g), "an IPv4-mapped IPv6 address");
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return viaIpv4(embedded(g), "an IPv4-translated IPv6 address");
  if (zeroTo(6)) return viaIpv4(embedded(g), "an IPv4-compatible IPv6 address");
  if (g0 === 0x64 && g1 === 0xff9b) {
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return viaIpv4(embedded(g), "a NAT64 IPv6 address");
    if (g2 === 1) return refused("64:ff9b:1::/48 is the local-use NAT64 range");
  }
  if ((g0 & 0xe000) !== 0x2000) {
    if ((g0 & 0xfe00) === 0xfc00) return refused("fc00::/7 is the unique-local (private) IPv6 range");
    if ((g0 & 0xffc0) === 0xfe80) return refused("fe80::/10 is the link-local IPv6 range");
    if ((g0 & 0xffc0) === 0xfec0) return refused("fec0::/10 is the deprecated site-local IPv6 range");
    if ((g0 & 0xff00) === 0xff00) return refused("ff00::/8 is the multicast IPv6 range");
    return refused("the address is outside global unicast IPv6 (2000::/3)");
  }
  if (g0 === 0x2002) return viaIpv4(embedded(g, 1), "a 6to4 IPv6 address");
  if (g0 === 0x2001 && g1 === 0x0db8) return refused("2001:db8::/32 is the documentation IPv6 range");
  if (g0 === 0x2001 && g1 < 0x200) return refused("2001::/23 is the IETF protocol range (Teredo, ORCHID, …)");
  if (g0 === 0x3fff && g1 < 0x1000) return refused("3fff::/20 is the documentation IPv6 range");
  return PUBLIC;
}

/**
 * Name suffixes that resolve only inside private networks or are reserved for them: `.internal` (ICANN's
 * private-use TLD, home of `metadata.google.internal` and AWS's `*.ec2.internal`), mDNS `.local`, `.arpa`
 * (reverse zones, `home.arpa`), `.onion`, and the usual intranet pseudo-TLDs.
 */
const PRIVATE_SUFFIXES = [
  "internal",
  "local",
  "localdomain",
  "arpa",
  "onion",
  "lan",
  "home",
  "corp",
  "intranet",
  "private",
];

/** Cloud metadata services reachable under a public-looking name. */
const METADATA_NAMES = new Set(["metadata.goog", "metadata.tencentyun.com"]);

/**
 * Classifies a `URL.hostname`. Names are not resolved (that would cost a lookup per delivery and still lose to DNS
 * rebinding); what a name reveals about its target is judged: loopback names, private suffixes, single labels
 * (`metadata`, `instance-data`, intranet hosts reached through a search domain), metadata services, and names
 * that embed a non-public IPv4 address (`10.0.0.1.nip.io`-style wildcard DNS).
 */
export function classifyHost(hostname: string): HostClass {
  let host = hostname;
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIpv6(host.slice(1, -1));
    return groups ? classifyIpv6(groups) : refused("the host is not a valid IPv6 address");
  }
  if (host.endsWith(".")) {
    // DNS reads `localhost.` and `localhost` alike. The WHATWG parser drops one trailing dot of an IPv4 address
    // but not two, so the name is parsed again without them, to read `127.0.0.1..` as the address it is.
    try {
      host = new URL(`http://${host.replace(/\.+$/, "")}`).hostname;
    } catch {
      return refused("the host is not a valid host name");
    }
    if (host.endsWith(".") || host.startsWith("[")) return refused("the host is not a valid host name");
  }
  const v4 = parseIpv4(host);
  if (v4 !== undefined) return classifyIpv4(v4);
  if (host === "" || host.startsWith(".") || host.includes("..")) return refused("the host name has an empty label");
  if (host === "localhost" || host.endsWith(".localhost")) return LOOPBACK;
  const labels = host.split(".");
  if (labels.length === 1) {
    return refused(`a single-label host name (${host}) resolves inside private networks; use a fully qualified name`);
  }
  const tld = labels[labels.length - 1] as string;
  if (PRIVATE_SUFFIXES.includes(tld)) return refused(`.${tld} names resolve only inside private networks`);
  if (METADATA_NAMES.has(host)) return refused(`${host} is a cloud metadata service`);
  for (let i = 0; i + 4 <= labels.length; i++) {
    const inner = parseIpv4(labels.slice(i, i + 4).join("."));
    const found = inner === undefined ? undefined : classifyIpv4(inner);
    if (found !== undefined && found.kind !== "public") {
      return refused("the host name embeds a non-public IPv4 address (wildcard DNS resolves it there)");
    }
  }
  return PUBLIC;
}
