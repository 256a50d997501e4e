import * as z from "zod/mini";

/**
 * A decider's answer, vendor-neutral, and how several are reduced to one. The provider folders turn the winner
 * into Tencent's or NetEase's own answer (`decide.ts` there). Published as `schemas/decider-answer.json`.
 */

/** One element of a Tencent MsgBody: `MsgType` plus its `MsgContent`, whose fields differ per type. */
const TencentMsgElement = z.looseObject({ MsgType: z.string().check(z.minLength(1)), MsgContent: z.looseObject({}) });

/** Tencent answer fields the neutral verdict does not cover; honoured only with ErrorCode 0, as Tencent does. */
const TencentFields = z.strictObject({
  /** Replaces the message (send-message callbacks). `text`, when also given, rewrites its text elements. */
  MsgBody: z.optional(z.array(TencentMsgElement).check(z.minLength(1), z.maxLength(100))),
  /** Replaces the message's custom data (send-message callbacks). */
  CloudCustomData: z.optional(z.string()),
  /** The reply passed to the chatbot (`Chatbot.OnC2CSignalMessage`). */
  RspData: z.optional(z.string()),
});

const text = z.optional(z.string());
const flag = z.optional(z.boolean());

/** NetEase answer fields the neutral verdict does not cover (message callbacks only). */
const NeteaseFields = z.strictObject({
  /** Passed back to the clients; NetEase allows 1024 characters. With a deny only the sender gets it. */
  callbackExt: z.optional(z.string().check(z.maxLength(1024))),
  /** Replaces parts of the message, as NetEase's `modifyResponse`; only with an allow. `text` sets `body`. */
  modifyResponse: z.optional(
    z.strictObject({
      body: text,
      attach: text,
      ext: text,
      pushContent: text,
      pushPayload: text,
      pushEnable: flag,
      needPushNick: flag,
      persistEnable: flag,
      skipHistory: flag,
      roamingEnable: flag,
      historyEnable: flag,
      msg: text,
      operatorExt: text,
      tag: text,
      notifyTargetTag: text,
    }),
  ),
});

/** What a decider answers, with HTTP 2xx and a JSON body. */
export const DeciderAnswer = z.strictObject({
  decision: z.enum(["allow", "deny", "drop"]),
  /** A deny's code, passed to the client where the provider has a custom range for this action. */
  code: z.optional(z.int()),
  /** A deny's reason: Tencent's ErrorInfo, shown to the client. */
  reason: z.optional(z.string().check(z.maxLength(200))),
  /** With allow: the message text to send instead. */
  text: z.optional(z.string().check(z.maxLength(12_000))),
  /** With allow: the accounts (invitees, subscribers, friend requests) to refuse while letting the rest through. */
  refuse: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.maxLength(500))),
  tencent: z.optional(TencentFields),
  netease: z.optional(NeteaseFields),
});
export type Verdict = z.infer<typeof DeciderAnswer>;

/** What was answered, as the event's `decision` attribute says: `modify` is an allow that changed something. */
export type Decision = "allow" | "modify" | "deny" | "drop";

/** A provider's answer to a before-callback, and what of the verdict it could not express. */
export type Answer = { body: Record<string, unknown>; decision: Decision; ignored: string[] };

/** An allow that asks for changes. */
export function wantsChanges(verdict: Verdict): boolean {
  return (
    verdict.decision === "allow" &&
    (verdict.text !== undefined ||
      verdict.refuse !== undefined ||
      verdict.tencent !== undefined ||
      verdict.netease !== undefined)
  );
}

/** One decider's verdict; `fallback` says why it is the decider's fallback and not its answer. */
export type Asked = { id: string; verdict: Verdict; fallback?: string };

/** Most restrictive first: deny, then drop, then allow with changes, then allow. */
function rank(verdict: Verdict): number {
  if (verdict.decision === "deny") return 0;
  if (verdict.decision === "drop") return 1;
  return wantsChanges(verdict) ? 2 : 3;
}

/**
 * The verdict that answers the provider: the most restrictive, the lowest id among equals. `conflict` lists the
 * deciders whose changes lost to another's (there is no sound way to merge two rewrites of one message).
 */
export function combine(asked: readonly Asked[]): { winner: Asked; conflict: string[] } | undefined {
  const sorted = [...asked].sort(
    (a, b) => rank(a.verdict) - rank(b.verdict) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const winner = sorted[0];
  if (!winner) return undefined;
  const conflict = rank(winner.verdict) === 2 ? sorted.slice(1).filter((a) => rank(a.verdict) === 2) : [];
  return { winner, conflict: conflict.map((a) => a.id) };
}
