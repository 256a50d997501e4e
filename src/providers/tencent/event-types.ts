import { lookup } from "../fields";

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
export const TENCENT_REFINEMENTS: readonly { command: string; field: string; value: string; type: string }[] = [
  { command: "Group.CallbackAfterMemberExit", field: "ExitType", value: "Kicked", type: "im.group.member.kicked" },
  { command: "State.StateChange", field: "Info.Action", value: "Login", type: "im.user.online" },
  // Role is the member's new role: "Admin/Member for setting/canceling administrator" (Tencent 1047/60393).
  { command: "Group.CallbackAfterMemberFieldChanged", field: "Role", value: "Admin", type: "im.group.admin.added" },
  { command: "Group.CallbackAfterMemberFieldChanged", field: "Role", value: "Member", type: "im.group.admin.removed" },
];

function fieldAt(payload: Record<string, unknown>, path: string): unknown {
  let value: unknown = payload;
  for (const key of path.split("."))
    value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function refine(command: string, payload: Record<string, unknown>): string | undefined {
  return TENCENT_REFINEMENTS.find((r) => r.command === command && fieldAt(payload, r.field) === r.value)?.type;
}

/** The CloudEvents `type` of a Tencent callback. */
export function tencentEventType(command: string, payload: Record<string, unknown>): string {
  return refine(command, payload) ?? lookup(TENCENT_EVENT_TYPES, command) ?? `tencent.${command}`;
}
