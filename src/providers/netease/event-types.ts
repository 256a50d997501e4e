import { lookup } from "../fields";

/**
 * NetEase eventType → CloudEvents `type`, per channel (the 抄送 and 第三方回调 eventType spaces collide).
 * Vendor-neutral `im.*` names where Tencent has an event with the same meaning; `netease.<channel>.<name>`
 * otherwise. Every 第三方回调 is asked before the action happens, so its neutral names end in `.requested`; the
 * admin requests (11, 12) have no Tencent twin but are named after the fact they ask about, which both report.
 */
export const NETEASE_CC_EVENT_TYPES: Readonly<Record<string, string>> = {
  "2": "im.user.online",
  "3": "im.user.offline",
  "7": "im.message.recalled",
  "8": "im.message.recalled",
  "25": "im.message.recalled",
  "30": "im.message.read",
  "89": "im.message.modified",
  "90": "im.message.modified",
  "91": "im.message.modified",
};

export const NETEASE_CALLBACK_EVENT_TYPES: Readonly<Record<string, string>> = {
  "1": "im.message.send.requested",
  "2": "im.message.send.requested",
  "6": "im.message.send.requested",
  "22": "im.message.send.requested",
  "7": "im.group.create.requested",
  "9": "im.group.member.invite.requested",
  "23": "im.group.member.invite.requested",
  "19": "im.group.member.join.requested",
  "11": "im.group.admin.add.requested",
  "12": "im.group.admin.remove.requested",
};

/** Names for the provider-scoped types, from NetEase's catalogue titles. */
const CC_NAMES: Readonly<Record<string, string>> = {
  "1": "session_message",
  "4": "chatroom_message",
  "5": "av_duration",
  "6": "av_file",
  "9": "chatroom_member_inout",
  "10": "phone_call",
  "11": "sms_receipt",
  "12": "sms_uplink",
  "13": "av_room_inout",
  "14": "chatroom_queue",
  "20": "yidun_antispam",
  "21": "av_duration",
  "31": "signaling",
  "36": "upload_task",
  "42": "heartbeat",
  "83": "callback_failure",
  "84": "login_failure",
};
const CALLBACK_NAMES: Readonly<Record<string, string>> = {
  "3": "user_info_update",
  "8": "team_dismiss",
  "10": "team_leave",
  "13": "team_transfer_owner",
  "14": "team_kick",
  "15": "team_update_info",
  "16": "team_update_own_member_info",
  "17": "team_update_other_member_info",
  "18": "team_mute_member",
  "20": "av_call",
  "35": "recall",
  "36": "login",
  "37": "chatroom_login",
  "40": "qchat_login",
  "41": "message",
  "72": "message",
  "73": "message",
  "74": "message",
};

/** Team notification `attach.id` → neutral type (0–10 advanced team, 401–411 super team). */
export const TEAM_NOTIFICATIONS: Readonly<Record<number, string>> = {
  0: "im.group.member.joined",
  5: "im.group.member.joined",
  9: "im.group.member.joined",
  401: "im.group.member.joined",
  410: "im.group.member.joined",
  411: "im.group.member.joined",
  1: "im.group.member.kicked",
  402: "im.group.member.kicked",
  2: "im.group.member.left",
  403: "im.group.member.left",
  3: "im.group.updated",
  404: "im.group.updated",
  4: "im.group.dismissed",
  405: "im.group.dismissed",
  6: "im.group.owner.changed",
  406: "im.group.owner.changed",
  7: "im.group.admin.added",
  407: "im.group.admin.added",
  8: "im.group.admin.removed",
  408: "im.group.admin.removed",
};

/** `attach` is documented as a JSON string but often sent as an object; read it either way. */
function attachOf(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  let attach = payload.attach;
  if (typeof attach === "string") {
    try {
      attach = JSON.parse(attach);
    } catch {
      return undefined;
    }
  }
  return typeof attach === "object" && attach !== null ? (attach as Record<string, unknown>) : undefined;
}

/**
 * A super team's creation is the one team notification without an `id`: its attach is the new team's tinfo (key
 * "1" is the tid), flat in NetEase's example, so `tinfo` is accepted too. Advanced teams have no creation 抄送.
 */
function isTeamCreation(attach: Record<string, unknown>): boolean {
  return !Object.hasOwn(attach, "id") && (Object.hasOwn(attach, "1") || Object.hasOwn(attach, "tinfo"));
}

/** The rules of `sessionMessageType`, for the README's table (kept beside the code they describe). */
export const CC_SESSION_RULES: readonly { when: string; type: string }[] = [
  { when: "convType PERSON / TEAM / SUPER_TEAM, msgType not NOTIFICATION", type: "im.message.sent" },
  { when: "convType SUPER_TEAM, msgType NOTIFICATION, attach the team's fields and no id", type: "im.group.created" },
  { when: "convType CUSTOM_PERSON, msgType FRIEND_ADD, attach.vt 1 or 3", type: "im.friend.added" },
  { when: "convType CUSTOM_PERSON, msgType FRIEND_DELETE", type: "im.friend.deleted" },
];

/**
 * 抄送 eventType 1 carries every conversation message, including the notifications that tell a team was
 * dismissed or a friend added; the fact is in `convType`, `msgType` and `attach`.
 */
function sessionMessageType(payload: Record<string, unknown>): string | undefined {
  const { convType, msgType } = payload;
  if (convType === "PERSON" || convType === "TEAM" || convType === "SUPER_TEAM") {
    if (msgType !== "NOTIFICATION") return "im.message.sent";
    const attach = attachOf(payload);
    if (convType === "SUPER_TEAM" && attach && isTeamCreation(attach)) return "im.group.created";
    return lookup(TEAM_NOTIFICATIONS, Number(attach?.id));
  }
  if (convType === "CUSTOM_PERSON") {
    if (msgType === "FRIEND_DELETE") return "im.friend.deleted";
    // vt: 1 added directly, 2 request sent, 3 request accepted, 4 request rejected.
    const vt = Number(attachOf(payload)?.vt);
    if (msgType === "FRIEND_ADD" && (vt === 1 || vt === 3)) return "im.friend.added";
  }
  return undefined;
}

/** The CloudEvents `type` of a NetEase callback. */
export function neteaseEventType(
  channel: "cc" | "callback",
  eventType: string,
  payload: Record<string, unknown>,
): string {
  if (channel === "cc") {
    const refined = eventType === "1" ? sessionMessageType(payload) : undefined;
    return (
      refined ?? lookup(NETEASE_CC_EVENT_TYPES, eventType) ?? `netease.cc.${lookup(CC_NAMES, eventType) ?? eventType}`
    );
  }
  return (
    lookup(NETEASE_CALLBACK_EVENT_TYPES, eventType) ??
    `netease.callback.${lookup(CALLBACK_NAMES, eventType) ?? eventType}`
  );
}
