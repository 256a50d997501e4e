import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyHost, classifyIpv4, classifyIpv6, parseIpv4, parseIpv6 } from "../../src/net/address";

/** The class of the host of `url`, as the runtime's URL parser normalises it. */
function classOf(url: string): string {
  return classifyHost(new URL(url).hostname).kind;
}

describe("classifyHost: IPv4 spellings, as the runtime's URL parser normalises them", () => {
  for (const [spelling, hostname] of [
    ["http://2130706433/", "127.0.0.1"],
    ["http://0x7f.1/", "127.0.0.1"],
    ["http://0x7f000001/", "127.0.0.1"],
    ["http://127.1/", "127.0.0.1"],
    ["http://0177.0.0.1/", "127.0.0.1"],
    ["http://127.0.0.1./", "127.0.0.1"],
    ["http://１２７.０.０.１/", "127.0.0.1"],
    ["http://0/", "0.0.0.0"],
    ["https://0300.0250.0.1/", "192.168.0.1"],
    ["https://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"],
    ["https://2852039166/", "169.254.169.254"],
    ["https://10.1/", "10.0.0.1"],
  ] as const) {
    it(`reads ${spelling} as ${hostname}`, () => {
      expect(new URL(spelling).hostname).toBe(hostname);
    });
  }

  for (const url of [
    "http://2130706433/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://0177.0.0.1/",
    "http://127.0.0.1../",
  ]) {
    it(`classifies ${url} as loopback`, () => {
      expect(classOf(url)).toBe("loopback");
    });
  }

  for (const url of [
    "https://0300.0250.0.1/",
    "https://2852039166/latest/meta-data/",
    "https://0xa9.0xfe.0xa9.0xfe/",
    "https://10.1/",
    "https://0/",
    "https://0x0a.0.0.1../",
    "https://169.254.169.254./",
  ]) {
    it(`refuses ${url}`, () => {
      expect(classOf(url)).toBe("refused");
    });
  }
});

describe("classifyIpv4", () => {
  const cases: [address: string, kind: string][] = [
    ["0.0.0.0", "refused"],
    ["0.255.255.255", "refused"],
    ["10.0.0.1", "refused"],
    ["10.255.255.255", "refused"],
    ["100.63.255.255", "public"],
    ["100.64.0.0", "refused"],
    ["100.100.100.200", "refused"], // Alibaba Cloud's metadata service
    ["100.127.255.255", "refused"],
    ["100.128.0.0", "public"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["169.254.169.254", "refused"],
    ["169.254.0.23", "refused"], // Tencent Cloud's metadata service
    ["172.15.255.255", "public"],
    ["172.16.0.0", "refused"],
    ["172.31.255.255", "refused"],
    ["172.32.0.0", "public"],
    ["192.0.0.1", "refused"],
    ["192.0.2.1", "refused"],
    ["192.88.99.1", "refused"],
    ["192.167.255.255", "public"],
    ["192.168.1.1", "refused"],
    ["192.169.0.0", "public"],
    ["198.17.255.255", "public"],
    ["198.18.0.1", "refused"],
    ["198.19.255.255", "refused"],
    ["198.20.0.0", "public"],
    ["198.51.100.7", "refused"],
    ["203.0.113.9", "refused"],
    ["223.255.255.255", "public"],
    ["224.0.0.1", "refused"],
    ["239.255.255.250", "refused"],
    ["240.0.0.1", "refused"],
    ["255.255.255.255", "refused"],
    ["1.1.1.1", "public"],
    ["8.8.8.8", "public"],
    ["93.184.216.34", "public"],
  ];
  for (const [address, kind] of cases) {
    it(`classifies ${address} as ${kind}`, () => {
      expect(classifyIpv4(parseIpv4(address) as number).kind).toBe(kind);
    });
  }

  it("names the range in the reason", () => {
    expect(classifyIpv4(parseIpv4("169.254.169.254") as number)).toEqual({
      kind: "refused",
      reason: expect.stringContaining("169.254.0.0/16"),
    });
  });

  it("reads only dotted decimal with octets up to 255", () => {
    expect(parseIpv4("256.0.0.1")).toBeUndefined();
    expect(parseIpv4("1.2.3")).toBeUndefined();
    expect(parseIpv4("1.2.3.4.5")).toBeUndefined();
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
  });
});

describe("parseIpv6", () => {
  it("expands :: and reads a trailing dotted IPv4 part", () => {
    expect(parseIpv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6("fe80::1")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6("::ffff:127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIpv6("::127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0, 0x7f00, 1]);
    expect(parseIpv6("1:2:3:4:5:6:7.8.9.10")).toEqual([1, 2, 3, 4, 5, 6, 0x0708, 0x090a]);
    expect(parseIpv6("2001:db8:0:0:0:0:0:1")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  });

  it("refuses what is not an IPv6 address, and zone ids", () => {
    for (const text of [
      "",
      ":",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "g::1",
      "fe80::1%eth0",
      "::1.2.3",
      "1.2.3.4",
    ]) {
      expect(parseIpv6(text), text).toBeUndefined();
    }
  });

  it("agrees with the runtime's URL parser on the groups of any IPv6 address (property)", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
        expect(parseIpv6(ip)).toEqual(parseIpv6(canonical));
        expect(parseIpv6(ip)).toHaveLength(8);
      }),
      { numRuns: 300 },
    );
  });
});

describe("classifyIpv6 / classifyHost for IPv6 literals", () => {
  const cases: [url: string, kind: string][] = [
    ["http://[::1]/", "loopback"],
    ["http://[0:0:0:0:0:0:0:1]/", "loopback"],
    ["http://[::]/", "refused"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://[::ffff:7f00:1]/", "loopback"],
    ["https://[::ffff:10.0.0.1]/", "refused"],
    ["https://[::ffff:169.254.169.254]/", "refused"],
    ["https://[::ffff:8.8.8.8]/", "public"],
    ["https://[::ffff:0:a00:1]/", "refused"], // IPv4-translated 10.0.0.1
    ["https://[::10.0.0.1]/", "refused"], // IPv4-compatible
    ["https://[::2]/", "refused"],
    ["https://[64:ff9b::a9fe:a9fe]/", "refused"], // NAT64 of 169.254.169.254
    ["https://[64:ff9b::808:808]/", "public"],
    ["https://[64:ff9b:1::1]/", "refused"],
    ["https://[2002:a00:1::]/", "refused"], // 6to4 of 10.0.0.1
    ["https://[2002:808:808::1]/", "public"],
    ["https://[fc00::1]/", "refused"],
    ["https://[fd00:ec2::254]/", "refused"], // AWS's IPv6 metadata service
    ["https://[fe80::1]/", "refused"],
    ["https://[febf::1]/", "refused"],
    ["https://[fec0::1]/", "refused"],
    ["https://[ff02::1]/", "refused"],
    ["https://[100::1]/", "refused"],
    ["https://[2001:db8::1]/", "refused"],
    ["https://[2001::1]/", "refused"], // Teredo
    ["https://[3fff::1]/", "refused"],
    ["https://[4000::1]/", "refused"],
    ["https://[2606:4700:4700::1111]/", "public"],
    ["https://[2a00:1450:4001:80b::200e]/", "public"],
  ];
  for (const [url, kind] of cases) {
    it(`classifies ${url} as ${kind}`, () => {
      expect(classOf(url)).toBe(kind);
    });
  }

  it("refuses a zone id: the URL parser rejects it outright", () => {
    expect(() => new URL("http://[fe80::1%25eth0]/")).toThrow();
    expect(classifyIpv6([0xfe80, 0, 0, 0, 0, 0, 0, 1]).kind).toBe("refused");
    expect(classifyHost("[fe80::1%eth0]").kind).toBe("refused");
  });

  it("judges every IPv4-mapped address by the IPv4 address it embeds (property)", () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const mapped = classifyHost(new URL(`http://[::ffff:${v4}]/`).hostname).kind;
        expect(mapped).toBe(classifyIpv4(parseIpv4(v4) as number).kind);
      }),
      { numRuns: 300 },
    );
  });
});

describe("classifyHost: names", () => {
  const cases: [url: string, kind: string][] = [
    ["http://localhost/", "loopback"],
    ["http://LOCALHOST/", "loopback"],
    ["http://localhost./", "loopback"],
    ["http://localhost../", "loopback"],
    ["http://ｌｏｃａｌｈｏｓｔ/", "loopback"],
    ["http://app.localhost/", "loopback"],
    ["https://metadata.google.internal/", "refused"],
    ["https://METADATA.GOOGLE.INTERNAL./", "refused"],
    ["https://metadata.google.ｉｎｔｅｒｎａｌ/", "refused"],
    ["https://instance-data.ec2.internal/", "refused"],
    ["https://metadata/", "refused"],
    ["https://Metadata./", "refused"],
    ["https://instance-data/", "refused"],
    ["https://intranet/", "refused"],
    ["https://metadata.goog/", "refused"],
    ["https://metadata.tencentyun.com/", "refused"],
    ["https://printer.local/", "refused"],
    ["https://router.home.arpa/", "refused"],
    ["https://1.0.0.127.in-addr.arpa/", "refused"],
    ["https://kubernetes.default.svc.cluster.local/", "refused"],
    ["https://abcdef.onion/", "refused"],
    ["https://nas.lan/", "refused"],
    ["https://10.0.0.1.nip.io/", "refused"],
    ["https://x.127.0.0.1.sslip.io/", "refused"],
    ["https://a..b.example/", "refused"],
    ["https://example.com/", "public"],
    ["https://EXAMPLE.com./", "public"],
    ["https://hooks.example.test/", "public"],
    ["https://8.8.8.8.nip.io/", "public"],
    ["https://123.example/", "public"],
    ["https://localhost.example.com/", "public"],
    ["https://xn--nxasmq6b.com/", "public"],
    ["https://例え.jp/", "public"],
  ];
  for (const [url, kind] of cases) {
    it(`classifies ${url} as ${kind}`, () => {
      expect(classOf(url)).toBe(kind);
    });
  }

  it("judges a Unicode name by its punycode, the form DNS resolves", () => {
    expect(new URL("https://例え.jp/").hostname).toBe("xn--r8jz45g.jp");
    // A punycode label is a name of its own in DNS, not the name it decodes to.
    expect(new URL("https://xn--metadata-.google.internal/").hostname).toBe("xn--metadata-.google.internal");
    expect(classOf("https://xn--metadata-.google.internal/")).toBe("refused");
  });

  it("says why a single-label name is refused", () => {
    expect(classifyHost("metadata")).toEqual({ kind: "refused", reason: expect.stringContaining("single-label") });
  });
});
