/**
 * Where targets and deciders may point, and which headers they may set: the relay POSTs signed events from inside
 * Cloudflare's network, so an endpoint must be a public host (never a private, link-local, metadata or reserved
 * one, in any spelling), loopback only while the relay runs locally, and never the relay itself.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { targetKey } from "../../src/config/store";
import { deciderKey } from "../../src/deciders/store";
import { generateSecret } from "../../src/delivery/signature";
import { adminClient, errorOf, LOCAL_ORIGIN, RELAY_ORIGIN } from "../helpers/admin-client";
import { clearKv, eventMessage, makeEvent, makeTarget, runBatch, stubFetch } from "../helpers/consumer-harness";
import { removeDeciders } from "../helpers/deciders";
import { tencentRequest } from "../helpers/requests";

afterEach(async () => {
  vi.restoreAllMocks();
  await clearKv(env.TARGETS);
  await removeDeciders();
});

const KINDS = [
  { kind: "targets", code: "INVALID_TARGET", key: targetKey },
  { kind: "deciders", code: "INVALID_DECIDER", key: deciderKey },
] as const;

type Kind = (typeof KINDS)[number];

/** PUT `body` as endpoint `id` of `kind`, the admin request arriving at `origin`. */
function put(kind: Kind, id: string, body: unknown, origin = RELAY_ORIGIN) {
  return adminClient().call("PUT", `/admin/${kind.kind}/${id}`, { body, origin });
}

/** PUT is refused 422 with the kind's code, the message naming `field` and matching `why`; nothing is stored. */
async function expectRefused(kind: Kind, body: unknown, field: string, why: RegExp, origin = RELAY_ORIGIN) {
  const res = await put(kind, "e", body, origin);
  expect(res.status).toBe(422);
  const error = await errorOf(res);
  expect(error.code).toBe(kind.code);
  expect(error.message).toMatch(new RegExp(`\\b${field}\\b`));
  expect(error.message).toMatch(why);
  expect(await env.TARGETS.get(kind.key("e"))).toBeNull();
}

/** The URL an accepted PUT stored. */
async function storedUrl(kind: Kind, id: string): Promise<string | undefined> {
  return ((await env.TARGETS.get(kind.key(id), "json")) as { url?: string } | null)?.url;
}

const NON_PUBLIC = [
  "https://10.0.0.1/hook",
  "https://172.16.5.4/",
  "https://192.168.1.1/",
  "https://100.64.0.1/",
  "https://100.100.100.200/latest/meta-data/",
  "https://169.254.169.254/latest/meta-data/",
  "https://2852039166/latest/meta-data/",
  "https://0xa9fea9fe/",
  "https://0251.0376.0251.0376/",
  "https://169.254.43518/",
  "https://0/",
  "https://0.0.0.0/",
  "https://224.0.0.1/",
  "https://255.255.255.255/",
  "https://198.18.0.1/",
  "https://192.0.2.1/",
  "https://[::]/",
  "https://[fe80::1]/",
  "https://[fc00::1]/",
  "https://[fd00:ec2::254]/latest/meta-data/",
  "https://[::ffff:169.254.169.254]/",
  "https://[::ffff:a9fe:a9fe]/",
  "https://[::ffff:10.0.0.1]/",
  "https://[64:ff9b::a9fe:a9fe]/",
  "https://[ff02::1]/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
  "https://ｍｅｔａｄａｔａ.google.internal/",
  "https://metadata/",
  "https://metadata./",
  "https://instance-data/latest/meta-data/",
  "https://instance-data.ec2.internal/",
  "https://metadata.tencentyun.com/latest/meta-data/",
  "https://db.internal/",
  "https://printer.local/",
  "https://10.0.0.1.nip.io/",
];

describe.each(KINDS)("$kind: URLs to non-public hosts", (kind) => {
  for (const url of NON_PUBLIC) {
    it(`refuses ${url} with 422 ${kind.code}, naming url and why, on a deployed relay and a local one alike`, async () => {
      await expectRefused(kind, { url }, "url", /must point at a public host: ./);
      await expectRefused(kind, { url }, "url", /must point at a public host: ./, LOCAL_ORIGIN);
    });
  }

  it("refuses an IPv6 zone id: the URL does not parse", async () => {
    await expectRefused(kind, { url: "https://[fe80::1%25eth0]/" }, "url", /not a valid absolute URL/);
  });

  it("accepts public hosts in https://, storing the normalised URL", async () => {
    for (const [url, href] of [
      ["HTTPS://Hooks.Example.COM:443/a b?x=é", "https://hooks.example.com/a%20b?x=%C3%A9"],
      ["https://93.184.216.34/hook", "https://93.184.216.34/hook"],
      ["https://[2606:4700:4700::1111]/hook", "https://[2606:4700:4700::1111]/hook"],
      ["https://例え.jp/hook", "https://xn--r8jz45g.jp/hook"],
    ] as const) {
      const res = await put(kind, "e", { url });
      expect(res.status, url).toBeLessThan(300);
      expect(((await res.json()) as { url: string }).url).toBe(href);
      expect(await storedUrl(kind, "e")).toBe(href);
    }
  });
});

describe.each(KINDS)("$kind: loopback only while the relay runs locally", (kind) => {
  const LOOPBACK = [
    "http://127.0.0.1:9000/hook",
    "http://localhost:9000/hook",
    "https://localhost/hook",
    "http://[::1]:9000/hook",
    "http://2130706433:9000/hook",
    "http://0x7f.1:9000/hook",
    "http://127.1:9000/hook",
    "http://0177.0.0.1:9000/hook",
    "http://LOCALHOST.:9000/hook",
    "http://[::ffff:127.0.0.1]:9000/hook",
  ];
  for (const url of LOOPBACK) {
    it(`refuses ${url} when the admin request reached the relay under a public name`, async () => {
      await expectRefused(kind, { url }, "url", /loopback host, which is allowed only when the relay runs locally/);
    });
  }

  for (const origin of [LOCAL_ORIGIN, "http://localhost:8787", "http://[::1]:8787"]) {
    it(`accepts every spelling of loopback when the admin request arrived on ${origin}, storing it normalised`, async () => {
      for (const url of LOOPBACK) {
        const res = await put(kind, "e", { url }, origin);
        expect(res.status, url).toBeLessThan(300);
      }
      expect(await storedUrl(kind, "e")).toBe("http://[::ffff:7f00:1]:9000/hook");
      await put(kind, "e", { url: "http://0x7f.1:9000/hook" }, origin);
      expect(await storedUrl(kind, "e")).toBe("http://127.0.0.1:9000/hook");
    });
  }

  it("keeps http:// for loopback only, also on a local relay", async () => {
    await expectRefused(kind, { url: "http://hooks.example.com/" }, "url", /must use https:\/\//, LOCAL_ORIGIN);
  });
});

describe.each(KINDS)("$kind: never the relay itself", (kind) => {
  // Regression: a target at the relay's own address re-ingested its own deliveries 20 times in 20 s.
  for (const [origin, url] of [
    ["https://relay.example.com", "https://relay.example.com/tencent?SdkAppid=1400000001"],
    ["https://relay.example.com", "https://RELAY.example.com./netease/cc"],
    ["https://relay.example.com", "https://relay.example.com:8443/"],
    ["https://imrelay.acme.workers.dev", "https://imrelay.acme.workers.dev/netease/callback"],
    [LOCAL_ORIGIN, "http://127.0.0.1:8787/netease/cc"],
    [LOCAL_ORIGIN, "http://localhost:8787/tencent"],
    [LOCAL_ORIGIN, "http://[::1]:8787/"],
  ] as const) {
    it(`refuses ${url} when the relay is ${origin}`, async () => {
      await expectRefused(kind, { url }, "url", /points at the relay itself/, origin);
    });
  }

  it("accepts another port on the same machine when the relay runs locally", async () => {
    const res = await put(kind, "e", { url: "http://127.0.0.1:8788/hook" }, LOCAL_ORIGIN);
    expect(res.status).toBe(201);
  });
});

describe.each(KINDS)("$kind: headers", (kind) => {
  for (const name of [
    "Host",
    "Content-Length",
    "transfer-encoding",
    "Connection",
    "Keep-Alive",
    "TE",
    "Upgrade",
    "Proxy-Authorization",
    "CF-Connecting-IP",
    "X-Forwarded-For",
    "x-forwarded-proto",
    "Forwarded",
    "Content-Encoding",
    "Expect",
    "content-type",
    "User-Agent",
    "Webhook-Signature",
    "webhook-custom",
  ]) {
    it(`refuses the header ${name} with 422 ${kind.code}, naming it`, async () => {
      const body = { url: "https://hooks.example.com/", headers: { authorization: "Bearer x", [name]: "1" } };
      await expectRefused(kind, body, "headers", new RegExp(`header ${name} (is|belongs)`));
    });
  }

  it("accepts the headers an endpoint needs for its own credentials", async () => {
    const headers = { Authorization: "Bearer t", "X-Api-Key": "k", "x-tenant": "acme" };
    const res = await put(kind, "e", { url: "https://hooks.example.com/", headers });
    expect(res.status).toBe(201);
  });
});

describe("stored endpoints that predate the rules", () => {
  /** What a stored value looked like before: valid then, invalid now (raw KV write, as `wrangler kv key put`). */
  async function storeRaw(key: string, fields: Record<string, unknown>) {
    const now = new Date().toISOString();
    const value = { secret: generateSecret(), enabled: true, createdAt: now, updatedAt: now, ...fields };
    await env.TARGETS.put(key, JSON.stringify(value));
    return value;
  }

  it("lists a target at a private address or with a forwarding header as invalid, and routes it no events", async () => {
    await storeRaw(targetKey("private"), { url: "https://10.0.0.5/hook" });
    await storeRaw(targetKey("forged"), {
      url: "https://hooks.example.com/",
      headers: { "X-Forwarded-For": "1.2.3.4" },
    });
    await env.TARGETS.put(targetKey("fine"), JSON.stringify(makeTarget("https://hooks.example.com/ok")));
    const admin = adminClient();
    const list = (await (await admin.call("GET", "/admin/targets")).json()) as {
      items: { id: string }[];
      invalid: string[];
    };
    expect(list.items.map((t) => t.id)).toEqual(["fine"]);
    expect(list.invalid.sort()).toEqual(["forged", "private"]);
    const read = await admin.call("GET", "/admin/targets/private");
    expect(read.status).toBe(409);

    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { calls } = stubFetch({ "https://hooks.example.com/ok": 200 });
    const { result } = await runBatch(env, [{ body: eventMessage(await makeEvent()), id: "m1" }]);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(calls.map((c) => c.url)).not.toContain("https://10.0.0.5/hook");
    expect(String(warn.mock.calls)).toContain("targets with invalid config get no new events");
  });

  it("does not ask a decider at a metadata address; the callback is answered as without it", async () => {
    await storeRaw(deciderKey("meta"), { url: "https://169.254.169.254/decide" });
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { calls } = stubFetch({});
    const relay = adminClient();
    const res = await relay.fetch(
      await tencentRequest(JSON.stringify({ CallbackCommand: "C2C.CallbackBeforeSendMsg", From_Account: "a" })),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ActionStatus: "OK", ErrorCode: 0 });
    expect(calls).toHaveLength(0);
    expect(String(error.mock.calls)).toContain("deciders fail their schema and are not asked");
    expect((await (await relay.call("GET", "/admin/deciders")).json()) as unknown).toMatchObject({ invalid: ["meta"] });
  });

  for (const kind of KINDS) {
    it(`${kind.kind}: a DELETE removes one`, async () => {
      await storeRaw(kind.key("e"), { url: "https://10.0.0.5/hook" });
      const res = await adminClient().call("DELETE", `/admin/${kind.kind}/e`);
      expect(res.status).toBe(204);
      expect(await env.TARGETS.get(kind.key("e"))).toBeNull();
    });

    it(`${kind.kind}: a PUT that repairs one keeps its secret and creation time`, async () => {
      const old = await storeRaw(kind.key("e"), { url: "https://10.0.0.5/hook" });
      const res = await put(kind, "e", { url: "https://hooks.example.com/hook" });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { secret: string };
      expect(body.secret).toBe(`whsec_****${old.secret.slice(-4)}`);
      const stored = (await env.TARGETS.get(kind.key("e"), "json")) as { secret: string; createdAt: string };
      expect(stored).toMatchObject({ secret: old.secret, createdAt: old.createdAt });
    });
  }
});
