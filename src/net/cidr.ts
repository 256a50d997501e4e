/**
 * IP addresses and CIDR ranges, parsed strictly and matched bit by bit. Pure: no runtime API, no allocation on
 * the match path beyond parsing the one address.
 *
 * An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address `a.b.c.d`, in a request and in a range
 * alike: a dual-stack proxy may report either form for the same peer. Otherwise the families never mix: `::/0`
 * is every IPv6 address and no IPv4 one, `0.0.0.0/0` every IPv4 address.
 */

/** An address: 4 bytes for IPv4, 16 for IPv6. */
export type IpAddress = { readonly family: 4 | 6; readonly bytes: Uint8Array };

/** A CIDR range: the network's address (host bits zero) and the prefix length in bits. */
export type IpRange = IpAddress & { readonly prefix: number };

/** A parsed range, or why the text is not one (a fixed phrase: it never repeats the input). */
export type RangeResult = { ok: true; range: IpRange } | { ok: false; reason: string };

/** Longer than any address with a prefix (`ffff:…:255.255.255.255/128` is 49 characters): not worth parsing. */
const MAX_TEXT = 64;
const OCTET = /^(?:0|[1-9]\d{0,2})$/;
const HEXTET = /^[0-9A-Fa-f]{1,4}$/;
const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    // No leading zeros: "010" is octal to some parsers and decimal to others, so it means nothing for sure.
    if (!OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/** Groups of one side of `::` (or of a whole address without it), with an IPv4 tail allowed when `last`. */
function parseGroups(text: string, last: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (last && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else if (HEXTET.test(part)) groups.push(Number.parseInt(part, 16));
    else return undefined;
  }
  return groups;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0] as string, !compressed);
  const tail = compressed ? parseGroups(halves[1] as string, true) : [];
  if (!head || !tail) return undefined;
  const count = head.length + tail.length;
  // `::` stands for at least one zero group.
  if (compressed ? count > 7 : count !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Whether 16 bytes are `::ffff:a.b.c.d`. */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The address as written, before unmapping: the family decides the largest prefix. */
function parseWritten(text: string): IpAddress | undefined {
  if (text.length === 0 || text.length > MAX_TEXT) return undefined;
  if (text.includes(":")) {
    const bytes = parseIpv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIpv4(text);
  return bytes && { family: 4, bytes };
}

/**
 * Parses one IPv4 or IPv6 address in its usual text forms (`203.0.113.7`, `2001:db8::1`, `::ffff:203.0.113.7`).
 * Refuses zone ids (`fe80::1%eth0`), leading zeros in IPv4 octets, prefixes and anything else.
 *
 * @returns the address, IPv4-mapped IPv6 as IPv4; `undefined` when the text is not an address.
 */
export function parseIp(text: string): IpAddress | undefined {
  const written = parseWritten(text);
  if (written?.family === 6 && isMapped(written.bytes)) return { family: 4, bytes: written.bytes.slice(12) };
  return written;
}

/**
 * Parses a CIDR range (`203.0.113.0/24`, `2001:db8::/32`) or a single address (`/32` or `/128` implied).
 * Host bits beyond the prefix are refused rather than cleared: `203.0.113.7/24` is more likely a typo for
 * `/32` than a wish to allow 256 addresses. A mapped range of at least /96 becomes the IPv4 range it covers.
 */
export function parseRange(text: string): RangeResult {
  const slash = text.indexOf("/");
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  const written = parseWritten(addressText);
  if (!written) return { ok: false, reason: "is not an IPv4 or IPv6 address or CIDR range" };
  const bits = written.bytes.length * 8;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!PREFIX.test(prefixText) || Number(prefixText) > bits) {
      return { ok: false, reason: `has a prefix length that is not a whole number in [0, ${bits}]` };
    }
    prefix = Number(prefixText);
  }
  if (!hostBitsClear(written.bytes, prefix)) {
    return { ok: false, reason: `has host bits set beyond its /${prefix} prefix (write the network's first address)` };
  }
  if (written.family === 6 && prefix >= 96 && isMapped(written.bytes)) {
    return { ok: true, range: { family: 4, bytes: written.bytes.slice(12), prefix: prefix - 96 } };
  }
  return { ok: true, range: { ...written, prefix } };
}

function hostBitsClear(bytes: Uint8Array, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if (((bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

/** Whether `address` lies in `range`. Families never match each other (mapped addresses are IPv4 already). */
export function inRange(range: IpRange, address: IpAddress): boolean {
  if (range.family !== address.family) return false;
  const whole = range.prefix >> 3;
  for (let i = 0; i < whole; i++) if (range.bytes[i] !== address.bytes[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((range.bytes[whole] as number) ^ (address.bytes[whole] as number)) & mask) === 0;
}

/** Whether any range of `ranges` holds `address`. */
export function inAnyRange(ranges: readonly IpRange[], address: IpAddress): boolean {
  return ranges.some((range) => inRange(range, address));
}

/** An address in canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return [...address.bytes].join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((address.bytes[i] as number) << 8) | (address.bytes[i + 1] as number));
  // The first longest run of two or more zero groups is compressed (RFC 5952 §4.2).
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

/** A range in canonical text, e.g. `203.0.113.0/24`, `2001:db8::/32`. */
export function formatRange(range: IpRange): string {
  return `${formatIp(range)}/${range.prefix}`;
}
