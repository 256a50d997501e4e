import { describe, expect, it } from "vitest";
import { CONVERSATION_MAX, laneConversation, placement } from "../../src/ordering/conversation";

describe("conversation key: Tencent", () => {
  it("gives a C2C message the sorted pair of From_Account and To_Account, whichever of them sends", () => {
    const ab = placement("tencent", "C2C.CallbackAfterSendMsg", {
      From_Account: "bob",
      To_Account: "alice",
      MsgTime: 1700000000,
    });
    const ba = placement("tencent", "C2C.CallbackAfterSendMsg", {
      From_Account: "alice",
      To_Account: "bob",
      MsgTime: 1700000001,
    });
    expect(ab).toEqual({ conversation: "c2c:alice:bob", order: 1700000000_000 });
    expect(ba.conversation).toBe(ab.conversation);
  });

  it("orders by EventTime (ms) over MsgTime (s), reading numbers sent as strings", () => {
    expect(
      placement("tencent", "C2C.CallbackAfterMsgWithDraw", {
        From_Account: "a",
        To_Account: "b",
        EventTime: "1670574414123",
        MsgTime: 1,
      }),
    ).toEqual({ conversation: "c2c:a:b", order: 1670574414123 });
  });

  it("gives a bot's C2C message and a chatbot signal the same pair key as C2C", () => {
    expect(placement("tencent", "Bot.OnC2CMessage", { From_Account: "u", To_Account: "bot" }).conversation).toBe(
      "c2c:bot:u",
    );
    expect(
      placement("tencent", "Chatbot.OnC2CSignalMessage", { From_Account: "u", To_Account: "bot" }).conversation,
    ).toBe("c2c:bot:u");
  });

  it("gives group events their GroupId, and a community topic's events GroupId plus TopicId", () => {
    expect(
      placement("tencent", "Group.CallbackAfterSendMsg", { GroupId: "@TGS#2J4SZEAEL", MsgSeq: 9, EventTime: 5 }),
    ).toEqual({ conversation: "group:%40TGS%232J4SZEAEL", order: 5 });
    expect(placement("tencent", "Group.CallbackAfterNewMemberJoin", { GroupId: "g1" }).conversation).toBe("group:g1");
    expect(placement("tencent", "Group.CallbackAfterSendMsg", { GroupId: "g1", TopicId: "t1" }).conversation).toBe(
      "group:g1/t1",
    );
    expect(placement("tencent", "Bot.OnGroupMessage", { GroupId: "g1", TopicId: "" }).conversation).toBe("group:g1");
  });

  it("gives official-account events their Official_Account", () => {
    expect(
      placement("tencent", "OfficialAccount.CallbackAfterSendMsg", { Official_Account: "news" }).conversation,
    ).toBe("official:news");
  });

  it("leaves events without a conversation unordered", () => {
    expect(placement("tencent", "State.StateChange", { Info: { To_Account: "a" }, EventTime: 1 })).toEqual({});
    expect(placement("tencent", "Group.CallbackOnDailyGroupQuotaAlarm", { QuotaUsed: 1 })).toEqual({});
    expect(placement("tencent", "C2C.CallbackAfterSendMsg", { From_Account: "a" })).toEqual({});
    expect(placement("tencent", "C2C.CallbackAfterSendMsg", "not an object")).toEqual({});
  });

  it("never lets two different pairs spell the same key (each account is percent-encoded)", () => {
    const one = placement("tencent", "C2C.CallbackAfterSendMsg", { From_Account: "a:b", To_Account: "c" });
    const two = placement("tencent", "C2C.CallbackAfterSendMsg", { From_Account: "a", To_Account: "b:c" });
    expect(one.conversation).not.toBe(two.conversation);
  });

  it(`leaves an event unordered when its key would exceed ${CONVERSATION_MAX} characters`, () => {
    expect(placement("tencent", "Group.CallbackAfterSendMsg", { GroupId: "g".repeat(CONVERSATION_MAX) })).toEqual({});
  });
});

describe("conversation key: NetEase 抄送", () => {
  it("gives a PERSON message the sorted pair of fromAccount and to, ordered by msgTimestamp", () => {
    expect(
      placement("netease", "cc.1", {
        convType: "PERSON",
        fromAccount: "zed",
        to: "amy",
        msgTimestamp: "1700000000123",
      }),
    ).toEqual({ conversation: "person:amy:zed", order: 1700000000123 });
  });

  it("gives TEAM and SUPER_TEAM messages and notifications the team id", () => {
    expect(
      placement("netease", "cc.1", { convType: "TEAM", fromAccount: "a", to: "123", msgType: "NOTIFICATION" })
        .conversation,
    ).toBe("team:123");
    expect(placement("netease", "cc.1", { convType: "SUPER_TEAM", fromAccount: "a", to: 456 }).conversation).toBe(
      "superteam:456",
    );
  });

  it("gives chatroom messages and room entries and exits the room id", () => {
    expect(placement("netease", "cc.4", { roomId: "77", msgTimestamp: "5" })).toEqual({
      conversation: "chatroom:77",
      order: 5,
    });
    expect(placement("netease", "cc.9", { roomId: 77, event: "IN", timestamp: 6 })).toEqual({
      conversation: "chatroom:77",
      order: 6,
    });
  });

  it("leaves custom system notifications and other 抄送 unordered", () => {
    expect(placement("netease", "cc.1", { convType: "CUSTOM_PERSON", fromAccount: "a", to: "b" })).toEqual({});
    expect(placement("netease", "cc.2", { accid: "a" })).toEqual({});
    expect(placement("netease", "callback.1", { convType: "PERSON", fromAccount: "a", to: "b" })).toEqual({});
  });
});

describe("lane key", () => {
  it("keeps the same conversation of two apps or providers apart", () => {
    const a = laneConversation({ provider: "tencent", appid: "1400000001", conversation: "group:g1" });
    const b = laneConversation({ provider: "tencent", appid: "1400000002", conversation: "group:g1" });
    const c = laneConversation({ provider: "netease", appid: "1400000001", conversation: "group:g1" });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(laneConversation({ provider: "tencent", appid: "1" })).toBeNull();
  });
});
