import * as z from "zod/mini";
import { type CatalogueEntry, id, int, json, list, opt, record } from "../fields";

/*
 * Tencent Cloud Chat (即时通信 IM) third-party callback bodies, one schema per CallbackCommand.
 * Field names and types follow /work/shared/protocols/tencent.md §3 and the docs' own example bodies
 * (test/fixtures/tencent). Request-field tables carry no "required" column, so only the command literal,
 * the identifiers every example carries, and the values the relay reads are required; the rest is optional.
 */

// ---- Local helpers ----

type Shape = Record<string, z.ZodMiniType>;

const text = z.string();

/**
 * A callback body: the command literal, the documented fields, and `EventTime`. EventTime is accepted on every
 * command because Tencent keeps adding it to callbacks whose older pages lack it (C2C.CallbackAfterMsgReport
 * gained it in 2025), and the examples send it as a number or as a string of milliseconds.
 */
function body<const C extends string, S extends Shape>(command: C, shape: S) {
  return record({ CallbackCommand: z.literal(command), EventTime: opt(int), ...shape });
}

const before = (schema: z.ZodMiniType, title: string): CatalogueEntry => ({ schema, phase: "before", title });
const after = (schema: z.ZodMiniType, title: string): CatalogueEntry => ({ schema, phase: "after", title });

// ---- Shared shapes ----

/** One element of MsgBody (TIMTextElem, TIMCustomElem …); MsgContent differs per MsgType. */
const msgBody = list(record({ MsgType: text, MsgContent: record({}) }));

/** Group member lists (MemberList, NewMemberList, ExitMemberList, DestinationMembers …). */
const members = list(record({ Member_Account: text }));

/** Relationship-chain pairs: Sns.* after-callbacks report one row per (From_Account, To_Account). */
const pairList = list(record({ From_Account: text, To_Account: text }));

/** Custom group / topic fields, sent only when the app has enabled them. */
const userDefinedData = list(record({ Key: text, Value: text }));

/** Message-extension key/values; `Seq` versions each key, the body-level `Seq` the whole message. */
const extensionList = list(record({ Key: text, Value: text, Seq: opt(int) }));

/** Official-account subscriber lists. */
const subscribers = list(record({ Subscriber_Account: text }));

/** Fields every C2C message callback shares (before/after send, chatbot). */
const c2cMessage = {
  From_Account: text,
  To_Account: text,
  MsgSeq: opt(int),
  MsgRandom: opt(int),
  MsgTime: opt(int),
  MsgKey: opt(text),
  MsgId: opt(text),
  OnlineOnlyFlag: opt(int),
  MsgBody: opt(msgBody),
  CloudCustomData: opt(text),
};

/** Fields every group message callback shares (before/after send, exception, bot @-mention). */
const groupMessage = {
  GroupId: id,
  Type: opt(text),
  From_Account: opt(text),
  Operator_Account: opt(text),
  Random: opt(int),
  OnlineOnlyFlag: opt(int),
  MsgBody: opt(msgBody),
  CloudCustomData: opt(text),
  TopicId: opt(text),
};

/** A group's or a community topic's profile change: only the changed fields are sent. */
const profileChange = {
  GroupId: id,
  Type: opt(text),
  Operator_Account: opt(text),
  Name: opt(text),
  Introduction: opt(text),
  Notification: opt(text),
  FaceUrl: opt(text),
};

/** Official-account profile fields (create / change / destroy). */
const officialAccount = {
  Operator_Account: opt(text),
  Owner_Account: opt(text),
  Name: opt(text),
};

// ---- Online status: the relay reads Info.Action to tell online from offline ----

export const StateChange = body("State.StateChange", {
  Info: record({
    Action: z.enum(["Login", "Logout", "Disconnect"]),
    To_Account: text,
    Reason: opt(text),
  }),
  KickedDevice: opt(list(record({ Platform: opt(text) }))),
});
export type StateChange = z.infer<typeof StateChange>;

// ---- Groups: the relay reads ExitType to tell a kick from a quit ----

export const MemberExit = body("Group.CallbackAfterMemberExit", {
  GroupId: id,
  Type: opt(text),
  ExitType: z.enum(["Kicked", "Quit"]),
  Operator_Account: opt(text),
  ExitMemberList: opt(members),
});
export type MemberExit = z.infer<typeof MemberExit>;

// ---- Push: results arrive in batches of 1–100 events, each naming the command, times in seconds ----

function pushBatch<const C extends string, S extends Shape>(command: C, shape: S) {
  const event = record({
    CallbackCommand: z.literal(command),
    EventType: opt(int),
    EventTime: opt(int),
    To_Account: opt(text),
    PushPlatform: opt(int),
    PushStage: opt(int),
    ErrCode: opt(int),
    ErrInfo: opt(text),
    ...shape,
  });
  return record({ Events: list(event).check(z.minLength(1), z.maxLength(100)) });
}

/**
 * Every documented Tencent Cloud Chat CallbackCommand (tencent.md §3, 61 commands) → its body schema, phase and
 * title. "before" commands wait for the app's verdict (Sns.CallbackPrev*, *.CallbackBefore*, and
 * Chatbot.OnC2CSignalMessage, which waits for RspData); everything else is a notification.
 */
export const TENCENT_COMMANDS: Readonly<Record<string, CatalogueEntry>> = Object.freeze({
  // -- Operations: API frequency alarm --
  "Alert.RequestOverLimit": after(
    body("Alert.RequestOverLimit", { ServiceName: text, Command: text, Request: opt(int), Limit: opt(int) }),
    "API call rate near limit",
  ),

  // -- Online status --
  "State.StateChange": after(StateChange, "user online state changed"),

  // -- Profile & relationship chain --
  "Profile.CallbackPortraitSet": after(
    body("Profile.CallbackPortraitSet", {
      Operator_Account: opt(text),
      From_Account: text,
      // "uint32/string": numeric profile tags (gender, birthday…) come as numbers.
      ProfileItem: opt(list(record({ Tag: text, Value: z.union([z.number(), text]) }))),
    }),
    "profile updated",
  ),
  "Sns.CallbackPrevFriendAdd": before(
    body("Sns.CallbackPrevFriendAdd", {
      Requester_Account: opt(text),
      From_Account: text,
      FriendItem: opt(
        list(
          record({
            To_Account: text,
            Remark: opt(text),
            GroupName: opt(text),
            AddSource: opt(text),
            AddWording: opt(text),
          }),
        ),
      ),
      AddType: opt(text),
      ForceAddFlags: opt(int),
    }),
    "friend request",
  ),
  "Sns.CallbackPrevFriendResponse": before(
    body("Sns.CallbackPrevFriendResponse", {
      Requester_Account: opt(text),
      From_Account: text,
      ResponseFriendItem: opt(
        list(record({ To_Account: text, Remark: opt(text), TagName: opt(text), ResponseAction: opt(text) })),
      ),
    }),
    "friend request response",
  ),
  "Sns.CallbackFriendAdd": after(
    body("Sns.CallbackFriendAdd", {
      PairList: list(record({ From_Account: text, To_Account: text, Initiator_Account: opt(text) })),
      ClientCmd: opt(text),
      Admin_Account: opt(text),
      ForceFlag: opt(int),
    }),
    "friends added",
  ),
  "Sns.CallbackFriendDelete": after(body("Sns.CallbackFriendDelete", { PairList: pairList }), "friends deleted"),
  "Sns.CallbackBlackListAdd": after(body("Sns.CallbackBlackListAdd", { PairList: pairList }), "users blocked"),
  "Sns.CallbackBlackListDelete": after(body("Sns.CallbackBlackListDelete", { PairList: pairList }), "users unblocked"),

  // -- Follow / followers --
  "Follow.CallbackAfterFollowAdd": after(
    body("Follow.CallbackAfterFollowAdd", { From_Account: text, FollowList: opt(list(record({ To_Account: text }))) }),
    "users followed",
  ),
  // Unlike FollowAdd, To_Account here is a bare array of UserIDs.
  "Follow.CallbackAfterFollowDelete": after(
    body("Follow.CallbackAfterFollowDelete", { From_Account: text, To_Account: opt(list(text)) }),
    "users unfollowed",
  ),

  // -- One-to-one (C2C) messages --
  "C2C.CallbackBeforeSendMsg": before(body("C2C.CallbackBeforeSendMsg", c2cMessage), "one-to-one message send"),
  "C2C.CallbackAfterSendMsg": after(
    body("C2C.CallbackAfterSendMsg", {
      ...c2cMessage,
      SendMsgResult: opt(int),
      ErrorInfo: opt(text),
      // -1 when delivery failed (e.g. dirty-word filter): the callback fires anyway.
      UnreadMsgNum: opt(int),
    }),
    "one-to-one message sent",
  ),
  // Two revisions: the intl page sends UnreadMsgNum, the 2025 CN page EventTime instead.
  "C2C.CallbackAfterMsgReport": after(
    body("C2C.CallbackAfterMsgReport", {
      Report_Account: text,
      Peer_Account: opt(text),
      LastReadTime: opt(int),
      UnreadMsgNum: opt(int),
    }),
    "one-to-one messages read",
  ),
  "C2C.CallbackAfterMsgWithDraw": after(
    body("C2C.CallbackAfterMsgWithDraw", {
      From_Account: text,
      To_Account: text,
      MsgKey: opt(text),
      UnreadMsgNum: opt(int),
    }),
    "one-to-one message recalled",
  ),
  "C2C.CallbackAfterC2CMsgExtension": after(
    body("C2C.CallbackAfterC2CMsgExtension", {
      From_Account: text,
      To_Account: text,
      MsgKey: opt(text),
      OperateType: opt(int),
      ExtensionList: opt(extensionList),
      Seq: opt(int),
    }),
    "one-to-one message extension changed",
  ),
  "C2C.CallbackAfterMsgReadReceipt": after(
    body("C2C.CallbackAfterMsgReadReceipt", {
      Operator_Account: text,
      Peer_Account: opt(text),
      C2CMsgInfo: opt(
        list(record({ From_Account: opt(text), To_Account: opt(text), MsgKey: opt(text), MsgId: opt(text) })),
      ),
    }),
    "one-to-one read receipt sent",
  ),
  "C2C.CallbackAfterModifyMsg": after(
    body("C2C.CallbackAfterModifyMsg", {
      Operator_Account: opt(text),
      From_Account: text,
      To_Account: text,
      MsgRandom: opt(int),
      MsgSeq: opt(int),
      MsgTime: opt(int),
      MsgKey: opt(text),
      MsgBody: opt(msgBody),
      CloudCustomData: opt(text),
    }),
    "one-to-one message edited",
  ),
  "C2C.CallbackAfterMsgReadAll": after(
    body("C2C.CallbackAfterMsgReadAll", {
      Report_Account: text,
      GroupReadInfo: opt(list(record({ GroupId: text, MsgSeq: opt(int) }))),
    }),
    "all conversations marked read",
  ),

  // -- Groups --
  "Group.CallbackBeforeCreateGroup": before(
    body("Group.CallbackBeforeCreateGroup", {
      Operator_Account: opt(text),
      Owner_Account: opt(text),
      Type: opt(text),
      Name: opt(text),
      CreateGroupNum: opt(int),
      MemberList: opt(members),
    }),
    "group creation",
  ),
  "Group.CallbackAfterCreateGroup": after(
    body("Group.CallbackAfterCreateGroup", {
      GroupId: id,
      Operator_Account: opt(text),
      Owner_Account: opt(text),
      Type: opt(text),
      Name: opt(text),
      MemberList: opt(members),
      UserDefinedDataList: opt(userDefinedData),
    }),
    "group created",
  ),
  "Group.CallbackBeforeApplyJoinGroup": before(
    body("Group.CallbackBeforeApplyJoinGroup", { GroupId: id, Type: opt(text), Requestor_Account: opt(text) }),
    "group join application",
  ),
  "Group.CallbackBeforeInviteJoinGroup": before(
    body("Group.CallbackBeforeInviteJoinGroup", {
      GroupId: id,
      Type: opt(text),
      Operator_Account: opt(text),
      DestinationMembers: opt(members),
    }),
    "group invitation",
  ),
  "Group.CallbackAfterNewMemberJoin": after(
    body("Group.CallbackAfterNewMemberJoin", {
      GroupId: id,
      Type: opt(text),
      // Documented as Apply / Invited; kept open so a new join path does not drop the event.
      JoinType: opt(text),
      Operator_Account: opt(text),
      NewMemberList: opt(members),
    }),
    "group members joined",
  ),
  "Group.CallbackAfterMemberExit": after(MemberExit, "group members left"),
  "Group.CallbackBeforeSendMsg": before(body("Group.CallbackBeforeSendMsg", groupMessage), "group message send"),
  // The 2025 revision adds MsgId and GroupAtInfo (who was @-mentioned).
  "Group.CallbackAfterSendMsg": after(
    body("Group.CallbackAfterSendMsg", {
      ...groupMessage,
      MsgSeq: opt(int),
      MsgTime: opt(int),
      MsgId: opt(text),
      GroupAtInfo: opt(list(record({ GroupAtAllFlag: opt(int), GroupAt_Account: opt(text) }))),
    }),
    "group message sent",
  ),
  "Group.CallbackAfterGroupFull": after(body("Group.CallbackAfterGroupFull", { GroupId: id }), "group full"),
  "Group.CallbackAfterGroupDestroyed": after(
    body("Group.CallbackAfterGroupDestroyed", {
      GroupId: id,
      Type: opt(text),
      Owner_Account: opt(text),
      Name: opt(text),
      // Absent for Community groups.
      MemberList: opt(members),
    }),
    "group dismissed",
  ),
  // Only the changed profile fields are sent.
  "Group.CallbackAfterGroupInfoChanged": after(
    body("Group.CallbackAfterGroupInfoChanged", profileChange),
    "group profile changed",
  ),
  "Group.CallbackAfterRecallMsg": after(
    body("Group.CallbackAfterRecallMsg", {
      Operator_Account: opt(text),
      Type: opt(text),
      GroupId: id,
      MsgSeqList: opt(list(record({ MsgSeq: int }))),
      TopicId: opt(text),
    }),
    "group message recalled",
  ),
  "Group.CallbackOnMemberStateChange": after(
    body("Group.CallbackOnMemberStateChange", { GroupId: id, EventType: opt(text), MemberList: opt(members) }),
    "live group member online state changed",
  ),
  "Group.CallbackSendMsgException": after(
    body("Group.CallbackSendMsgException", { ...groupMessage, ErrorCode: opt(int), ErrorInfo: opt(text) }),
    "group message delivery failed",
  ),
  // The docs show no GroupId: the topic's community is not in the body.
  "Group.CallbackBeforeCreateTopic": before(
    body("Group.CallbackBeforeCreateTopic", { Operator_Account: opt(text), Type: opt(text), Name: opt(text) }),
    "topic creation",
  ),
  "Group.CallbackAfterCreateTopic": after(
    body("Group.CallbackAfterCreateTopic", {
      GroupId: id,
      TopicId: opt(text),
      Operator_Account: opt(text),
      Owner_Account: opt(text),
      Type: opt(text),
      Name: opt(text),
      UserDefinedDataList: opt(userDefinedData),
    }),
    "topic created",
  ),
  "Group.CallbackAfterTopicDestroyed": after(
    body("Group.CallbackAfterTopicDestroyed", { GroupId: id, Type: opt(text), TopicIdList: opt(list(text)) }),
    "topics dismissed",
  ),
  // The docs show no TopicId: only the community's GroupId identifies where the change happened.
  "Group.CallbackAfterTopicInfoChanged": after(
    body("Group.CallbackAfterTopicInfoChanged", profileChange),
    "topic profile changed",
  ),
  // The intl page names the changed member Member_Account, the CN page and the Java SDK Modified_Account.
  "Group.CallbackAfterMemberFieldChanged": after(
    body("Group.CallbackAfterMemberFieldChanged", {
      GroupId: id,
      Type: opt(text),
      Operator_Account: opt(text),
      Member_Account: opt(text),
      Modified_Account: opt(text),
      Role: opt(text),
      NameCard: opt(text),
    }),
    "group member profile changed",
  ),
  // GroupAttr keys are lower-case (key/value), unlike every other list in these callbacks.
  "Group.CallbackAfterGroupAttrChanged": after(
    body("Group.CallbackAfterGroupAttrChanged", {
      GroupId: id,
      Type: opt(text),
      Operator_Account: opt(text),
      OptionType: opt(text),
      GroupAttr: opt(list(record({ key: text, value: text }))),
    }),
    "group attributes changed",
  ),
  "Group.CallbackAfterReadReceipt": after(
    body("Group.CallbackAfterReadReceipt", {
      GroupId: id,
      Type: opt(text),
      GroupMsgReceiptList: opt(
        list(
          record({
            MsgSeq: opt(int),
            ReadNum: opt(int),
            UnreadNum: opt(int),
            ReadReceiptMembers: opt(members),
          }),
        ),
      ),
    }),
    "group read receipts",
  ),
  "Group.CallbackAfterChangeGroupOwner": after(
    body("Group.CallbackAfterChangeGroupOwner", {
      GroupId: id,
      Type: opt(text),
      Operator_Account: opt(text),
      OldOwner_Account: opt(text),
      NewOwner_Account: opt(text),
    }),
    "group owner changed",
  ),
  "Group.CallbackOnDailyGroupQuotaAlarm": after(
    body("Group.CallbackOnDailyGroupQuotaAlarm", { QuotaUsed: opt(int), Quota: opt(int) }),
    "daily group quota nearly used",
  ),
  "Group.CallbackAfterGroupMsgExtension": after(
    body("Group.CallbackAfterGroupMsgExtension", {
      GroupId: id,
      MsgSeq: opt(int),
      OperateType: opt(int),
      ExtensionList: opt(extensionList),
      Seq: opt(int),
    }),
    "group message extension changed",
  ),
  "Group.CallbackAfterModifyMsg": after(
    body("Group.CallbackAfterModifyMsg", {
      Operator_Account: opt(text),
      GroupId: id,
      TopicId: opt(text),
      MsgSeq: opt(int),
      MsgBody: opt(msgBody),
    }),
    "group message edited",
  ),

  // -- Chatbots --
  "Bot.OnC2CMessage": after(
    body("Bot.OnC2CMessage", { ...c2cMessage, SendMsgResult: opt(int), ErrorInfo: opt(text) }),
    "one-to-one message to chatbot",
  ),
  "Bot.OnGroupMessage": after(
    body("Bot.OnGroupMessage", {
      ...groupMessage,
      MsgSeq: opt(int),
      MsgTime: opt(int),
      AtRobots_Account: opt(list(text)),
    }),
    "chatbot mentioned in group",
  ),
  // Request/response: Tencent relays the reply's RspData to the chatbot, so it waits like a before-callback.
  "Chatbot.OnC2CSignalMessage": before(
    body("Chatbot.OnC2CSignalMessage", {
      From_Account: text,
      To_Account: text,
      MsgSeq: opt(int),
      MsgRandom: opt(int),
      MsgKey: opt(text),
      // JSON text, not an object: the relay must not parse it.
      Data: opt(text),
    }),
    "chatbot signal message",
  ),

  // -- Official accounts (channels) --
  "OfficialAccount.CallbackBeforeCreateOfficialAccount": before(
    body("OfficialAccount.CallbackBeforeCreateOfficialAccount", officialAccount),
    "official account creation",
  ),
  "OfficialAccount.CallbackAfterCreateOfficialAccount": after(
    body("OfficialAccount.CallbackAfterCreateOfficialAccount", { Official_Account: text, ...officialAccount }),
    "official account created",
  ),
  "OfficialAccount.CallbackAfterOfficialAccountInfoChanged": after(
    body("OfficialAccount.CallbackAfterOfficialAccountInfoChanged", {
      Official_Account: text,
      Operator_Account: opt(text),
      Introduction: opt(text),
      Name: opt(text),
      FaceUrl: opt(text),
      Organization: opt(text),
    }),
    "official account profile changed",
  ),
  "OfficialAccount.CallbackAfterOfficialAccountDestroyed": after(
    body("OfficialAccount.CallbackAfterOfficialAccountDestroyed", {
      Official_Account: text,
      Owner_Account: opt(text),
      Name: opt(text),
    }),
    "official account destroyed",
  ),
  "OfficialAccount.CallbackBeforeAddSubscriber": before(
    body("OfficialAccount.CallbackBeforeAddSubscriber", {
      Official_Account: text,
      Operator_Account: opt(text),
      SubscribeAccountList: opt(subscribers),
    }),
    "official account subscription",
  ),
  "OfficialAccount.CallbackAfterAddSubscriber": after(
    body("OfficialAccount.CallbackAfterAddSubscriber", {
      Official_Account: text,
      Operator_Account: opt(text),
      SubscribeAccountList: opt(subscribers),
    }),
    "official account subscribed",
  ),
  "OfficialAccount.CallbackAfterOfficialAccountFull": after(
    body("OfficialAccount.CallbackAfterOfficialAccountFull", { Official_Account: text }),
    "official account subscriber limit reached",
  ),
  "OfficialAccount.CallbackAfterDeleteSubscriber": after(
    body("OfficialAccount.CallbackAfterDeleteSubscriber", {
      Official_Account: text,
      Operator_Account: opt(text),
      SubscribeAccountList: opt(subscribers),
    }),
    "official account unsubscribed",
  ),
  "OfficialAccount.CallbackBeforeSendMsg": before(
    body("OfficialAccount.CallbackBeforeSendMsg", {
      Official_Account: text,
      OnlineOnlyFlag: opt(int),
      MsgBody: opt(msgBody),
      CloudCustomData: opt(text),
    }),
    "official account message send",
  ),
  "OfficialAccount.CallbackAfterSendMsg": after(
    body("OfficialAccount.CallbackAfterSendMsg", {
      Official_Account: text,
      MsgKey: opt(text),
      MsgTime: opt(int),
      OnlineOnlyFlag: opt(int),
      MsgBody: opt(msgBody),
      CloudCustomData: opt(text),
    }),
    "official account message sent",
  ),
  "OfficialAccount.CallbackAfterMsgWithDraw": after(
    body("OfficialAccount.CallbackAfterMsgWithDraw", {
      Official_Account: text,
      WithdrawMsgList: opt(list(record({ MsgKey: text }))),
    }),
    "official account message recalled",
  ),

  // -- Content moderation and push results --
  // The only IM body without CallbackCommand (the query string still names it); a wrong one is still refused.
  "ContentCallback.ResultNotify": after(
    record({
      CallbackCommand: opt(z.literal("ContentCallback.ResultNotify")),
      EventTime: opt(int),
      Scene: opt(text),
      SdkAppId: opt(int),
      From_Account: opt(text),
      // ContactType 1 = C2C (To_Account), 2 = group (the CN table calls the group id ToGroupId).
      ContactItem: opt(
        record({ ContactType: opt(int), To_Account: opt(text), ToGroupId: opt(text), GroupId: opt(text) }),
      ),
      ContentType: opt(text),
      TextContent: opt(list(text)),
      MsgID: opt(text),
      CtxcbResult: opt(int),
      CtxcbRequestId: opt(text),
      CtxcbKeywords: opt(list(text)),
      CtxcbSuggestion: opt(text),
      CtxcbLabel: opt(text),
      CtxcbSubLabel: opt(text),
      CtxcbSubLabelDesc: opt(text),
      CtxcbLibName: opt(text),
      CloudCustomData: opt(text),
    }),
    "content moderation result",
  ),
  // Group events carry GroupID (capital D), unlike GroupId everywhere else.
  "Push.OfflinePush": after(
    pushBatch("Push.OfflinePush", {
      From_Account: opt(text),
      MsgKey: opt(text),
      GroupID: opt(text),
      MsgSeq: opt(int),
      MsgRandom: opt(int),
      MsgTime: opt(int),
      PushID: opt(text),
    }),
    "push delivery results",
  ),
  "Push.AllMemberPush": after(
    pushBatch("Push.AllMemberPush", {
      TaskId: opt(text),
      DataId: opt(text),
      TaskTime: opt(int),
      // Type not stated in the docs.
      DeviceType: opt(json),
    }),
    "broadcast push delivery results",
  ),
});
