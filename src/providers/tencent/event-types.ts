/**
 * Tencent CallbackCommand → CloudEvents `type`. Vendor-neutral `im.*` names where NetEase has an event with the
 * same meaning (see the NetEase table); `tencent.<CallbackCommand>` otherwise. Before-callbacks map to
 * `*.requested`: the action has not happened yet when Tencent asks.
 */
export const TENCENT_EVENT_TYPES: Readonly<Record<string, string>> = {
  "C2C.CallbackBeforeSendMsg": "im.message.send.requested",
  "Group.CallbackBeforeSendMsg": "im.message.send.requested",
  "C2C.CallbackAfterSendMsg": "im.message.sent",
  "Group.CallbackAfterSendMsg": "im.message.sent",
  "C2C.CallbackAfterMsgWithDraw": "im.message.recalled",
  "Group.CallbackAfterRecallMsg": "im.message.recalled",
  "C2C.CallbackAfterModifyMsg": "im.message.modified",
  "Group.CallbackAfterModifyMsg": "im.message.modified",
  "C2C.CallbackAfterMsgReadReceipt": "im.message.read",
  "Group.CallbackBeforeCreateGroup": "im.group.create.requested",
  "Group.CallbackAfterCreateGroup": "im.group.created",
  "Group.CallbackAfterGroupDestroyed": "im.group.dismissed",
  "Group.CallbackAfterGroupInfoChanged": "im.group.updated",
  "Group.CallbackAfterChangeGroupOwner": "im.group.owner.changed",
  "Group.CallbackBeforeApplyJoinGroup": "im.group.member.join.requested",
  "Group.CallbackBeforeInviteJoinGroup": "im.group.member.invite.requested",
  "Group.CallbackAfterNewMemberJoin": "im.group.member.joined",
  "Group.CallbackAfterMemberExit": "im.group.member.left",
  "Sns.CallbackFriendAdd": "im.friend.added",
  "Sns.CallbackFriendDelete": "im.friend.deleted",
  "State.StateChange": "im.user.offline",
};

/** Commands whose type depends on a field of the body: one command, two facts. */
function refine(command: string, payload: Record<string, unknown>): string | undefined {
  if (command === "Group.CallbackAfterMemberExit" && payload.ExitType === "Kicked") return "im.group.member.kicked";
  if (command === "State.StateChange") {
    const info = payload.Info;
    if (typeof info === "object" && info !== null && (info as { Action?: unknown }).Action === "Login") {
      return "im.user.online";
    }
  }
  return undefined;
}

/** The CloudEvents `type` of a Tencent callback. */
export function tencentEventType(command: string, payload: Record<string, unknown>): string {
  return refine(command, payload) ?? TENCENT_EVENT_TYPES[command] ?? `tencent.${command}`;
}
