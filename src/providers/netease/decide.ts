import type { Answer, Verdict } from "../../deciders/verdict";

/*
 * A neutral verdict in the terms of NetEase's 第三方回调 (../shared/protocols/netease.md §3.2): `errCode` 0 lets
 * the action through, 1 cancels it; with 1, the sender gets `responseCode` when it is a custom code
 * (20000–20099), else 403. Message callbacks alone may answer `responseCode: 200` (the sender believes the
 * message was sent) and carry `modifyResponse` and `callbackExt`.
 */

/** Message-type eventTypes (P2P, team, chatroom, super team, and the newer message callbacks). */
const MESSAGE = new Set(["1", "2", "6", "22", "41", "72", "73", "74"]);
const CUSTOM_MIN = 20000;
const CUSTOM_MAX = 20099;

/** NetEase's answer to a 第三方回调, for the verdict that won. */
export function neteaseDecide(eventType: string, verdict: Verdict): Answer {
  const ignored: string[] = [];
  const message = MESSAGE.has(eventType);
  let decision = verdict.decision;
  if (decision === "drop" && !message) {
    ignored.push("drop: this action has no silent drop, denied instead");
    decision = "deny";
  }
  if (verdict.refuse) ignored.push("refuse: NetEase has no partial refusal");
  if (verdict.tencent) ignored.push("tencent: not a Tencent callback");
  const extra = verdict.netease ?? {};
  if (!message && verdict.netease) ignored.push("netease: only message callbacks take answer fields");
  const callbackExt = message && extra.callbackExt !== undefined ? { callbackExt: extra.callbackExt } : {};

  if (decision === "drop") return { body: { errCode: 1, responseCode: 200, ...callbackExt }, decision, ignored };
  if (decision === "deny") {
    const code = verdict.code;
    const custom = code !== undefined && code >= CUSTOM_MIN && code <= CUSTOM_MAX;
    if (code !== undefined && !custom) ignored.push("code: outside 20000–20099, the sender gets 403");
    if (extra.modifyResponse) ignored.push("netease.modifyResponse: only with allow");
    return { body: { errCode: 1, ...(custom && { responseCode: code }), ...callbackExt }, decision, ignored };
  }

  if (!message) {
    if (verdict.text !== undefined) ignored.push("text: not a message callback");
    return { body: { errCode: 0 }, decision: "allow", ignored };
  }
  const modify = verdict.text !== undefined ? { ...extra.modifyResponse, body: verdict.text } : extra.modifyResponse;
  const body = { errCode: 0, ...(modify && { modifyResponse: modify }), ...callbackExt };
  return { body, decision: modify || extra.callbackExt !== undefined ? "modify" : "allow", ignored };
}
