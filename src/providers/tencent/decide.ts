import type { Answer, Verdict } from "../../deciders/verdict";
import { lookup } from "../fields";

/*
 * A neutral verdict in Tencent's terms (../shared/protocols/tencent.md §2.1). Tencent reads the ErrorCode of a
 * before-callback: 0 allow, 1 deny, 2 silent drop (send-message callbacks only), or a code from the command's
 * custom range, which the client receives with ErrorInfo.
 */

type Range = readonly [number, number];
const C2C_RANGE: Range = [120001, 130000];
const GROUP_RANGE: Range = [10100, 10200];
const FRIEND_RANGE: Range = [38000, 39000];

/** Before-callbacks that carry a message: they alone can drop silently, and their MsgBody can be rewritten. */
const SEND: Readonly<Record<string, Range>> = {
  "C2C.CallbackBeforeSendMsg": C2C_RANGE,
  "Group.CallbackBeforeSendMsg": GROUP_RANGE,
  "OfficialAccount.CallbackBeforeSendMsg": C2C_RANGE,
};

/** Custom deny codes per command; a deny elsewhere is ErrorCode 1. */
const CUSTOM: Readonly<Record<string, Range>> = {
  ...SEND,
  "Group.CallbackBeforeCreateGroup": GROUP_RANGE,
  "Group.CallbackBeforeCreateTopic": GROUP_RANGE,
  "Group.CallbackBeforeApplyJoinGroup": GROUP_RANGE,
  "Group.CallbackBeforeInviteJoinGroup": GROUP_RANGE,
  "OfficialAccount.CallbackBeforeCreateOfficialAccount": C2C_RANGE,
};

/** Friend callbacks decide per requested account (`ResultItem`); a top-level error would let everything through. */
const FRIEND: Readonly<Record<string, string>> = {
  "Sns.CallbackPrevFriendAdd": "FriendItem",
  "Sns.CallbackPrevFriendResponse": "ResponseFriendItem",
};

/** Where a partial refusal goes: the accounts to leave out of the action. */
const REFUSED: Readonly<Record<string, string>> = {
  "Group.CallbackBeforeInviteJoinGroup": "RefusedMembers_Account",
  "OfficialAccount.CallbackBeforeAddSubscriber": "RefusedSubscribers_Account",
};

const CHATBOT = "Chatbot.OnC2CSignalMessage";

const inRange = (code: number | undefined, [min, max]: Range): code is number =>
  code !== undefined && code >= min && code <= max;

function accountsOf(items: unknown): string[] {
  if (!Array.isArray(items)) return [];
  return items.flatMap((item) => {
    const to = (item as { To_Account?: unknown } | null)?.To_Account;
    return typeof to === "string" ? [to] : [];
  });
}

/**
 * One ResultItem per requested account: those `refused` names get the verdict's code when it is in 38000–39000
 * (else 38000) and its reason; the rest are allowed.
 */
function resultItems(
  payload: Record<string, unknown>,
  command: string,
  verdict: Verdict,
  refused: (account: string) => boolean,
) {
  const code = inRange(verdict.code, FRIEND_RANGE) ? verdict.code : FRIEND_RANGE[0];
  return accountsOf(payload[FRIEND[command] ?? ""]).map((to) =>
    refused(to)
      ? { To_Account: to, ResultCode: code, ResultInfo: verdict.reason ?? "" }
      : { To_Account: to, ResultCode: 0, ResultInfo: "" },
  );
}

/** `body` with the Text of every TIMTextElem replaced; undefined when it has none. */
function withText(body: unknown, text: string): unknown[] | undefined {
  if (!Array.isArray(body)) return undefined;
  let replaced = false;
  const out = body.map((element) => {
    const el = element as { MsgType?: unknown; MsgContent?: unknown } | null;
    if (el?.MsgType !== "TIMTextElem" || typeof el.MsgContent !== "object" || el.MsgContent === null) return element;
    replaced = true;
    return { ...el, MsgContent: { ...el.MsgContent, Text: text } };
  });
  return replaced ? out : undefined;
}

/** Tencent's answer to a before-callback, for the verdict that won. */
export function tencentDecide(command: string, payload: Record<string, unknown>, verdict: Verdict): Answer {
  const ignored: string[] = [];
  const reason = verdict.reason ?? "";
  const friend = lookup(FRIEND, command) !== undefined;
  const send = lookup(SEND, command);
  let decision = verdict.decision;
  if (decision === "drop" && !send) {
    ignored.push("drop: this action has no silent drop, denied instead");
    decision = "deny";
  }
  if (decision !== "allow" && verdict.tencent) ignored.push("tencent: Tencent honours answer fields only on allow");

  if (decision === "drop") return { body: { ActionStatus: "OK", ErrorCode: 2, ErrorInfo: reason }, decision, ignored };
  if (decision === "deny") {
    if (friend) {
      // A friend request is refused per account; ErrorCode 0 says the callback itself worked.
      const ResultItem = resultItems(payload, command, verdict, () => true);
      return { body: { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "", ResultItem }, decision, ignored };
    }
    const range = lookup(CUSTOM, command);
    const code = range && inRange(verdict.code, range) ? verdict.code : 1;
    if (verdict.code !== undefined && code !== verdict.code)
      ignored.push(`code: outside this command's custom range, ErrorCode 1 sent`);
    return { body: { ActionStatus: "OK", ErrorCode: code, ErrorInfo: reason }, decision, ignored };
  }

  // allow, with whatever changes this command can carry.
  const body: Record<string, unknown> = { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" };
  let changed = false;
  const refused = new Set(verdict.refuse ?? []);
  if (friend) {
    body.ResultItem = resultItems(payload, command, verdict, (to) => refused.has(to));
    changed = refused.size > 0;
  } else if (verdict.refuse) {
    const field = lookup(REFUSED, command);
    if (field) {
      body[field] = verdict.refuse;
      changed = true;
    } else ignored.push("refuse: this callback has no accounts to refuse");
  }
  const extra = verdict.tencent ?? {};
  if (command === CHATBOT) body.RspData = extra.RspData ?? "";
  else if (extra.RspData !== undefined) ignored.push("tencent.RspData: not a chatbot callback");
  if (command === CHATBOT && extra.RspData !== undefined) changed = true;
  if (send) {
    let msgBody: unknown = extra.MsgBody;
    if (verdict.text !== undefined) {
      const rewritten = withText(msgBody ?? payload.MsgBody, verdict.text);
      if (rewritten) msgBody = rewritten;
      else ignored.push("text: the message has no text element");
    }
    if (msgBody !== undefined) body.MsgBody = msgBody;
    if (extra.CloudCustomData !== undefined) body.CloudCustomData = extra.CloudCustomData;
    changed ||= msgBody !== undefined || extra.CloudCustomData !== undefined;
  } else {
    if (verdict.text !== undefined) ignored.push("text: not a send-message callback");
    if (extra.MsgBody !== undefined || extra.CloudCustomData !== undefined)
      ignored.push("tencent.MsgBody/CloudCustomData: not a send-message callback");
  }
  return { body, decision: changed ? "modify" : "allow", ignored };
}
