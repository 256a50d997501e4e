import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deciderKey } from "../../src/deciders/store";
import { generateSecret, verify } from "../../src/delivery/signature";
import { adminClient, errorOf } from "../helpers/admin-client";
import { stubFetch } from "../helpers/consumer-harness";
import { removeDeciders } from "../helpers/deciders";
import { tencentRequest } from "../helpers/requests";

const URL_A = "https://decider.example.test/decide";
const SEND = JSON.stringify({
  CallbackCommand: "C2C.CallbackBeforeSendMsg",
  From_Account: "a",
  To_Account: "b",
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "hi" } }],
});

type Body = Record<string, unknown> & { secret: string };

afterEach(async () => {
  vi.restoreAllMocks();
  await removeDeciders();
});

describe("admin API: deciders", () => {
  it("creates a decider with 201, defaults, and the generated secret shown in that response only", async () => {
    const admin = adminClient();
    const created = await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Body;
    expect(body).toMatchObject({ id: "words", url: URL_A, enabled: true });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const read = (await (await admin.call("GET", "/admin/deciders/words")).json()) as Body;
    expect(read.secret).toBe(`whsec_****${body.secret.slice(-4)}`);
    const list = (await (await admin.call("GET", "/admin/deciders")).json()) as { items: Body[]; invalid: string[] };
    expect(list.items.map((d) => d.id)).toEqual(["words"]);
    expect(list.items[0]?.secret).toBe(read.secret);
    expect(list.invalid).toEqual([]);
  });

  it("keeps the secret on a PUT without one (200), and rotates it on a PUT with a new one", async () => {
    const admin = adminClient();
    const first = generateSecret();
    await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A, secret: first } });
    const kept = await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A, timeoutMs: 500 } });
    expect(kept.status).toBe(200);
    expect(((await kept.json()) as Body).secret).toBe(`whsec_****${first.slice(-4)}`);
    const second = generateSecret();
    await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A, secret: second } });
    const stored = (await env.TARGETS.get(deciderKey("words"), "json")) as {
      secret: string;
      previousSecrets: { secret: string }[];
    };
    expect(stored.secret).toBe(second);
    expect(stored.previousSecrets.map((p) => p.secret)).toEqual([first]);
  });

  it("rotate-secret shows the new secret once, and both secrets sign the decider's requests for the grace period", async () => {
    const admin = adminClient();
    const old = ((await (await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A } })).json()) as Body)
      .secret;
    const res = await admin.call("POST", "/admin/deciders/words/rotate-secret");
    expect(res.status).toBe(200);
    const fresh = ((await res.json()) as Body).secret;
    expect(fresh).not.toBe(old);
    const { calls } = stubFetch({ [URL_A]: () => Response.json({ decision: "allow" }) });
    await admin.fetch(await tencentRequest(SEND));
    const call = calls[0];
    const headers = {
      id: call?.headers.get("webhook-id") ?? "",
      timestamp: call?.headers.get("webhook-timestamp") ?? "",
      signature: call?.headers.get("webhook-signature") ?? "",
    };
    expect(headers.signature.split(" ")).toHaveLength(2);
    expect(await verify(fresh, headers, call?.body ?? "")).toBe(true);
    expect(await verify(old, headers, call?.body ?? "")).toBe(true);
  });

  const refusals: [string, unknown, string][] = [
    ["a timeoutMs under 100", { url: URL_A, timeoutMs: 99 }, "timeoutMs"],
    ["a timeoutMs over 1500", { url: URL_A, timeoutMs: 1501 }, "timeoutMs"],
    ["a fallback other than allow or deny", { url: URL_A, fallback: "drop" }, "fallback"],
    ["an http:// url to a remote host", { url: "http://decider.example.test/" }, "url"],
    ["an unknown field", { url: URL_A, lanes: 2 }, "lanes"],
    ["a reserved header", { url: URL_A, headers: { "webhook-signature": "x" } }, "headers"],
    ["no url", { timeoutMs: 500 }, "url"],
  ];
  for (const [what, body, field] of refusals) {
    it(`refuses ${what} with 422 INVALID_DECIDER naming ${field}, storing nothing`, async () => {
      const admin = adminClient();
      const res = await admin.call("PUT", "/admin/deciders/words", { body });
      expect(res.status).toBe(422);
      const error = await errorOf(res);
      expect(error.code).toBe("INVALID_DECIDER");
      expect(error.message).toContain(field);
      expect(await env.TARGETS.get(deciderKey("words"))).toBeNull();
    });
  }

  it("refuses a malformed decider id with 422 and an unknown one with 404", async () => {
    const admin = adminClient();
    expect((await admin.call("PUT", "/admin/deciders/Not_OK", { body: { url: URL_A } })).status).toBe(422);
    for (const [method, path] of [
      ["GET", "/admin/deciders/nobody"],
      ["DELETE", "/admin/deciders/nobody"],
      ["POST", "/admin/deciders/nobody/rotate-secret"],
    ] as const) {
      const res = await admin.call(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await errorOf(res)).code).toBe("NOT_FOUND");
    }
  });

  it("lists a stored decider that fails its schema as invalid, and GET answers 409 until it is PUT again", async () => {
    await env.TARGETS.put(deciderKey("broken"), JSON.stringify({ url: URL_A, timeoutMs: 5 }));
    const admin = adminClient();
    const list = (await (await admin.call("GET", "/admin/deciders")).json()) as { invalid: string[] };
    expect(list.invalid).toEqual(["broken"]);
    expect((await admin.call("GET", "/admin/deciders/broken")).status).toBe(409);
    expect((await admin.call("PUT", "/admin/deciders/broken", { body: { url: URL_A } })).status).toBe(201);
    expect((await admin.call("GET", "/admin/deciders/broken")).status).toBe(200);
  });

  it("a saved decider answers the next before-callback; once deleted (204) it is asked no more", async () => {
    const admin = adminClient();
    await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A } });
    const { calls } = stubFetch({ [URL_A]: () => Response.json({ decision: "deny", reason: "no" }) });
    expect(await (await admin.fetch(await tencentRequest(SEND))).json()).toMatchObject({
      ErrorCode: 1,
      ErrorInfo: "no",
    });
    expect((await admin.call("DELETE", "/admin/deciders/words")).status).toBe(204);
    expect((await admin.call("GET", "/admin/deciders/words")).status).toBe(404);
    expect(await (await admin.fetch(await tencentRequest(SEND))).json()).toMatchObject({ ErrorCode: 0 });
    expect(calls).toHaveLength(1);
  });

  it("a disabled decider is not asked", async () => {
    const admin = adminClient();
    await admin.call("PUT", "/admin/deciders/words", { body: { url: URL_A, enabled: false } });
    const { calls } = stubFetch({ [URL_A]: () => Response.json({ decision: "deny" }) });
    expect(await (await admin.fetch(await tencentRequest(SEND))).json()).toMatchObject({ ErrorCode: 0 });
    expect(calls).toHaveLength(0);
  });

  it("never shows a decider's secret after its creating response, nor logs one", async () => {
    const spies = [
      vi.spyOn(console, "log"),
      vi.spyOn(console, "warn"),
      vi.spyOn(console, "error"),
      vi.spyOn(console, "info"),
    ];
    const admin = adminClient();
    const given = generateSecret();
    const texts: string[] = [];
    const record = async (res: Response) => texts.push(await res.text());
    await record(
      await admin.call("PUT", "/admin/deciders/words", {
        body: { url: URL_A, secret: given, headers: { authorization: "Bearer k" } },
      }),
    );
    await record(await admin.call("GET", "/admin/deciders/words"));
    await record(await admin.call("GET", "/admin/deciders"));
    await record(await admin.call("PUT", "/admin/deciders/words", { body: { url: "http://x.test", secret: given } }));
    stubFetch({ [URL_A]: () => Response.json({ decision: "allow" }) });
    await admin.fetch(await tencentRequest(SEND));
    const logged = spies.flatMap((s) => s.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
    expect(logged).toContain("decider saved");
    const key = given.slice("whsec_".length, "whsec_".length + 24);
    for (const text of texts) {
      expect(text).not.toContain(key);
      expect(text).not.toContain("Bearer k");
    }
    expect(logged).not.toContain(key);
  });
});
