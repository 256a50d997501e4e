import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { deniedHeader, EndpointUrl, endpointUrlProblem, HeaderName } from "../../src/config/endpoint";

/** The messages EndpointUrl refuses `url` with; [] when it accepts it. */
function refusals(url: string): string[] {
  const parsed = EndpointUrl.safeParse(url);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
}

describe("EndpointUrl", () => {
  for (const [input, href] of [
    ["HTTPS://Hooks.Example.COM:443/a b?x=é#f", "https://hooks.example.com/a%20b?x=%C3%A9#f"],
    ["https://例え.jp/hook", "https://xn--r8jz45g.jp/hook"],
    ["https://hooks.example.com", "https://hooks.example.com/"],
    ["http://0x7f.1:9000/hook", "http://127.0.0.1:9000/hook"],
    ["http://2130706433:9000/", "http://127.0.0.1:9000/"],
    ["http://LOCALHOST:80/", "http://localhost/"],
    ["http://[0:0:0:0:0:0:0:1]:3000/", "http://[::1]:3000/"],
  ] as const) {
    it(`stores ${input} as its normalised form ${href}`, () => {
      expect(EndpointUrl.parse(input)).toBe(href);
    });
  }

  it("keeps the JSON Schema of its input a plain bounded string", () => {
    expect(z.toJSONSchema(EndpointUrl, { io: "input" })).toMatchObject({ type: "string", maxLength: 2048 });
    expect(z.toJSONSchema(EndpointUrl, { io: "output" })).toMatchObject({ type: "string", maxLength: 2048 });
  });

  for (const url of [
    "https://10.0.0.1/",
    "https://0251.0376.0251.0376/",
    "https://169.254.43518/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://metadata/",
    "https://[fc00::1]/",
  ]) {
    it(`refuses ${url}, saying it must point at a public host and why`, () => {
      expect(refusals(url)).toEqual([expect.stringMatching(/^url must point at a public host: .+/)]);
    });
  }

  it("refuses a URL that outgrows 2048 characters once normalised", () => {
    const url = `https://hooks.example.com/${"é".repeat(1000)}`;
    expect(url.length).toBeLessThan(2048);
    expect(refusals(url)).toEqual(["url must be at most 2048 characters once normalised"]);
  });

  it("accepts loopback (over http too) in the schema: whether the relay runs locally is the admin request's to say", () => {
    expect(refusals("http://127.0.0.1:9000/")).toEqual([]);
    expect(refusals("https://localhost/")).toEqual([]);
    expect(refusals("http://[::1]/")).toEqual([]);
  });

  it("refuses http:// to a public host", () => {
    expect(refusals("http://hooks.example.com/")).toEqual([expect.stringContaining("must use https://")]);
  });
});

describe("endpointUrlProblem", () => {
  const deployed = "https://relay.example.com/admin/targets/a";
  const local = "http://127.0.0.1:8787/admin/targets/a";

  for (const [url, admin, expected] of [
    ["http://127.0.0.1:9000/", deployed, /loopback host/],
    ["https://localhost/", deployed, /loopback host/],
    ["http://app.localhost:9000/", deployed, /loopback host/],
    ["http://[::1]:9000/", deployed, /loopback host/],
    ["http://127.0.0.1:9000/", local, undefined],
    ["http://localhost:9000/", "http://localhost:8787/admin", undefined],
    ["http://127.0.0.1:9000/", "http://[::1]:8787/admin", undefined],
    ["http://127.0.0.1:8787/netease/cc", local, /relay itself/],
    ["http://localhost:8787/", local, /relay itself/],
    ["http://[::1]:8787/", local, /relay itself/],
    ["http://127.0.0.2:8787/", local, /relay itself/],
    ["http://127.0.0.1/", "http://127.0.0.1/admin", /relay itself/],
    ["https://relay.example.com/tencent", deployed, /relay itself/],
    ["https://relay.example.com:8443/x", deployed, /relay itself/],
    ["https://relay.example.com./", deployed, /relay itself/],
    ["https://hooks.example.com/", deployed, undefined],
    ["https://hooks.example.com/", local, undefined],
  ] as const) {
    it(`${expected ? "refuses" : "accepts"} ${url} written through ${new URL(admin).host}`, () => {
      const problem = endpointUrlProblem(EndpointUrl.parse(url), admin);
      if (expected) expect(problem).toMatch(expected);
      else expect(problem).toBeUndefined();
    });
  }
});

describe("endpoint headers", () => {
  for (const name of [
    "Host",
    "content-length",
    "Transfer-Encoding",
    "CONNECTION",
    "Keep-Alive",
    "TE",
    "Trailer",
    "Upgrade",
    "Proxy-Authorization",
    "proxy-connection",
    "CF-Connecting-IP",
    "cf-worker",
    "X-Forwarded-For",
    "x-forwarded-host",
    "Forwarded",
    "X-Real-IP",
    "True-Client-IP",
    "Content-Encoding",
    "Expect",
    "Content-Type",
    "User-Agent",
    "webhook-id",
    "Webhook-Signature",
    "webhook-anything",
  ]) {
    it(`refuses the header ${name}, naming it and why`, () => {
      expect(deniedHeader(name)).toBeDefined();
      const parsed = HeaderName.safeParse(name);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toBe(`header ${name} ${deniedHeader(name)}`);
    });
  }

  for (const name of ["Authorization", "X-Api-Key", "x-customer", "X-Forwarded", "Webhook", "Cf", "TEA", "Hosts"]) {
    it(`accepts the header ${name}`, () => {
      expect(deniedHeader(name)).toBeUndefined();
      expect(HeaderName.safeParse(name).success).toBe(true);
    });
  }
});
