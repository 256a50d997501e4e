import { describe, expect, it } from "vitest";
import { TENCENT_COMMANDS } from "../../src/providers/tencent/schemas";
import { relayWithFakeQueue } from "../helpers/app";
import { TENCENT_APP, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "../helpers/bindings";
import { unreachableOutbox } from "../helpers/outbox";
import { tencentRequest } from "../helpers/requests";

const fixtures = Object.entries(
  import.meta.glob<string>("../fixtures/tencent/*.json", { eager: true, query: "?raw", import: "default" }),
).map(([path, raw]) => ({ command: (path.split("/").pop() as string).replace(/(\.\d+)?\.json$/, ""), raw }));

const DESTROYED = fixtures.find((f) => f.command === "Group.CallbackAfterGroupDestroyed")?.raw as string;
const OK = { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" };

describe("Tencent ingress: accepted callbacks", () => {
  for (const { command, raw } of fixtures) {
    it(`accepts and enqueues ${command} as a schema-valid event, answering OK`, async () => {
      const relay = relayWithFakeQueue();
      const res = await relay.fetch(await tencentRequest(raw, { command }));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject(OK);
      expect(relay.events()).toHaveLength(1);
      expect(relay.events()[0]).toMatchObject({
        source: `/tencent/${TENCENT_APP}`,
        provider: "tencent",
        providerevent: command,
        appid: TENCENT_APP,
        schemavalid: true,
      });
      expect(relay.events()[0]?.data).toEqual(JSON.parse(raw));
    });
  }

  it("has a fixture for every command of the catalogue", () => {
    expect(new Set(fixtures.map((f) => f.command))).toEqual(new Set(Object.keys(TENCENT_COMMANDS)));
  });

  it("maps Group.CallbackAfterGroupDestroyed to im.group.dismissed with the payload's EventTime", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await tencentRequest(DESTROYED));
    expect(relay.events()[0]).toMatchObject({
      type: "im.group.dismissed",
      time: new Date(1670574414123).toISOString(),
    });
  });

  it("maps a kicked member to im.group.member.kicked and a member who quit to im.group.member.left", async () => {
    const relay = relayWithFakeQueue();
    const exit = (ExitType: string) =>
      JSON.stringify({
        CallbackCommand: "Group.CallbackAfterMemberExit",
        GroupId: "g",
        Type: "Public",
        ExitType,
        Operator_Account: "a",
        ExitMemberList: [],
      });
    await relay.fetch(await tencentRequest(exit("Kicked")));
    await relay.fetch(await tencentRequest(exit("Quit")));
    expect(relay.events().map((e) => e.type)).toEqual(["im.group.member.kicked", "im.group.member.left"]);
  });

  it("maps a member made admin to im.group.admin.added and one made member again to im.group.admin.removed", async () => {
    const relay = relayWithFakeQueue();
    const raw = fixtures.find((f) => f.command === "Group.CallbackAfterMemberFieldChanged")?.raw as string;
    await relay.fetch(await tencentRequest(raw));
    await relay.fetch(await tencentRequest(raw.replace('"Role": "Admin"', '"Role": "Member"')));
    expect(relay.events().map((e) => e.type)).toEqual(["im.group.admin.added", "im.group.admin.removed"]);
  });

  it("takes a read report's time from its LastReadTime, in seconds", async () => {
    const relay = relayWithFakeQueue();
    const body = JSON.stringify({
      CallbackCommand: "C2C.CallbackAfterMsgReport",
      Report_Account: "a",
      Peer_Account: "b",
      LastReadTime: 1614754606,
      UnreadMsgNum: 0,
    });
    await relay.fetch(await tencentRequest(body));
    expect(relay.events()[0]).toMatchObject({ time: new Date(1614754606000).toISOString(), schemavalid: true });
  });

  it("carries the query's ClientIP and OptPlatform, which the body does not repeat, as event attributes", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await tencentRequest(DESTROYED));
    expect(relay.events()[0]).toMatchObject({ clientip: "127.0.0.1", optplatform: "RESTAPI" });
  });

  it("drops a ClientIP or OptPlatform that is not well-formed instead of forwarding it", async () => {
    const relay = relayWithFakeQueue();
    const req = await tencentRequest(DESTROYED);
    const url = new URL(req.url);
    url.searchParams.set("ClientIP", "<script>");
    url.searchParams.set("OptPlatform", "x".repeat(40));
    await relay.fetch(new Request(url, req));
    const event = relay.events()[0];
    expect(event).toBeDefined();
    expect(event).not.toHaveProperty("clientip");
    expect(event).not.toHaveProperty("optplatform");
  });

  it("gives two identical friend deletions without EventTime distinct ids (by RequestTime), and a replayed request the same", async () => {
    const relay = relayWithFakeQueue();
    const body = JSON.stringify({
      CallbackCommand: "Sns.CallbackFriendDelete",
      PairList: [{ From_Account: "id1", To_Account: "id2" }],
    });
    const now = Math.floor(Date.now() / 1000);
    const opts = { appId: TENCENT_TOKEN_APP, token: TENCENT_TOKEN };
    await relay.fetch(await tencentRequest(body, { ...opts, requestTime: String(now) }));
    await relay.fetch(await tencentRequest(body, { ...opts, requestTime: String(now + 1) }));
    await relay.fetch(await tencentRequest(body, { ...opts, requestTime: String(now) }));
    const [first, second, replayed] = relay.events();
    expect(second?.id).not.toBe(first?.id);
    expect(replayed?.id).toBe(first?.id);
  });

  it("gives a body with an EventTime of its own the same id whatever the RequestTime: a provider's retry is deduplicated", async () => {
    const relay = relayWithFakeQueue();
    const body = JSON.stringify({
      CallbackCommand: "Group.CallbackAfterGroupDestroyed",
      GroupId: "@TGS#1",
      Type: "Public",
      Owner_Account: "a",
      Name: "g",
      EventTime: 1670574414123,
    });
    const now = Math.floor(Date.now() / 1000);
    const opts = { appId: TENCENT_TOKEN_APP, token: TENCENT_TOKEN };
    await relay.fetch(await tencentRequest(body, { ...opts, requestTime: String(now) }));
    await relay.fetch(await tencentRequest(body, { ...opts, requestTime: String(now + 5) }));
    const [first, retried] = relay.events();
    expect(retried?.id).toBe(first?.id);
  });

  it("gives commands without a shared meaning a provider-scoped type", async () => {
    const relay = relayWithFakeQueue();
    const raw = fixtures.find((f) => f.command === "Group.CallbackAfterGroupFull")?.raw as string;
    await relay.fetch(await tencentRequest(raw));
    expect(relay.events()[0]?.type).toBe("tencent.Group.CallbackAfterGroupFull");
  });

  it("allows friend before-callbacks explicitly for every requested account", async () => {
    const relay = relayWithFakeQueue();
    const raw = fixtures.find((f) => f.command === "Sns.CallbackPrevFriendAdd")?.raw as string;
    const res = await relay.fetch(await tencentRequest(raw));
    const accounts = (JSON.parse(raw).FriendItem as { To_Account: string }[]).map((i) => i.To_Account);
    expect(await res.json()).toEqual({
      ...OK,
      ResultItem: accounts.map((To_Account) => ({ To_Account, ResultCode: 0, ResultInfo: "" })),
    });
  });

  it("allows a message before-callback unmodified", async () => {
    const relay = relayWithFakeQueue();
    const raw = fixtures.find((f) => f.command === "C2C.CallbackBeforeSendMsg")?.raw as string;
    const res = await relay.fetch(await tencentRequest(raw));
    expect(await res.json()).toEqual(OK);
    expect(relay.events()[0]?.type).toBe("im.message.send.requested");
  });

  it("still enqueues a callback whose body names another command, marked schemavalid false", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await tencentRequest(DESTROYED, { command: "Group.CallbackAfterGroupFull" }));
    expect(res.status).toBe(200);
    expect(relay.events()[0]).toMatchObject({ providerevent: "Group.CallbackAfterGroupFull", schemavalid: false });
  });

  it("still enqueues an unknown command, marked schemavalid false", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(
      await tencentRequest(JSON.stringify({ CallbackCommand: "Room.CallbackAfterX", a: 1 })),
    );
    expect(res.status).toBe(200);
    expect(relay.events()[0]).toMatchObject({
      providerevent: "Room.CallbackAfterX",
      type: "tencent.Room.CallbackAfterX",
      schemavalid: false,
    });
  });
});

describe("Tencent ingress: authentication", () => {
  const fails = async (req: Request, status: number, code: string) => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(req);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { ActionStatus: string; ErrorCode: number; ErrorInfo: string };
    expect(body.ActionStatus).toBe("FAIL");
    expect(body.ErrorCode).not.toBe(0);
    expect(body.ErrorInfo.startsWith(`${code}:`)).toBe(true);
    expect(JSON.stringify(body)).not.toContain(TENCENT_TOKEN);
    expect(relay.queue.sent).toHaveLength(0);
  };

  it("accepts a valid Sign for an app with a callback token", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await tencentRequest(DESTROYED, { appId: TENCENT_TOKEN_APP, token: TENCENT_TOKEN }));
    expect(res.status).toBe(200);
    expect(relay.events()).toHaveLength(1);
  });

  it("verifies Sign as sha256(token + RequestTime), the documented example", async () => {
    const { hexDigest } = await import("../../src/crypto");
    expect(await hexDigest("SHA-256", "xxxxyyyy1669872112")).toBe(
      "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
    );
  });

  it("refuses an unknown SdkAppid", async () =>
    fails(await tencentRequest(DESTROYED, { appId: "1499999999" }), 401, "UNKNOWN_APP"));
  it("refuses a request without SdkAppid", async () => {
    const req = await tencentRequest(DESTROYED);
    const url = new URL(req.url);
    url.searchParams.delete("SdkAppid");
    await fails(new Request(url, req), 401, "MISSING_CREDENTIALS");
  });
  it("refuses a repeated SdkAppid", async () =>
    fails(
      await tencentRequest(DESTROYED, {
        appId: TENCENT_TOKEN_APP,
        token: TENCENT_TOKEN,
        extraQuery: `&SdkAppid=${TENCENT_APP}`,
      }),
      400,
      "AMBIGUOUS_PARAMETER",
    ));
  it("refuses a token app's request without Sign", async () => {
    const req = await tencentRequest(DESTROYED, { appId: TENCENT_TOKEN_APP });
    await fails(req, 401, "MISSING_CREDENTIALS");
  });
  it("refuses a token app's request without RequestTime", async () => {
    const req = await tencentRequest(DESTROYED, { appId: TENCENT_TOKEN_APP, token: TENCENT_TOKEN });
    const url = new URL(req.url);
    url.searchParams.delete("RequestTime");
    await fails(new Request(url, req), 401, "MISSING_CREDENTIALS");
  });
  it("refuses a Sign made with another token", async () =>
    fails(await tencentRequest(DESTROYED, { appId: TENCENT_TOKEN_APP, token: "other-token" }), 401, "BAD_SIGNATURE"));
  it("refuses a RequestTime older than the window", async () =>
    fails(
      await tencentRequest(DESTROYED, {
        appId: TENCENT_TOKEN_APP,
        token: TENCENT_TOKEN,
        requestTime: String(Math.floor(Date.now() / 1000) - 61),
      }),
      401,
      "TIMESTAMP_OUT_OF_WINDOW",
    ));
  it("refuses a RequestTime further in the future than the window", async () =>
    fails(
      await tencentRequest(DESTROYED, {
        appId: TENCENT_TOKEN_APP,
        token: TENCENT_TOKEN,
        requestTime: String(Math.floor(Date.now() / 1000) + 61),
      }),
      401,
      "TIMESTAMP_OUT_OF_WINDOW",
    ));
  it("refuses a non-numeric RequestTime", async () =>
    fails(
      await tencentRequest(DESTROYED, { appId: TENCENT_TOKEN_APP, token: TENCENT_TOKEN, requestTime: "soon" }),
      401,
      "INVALID_TIMESTAMP",
    ));
});

describe("Tencent ingress: bad input", () => {
  const fail = async (req: Request, status: number, code: string, relay = relayWithFakeQueue()) => {
    const res = await relay.fetch(req);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { ActionStatus: string; ErrorInfo: string };
    expect(body.ActionStatus).toBe("FAIL");
    expect(body.ErrorInfo.startsWith(`${code}:`)).toBe(true);
    expect(relay.queue.sent).toHaveLength(0);
  };

  it("refuses a body that is not JSON with 400", async () =>
    fail(await tencentRequest("not json", { command: "Group.CallbackAfterGroupFull" }), 400, "INVALID_JSON"));
  it("refuses a request without CallbackCommand anywhere with 400", async () =>
    fail(await tencentRequest(JSON.stringify({ GroupId: "g" }), { command: null }), 400, "MISSING_EVENT_TYPE"));
  it("refuses a body over 1 MiB with 413", async () =>
    fail(
      await tencentRequest(JSON.stringify({ CallbackCommand: "C2C.CallbackAfterSendMsg", pad: "x".repeat(1_048_576) })),
      413,
      "PAYLOAD_TOO_LARGE",
    ));
  it("answers 503 with ActionStatus FAIL when the queue and the outbox both refuse the event", async () => {
    const relay = relayWithFakeQueue({ OUTBOX: unreachableOutbox() });
    relay.queue.failWith = new Error("down");
    await fail(await tencentRequest(DESTROYED), 503, "ENQUEUE_FAILED", relay);
  });
  it("answers 405 with ActionStatus FAIL to a GET", async () => {
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(new Request(`http://relay.test/tencent?SdkAppid=${TENCENT_APP}`));
    expect(res.status).toBe(405);
    expect(((await res.json()) as { ActionStatus: string }).ActionStatus).toBe("FAIL");
  });
});
