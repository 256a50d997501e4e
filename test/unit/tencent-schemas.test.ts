/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import type { CatalogueEntry } from "../../src/providers/fields";
import { MemberExit, StateChange, TENCENT_COMMANDS } from "../../src/providers/tencent/schemas";

type Body = Record<string, unknown>;

// Every example body, keyed by file name: <Command>.json, plus <Command>.<n>.json for documented variants.
const FIXTURES: ReadonlyArray<{ file: string; command: string; body: Body }> = Object.entries(
  import.meta.glob<Body>("../fixtures/tencent/*.json", { eager: true, import: "default" }),
).map(([path, body]) => {
  const file = path.slice(path.lastIndexOf("/") + 1);
  const match = /^([A-Za-z0-9]+\.[A-Za-z0-9]+)(?:\.\d+)?\.json$/.exec(file);
  if (!match?.[1]) throw new Error(`fixture name does not follow <Command>[.<n>].json: ${file}`);
  return { file, command: match[1], body };
});

/** tencent.md §3, in its order. */
const COMMANDS = [
  "Alert.RequestOverLimit",
  "State.StateChange",
  "Profile.CallbackPortraitSet",
  "Sns.CallbackPrevFriendAdd",
  "Sns.CallbackPrevFriendResponse",
  "Sns.CallbackFriendAdd",
  "Sns.CallbackFriendDelete",
  "Sns.CallbackBlackListAdd",
  "Sns.CallbackBlackListDelete",
  "Follow.CallbackAfterFollowAdd",
  "Follow.CallbackAfterFollowDelete",
  "C2C.CallbackBeforeSendMsg",
  "C2C.CallbackAfterSendMsg",
  "C2C.CallbackAfterMsgReport",
  "C2C.CallbackAfterMsgWithDraw",
  "C2C.CallbackAfterC2CMsgExtension",
  "C2C.CallbackAfterMsgReadReceipt",
  "C2C.CallbackAfterModifyMsg",
  "C2C.CallbackAfterMsgReadAll",
  "Group.CallbackBeforeCreateGroup",
  "Group.CallbackAfterCreateGroup",
  "Group.CallbackBeforeApplyJoinGroup",
  "Group.CallbackBeforeInviteJoinGroup",
  "Group.CallbackAfterNewMemberJoin",
  "Group.CallbackAfterMemberExit",
  "Group.CallbackBeforeSendMsg",
  "Group.CallbackAfterSendMsg",
  "Group.CallbackAfterGroupFull",
  "Group.CallbackAfterGroupDestroyed",
  "Group.CallbackAfterGroupInfoChanged",
  "Group.CallbackAfterRecallMsg",
  "Group.CallbackOnMemberStateChange",
  "Group.CallbackSendMsgException",
  "Group.CallbackBeforeCreateTopic",
  "Group.CallbackAfterCreateTopic",
  "Group.CallbackAfterTopicDestroyed",
  "Group.CallbackAfterTopicInfoChanged",
  "Group.CallbackAfterMemberFieldChanged",
  "Group.CallbackAfterGroupAttrChanged",
  "Group.CallbackAfterReadReceipt",
  "Group.CallbackAfterChangeGroupOwner",
  "Group.CallbackOnDailyGroupQuotaAlarm",
  "Group.CallbackAfterGroupMsgExtension",
  "Group.CallbackAfterModifyMsg",
  "Bot.OnC2CMessage",
  "Bot.OnGroupMessage",
  "Chatbot.OnC2CSignalMessage",
  "OfficialAccount.CallbackBeforeCreateOfficialAccount",
  "OfficialAccount.CallbackAfterCreateOfficialAccount",
  "OfficialAccount.CallbackAfterOfficialAccountInfoChanged",
  "OfficialAccount.CallbackAfterOfficialAccountDestroyed",
  "OfficialAccount.CallbackBeforeAddSubscriber",
  "OfficialAccount.CallbackAfterAddSubscriber",
  "OfficialAccount.CallbackAfterOfficialAccountFull",
  "OfficialAccount.CallbackAfterDeleteSubscriber",
  "OfficialAccount.CallbackBeforeSendMsg",
  "OfficialAccount.CallbackAfterSendMsg",
  "OfficialAccount.CallbackAfterMsgWithDraw",
  "ContentCallback.ResultNotify",
  "Push.OfflinePush",
  "Push.AllMemberPush",
];

/** The commands whose body names itself at the top level (all but moderation results and push batches). */
const SELF_NAMED = COMMANDS.filter(
  (c) => c !== "ContentCallback.ResultNotify" && c !== "Push.OfflinePush" && c !== "Push.AllMemberPush",
);

function entry(command: string): CatalogueEntry {
  const found = TENCENT_COMMANDS[command];
  if (!found) throw new Error(`no entry for ${command}`);
  return found;
}

function fixture(file: string): Body {
  const found = FIXTURES.find((f) => f.file === file);
  if (!found) throw new Error(`missing fixture ${file}`);
  return structuredClone(found.body);
}

function accepts(command: string, body: unknown): boolean {
  return entry(command).schema.safeParse(body).success;
}

describe("Tencent catalogue", () => {
  it("holds exactly the 61 commands of tencent.md §3", () => {
    expect(COMMANDS).toHaveLength(61);
    expect(Object.keys(TENCENT_COMMANDS).sort()).toEqual([...COMMANDS].sort());
  });

  it("marks Sns.CallbackPrev*, *.CallbackBefore* and Chatbot.OnC2CSignalMessage as before, the rest as after", () => {
    for (const command of COMMANDS) {
      const waits = /\.CallbackBefore|^Sns\.CallbackPrev/.test(command) || command === "Chatbot.OnC2CSignalMessage";
      expect(entry(command).phase, command).toBe(waits ? "before" : "after");
    }
  });

  it("gives every command a short title", () => {
    for (const command of COMMANDS) {
      expect(entry(command).title, command).toMatch(/^[A-Za-z][A-Za-z0-9 /-]{2,50}$/);
    }
  });
});

describe("Tencent fixtures", () => {
  it("cover every command with at least one example body", () => {
    const covered = new Set(FIXTURES.map((f) => f.command));
    expect(COMMANDS.filter((c) => !covered.has(c))).toEqual([]);
    expect(FIXTURES.filter((f) => !TENCENT_COMMANDS[f.command]).map((f) => f.file)).toEqual([]);
  });

  it.each(FIXTURES.map((f) => [f.file, f] as const))("accepts %s unchanged", (_file, f) => {
    const result = entry(f.command).schema.safeParse(structuredClone(f.body));
    expect(result.error?.issues ?? []).toEqual([]);
    // Validation must never transform: the relay forwards what Tencent sent.
    expect(result.data).toEqual(f.body);
  });

  it("name their own command in the body (except moderation results) and in each push event", () => {
    for (const f of FIXTURES) {
      if (f.command === "ContentCallback.ResultNotify") continue;
      if (f.command.startsWith("Push.")) {
        for (const event of f.body.Events as Body[]) expect(event.CallbackCommand, f.file).toBe(f.command);
      } else {
        expect(f.body.CallbackCommand, f.file).toBe(f.command);
      }
    }
  });
});

describe("Tencent CallbackCommand", () => {
  it("rejects a body whose CallbackCommand names another command", () => {
    for (const command of SELF_NAMED) {
      const other =
        command === "Group.CallbackAfterGroupFull"
          ? "Group.CallbackAfterGroupDestroyed"
          : "Group.CallbackAfterGroupFull";
      const body = { ...fixture(`${command}.json`), CallbackCommand: other };
      expect(accepts(command, body), command).toBe(false);
    }
  });

  it("rejects a body without CallbackCommand where the docs always send one", () => {
    for (const command of SELF_NAMED) {
      const body = fixture(`${command}.json`);
      delete body.CallbackCommand;
      expect(accepts(command, body), command).toBe(false);
    }
  });

  it("accepts a moderation result without CallbackCommand but refuses one naming another command", () => {
    const body = fixture("ContentCallback.ResultNotify.json");
    expect("CallbackCommand" in body).toBe(false);
    expect(accepts("ContentCallback.ResultNotify", body)).toBe(true);
    expect(accepts("ContentCallback.ResultNotify", { ...body, CallbackCommand: "ContentCallback.ResultNotify" })).toBe(
      true,
    );
    expect(accepts("ContentCallback.ResultNotify", { ...body, CallbackCommand: "C2C.CallbackAfterSendMsg" })).toBe(
      false,
    );
  });

  it("rejects a push event naming another command", () => {
    const body = fixture("Push.OfflinePush.json");
    const events = body.Events as Body[];
    events[1] = { ...events[1], CallbackCommand: "Push.AllMemberPush" };
    expect(accepts("Push.OfflinePush", body)).toBe(false);
  });

  it("rejects a push event without CallbackCommand", () => {
    const body = fixture("Push.AllMemberPush.json");
    delete (body.Events as Body[])[0]?.CallbackCommand;
    expect(accepts("Push.AllMemberPush", body)).toBe(false);
  });

  it("rejects a body that is not an object", () => {
    for (const value of [null, "State.StateChange", 42, []]) expect(accepts("State.StateChange", value)).toBe(false);
  });
});

describe("Tencent EventTime", () => {
  it("accepts EventTime sent as a number", () => {
    const body = fixture("Group.CallbackAfterGroupDestroyed.json");
    expect(accepts("Group.CallbackAfterGroupDestroyed", { ...body, EventTime: 1670574414123 })).toBe(true);
  });

  it("accepts EventTime sent as a string", () => {
    const body = fixture("Group.CallbackAfterGroupDestroyed.json");
    expect(body.EventTime).toBe("1670574414123");
    expect(accepts("Group.CallbackAfterGroupDestroyed", body)).toBe(true);
  });

  it("accepts a body without EventTime", () => {
    const body = fixture("Group.CallbackAfterGroupDestroyed.json");
    delete body.EventTime;
    expect(accepts("Group.CallbackAfterGroupDestroyed", body)).toBe(true);
  });

  it("rejects a non-numeric EventTime string", () => {
    for (const command of SELF_NAMED) {
      const body = { ...fixture(`${command}.json`), EventTime: "yesterday" };
      expect(accepts(command, body), command).toBe(false);
    }
  });

  it("rejects a non-numeric EventTime in a push event", () => {
    const body = fixture("Push.OfflinePush.json");
    (body.Events as Body[])[0]!.EventTime = "1557481127s";
    expect(accepts("Push.OfflinePush", body)).toBe(false);
  });

  it("accepts the numeric fields Tencent sends as strings", () => {
    const body = { ...fixture("C2C.CallbackAfterSendMsg.json"), MsgSeq: "48374", MsgTime: "1557481126" };
    expect(accepts("C2C.CallbackAfterSendMsg", body)).toBe(true);
  });
});

describe("Tencent unknown fields", () => {
  it("accepts unknown extra fields and preserves them in the parse output", () => {
    const body = {
      ...fixture("Group.CallbackAfterSendMsg.json"),
      NewTopLevel: { nested: [1, "two"] },
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "hi", Future: true }, Extra: 1 }],
    };
    const result = entry("Group.CallbackAfterSendMsg").schema.safeParse(body);
    expect(result.success).toBe(true);
    expect(result.data).toEqual(body);
  });

  it("preserves unknown fields inside push events", () => {
    const body = fixture("Push.AllMemberPush.json");
    (body.Events as Body[])[0]!.Vendor = "apns";
    expect(entry("Push.AllMemberPush").schema.parse(body)).toEqual(body);
  });
});

describe("Tencent documented variants", () => {
  it("accepts Group.CallbackAfterMemberFieldChanged with Member_Account (intl docs)", () => {
    const body = fixture("Group.CallbackAfterMemberFieldChanged.json");
    expect(body.Member_Account).toBe("123456");
    expect(accepts("Group.CallbackAfterMemberFieldChanged", body)).toBe(true);
  });

  it("accepts Group.CallbackAfterMemberFieldChanged with Modified_Account (CN docs)", () => {
    const body = fixture("Group.CallbackAfterMemberFieldChanged.2.json");
    expect(body.Modified_Account).toBe("123456");
    expect("Member_Account" in body).toBe(false);
    expect(accepts("Group.CallbackAfterMemberFieldChanged", body)).toBe(true);
  });

  it("rejects a Group.CallbackAfterMemberFieldChanged account that is not a string", () => {
    const body = { ...fixture("Group.CallbackAfterMemberFieldChanged.2.json"), Modified_Account: 123456 };
    expect(accepts("Group.CallbackAfterMemberFieldChanged", body)).toBe(false);
  });

  it("accepts Group.CallbackAfterSendMsg with and without MsgId", () => {
    expect("MsgId" in fixture("Group.CallbackAfterSendMsg.json")).toBe(false);
    expect(fixture("Group.CallbackAfterSendMsg.2.json").MsgId).toBeTypeOf("string");
    expect(accepts("Group.CallbackAfterSendMsg", fixture("Group.CallbackAfterSendMsg.json"))).toBe(true);
    expect(accepts("Group.CallbackAfterSendMsg", fixture("Group.CallbackAfterSendMsg.2.json"))).toBe(true);
  });
});

describe("Tencent values the relay reads", () => {
  it("parses State.StateChange Info.Action as Login, Logout or Disconnect", () => {
    for (const action of ["Login", "Logout", "Disconnect"] as const) {
      const body = fixture("State.StateChange.json");
      (body.Info as Body).Action = action;
      expect(StateChange.parse(body).Info.Action).toBe(action);
    }
  });

  it("rejects State.StateChange with an unknown Info.Action", () => {
    const body = fixture("State.StateChange.json");
    (body.Info as Body).Action = "Reconnect";
    expect(accepts("State.StateChange", body)).toBe(false);
  });

  it("rejects State.StateChange without Info.Action", () => {
    const body = fixture("State.StateChange.json");
    delete (body.Info as Body).Action;
    expect(accepts("State.StateChange", body)).toBe(false);
  });

  it("parses Group.CallbackAfterMemberExit ExitType as Kicked or Quit", () => {
    for (const exitType of ["Kicked", "Quit"] as const) {
      const body = { ...fixture("Group.CallbackAfterMemberExit.json"), ExitType: exitType };
      expect(MemberExit.parse(body).ExitType).toBe(exitType);
    }
  });

  it("rejects Group.CallbackAfterMemberExit with an unknown ExitType", () => {
    const body = { ...fixture("Group.CallbackAfterMemberExit.json"), ExitType: "Banned" };
    expect(accepts("Group.CallbackAfterMemberExit", body)).toBe(false);
  });

  it("rejects Group.CallbackAfterMemberExit without ExitType", () => {
    const body = fixture("Group.CallbackAfterMemberExit.json");
    delete body.ExitType;
    expect(accepts("Group.CallbackAfterMemberExit", body)).toBe(false);
  });

  it("accepts any JoinType string but not a number", () => {
    const body = fixture("Group.CallbackAfterNewMemberJoin.json");
    expect(accepts("Group.CallbackAfterNewMemberJoin", { ...body, JoinType: "Invited" })).toBe(true);
    expect(accepts("Group.CallbackAfterNewMemberJoin", { ...body, JoinType: "ByQRCode" })).toBe(true);
    expect(accepts("Group.CallbackAfterNewMemberJoin", { ...body, JoinType: 1 })).toBe(false);
  });

  it("requires a non-empty GroupId on group commands that carry one", () => {
    const withGroupId = FIXTURES.filter((f) => f.command.startsWith("Group.") && "GroupId" in f.body);
    expect(withGroupId.length).toBeGreaterThan(20);
    for (const f of withGroupId) {
      const empty = { ...structuredClone(f.body), GroupId: "" };
      const missing = structuredClone(f.body);
      delete missing.GroupId;
      expect(accepts(f.command, empty), f.file).toBe(false);
      expect(accepts(f.command, missing), f.file).toBe(false);
    }
  });

  it("requires From_Account and To_Account on one-to-one messages", () => {
    for (const command of ["C2C.CallbackBeforeSendMsg", "C2C.CallbackAfterSendMsg", "Bot.OnC2CMessage"]) {
      for (const field of ["From_Account", "To_Account"]) {
        const body = fixture(`${command}.json`);
        delete body[field];
        expect(accepts(command, body), `${command} without ${field}`).toBe(false);
      }
    }
  });

  it("requires PairList on Sns after-callbacks", () => {
    for (const command of [
      "Sns.CallbackFriendAdd",
      "Sns.CallbackFriendDelete",
      "Sns.CallbackBlackListAdd",
      "Sns.CallbackBlackListDelete",
    ]) {
      const body = fixture(`${command}.json`);
      delete body.PairList;
      expect(accepts(command, body), command).toBe(false);
    }
  });
});

describe("Tencent push batches", () => {
  const event = (): Body => structuredClone((fixture("Push.OfflinePush.json").Events as Body[])[0]!);

  it("rejects Push.OfflinePush with zero events", () => {
    expect(accepts("Push.OfflinePush", { Events: [] })).toBe(false);
  });

  it("accepts Push.OfflinePush with one event", () => {
    expect(accepts("Push.OfflinePush", { Events: [event()] })).toBe(true);
  });

  it("accepts 100 events and rejects 101", () => {
    expect(accepts("Push.OfflinePush", { Events: Array.from({ length: 100 }, event) })).toBe(true);
    expect(accepts("Push.OfflinePush", { Events: Array.from({ length: 101 }, event) })).toBe(false);
  });

  it("rejects a push body without Events", () => {
    expect(accepts("Push.AllMemberPush", { CallbackCommand: "Push.AllMemberPush" })).toBe(false);
  });
});
