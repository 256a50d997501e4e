import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { verify } from "../../src/delivery/signature";
import { admin, type JsonResponse, sendNetease, sendTencent, uniqueId, waitFor } from "../helpers/e2e-client";
import { Decider, MARKER } from "../helpers/e2e-decider";
import { type ReceivedRequest, Receiver } from "../helpers/e2e-receiver";
import { newWebhookSecret } from "../helpers/e2e-sign";

/**
 * Deciders end to end through `wrangler dev`: a before-callback is POSTed, signed, to a real decider on 127.0.0.1
 * (test/helpers/e2e-decider.ts), whose verdict the relay answers the provider with in the provider's own format,
 * within the decider's timeoutMs; the event then reaches a real target with `decision` and `decidedby`. Each
 * callback body is a fixture marked with a unique `e2eCase`, which the decider's script is keyed by (and which
 * makes every event id new: lanes deliver an id once). The dev server runs with no target or decider cache.
 */

const OK = { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" };

const fixture = (provider: "tencent" | "netease", name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${provider}/${name}.json`, import.meta.url), "utf8"));

let decider: Decider;
let target: Receiver;
let targetSecret: string;
const targetId = uniqueId("decided");
const deciders: string[] = [];

beforeAll(async () => {
  decider = await Decider.start();
  target = await Receiver.start();
  targetSecret = newWebhookSecret();
  const res = await admin("PUT", `/targets/${targetId}`, { url: target.url(), secret: targetSecret });
  expect(res.status, `PUT /admin/targets/${targetId}: ${JSON.stringify(res.json)}`).toBe(201);
});

afterEach(async () => {
  // A decider left behind would answer the before-callbacks of the other e2e files.
  for (const id of deciders.splice(0)) await admin("DELETE", `/deciders/${id}`);
  decider.secrets.clear();
});

afterAll(async () => {
  await admin("DELETE", `/targets/${targetId}`);
  await Receiver.closeAll();
});

/**
 * Registers a decider at the decider server `to` (the scripted one unless given), with a generated secret that the
 * server then verifies requests with. Returns its id.
 */
async function registerDecider(input: Record<string, unknown> = {}, to: Decider = decider): Promise<string> {
  const id = uniqueId("decider");
  const res = await admin("PUT", `/deciders/${id}`, { url: to.url(), ...input });
  expect(res.status, `PUT /admin/deciders/${id}: ${JSON.stringify(res.json)}`).toBe(201);
  deciders.push(id);
  const secret = (res.json as { secret?: string }).secret;
  expect(secret, "a generated secret is shown once on create").toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  to.secrets.add(secret as string);
  return id;
}

type Decided = { answer: unknown; eventId: string; ms: number; marker: string; asked: ReceivedRequest[] };

function eventIdOf(res: JsonResponse): string {
  const id = res.headers.get("x-imrelay-event-id");
  expect(id, `x-imrelay-event-id of ${JSON.stringify(res.json)}`).toMatch(/^evt_[0-9a-f]{32}$/);
  return id as string;
}

/**
 * Marks `body` with a fresh `e2eCase`, lets `script` tell the decider server `to` how to answer it, sends it and
 * checks every request the decider got for it: signed with a registered decider's secret, the event's CloudEvent.
 */
async function decided(
  body: Record<string, unknown>,
  send: (body: string) => Promise<JsonResponse>,
  script?: (marker: string) => void,
  to: Decider = decider,
): Promise<Decided> {
  const marker = uniqueId("case");
  script?.(marker);
  const started = Date.now();
  const res = await send(JSON.stringify({ ...body, [MARKER]: marker }));
  const ms = Date.now() - started;
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  const eventId = eventIdOf(res);
  const asked = to.asked(marker);
  expect(to.unverified, "every decider request verifies with the decider's secret").toEqual([]);
  expect(to.unscripted).toEqual([]);
  for (const req of asked) {
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toBe("application/cloudevents+json");
    expect(req.headers["webhook-id"], "the decider is asked with the event's id").toBe(eventId);
    const event = JSON.parse(req.body) as Record<string, unknown>;
    expect(event).toMatchObject({ id: eventId, specversion: "1.0", data: JSON.parse(JSON.stringify(body)) });
    expect(event, "the decider is asked before there is a decision").not.toHaveProperty("decision");
  }
  return { answer: res.json, eventId, ms, marker, asked };
}

const toTencent = (command: string) => (body: string) => sendTencent(body, command);
const toNetease = (body: string) => sendNetease(body, { channel: "callback" });

/** A Tencent before-callback (a fixture, with `fields` on top) answered by the decider's `verdict`. */
async function tencent(command: string, verdict: Record<string, unknown>, fields: Record<string, unknown> = {}) {
  const result = await decided({ ...fixture("tencent", command), ...fields }, toTencent(command), (marker) =>
    decider.verdict(marker, verdict),
  );
  expect(result.asked, `${command} asked the decider once`).toHaveLength(1);
  return result;
}

/** A NetEase 第三方回调 (a fixture of test/fixtures/netease/callback-*) answered by the decider's `verdict`. */
async function netease(name: string, verdict: Record<string, unknown>) {
  const result = await decided(fixture("netease", `callback-${name}`), toNetease, (marker) =>
    decider.verdict(marker, verdict),
  );
  expect(result.asked, `callback-${name} asked the decider once`).toHaveLength(1);
  return result;
}

/** The event as the target received it (signed with the target's secret). */
async function delivered(eventId: string): Promise<Record<string, unknown>> {
  const [req] = await waitFor(`event ${eventId} at the target`, () => {
    const got = target.withId(eventId);
    return got.length > 0 ? got : undefined;
  });
  const signed = {
    id: req?.headers["webhook-id"] ?? "",
    timestamp: req?.headers["webhook-timestamp"] ?? "",
    signature: req?.headers["webhook-signature"] ?? "",
  };
  expect(await verify(targetSecret, signed, req?.body ?? ""), "the target's delivery is signed").toBe(true);
  return JSON.parse(req?.body ?? "{}") as Record<string, unknown>;
}

/** Every event reached the target with the decision it was answered with, and who made it. */
async function expectDecisions(cases: [Decided, string, string][]): Promise<void> {
  for (const [{ eventId }, decision, decidedby] of cases)
    expect(await delivered(eventId), eventId).toMatchObject({ id: eventId, decision, decidedby });
}

const SEND: [string, number, number][] = [
  // command, a deny code in its custom range, one outside it
  ["C2C.CallbackBeforeSendMsg", 120001, 10150],
  ["Group.CallbackBeforeSendMsg", 10150, 120500],
  ["OfficialAccount.CallbackBeforeSendMsg", 130000, 10100],
];

describe("e2e: deciders answer Tencent before-callbacks", () => {
  for (const [command, inRange, outOfRange] of SEND) {
    it(`${command}: allow → ErrorCode 0, text → every TIMTextElem rewritten, deny → ErrorCode ${inRange} (1 outside the range), drop → ErrorCode 2`, async () => {
      const id = await registerDecider();
      const allow = await tencent(command, { decision: "allow" });
      expect(allow.answer).toEqual(OK);

      const face = { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "smile" } };
      const text = (t: string) => ({ MsgType: "TIMTextElem", MsgContent: { Text: t } });
      const rewrite = await tencent(
        command,
        { decision: "allow", text: "*** packet" },
        { MsgBody: [text("red packet"), face, text("second red")] },
      );
      expect(rewrite.answer).toEqual({ ...OK, MsgBody: [text("*** packet"), face, text("*** packet")] });

      const deny = await tencent(command, { decision: "deny", code: inRange, reason: "not here" });
      expect(deny.answer).toEqual({ ActionStatus: "OK", ErrorCode: inRange, ErrorInfo: "not here" });
      const outside = await tencent(command, { decision: "deny", code: outOfRange, reason: "no" });
      expect(outside.answer).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "no" });

      const drop = await tencent(command, { decision: "drop" });
      expect(drop.answer).toMatchObject({ ActionStatus: "OK", ErrorCode: 2 });

      await expectDecisions([
        [allow, "allow", id],
        [rewrite, "modify", id],
        [deny, "deny", id],
        [outside, "deny", id],
        [drop, "drop", id],
      ]);
      // Targets get the message as the sender sent it; `decision: modify` says the provider was told otherwise.
      expect(((await delivered(rewrite.eventId)).data as { MsgBody: unknown }).MsgBody).toEqual([
        text("red packet"),
        face,
        text("second red"),
      ]);
    });
  }

  it("group create, topic, apply and invite: deny → the 10100–10200 code, drop → a deny (ErrorCode 1), allow → ErrorCode 0", async () => {
    const id = await registerDecider();
    const cases: [Decided, string, string][] = [];
    for (const command of [
      "Group.CallbackBeforeCreateGroup",
      "Group.CallbackBeforeCreateTopic",
      "Group.CallbackBeforeApplyJoinGroup",
      "Group.CallbackBeforeInviteJoinGroup",
    ]) {
      const deny = await tencent(command, { decision: "deny", code: 10199, reason: "closed" });
      expect(deny.answer, command).toEqual({ ActionStatus: "OK", ErrorCode: 10199, ErrorInfo: "closed" });
      const outside = await tencent(command, { decision: "deny", code: 120001 });
      expect(outside.answer, command).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "" });
      const drop = await tencent(command, { decision: "drop", reason: "quietly" });
      expect(drop.answer, `${command} has no silent drop`).toEqual({
        ActionStatus: "OK",
        ErrorCode: 1,
        ErrorInfo: "quietly",
      });
      const allow = await tencent(command, { decision: "allow" });
      expect(allow.answer, command).toEqual(OK);
      cases.push([deny, "deny", id], [outside, "deny", id], [drop, "deny", id], [allow, "allow", id]);
    }
    await expectDecisions(cases);
  });

  it("group invite: refuse → RefusedMembers_Account, the other invitees join", async () => {
    const id = await registerDecider();
    const refuse = await tencent("Group.CallbackBeforeInviteJoinGroup", { decision: "allow", refuse: ["jared"] });
    expect(refuse.answer).toEqual({ ...OK, RefusedMembers_Account: ["jared"] });
    await expectDecisions([[refuse, "modify", id]]);
  });

  for (const [command, items] of [
    ["Sns.CallbackPrevFriendAdd", "FriendItem"],
    ["Sns.CallbackPrevFriendResponse", "ResponseFriendItem"],
  ] as const) {
    it(`${command}: decides per account in ${items}'s ResultItem (38000 by default, or the 38000–39000 code)`, async () => {
      const id = await registerDecider();
      const item = (account: string, code: number, info = "") => ({
        To_Account: account,
        ResultCode: code,
        ResultInfo: info,
      });
      const deny = await tencent(command, { decision: "deny", reason: "no friends" });
      expect(deny.answer).toEqual({
        ...OK,
        ResultItem: [item("id1", 38000, "no friends"), item("id2", 38000, "no friends")],
      });
      const coded = await tencent(command, { decision: "deny", code: 38999 });
      expect(coded.answer).toEqual({ ...OK, ResultItem: [item("id1", 38999), item("id2", 38999)] });
      const outside = await tencent(command, { decision: "deny", code: 39001 });
      expect(outside.answer).toEqual({ ...OK, ResultItem: [item("id1", 38000), item("id2", 38000)] });
      const refuse = await tencent(command, { decision: "allow", refuse: ["id2"], code: 38500, reason: "blocked" });
      expect(refuse.answer).toEqual({ ...OK, ResultItem: [item("id1", 0), item("id2", 38500, "blocked")] });
      const allow = await tencent(command, { decision: "allow" });
      expect(allow.answer).toEqual({ ...OK, ResultItem: [item("id1", 0), item("id2", 0)] });
      const drop = await tencent(command, { decision: "drop" });
      expect(drop.answer, "a friend request has no silent drop: every account is refused").toEqual({
        ...OK,
        ResultItem: [item("id1", 38000), item("id2", 38000)],
      });
      await expectDecisions([
        [deny, "deny", id],
        [coded, "deny", id],
        [outside, "deny", id],
        [refuse, "modify", id],
        [allow, "allow", id],
        [drop, "deny", id],
      ]);
    });
  }

  it("official account create: deny → its 120001–130000 code; add subscriber: refuse → RefusedSubscribers_Account, deny → ErrorCode 1", async () => {
    const id = await registerDecider();
    const create = await tencent("OfficialAccount.CallbackBeforeCreateOfficialAccount", {
      decision: "deny",
      code: 125000,
      reason: "name taken",
    });
    expect(create.answer).toEqual({ ActionStatus: "OK", ErrorCode: 125000, ErrorInfo: "name taken" });
    const created = await tencent("OfficialAccount.CallbackBeforeCreateOfficialAccount", { decision: "allow" });
    expect(created.answer).toEqual(OK);

    const command = "OfficialAccount.CallbackBeforeAddSubscriber";
    const refuse = await tencent(command, { decision: "allow", refuse: ["leckie"] });
    expect(refuse.answer).toEqual({ ...OK, RefusedSubscribers_Account: ["leckie"] });
    const deny = await tencent(command, { decision: "deny", code: 125000, reason: "full" });
    expect(deny.answer, "adding subscribers has no custom range").toEqual({
      ActionStatus: "OK",
      ErrorCode: 1,
      ErrorInfo: "full",
    });
    const drop = await tencent(command, { decision: "drop" });
    expect(drop.answer).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "" });
    await expectDecisions([
      [create, "deny", id],
      [created, "allow", id],
      [refuse, "modify", id],
      [deny, "deny", id],
      [drop, "deny", id],
    ]);
  });

  it("chatbot signal: tencent.RspData is passed to the chatbot, allow answers an empty RspData, deny ErrorCode 1", async () => {
    const id = await registerDecider();
    const command = "Chatbot.OnC2CSignalMessage";
    const reply = await tencent(command, { decision: "allow", tencent: { RspData: '{"reply":"hi"}' } });
    expect(reply.answer).toEqual({ ...OK, RspData: '{"reply":"hi"}' });
    const allow = await tencent(command, { decision: "allow" });
    expect(allow.answer).toEqual({ ...OK, RspData: "" });
    const deny = await tencent(command, { decision: "deny", reason: "bot off" });
    expect(deny.answer).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "bot off" });
    await expectDecisions([
      [reply, "modify", id],
      [allow, "allow", id],
      [deny, "deny", id],
    ]);
  });
});

describe("e2e: deciders answer NetEase 第三方回调", () => {
  for (const name of ["1-p2p-message", "2-team-message"]) {
    it(`callback-${name} (a message): allow → errCode 0, text → modifyResponse.body, deny → responseCode 20000–20099, drop → responseCode 200`, async () => {
      const id = await registerDecider();
      const allow = await netease(name, { decision: "allow" });
      expect(allow.answer).toEqual({ errCode: 0 });
      const rewrite = await netease(name, { decision: "allow", text: "H***o" });
      expect(rewrite.answer).toEqual({ errCode: 0, modifyResponse: { body: "H***o" } });
      const deny = await netease(name, { decision: "deny", code: 20042, reason: "spam" });
      expect(deny.answer).toEqual({ errCode: 1, responseCode: 20042 });
      const outside = await netease(name, { decision: "deny", code: 20100 });
      expect(outside.answer, "outside 20000–20099 the sender gets NetEase's 403").toEqual({ errCode: 1 });
      const drop = await netease(name, { decision: "drop" });
      expect(drop.answer, "the sender believes the message was sent").toEqual({ errCode: 1, responseCode: 200 });
      await expectDecisions([
        [allow, "allow", id],
        [rewrite, "modify", id],
        [deny, "deny", id],
        [outside, "deny", id],
        [drop, "drop", id],
      ]);
    });
  }

  it("callback-7-team-create (not a message): deny → errCode 1 with responseCode, drop → a deny, allow → errCode 0", async () => {
    const id = await registerDecider();
    const deny = await netease("7-team-create", { decision: "deny", code: 20001 });
    expect(deny.answer).toEqual({ errCode: 1, responseCode: 20001 });
    const drop = await netease("7-team-create", { decision: "drop" });
    expect(drop.answer, "no responseCode 200: only messages drop silently").toEqual({ errCode: 1 });
    const allow = await netease("7-team-create", { decision: "allow", text: "ignored" });
    expect(allow.answer, "text applies to messages only").toEqual({ errCode: 0 });
    await expectDecisions([
      [deny, "deny", id],
      [drop, "deny", id],
      [allow, "allow", id],
    ]);
  });
});

describe("e2e: deciders that fail, and callbacks no decider wants", () => {
  const c2c = "C2C.CallbackBeforeSendMsg";

  it("a decider that never answers (timeoutMs 200, fallback deny): both providers get the deny in time, decidedby fallback", async () => {
    const hanging = await Decider.start();
    await registerDecider({ timeoutMs: 200, fallback: "deny" }, hanging);
    const never = (marker: string) => hanging.behave(marker, { status: 200, delayMs: 60_000 });
    const tencentAnswer = await decided(fixture("tencent", c2c), toTencent(c2c), never, hanging);
    const neteaseAnswer = await decided(fixture("netease", "callback-1-p2p-message"), toNetease, never, hanging);

    expect(tencentAnswer.answer).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "" });
    expect(neteaseAnswer.answer).toEqual({ errCode: 1 });
    for (const { ms, asked } of [tencentAnswer, neteaseAnswer]) {
      expect(asked, "the hanging decider was asked").toHaveLength(1);
      // Correctness bounds, not performance figures: the relay waited for the decider, and gave up well before
      // the providers' own 2 s deadline.
      expect(ms).toBeGreaterThanOrEqual(190);
      expect(ms).toBeLessThan(1_500);
      await waitFor("the relay to close its request to the hanging decider", () => asked[0]?.abortedAt);
    }
    await expectDecisions([
      [tencentAnswer, "deny", "fallback"],
      [neteaseAnswer, "deny", "fallback"],
    ]);
  });

  it("a decider that answers 503, or a body that is no verdict, gets its fallback (allow by default); one that refuses connections too", async () => {
    await registerDecider();
    const busy = await decided(fixture("tencent", c2c), toTencent(c2c), (marker) =>
      decider.behave(marker, { status: 503 }),
    );
    const typo = await decided(fixture("netease", "callback-1-p2p-message"), toNetease, (marker) =>
      decider.behave(marker, {
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"decison":"deny"}',
      }),
    );
    expect(busy.answer).toEqual(OK);
    expect(typo.answer).toEqual({ errCode: 0 });
    expect(busy.asked).toHaveLength(1);
    expect(typo.asked).toHaveLength(1);

    for (const id of deciders.splice(0)) await admin("DELETE", `/deciders/${id}`);
    const down = await Decider.start();
    await registerDecider({ fallback: "deny" }, down);
    await down.close();
    const group = "Group.CallbackBeforeSendMsg";
    const refused = await decided(fixture("tencent", group), toTencent(group), undefined, down);
    expect(refused.answer).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "" });
    await expectDecisions([
      [busy, "allow", "fallback"],
      [typo, "allow", "fallback"],
      [refused, "deny", "fallback"],
    ]);
  });

  it("without a matching decider a before-callback is answered allow as before and its event has no decision", async () => {
    const id = await registerDecider({ providers: ["netease"] });
    const deny = (marker: string) => decider.verdict(marker, { decision: "deny", code: 20010 });
    const friendAdd = "Sns.CallbackPrevFriendAdd";
    const friend = await decided(fixture("tencent", friendAdd), toTencent(friendAdd), deny);
    expect(friend.asked, "a Tencent callback does not ask a NetEase-only decider").toEqual([]);
    const allowEach = (account: string) => ({ To_Account: account, ResultCode: 0, ResultInfo: "" });
    expect(friend.answer).toEqual({ ...OK, ResultItem: [allowEach("id1"), allowEach("id2")] });
    const event = await delivered(friend.eventId);
    expect(event).not.toHaveProperty("decision");
    expect(event).not.toHaveProperty("decidedby");

    // An after-callback never asks anyone, even a decider that wants every Tencent event.
    await registerDecider({ providers: ["tencent"] });
    const afterSend = "C2C.CallbackAfterSendMsg";
    const after = await decided(fixture("tencent", afterSend), toTencent(afterSend), deny);
    expect(after.asked).toEqual([]);
    expect(after.answer).toEqual(OK);
    expect(await delivered(after.eventId)).not.toHaveProperty("decision");
    expect(decider.asked(after.marker), "nor is it asked later, off the ack path").toEqual([]);

    const invite = await decided(fixture("netease", "callback-9-team-invite"), toNetease, deny);
    expect(invite.asked, "the NetEase-only decider is asked").toHaveLength(1);
    expect(invite.answer).toEqual({ errCode: 1, responseCode: 20010 });
    await expectDecisions([[invite, "deny", id]]);
  });
});
