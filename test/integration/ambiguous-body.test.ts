import { describe, expect, it } from "vitest";
import { relayWithFakeQueue } from "../helpers/app";
import { expectRefused, expectStillServing, guardConsole, signedTencent } from "../helpers/hostile-harness";
import { neteaseRequest } from "../helpers/requests";

/**
 * A body that names its routing key (`eventType`, `CallbackCommand`) twice at the top level is one the relay and a
 * receiver could read as two different events: JSON.parse keeps the last, other parsers the first. It is refused
 * 400 AMBIGUOUS_BODY in the provider's format, before anything is enqueued; a key of the same name in a nested
 * object is the nested object's own and changes nothing.
 */

const guard = guardConsole();

describe("NetEase: a body that repeats eventType", () => {
  for (const channel of ["cc", "callback"] as const) {
    for (const [label, body] of [
      ["twice", '{"eventType":"1","fromAccount":"a","eventType":"8","tid":1}'],
      ["twice with the same value", '{"eventType":8,"tid":1,"eventType":8}'],
      ["the second time as event\\u0054ype", '{"eventType":"1","fromAccount":"a","event\\u0054ype":"8"}'],
    ] as const) {
      it(`refuses on /netease/${channel} a body with eventType ${label} with 400 AMBIGUOUS_BODY, enqueuing nothing`, async () => {
        const relay = relayWithFakeQueue();
        const refusal = await expectRefused(relay, neteaseRequest(body, { channel }), "netease", "AMBIGUOUS_BODY");
        expect(refusal.desc).toBe("AMBIGUOUS_BODY: body has more than one top-level eventType key");
        await expectStillServing(relay);
      });
    }
  }

  it("accepts a body whose attach (object or text) and ext carry an eventType of their own, routed by the top-level one", async () => {
    const relay = relayWithFakeQueue();
    for (const body of [
      '{"eventType":"1","convType":"PERSON","attach":{"eventType":"8","id":3},"ext":"{\\"eventType\\":9}","msgTimestamp":"1"}',
      '{"eventType":"1","convType":"PERSON","attach":"{\\"eventType\\":\\"8\\"}","msgTimestamp":"2"}',
    ]) {
      const res = await relay.fetch(await neteaseRequest(body, { channel: "cc" }));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ code: 200 });
    }
    expect(relay.events().map((e) => e.providerevent)).toEqual(["cc.1", "cc.1"]);
  });

  it("logs the refusal with its code and no part of the body", async () => {
    const relay = relayWithFakeQueue();
    guard.forbid("body-marker-xyz");
    const body = '{"eventType":"1","fromAccount":"body-marker-xyz","eventType":"8"}';
    await expectRefused(relay, neteaseRequest(body, { channel: "cc" }), "netease", "AMBIGUOUS_BODY");
    const refused = guard.lines().filter((l) => l.text.includes("AMBIGUOUS_BODY"));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe("warn");
  });
});

describe("Tencent: a body that repeats CallbackCommand", () => {
  const destroyed = "Group.CallbackAfterGroupDestroyed";
  for (const [label, body] of [
    ["twice", `{"CallbackCommand":"C2C.CallbackAfterSendMsg","GroupId":"@TGS#1","CallbackCommand":"${destroyed}"}`],
    ["twice with the same value", `{"CallbackCommand":"${destroyed}","CallbackCommand":"${destroyed}"}`],
    [
      "the second time as Callback\\u0043ommand",
      `{"CallbackCommand":"${destroyed}","Callback\\u0043ommand":"${destroyed}"}`,
    ],
  ] as const) {
    it(`refuses a body with CallbackCommand ${label} with 400 AMBIGUOUS_BODY, even though the query names the command`, async () => {
      const relay = relayWithFakeQueue();
      const refusal = await expectRefused(
        relay,
        signedTencent(body, { command: destroyed }),
        "tencent",
        "AMBIGUOUS_BODY",
      );
      expect(refusal.ErrorCode).toBe(40006);
      expect(refusal.ErrorInfo).toBe("AMBIGUOUS_BODY: body has more than one top-level CallbackCommand key");
      await expectStillServing(relay);
    });
  }

  it("accepts a body whose nested objects carry a CallbackCommand of their own", async () => {
    const relay = relayWithFakeQueue();
    const body = JSON.stringify({
      CallbackCommand: destroyed,
      GroupId: "@TGS#2J4SZEAEL",
      MsgBody: [{ MsgType: "TIMCustomElem", MsgContent: { Data: '{"CallbackCommand":"x"}', CallbackCommand: "y" } }],
      EventTime: 1670574414123,
    });
    const res = await relay.fetch(await signedTencent(body, { command: destroyed }));
    expect(res.status).toBe(200);
    expect(relay.events().map((e) => e.providerevent)).toEqual([destroyed]);
  });
});
