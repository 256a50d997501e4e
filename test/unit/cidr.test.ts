import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, formatRange, type IpRange, inAnyRange, inRange, parseIp, parseRange } from "../../src/net/cidr";

function range(text: string): IpRange {
  const parsed = parseRange(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`);
  return parsed.range;
}

function ip(text: string) {
  const address = parseIp(text);
  if (!address) throw new Error(`${text} is not an address`);
  return address;
}

const contains = (cidr: string, address: string) => inRange(range(cidr), ip(address));

describe("parseIp", () => {
  it.each([
    ["0.0.0.0", "0.0.0.0"],
    ["203.0.113.7", "203.0.113.7"],
    ["255.255.255.255", "255.255.255.255"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["::192.0.2.33", "::c000:221"],
  ])("reads %s as %s", (text, canonical) => {
    expect(formatIp(ip(text))).toBe(canonical);
  });

  it.each(["::ffff:203.0.113.7", "::FFFF:203.0.113.7", "::ffff:cb00:7107", "0:0:0:0:0:ffff:203.0.113.7"])(
    "reads the IPv4-mapped %s as the IPv4 address 203.0.113.7",
    (text) => {
      expect(parseIp(text)).toEqual({ family: 4, bytes: new Uint8Array([203, 0, 113, 7]) });
    },
  );

  it.each([
    "",
    " 203.0.113.7",
    "203.0.113",
    "203.0.113.7.1",
    "203.0.113.256",
    "203.0.113.07",
    "203.0.113.-1",
    "203.0.113.7/32",
    "0x7f.0.0.1",
    "2130706433",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":::",
    ":1::",
    "1::2:",
    "12345::",
    "g::1",
    "fe80::1%eth0",
    "[::1]",
    "1.2.3.4::",
    "::ffff:1.2.3",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "١.٢.٣.٤",
    "a".repeat(100),
  ])("refuses %j", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe("parseRange", () => {
  it.each([
    ["203.0.113.0/24", "203.0.113.0/24"],
    ["203.0.113.7", "203.0.113.7/32"],
    ["203.0.113.7/32", "203.0.113.7/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["2001:db8::1", "2001:db8::1/128"],
    ["::/0", "::/0"],
    ["::/128", "::/128"],
    ["::ffff:203.0.113.0/120", "203.0.113.0/24"],
    ["::ffff:0.0.0.0/96", "0.0.0.0/0"],
    ["::ffff:203.0.113.7", "203.0.113.7/32"],
    // Shorter than /96, a range reaching into the mapped block is an IPv6 range.
    ["::fffe:0:0/95", "::fffe:0:0/95"],
  ])("normalises %s to %s", (text, canonical) => {
    expect(formatRange(range(text))).toBe(canonical);
  });

  it.each([
    ["203.0.113.7/24", "host bits"],
    ["2001:db8::1/64", "host bits"],
    ["0.0.0.1/0", "host bits"],
    ["::1/0", "host bits"],
    ["::ffff:0:0/95", "host bits"],
    ["203.0.113.0/33", "prefix length"],
    ["2001:db8::/129", "prefix length"],
    ["203.0.113.0/", "prefix length"],
    ["203.0.113.0/024", "prefix length"],
    ["203.0.113.0/-1", "prefix length"],
    ["203.0.113.0/+8", "prefix length"],
    ["203.0.113.0/8/8", "prefix length"],
    ["203.0.113.0/ 24", "prefix length"],
    ["/24", "not an IPv4 or IPv6 address"],
    ["example.com/24", "not an IPv4 or IPv6 address"],
    ["", "not an IPv4 or IPv6 address"],
    ["*", "not an IPv4 or IPv6 address"],
    ["10.0.0.0-10.0.0.255", "not an IPv4 or IPv6 address"],
  ])("refuses %j (%s)", (text, reason) => {
    const parsed = parseRange(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.reason).toContain(reason);
      // The reason is shown on the public /healthz: it never repeats the entry.
      if (text.length > 2) expect(parsed.reason).not.toContain(text);
    }
  });
});

describe("inRange", () => {
  it.each([
    ["203.0.113.0/24", "203.0.113.0", true],
    ["203.0.113.0/24", "203.0.113.255", true],
    ["203.0.113.0/24", "203.0.114.0", false],
    ["203.0.113.0/24", "203.0.112.255", false],
    ["203.0.113.7/32", "203.0.113.7", true],
    ["203.0.113.7/32", "203.0.113.6", false],
    ["203.0.113.7/32", "203.0.113.8", false],
    ["0.0.0.0/0", "0.0.0.0", true],
    ["0.0.0.0/0", "255.255.255.255", true],
    ["10.0.0.0/9", "10.127.255.255", true],
    ["10.0.0.0/9", "10.128.0.0", false],
    ["203.0.113.0/31", "203.0.113.1", true],
    ["203.0.113.0/31", "203.0.113.2", false],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::", false],
    ["2001:db8::/33", "2001:db8:7fff::", true],
    ["2001:db8::/33", "2001:db8:8000::", false],
    ["2001:db8::1/128", "2001:db8::1", true],
    ["2001:db8::1/128", "2001:db8::2", false],
    ["::/128", "::", true],
    ["::/128", "::1", false],
    ["::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["::/0", "::", true],
  ])("%s holds %s: %s", (cidr, address, expected) => {
    expect(contains(cidr, address)).toBe(expected);
  });

  it("matches an IPv4-mapped caller against IPv4 ranges, and a mapped range against IPv4 callers", () => {
    expect(contains("203.0.113.0/24", "::ffff:203.0.113.9")).toBe(true);
    expect(contains("203.0.113.0/24", "::ffff:203.0.114.9")).toBe(false);
    expect(contains("::ffff:203.0.113.0/120", "203.0.113.9")).toBe(true);
    expect(contains("::ffff:203.0.113.0/120", "::ffff:203.0.113.9")).toBe(true);
    expect(contains("::ffff:203.0.113.0/120", "203.0.114.9")).toBe(false);
  });

  it("never matches across families: ::/0 holds no IPv4 caller, 0.0.0.0/0 no IPv6 caller", () => {
    expect(contains("::/0", "203.0.113.7")).toBe(false);
    expect(contains("::/0", "::ffff:203.0.113.7")).toBe(false);
    expect(contains("0.0.0.0/0", "::1")).toBe(false);
    expect(contains("0.0.0.0/0", "::")).toBe(false);
    // ::c000:221 (IPv4-compatible, deprecated) is not ::ffff:c000:221: it stays IPv6.
    expect(contains("192.0.2.0/24", "::192.0.2.33")).toBe(false);
  });

  it("holds exactly the addresses that share the prefix's leading bits (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        (net, other, prefix) => {
          const mask = (i: number) =>
            i * 8 >= prefix ? 0 : i * 8 + 8 <= prefix ? 0xff : (0xff << (8 - (prefix % 8))) & 0xff;
          const network = net.map((b, i) => b & mask(i));
          const cidr: IpRange = { family: 6, bytes: network, prefix };
          const sameBits = [...other].every((b, i) => (b & mask(i)) === (network[i] as number));
          expect(inRange(cidr, { family: 6, bytes: other })).toBe(sameBits);
        },
      ),
    );
  });

  it("round-trips every IPv6 address through its canonical text (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const address = { family: 6 as const, bytes };
        const back = parseIp(formatIp(address));
        const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
        expect(back).toEqual(mapped ? { family: 4, bytes: bytes.slice(12) } : address);
      }),
    );
  });

  it("finds a caller in any range of a list, and in none of an unrelated list", () => {
    const list = [range("198.51.100.0/24"), range("2001:db8::/32")];
    expect(inAnyRange(list, ip("198.51.100.20"))).toBe(true);
    expect(inAnyRange(list, ip("2001:db8::20"))).toBe(true);
    expect(inAnyRange(list, ip("203.0.113.20"))).toBe(false);
    expect(inAnyRange([], ip("203.0.113.20"))).toBe(false);
  });
});
