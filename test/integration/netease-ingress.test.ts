import { describe, expect, it, vi } from "vitest";
import { NETEASE_CALLBACK_EVENTS, NETEASE_CC_EVENTS } from "../../src/providers/netease/schemas";
import { relayWithFakeQueue } from "../helpers/app";
import { NETEASE_APP, NETEASE_SECRET } from "../helpers/bindings";
import { unreachableOutbox } from "../helpers/outbox";
import { neteaseRequest } from "../helpers/requests";

const fixtures = import.meta.glob<string>("../fixtures/netease/*.json", {
  eager: true,
  query: "?raw",
  import: "default",
});
const byChannel = (channel: "cc" | "callback") =>
  Object.entries(fixtures)
    .filter(([path]) => path.split("/").pop()?.startsWith(`${channel}-`))
    .map(([path, raw]) => ({ name: path.split("/").pop() as string, raw }));

const DISMISS = JSON.stringify({
  eventType: 8,
  fromAccount: "wmtest3",
  fromClientType: "IOS",
  tid: 2637250619,
  timestamp: "1564575855993",
});

describe("NetEase ingress: accepted callbacks", () => {
  for (const channel of ["cc", "callback"] as const) {
    for (const { name, raw } of byChannel(channel)) {
      it(`accepts and enqueues the ${channel} fixture ${name} as a schema-valid event`, async () => {
        const relay = relayWithFakeQueue();
        const res = await relay.fetch(await neteaseRequest(raw, { channel }));
        expect(res.status).toBe(200);
        const [event] = relay.events();
        expect(relay.events()).toHaveLength(1);
        const body = JSON.parse(raw);
        expect(event).toMatchObject({
          specversion: "1.0",
          source: `/netease/${NETEASE_APP}/${channel}`,
          provider: "netease",
          appid: NETEASE_APP,
          providerevent: `${channel}.${Number(body.eventType)}`,
          datacontenttype: "application/json",
          schemavalid: true,
        });
        expect(event?.data).toEqual(body);
        expect(res.headers.get("x-imrelay-event-id")).toBe(event?.id);
      });
    }
  }

  it("covers every documented eventType of both channels with a fixture", () => {
    const covered = (channel: "cc" | "callback") =>
      new Set(byChannel(channel).map(({ raw }) => String(Number(JSON.parse(raw).eventType))));
    expect([...covered("cc")].sort()).toEqual(Object.keys(NETEASE_CC_EVENTS).sort());
    expect([...covered("callback")].sort()).toEqual(Object.keys(NETEASE_CALLBACK_EVENTS).sort());
  });

  it("answers 抄送 with 200 and 第三方回调 with errCode 0 (allow)", async () => {
    const relay = relayWithFakeQueue();
    expect((await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc" }))).status).toBe(200);
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ errCode: 0 });
  });

  it("sends the event as a v2 text queue message: a JSON header line, then the body as received", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    const [sent] = relay.queue.sent;
    expect(sent?.options).toEqual({ contentType: "text" });
    const [header, ...rest] = String(sent?.raw).split("\n");
    expect(JSON.parse(header ?? "")).toMatchObject({ v: 2, kind: "event", event: { provider: "netease" } });
    expect(rest.join("\n")).toBe(DISMISS);
  });

  it("gives a provider's duplicate the same event id, and other apps or channels another", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback", curTime: String(Date.now() + 1000) }));
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc" }));
    const [a, b, c] = relay.events();
    expect(a?.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(b?.id).toBe(a?.id);
    expect(c?.id).not.toBe(a?.id);
  });

  it("gives two callbacks with identical bodies but no time of their own distinct ids, and a replayed request the same", async () => {
    const relay = relayWithFakeQueue();
    const timeless = JSON.stringify({ eventType: 8, fromAccount: "a", tid: 1 });
    const curTime = String(Date.now());
    await relay.fetch(await neteaseRequest(timeless, { channel: "callback", curTime }));
    await relay.fetch(await neteaseRequest(timeless, { channel: "callback", curTime: String(Number(curTime) + 1) }));
    await relay.fetch(await neteaseRequest(timeless, { channel: "callback", curTime }));
    const [first, second, replayed] = relay.events();
    expect(second?.id).not.toBe(first?.id);
    expect(replayed?.id).toBe(first?.id);
  });

  it("takes the event time from the payload's timestamp", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    expect(relay.events()[0]?.time).toBe(new Date(1564575855993).toISOString());
  });

  it("maps a 抄送 team notification with attach.id 4 to im.group.dismissed, attach sent as a string", async () => {
    const relay = relayWithFakeQueue();
    const body = JSON.stringify({
      eventType: "1",
      convType: "TEAM",
      to: "123",
      fromAccount: "a",
      msgType: "NOTIFICATION",
      msgTimestamp: "1564575855993",
      msgidServer: "1",
      attach: JSON.stringify({ id: 4, data: { tinfo: {} } }),
    });
    await relay.fetch(await neteaseRequest(body, { channel: "cc" }));
    expect(relay.events()[0]).toMatchObject({ type: "im.group.dismissed", providerevent: "cc.1", schemavalid: true });
  });

  it("enqueues the 抄送 of a super team's creation as im.group.created, at its msgTimestamp", async () => {
    const relay = relayWithFakeQueue();
    const raw = byChannel("cc").find((f) => f.name === "cc-1-superteam-create.json")?.raw as string;
    await relay.fetch(await neteaseRequest(raw, { channel: "cc" }));
    expect(relay.events()[0]).toMatchObject({
      type: "im.group.created",
      providerevent: "cc.1",
      time: new Date(1456802852094).toISOString(),
      schemavalid: true,
    });
  });

  it("takes the time of an A/V duration 抄送 from its createtime instead of the time of receipt", async () => {
    const relay = relayWithFakeQueue();
    const raw = byChannel("cc").find((f) => f.name === "cc-5-av-duration.json")?.raw as string;
    await relay.fetch(await neteaseRequest(raw, { channel: "cc" }));
    expect(relay.events()[0]?.time).toBe(new Date(1458798033925).toISOString());
  });

  it("keeps the two eventType spaces apart: cc.7 is a recall, callback.7 a team creation request", async () => {
    const relay = relayWithFakeQueue();
    const body = JSON.stringify({ eventType: 7, creator: "a", tname: "t", timestamp: "1564566441074" });
    await relay.fetch(await neteaseRequest(body, { channel: "callback" }));
    expect(relay.events()[0]?.type).toBe("im.group.create.requested");
  });

  it("accepts eventType sent as a number or as a string", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    await relay.fetch(
      await neteaseRequest(DISMISS.replace('"eventType":8', '"eventType":"8"'), { channel: "callback" }),
    );
    expect(relay.events().map((e) => [e.providerevent, e.schemavalid])).toEqual([
      ["callback.8", true],
      ["callback.8", true],
    ]);
  });

  it("accepts lowercase header names, as in NetEase's own cURL samples", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback", lowercase: true }));
    expect(res.status).toBe(200);
    expect(relay.events()).toHaveLength(1);
  });

  it("answers NetEase's {} address check with 200 and forwards nothing", async () => {
    for (const channel of ["cc", "callback"] as const) {
      const relay = relayWithFakeQueue();
      const res = await relay.fetch(await neteaseRequest("{}", { channel }));
      expect(res.status).toBe(200);
      expect(relay.queue.sent).toHaveLength(0);
    }
  });
});

describe("NetEase ingress: data exactly as received", () => {
  // NetEase's own login-callback example sends msgId as a bare 64-bit number; a JSON round trip would turn
  // 184409700039655569 into 184409700039655570.
  const BIG = '{"eventType":36,"fromAccount":"a","msgId":184409700039655569,"note":"空格 and \\u00e9","x":1e400}';

  it("carries the raw body text as data on the queue, so 64-bit integers keep every digit", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await neteaseRequest(BIG, { channel: "callback" }));
    const message = relay.queue.sent[0]?.body as { data: string };
    expect(message.data).toBe(BIG);
  });

  it("accepts a body nested 64 levels deep and refuses 65 with 400 INVALID_BODY", async () => {
    const nested = (levels: number) => `{"eventType":"1","x":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}`;
    const relay = relayWithFakeQueue();
    expect((await relay.fetch(await neteaseRequest(nested(64)))).status).toBe(200);
    const res = await relay.fetch(await neteaseRequest(nested(65)));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { desc: string }).desc).toBe("INVALID_BODY: body is nested deeper than 64 levels");
    expect(relay.queue.sent).toHaveLength(1);
  });
});

describe("NetEase ingress: authentication", () => {
  const refused = async (opts: Parameters<typeof neteaseRequest>[1], status: number, code: string) => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback", ...opts }));
    expect(res.status).toBe(status);
    const body = (await res.json()) as { code: number; desc: string; requestId: string };
    expect(body.code).toBe(status);
    expect(body.desc.startsWith(`${code}:`)).toBe(true);
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
    expect(relay.queue.sent).toHaveLength(0);
    return body;
  };

  for (const header of ["AppKey", "CurTime", "MD5", "CheckSum"] as const) {
    it(`refuses a request without the ${header} header`, async () => {
      const body = await refused({ omit: [header] }, 401, "MISSING_CREDENTIALS");
      expect(body.desc).toContain(header);
    });
  }

  it("refuses a CheckSum computed with another AppSecret", () =>
    refused({ secret: "not-the-secret" }, 401, "BAD_SIGNATURE"));
  it("refuses an unknown AppKey", () => refused({ appKey: "someone-else" }, 401, "UNKNOWN_APP"));

  it("refuses a body changed after signing", () =>
    refused({ sentBody: DISMISS.replace("wmtest3", "attacker") }, 401, "BODY_DIGEST_MISMATCH"));

  it("refuses a body whose MD5 header was recomputed without the AppSecret", async () => {
    const forged = DISMISS.replace("wmtest3", "attacker");
    const md5 = [...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(forged)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    await refused({ md5, secret: "guessed", sentBody: forged }, 401, "BAD_SIGNATURE");
  });

  it("refuses a CurTime older than the window", () =>
    refused({ curTime: String(Date.now() - 301_000) }, 401, "TIMESTAMP_OUT_OF_WINDOW"));
  it("refuses a CurTime further in the future than the window", () =>
    refused({ curTime: String(Date.now() + 301_000) }, 401, "TIMESTAMP_OUT_OF_WINDOW"));
  it("accepts a CurTime just inside the window", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(
      await neteaseRequest(DISMISS, { channel: "callback", curTime: String(Date.now() - 290_000) }),
    );
    expect(res.status).toBe(200);
  });
  it("refuses a non-numeric CurTime", () => refused({ curTime: "yesterday" }, 401, "INVALID_TIMESTAMP"));

  it("refuses a callback on a channel its app is not configured for (a cross-channel replay)", async () => {
    const apps = JSON.stringify({ [NETEASE_APP]: { secret: NETEASE_SECRET, channels: ["cc"] } });
    const relay = relayWithFakeQueue({ NETEASE_APPS: apps });
    expect((await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc" }))).status).toBe(200);
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { desc: string }).desc).toBe(
      "UNKNOWN_APP: AppKey is not configured for the callback channel",
    );
    expect(relay.queue.sent).toHaveLength(1);
  });

  it("never echoes the AppSecret in an answer", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback", secret: "x" }));
    expect(await res.text()).not.toContain("netease-app-secret");
  });
});

describe("NetEase ingress: bad input", () => {
  const send = async (body: string | Uint8Array, channel: "cc" | "callback" = "cc") => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await neteaseRequest(body, { channel }));
    return { relay, res, body: (await res.json()) as { code: number; desc: string } };
  };

  it("refuses a body that is not JSON with 400 and enqueues nothing", async () => {
    const { relay, res, body } = await send("eventType=1");
    expect(res.status).toBe(400);
    expect(body.desc).toMatch(/^INVALID_JSON/);
    expect(relay.queue.sent).toHaveLength(0);
  });

  it("refuses a body that is invalid UTF-8 with 400", async () => {
    const { res, body } = await send(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]));
    expect(res.status).toBe(400);
    expect(body.desc).toMatch(/^INVALID_BODY/);
  });

  it("refuses JSON that is not an object with 400", async () => {
    const { res } = await send("[1,2]");
    expect(res.status).toBe(400);
  });

  it("refuses a body without eventType with 400 and enqueues nothing", async () => {
    const { relay, res, body } = await send(JSON.stringify({ fromAccount: "a" }));
    expect(res.status).toBe(400);
    expect(body.desc).toMatch(/^MISSING_EVENT_TYPE/);
    expect(relay.queue.sent).toHaveLength(0);
  });

  it("still enqueues an authenticated callback that fails its schema, marked schemavalid false", async () => {
    const { relay, res } = await send(JSON.stringify({ eventType: 8, fromAccount: "a" }), "callback");
    expect(res.status).toBe(200);
    expect(relay.events()[0]).toMatchObject({
      providerevent: "callback.8",
      schemavalid: false,
      type: "netease.callback.team_dismiss",
    });
  });

  it("still enqueues an authenticated callback of an unknown eventType, marked schemavalid false", async () => {
    const { relay, res } = await send(JSON.stringify({ eventType: "999", x: 1 }));
    expect(res.status).toBe(200);
    expect(relay.events()[0]).toMatchObject({ providerevent: "cc.999", schemavalid: false, type: "netease.cc.999" });
  });

  it("names the app in the log line of a refusal once the request named a configured app", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    // Queue and outbox both down: the one refusal the ack path can still give after authentication.
    const relay = relayWithFakeQueue({ OUTBOX: unreachableOutbox() });
    await relay.fetch(await neteaseRequest(JSON.stringify({ fromAccount: "a" })));
    await relay.fetch(await neteaseRequest(DISMISS, { secret: "not-the-secret" }));
    relay.queue.failWith = new Error("queue unavailable");
    await relay.fetch(await neteaseRequest(DISMISS));
    const lines = [...warn.mock.calls, ...error.mock.calls].map(([line]) => JSON.parse(String(line)));
    warn.mockRestore();
    error.mockRestore();
    const byCode = (code: string) => lines.find((l) => l.code === code);
    expect(byCode("MISSING_EVENT_TYPE")).toMatchObject({ msg: "callback refused", appId: NETEASE_APP });
    expect(byCode("ENQUEUE_FAILED")).toMatchObject({ msg: "callback failed", appId: NETEASE_APP });
    // The AppKey is configured, so a refused signature names it too.
    expect(byCode("BAD_SIGNATURE")).toMatchObject({ msg: "callback refused", appId: NETEASE_APP });
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const big = JSON.stringify({ eventType: "1", body: "x".repeat(1_048_576) });
    const { relay, res, body } = await send(big);
    expect(res.status).toBe(413);
    expect(body.desc).toMatch(/^PAYLOAD_TOO_LARGE/);
    expect(relay.queue.sent).toHaveLength(0);
  });

  it("answers 503, never 200 or 500, when the queue and the outbox both refuse the event", async () => {
    for (const channel of ["cc", "callback"] as const) {
      const relay = relayWithFakeQueue({ OUTBOX: unreachableOutbox() });
      relay.queue.failWith = new Error("queue unavailable");
      const res = await relay.fetch(await neteaseRequest(DISMISS, { channel }));
      expect(res.status).toBe(503);
      expect(((await res.json()) as { desc: string }).desc).toMatch(/^ENQUEUE_FAILED/);
    }
  });

  it("answers 503 naming the variable when NETEASE_APPS is not valid JSON", async () => {
    const relay = relayWithFakeQueue({ NETEASE_APPS: "{not json" });
    const res = await relay.fetch(await neteaseRequest(DISMISS));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { desc: string }).desc).toBe("NOT_CONFIGURED: NETEASE_APPS is not valid JSON");
  });

  it("answers 405 in NetEase's format to a GET", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(new Request("http://relay.test/netease/cc"));
    expect(res.status).toBe(405);
    expect(((await res.json()) as { code: number }).code).toBe(405);
  });
});
