import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { invalidateDeciderCache } from "../../src/deciders/store";
import { DeciderAnswer } from "../../src/deciders/verdict";
import { verify } from "../../src/delivery/signature";
import { NETEASE_CALLBACK_EVENTS } from "../../src/providers/netease/schemas";
import { TENCENT_COMMANDS } from "../../src/providers/tencent/schemas";
import { relayWithFakeQueue } from "../helpers/app";
import { hangUntilAborted, type RecordedRequest, type Responder, stubFetch } from "../helpers/consumer-harness";
import { removeDeciders, storeDecider } from "../helpers/deciders";
import { unreachableOutbox } from "../helpers/outbox";
import { neteaseRequest, tencentRequest } from "../helpers/requests";

const tencentFixtures = import.meta.glob<string>("../fixtures/tencent/*.json", {
  eager: true,
  query: "?raw",
  import: "default",
});
const neteaseFixtures = import.meta.glob<string>("../fixtures/netease/callback-*.json", {
  eager: true,
  query: "?raw",
  import: "default",
});
const tencent = (command: string) => tencentFixtures[`../fixtures/tencent/${command}.json`] as string;
const netease = (name: string) => neteaseFixtures[`../fixtures/netease/callback-${name}.json`] as string;

const A = "https://decider-a.test/decide";
const B = "https://decider-b.test/decide";
const verdict =
  (answer: unknown): Responder =>
  () =>
    Response.json(answer);

afterEach(async () => {
  vi.restoreAllMocks();
  await removeDeciders();
});

async function askTencent(command: string, raw = tencent(command)) {
  const relay = relayWithFakeQueue();
  const res = await relay.fetch(await tencentRequest(raw, { command }));
  return { res, body: (await res.json()) as Record<string, unknown>, events: relay.events() };
}

async function askNetease(name: string, raw = netease(name)) {
  const relay = relayWithFakeQueue();
  const res = await relay.fetch(await neteaseRequest(raw, { channel: "callback" }));
  return { res, body: (await res.json()) as Record<string, unknown>, events: relay.events() };
}

const TENCENT_BEFORE = Object.entries(TENCENT_COMMANDS)
  .filter(([, entry]) => entry.phase === "before")
  .map(([command]) => command);

describe("deciders: every Tencent before-callback", () => {
  it("the catalogue's before-callbacks are the twelve of tencent.md §2.1", () => {
    expect(TENCENT_BEFORE.sort()).toEqual(
      [
        "C2C.CallbackBeforeSendMsg",
        "Chatbot.OnC2CSignalMessage",
        "Group.CallbackBeforeApplyJoinGroup",
        "Group.CallbackBeforeCreateGroup",
        "Group.CallbackBeforeCreateTopic",
        "Group.CallbackBeforeInviteJoinGroup",
        "Group.CallbackBeforeSendMsg",
        "OfficialAccount.CallbackBeforeAddSubscriber",
        "OfficialAccount.CallbackBeforeCreateOfficialAccount",
        "OfficialAccount.CallbackBeforeSendMsg",
        "Sns.CallbackPrevFriendAdd",
        "Sns.CallbackPrevFriendResponse",
      ].sort(),
    );
  });

  const FRIEND = new Set(["Sns.CallbackPrevFriendAdd", "Sns.CallbackPrevFriendResponse"]);
  for (const command of TENCENT_BEFORE) {
    it(`${command}: a deny answers a refusal, and the event on the queue says deny by the decider`, async () => {
      await storeDecider("words", { url: A });
      const { calls } = stubFetch({ [A]: verdict({ decision: "deny", reason: "not allowed" }) });
      const { body, events } = await askTencent(command);
      expect(calls).toHaveLength(1);
      if (FRIEND.has(command)) {
        // A friend request is refused per account; a top-level error would let it through.
        expect(body.ErrorCode).toBe(0);
        const items = body.ResultItem as { ResultCode: number; ResultInfo: string }[];
        expect(items.length).toBeGreaterThan(0);
        for (const item of items) expect(item).toMatchObject({ ResultCode: 38000, ResultInfo: "not allowed" });
      } else {
        expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "not allowed" });
      }
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ decision: "deny", decidedby: "words", providerevent: command });
    });

    it(`${command}: an allow answers ErrorCode 0, and the event says allow`, async () => {
      await storeDecider("words", { url: A });
      stubFetch({ [A]: verdict({ decision: "allow" }) });
      const { body, events } = await askTencent(command);
      expect(body).toMatchObject({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
      expect(body.MsgBody).toBeUndefined();
      expect(events[0]).toMatchObject({ decision: "allow", decidedby: "words" });
    });
  }

  it("sends a custom deny code in the command's range, and ErrorCode 1 for one outside it", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "deny", code: 120500, reason: "spam" }) });
    expect((await askTencent("C2C.CallbackBeforeSendMsg")).body).toMatchObject({
      ErrorCode: 120500,
      ErrorInfo: "spam",
    });
    expect((await askTencent("OfficialAccount.CallbackBeforeSendMsg")).body).toMatchObject({ ErrorCode: 120500 });
    // 120500 is C2C's range, not a group's (10100–10200).
    expect((await askTencent("Group.CallbackBeforeSendMsg")).body).toMatchObject({ ErrorCode: 1, ErrorInfo: "spam" });
    stubFetch({ [A]: verdict({ decision: "deny", code: 10150 }) });
    for (const command of [
      "Group.CallbackBeforeSendMsg",
      "Group.CallbackBeforeCreateGroup",
      "Group.CallbackBeforeCreateTopic",
      "Group.CallbackBeforeApplyJoinGroup",
      "Group.CallbackBeforeInviteJoinGroup",
    ])
      expect((await askTencent(command)).body, command).toMatchObject({ ErrorCode: 10150 });
    expect((await askTencent("C2C.CallbackBeforeSendMsg")).body).toMatchObject({ ErrorCode: 1 });
    expect((await askTencent("OfficialAccount.CallbackBeforeAddSubscriber")).body).toMatchObject({ ErrorCode: 1 });
  });

  it("a friend deny uses a code in 38000–39000 as each account's ResultCode", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "deny", code: 38123 }) });
    const { body } = await askTencent("Sns.CallbackPrevFriendAdd");
    expect(body.ResultItem).toEqual([
      { To_Account: "id1", ResultCode: 38123, ResultInfo: "" },
      { To_Account: "id2", ResultCode: 38123, ResultInfo: "" },
    ]);
  });

  for (const command of [
    "C2C.CallbackBeforeSendMsg",
    "Group.CallbackBeforeSendMsg",
    "OfficialAccount.CallbackBeforeSendMsg",
  ]) {
    it(`${command}: a drop answers ErrorCode 2, the silent discard`, async () => {
      await storeDecider("words", { url: A });
      stubFetch({ [A]: verdict({ decision: "drop" }) });
      const { body, events } = await askTencent(command);
      expect(body).toMatchObject({ ActionStatus: "OK", ErrorCode: 2 });
      expect(events[0]).toMatchObject({ decision: "drop", decidedby: "words" });
    });
  }

  it("a drop where the action has no silent drop is a deny, and the event says deny", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "drop" }) });
    const { body, events } = await askTencent("Group.CallbackBeforeCreateGroup");
    expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "" });
    expect(events[0]).toMatchObject({ decision: "deny" });
  });

  it("allow + text replaces the Text of every TIMTextElem and leaves other elements as they were", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "allow", text: "*** packet" }) });
    const face = { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "content" } };
    const raw = JSON.stringify({
      ...JSON.parse(tencent("C2C.CallbackBeforeSendMsg")),
      MsgBody: [
        { MsgType: "TIMTextElem", MsgContent: { Text: "red packet" } },
        face,
        { MsgType: "TIMTextElem", MsgContent: { Text: "second" } },
      ],
    });
    const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg", raw);
    expect(body).toEqual({
      ActionStatus: "OK",
      ErrorCode: 0,
      ErrorInfo: "",
      MsgBody: [
        { MsgType: "TIMTextElem", MsgContent: { Text: "*** packet" } },
        face,
        { MsgType: "TIMTextElem", MsgContent: { Text: "*** packet" } },
      ],
    });
    expect(events[0]).toMatchObject({ decision: "modify", decidedby: "words" });
    // Subscribers get the message as the sender sent it; the decision says it was changed.
    expect(events[0]?.data).toEqual(JSON.parse(raw));
  });

  it("allow + text on a message without text is ignored: allow, unmodified, and logged", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "allow", text: "x" }) });
    const warn = vi.spyOn(console, "warn");
    const raw = JSON.stringify({
      ...JSON.parse(tencent("Group.CallbackBeforeSendMsg")),
      MsgBody: [{ MsgType: "TIMFaceElem", MsgContent: { Index: 1 } }],
    });
    const { body, events } = await askTencent("Group.CallbackBeforeSendMsg", raw);
    expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(events[0]).toMatchObject({ decision: "allow" });
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toContain("text: the message has no text element");
  });

  it("allow + text on a callback without a message is ignored", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "allow", text: "x" }) });
    const { body, events } = await askTencent("Group.CallbackBeforeCreateGroup");
    expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(events[0]).toMatchObject({ decision: "allow" });
  });

  it("refuse names the invitees and subscribers to leave out, and refuses per account on friend callbacks", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "allow", refuse: ["id2"] }) });
    expect((await askTencent("Group.CallbackBeforeInviteJoinGroup")).body).toMatchObject({
      ErrorCode: 0,
      RefusedMembers_Account: ["id2"],
    });
    expect((await askTencent("OfficialAccount.CallbackBeforeAddSubscriber")).body).toMatchObject({
      ErrorCode: 0,
      RefusedSubscribers_Account: ["id2"],
    });
    const friend = await askTencent("Sns.CallbackPrevFriendAdd");
    expect(friend.body.ResultItem).toEqual([
      { To_Account: "id1", ResultCode: 0, ResultInfo: "" },
      { To_Account: "id2", ResultCode: 38000, ResultInfo: "" },
    ]);
    expect(friend.events[0]).toMatchObject({ decision: "modify" });
    // A refusal where nobody can be refused changes nothing.
    const create = await askTencent("Group.CallbackBeforeCreateGroup");
    expect(create.body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(create.events[0]).toMatchObject({ decision: "allow" });
  });

  it("tencent fields: CloudCustomData and MsgBody on send-message callbacks, RspData to the chatbot", async () => {
    await storeDecider("words", { url: A });
    const msgBody = [{ MsgType: "TIMCustomElem", MsgContent: { Data: "card" } }];
    stubFetch({ [A]: verdict({ decision: "allow", tencent: { CloudCustomData: "checked", MsgBody: msgBody } }) });
    expect((await askTencent("Group.CallbackBeforeSendMsg")).body).toMatchObject({
      ErrorCode: 0,
      CloudCustomData: "checked",
      MsgBody: msgBody,
    });
    stubFetch({ [A]: verdict({ decision: "allow", tencent: { RspData: '{"reply":1}' } }) });
    const bot = await askTencent("Chatbot.OnC2CSignalMessage");
    expect(bot.body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "", RspData: '{"reply":1}' });
    expect(bot.events[0]).toMatchObject({ decision: "modify" });
  });

  it("tencent fields are dropped from a deny, as Tencent honours them only with ErrorCode 0", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "deny", tencent: { CloudCustomData: "x" } }) });
    expect((await askTencent("C2C.CallbackBeforeSendMsg")).body).toEqual({
      ActionStatus: "OK",
      ErrorCode: 1,
      ErrorInfo: "",
    });
  });
});

const MESSAGE_CALLBACKS = [
  "1-p2p-message",
  "2-team-message",
  "6-chatroom-message",
  "22-superteam-message",
  "41-message",
  "72-message",
  "73-message",
  "74-message",
];
const OTHER_CALLBACKS = Object.keys(neteaseFixtures)
  .map((path) => (path.split("/").pop() as string).replace(/^callback-|\.json$/g, ""))
  .filter((name) => !MESSAGE_CALLBACKS.includes(name));

describe("deciders: every NetEase 第三方回调", () => {
  it("has a fixture for every eventType of the catalogue", () => {
    const types = new Set([...MESSAGE_CALLBACKS, ...OTHER_CALLBACKS].map((name) => name.split("-")[0]));
    expect(types).toEqual(new Set(Object.keys(NETEASE_CALLBACK_EVENTS)));
  });

  for (const name of [...MESSAGE_CALLBACKS, ...OTHER_CALLBACKS]) {
    it(`callback.${name}: deny answers errCode 1 with a custom responseCode, allow errCode 0`, async () => {
      await storeDecider("words", { url: A });
      stubFetch({ [A]: verdict({ decision: "deny", code: 20042 }) });
      const denied = await askNetease(name);
      expect(denied.res.status).toBe(200);
      expect(denied.body).toEqual({ errCode: 1, responseCode: 20042 });
      expect(denied.events[0]).toMatchObject({ decision: "deny", decidedby: "words" });
      stubFetch({ [A]: verdict({ decision: "allow" }) });
      const allowed = await askNetease(name);
      expect(allowed.body).toEqual({ errCode: 0 });
      expect(allowed.events[0]).toMatchObject({ decision: "allow", decidedby: "words" });
    });
  }

  for (const name of MESSAGE_CALLBACKS) {
    it(`callback.${name}: drop answers responseCode 200, and allow + text rewrites modifyResponse.body`, async () => {
      await storeDecider("words", { url: A });
      stubFetch({ [A]: verdict({ decision: "drop" }) });
      expect((await askNetease(name)).body).toEqual({ errCode: 1, responseCode: 200 });
      stubFetch({ [A]: verdict({ decision: "allow", text: "H***o" }) });
      const modified = await askNetease(name);
      expect(modified.body).toEqual({ errCode: 0, modifyResponse: { body: "H***o" } });
      expect(modified.events[0]).toMatchObject({ decision: "modify" });
    });
  }

  it("a drop on a callback that is not a message is a deny (errCode 1, no responseCode 200)", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "drop" }) });
    const { body, events } = await askNetease("7-team-create");
    expect(body).toEqual({ errCode: 1 });
    expect(events[0]).toMatchObject({ decision: "deny" });
  });

  it("a deny code outside 20000–20099 is left out, so the sender gets NetEase's 403", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "deny", code: 20100 }) });
    expect((await askNetease("1-p2p-message")).body).toEqual({ errCode: 1 });
  });

  it("netease fields: modifyResponse and callbackExt on message callbacks, text wins over modifyResponse.body", async () => {
    await storeDecider("words", { url: A });
    stubFetch({
      [A]: verdict({
        decision: "allow",
        text: "clean",
        netease: { callbackExt: "checked", modifyResponse: { body: "ignored", ext: '{"k":1}', pushEnable: false } },
      }),
    });
    expect((await askNetease("2-team-message")).body).toEqual({
      errCode: 0,
      modifyResponse: { body: "clean", ext: '{"k":1}', pushEnable: false },
      callbackExt: "checked",
    });
    stubFetch({ [A]: verdict({ decision: "allow", text: "x", netease: { callbackExt: "y" } }) });
    expect((await askNetease("36-login")).body).toEqual({ errCode: 0 });
  });
});

describe("deciders: what they receive, and who is asked", () => {
  it("POSTs the decider the signed CloudEvent targets receive, without the decision", async () => {
    const secret = await storeDecider("words", { url: A, headers: { "x-api-key": "k" } });
    const { calls } = stubFetch({ [A]: verdict({ decision: "allow" }) });
    const { events } = await askTencent("C2C.CallbackBeforeSendMsg");
    const call = calls[0] as RecordedRequest;
    expect(call.method).toBe("POST");
    expect(call.headers.get("content-type")).toBe("application/cloudevents+json");
    expect(call.headers.get("x-api-key")).toBe("k");
    expect(call.headers.get("webhook-id")).toBe(events[0]?.id);
    const signed = {
      id: call.headers.get("webhook-id") ?? "",
      timestamp: call.headers.get("webhook-timestamp") ?? "",
      signature: call.headers.get("webhook-signature") ?? "",
    };
    expect(await verify(secret, signed, call.body)).toBe(true);
    const { decision: _, decidedby: __, ...undecided } = events[0] as Record<string, unknown>;
    expect(JSON.parse(call.body)).toEqual(undecided);
  });

  it("asks nobody for after-callbacks and reads no decider config for them", async () => {
    await storeDecider("words", { url: A });
    const { calls } = stubFetch({ [A]: verdict({ decision: "deny" }) });
    const list = vi.spyOn(env.TARGETS, "list");
    const { body, events } = await askTencent("C2C.CallbackAfterSendMsg");
    expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(calls).toHaveLength(0);
    expect(list).not.toHaveBeenCalled();
    expect(events[0]?.decision).toBeUndefined();
  });

  it("asks nobody for NetEase 抄送, which never waits for a verdict", async () => {
    await storeDecider("words", { url: A });
    const { calls } = stubFetch({ [A]: verdict({ decision: "deny" }) });
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await neteaseRequest(JSON.stringify({ eventType: "2", accid: "a" })));
    expect(await res.json()).toEqual({ code: 200 });
    expect(calls).toHaveLength(0);
  });

  it("without a matching decider answers as before, with no decision attributes", async () => {
    await storeDecider("netease-only", { url: A, providers: ["netease"] });
    await storeDecider("other-app", { url: A, apps: ["1400009999"] });
    await storeDecider("groups", { url: A, events: ["Group.*"] });
    await storeDecider("off", { url: A, enabled: false });
    const { calls } = stubFetch({ [A]: verdict({ decision: "deny" }) });
    const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
    expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(calls).toHaveLength(0);
    expect(events[0]).not.toHaveProperty("decision");
    expect(events[0]).not.toHaveProperty("decidedby");
  });

  it("matches events globs against the neutral type as well as the provider's command", async () => {
    await storeDecider("messages", { url: A, events: ["im.message.send.requested"] });
    const { calls } = stubFetch({ [A]: verdict({ decision: "deny" }) });
    expect((await askTencent("Group.CallbackBeforeSendMsg")).body).toMatchObject({ ErrorCode: 1 });
    expect((await askNetease("1-p2p-message")).body).toEqual({ errCode: 1 });
    expect((await askTencent("Group.CallbackBeforeCreateGroup")).body).toMatchObject({ ErrorCode: 0 });
    expect(calls).toHaveLength(2);
  });
});

describe("deciders: falling back", () => {
  const cases: [string, Responder][] = [
    ["a non-2xx answer", () => new Response("busy", { status: 503 })],
    ["a redirect", () => new Response(null, { status: 302, headers: { location: "https://elsewhere.test/" } })],
    ["an answer that is not JSON", () => new Response("allow")],
    ["an unknown decision", verdict({ decision: "maybe" })],
    ["an unknown field", verdict({ decision: "allow", txt: "typo" })],
    ["a reason over 200 characters", verdict({ decision: "deny", reason: "x".repeat(201) })],
    ["a non-integer code", verdict({ decision: "deny", code: 20001.5 })],
    ["an unknown tencent field", verdict({ decision: "allow", tencent: { Foo: 1 } })],
    ["a callbackExt over 1024 characters", verdict({ decision: "allow", netease: { callbackExt: "x".repeat(1025) } })],
    ["an answer over 64 KiB", () => new Response(`{"decision":"deny","reason":"${"x".repeat(70_000)}"}`)],
    ["a connection error", () => Promise.reject(new TypeError("connection refused"))],
  ];
  for (const [what, responder] of cases) {
    it(`${what} means the decider's fallback, logged and marked decidedby: fallback`, async () => {
      await storeDecider("strict", { url: A, fallback: "deny" });
      stubFetch({ [A]: responder });
      const warn = vi.spyOn(console, "warn");
      const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
      expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "" });
      expect(events[0]).toMatchObject({ decision: "deny", decidedby: "fallback" });
      const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("fallback applies"));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] as string)).toMatchObject({ decider: "strict", fallback: "deny" });
    });
  }

  it("the default fallback is allow", async () => {
    await storeDecider("lenient", { url: A });
    stubFetch({ [A]: 500 });
    const { body, events } = await askNetease("1-p2p-message");
    expect(body).toEqual({ errCode: 0 });
    expect(events[0]).toMatchObject({ decision: "allow", decidedby: "fallback" });
  });

  it("a decider that never answers gets its fallback at its timeoutMs, counted from receipt", async () => {
    await storeDecider("slow", { url: A, timeoutMs: 150, fallback: "deny" });
    const { calls } = stubFetch({ [A]: hangUntilAborted });
    const started = Date.now();
    const { body, events } = await askNetease("1-p2p-message");
    const elapsed = Date.now() - started;
    expect(body).toEqual({ errCode: 1 });
    expect(events[0]).toMatchObject({ decision: "deny", decidedby: "fallback" });
    expect(calls).toHaveLength(1);
    // A correctness bound, not a performance figure: the provider stops waiting at 2 s.
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(900);
  });

  it("a decider whose answer body never ends gets its fallback too", async () => {
    await storeDecider("trickle", { url: A, timeoutMs: 150, fallback: "deny" });
    stubFetch({
      [A]: () => new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"decision"')) })),
    });
    const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
    expect(body).toMatchObject({ ErrorCode: 1 });
    expect(events[0]).toMatchObject({ decidedby: "fallback" });
  });

  it("an unreadable decider config lets the callback through as without deciders, and logs an error", async () => {
    const error = vi.spyOn(console, "error");
    vi.spyOn(env.TARGETS, "list").mockRejectedValue(new Error("KV unavailable"));
    const { res, body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
    expect(res.status).toBe(200);
    expect(body).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(events).toHaveLength(1);
    expect(error.mock.calls.map((c) => String(c[0])).join("\n")).toContain("deciders unreadable");
  });

  it("when KV fails, the last decider list read keeps deciding, and the error is logged", async () => {
    await storeDecider("words", { url: A });
    const { calls } = stubFetch({ [A]: verdict({ decision: "deny" }) });
    expect((await askTencent("C2C.CallbackBeforeSendMsg")).body).toMatchObject({ ErrorCode: 1 });
    const error = vi.spyOn(console, "error");
    vi.spyOn(env.TARGETS, "list").mockRejectedValue(new Error("KV unavailable"));
    const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
    expect(body).toMatchObject({ ErrorCode: 1 });
    expect(events[0]).toMatchObject({ decision: "deny", decidedby: "words" });
    expect(calls).toHaveLength(2);
    expect(error.mock.calls.map((c) => String(c[0])).join("\n")).toContain("deciders unreadable");
  });

  it("a burst of before-callbacks on a cold isolate reads the deciders from KV once", async () => {
    await storeDecider("words", { url: A });
    invalidateDeciderCache();
    stubFetch({ [A]: verdict({ decision: "allow" }) });
    const list = vi.spyOn(env.TARGETS, "list");
    const relay = relayWithFakeQueue({ TARGETS_CACHE_TTL_SECONDS: "10" });
    const requests = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        tencentRequest(JSON.stringify({ ...JSON.parse(tencent("C2C.CallbackBeforeSendMsg")), MsgRandom: i })),
      ),
    );
    const answers = await Promise.all(requests.map((r) => relay.fetch(r)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(list).toHaveBeenCalledTimes(1);
    expect(relay.events().every((e) => e.decidedby === "words")).toBe(true);
  });

  it("a stored decider that fails its schema is not asked, and every before-callback logs that as an error", async () => {
    await env.TARGETS.put("decider:broken", JSON.stringify({ url: A, timeoutMs: 5 }));
    const { calls } = stubFetch({ [A]: verdict({ decision: "deny" }) });
    const error = vi.spyOn(console, "error");
    const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
    expect(body).toMatchObject({ ErrorCode: 0 });
    expect(events[0]).not.toHaveProperty("decision");
    expect(calls).toHaveLength(0);
    const line = error.mock.calls.map((c) => String(c[0])).find((l) => l.includes("fail their schema"));
    expect(JSON.parse(line as string)).toMatchObject({ invalid: ["broken"] });
  });

  it("a failed enqueue after deciding (queue and outbox both down) refuses the callback with 503: nothing is answered that is not durable", async () => {
    await storeDecider("words", { url: A });
    stubFetch({ [A]: verdict({ decision: "deny" }) });
    const relay = relayWithFakeQueue({ OUTBOX: unreachableOutbox() });
    relay.queue.failWith = new Error("queue down");
    const res = await relay.fetch(await tencentRequest(tencent("C2C.CallbackBeforeSendMsg")));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ActionStatus: "FAIL" });
  });
});

describe("deciders: several at once", () => {
  it("asks them in parallel: two slow deciders cost one timeout, not two", async () => {
    await storeDecider("a", { url: A, timeoutMs: 200 });
    await storeDecider("b", { url: B, timeoutMs: 200 });
    stubFetch({ [A]: hangUntilAborted, [B]: hangUntilAborted });
    const started = Date.now();
    await askTencent("C2C.CallbackBeforeSendMsg");
    expect(Date.now() - started).toBeLessThan(390);
  });

  it("the most restrictive verdict wins: deny over drop over changes over allow", async () => {
    await storeDecider("a", { url: A });
    await storeDecider("b", { url: B });
    const pairs: [unknown, unknown, number, string][] = [
      [{ decision: "allow" }, { decision: "deny" }, 1, "b"],
      [{ decision: "drop" }, { decision: "deny" }, 1, "b"],
      [{ decision: "allow", text: "x" }, { decision: "drop" }, 2, "b"],
      [{ decision: "allow" }, { decision: "allow", text: "x" }, 0, "b"],
    ];
    for (const [a, b, code, by] of pairs) {
      stubFetch({ [A]: verdict(a), [B]: verdict(b) });
      const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
      expect(body.ErrorCode).toBe(code);
      expect(events[0]?.decidedby).toBe(by);
    }
  });

  it("when two want changes, the lowest id wins and the conflict is logged", async () => {
    await storeDecider("b-second", { url: B });
    await storeDecider("a-first", { url: A });
    stubFetch({
      [A]: verdict({ decision: "allow", text: "from a" }),
      [B]: verdict({ decision: "allow", text: "from b" }),
    });
    const warn = vi.spyOn(console, "warn");
    const { body, events } = await askNetease("1-p2p-message");
    expect(body).toEqual({ errCode: 0, modifyResponse: { body: "from a" } });
    expect(events[0]).toMatchObject({ decision: "modify", decidedby: "a-first" });
    const line = warn.mock.calls.map((c) => String(c[0])).find((l) => l.includes("different changes"));
    expect(JSON.parse(line as string)).toMatchObject({ winner: "a-first", lost: ["b-second"] });
  });

  it("a decider's fallback deny wins over another's allow", async () => {
    await storeDecider("a", { url: A });
    await storeDecider("b", { url: B, fallback: "deny" });
    stubFetch({ [A]: verdict({ decision: "allow" }), [B]: 500 });
    const { body, events } = await askTencent("C2C.CallbackBeforeSendMsg");
    expect(body.ErrorCode).toBe(1);
    expect(events[0]).toMatchObject({ decision: "deny", decidedby: "fallback" });
  });
});

describe("decider answer schema", () => {
  it("accepts the documented shape and refuses anything else", () => {
    expect(DeciderAnswer.safeParse({ decision: "allow", text: "t", refuse: ["a"], code: 1, reason: "r" }).success).toBe(
      true,
    );
    expect(
      DeciderAnswer.safeParse({ decision: "deny", tencent: { CloudCustomData: "c" }, netease: { callbackExt: "e" } })
        .success,
    ).toBe(true);
    expect(DeciderAnswer.safeParse({}).success).toBe(false);
    expect(DeciderAnswer.safeParse({ decision: "allow", refuse: [""] }).success).toBe(false);
    expect(DeciderAnswer.safeParse({ decision: "allow", netease: { modifyResponse: { body: 1 } } }).success).toBe(
      false,
    );
  });
});
