import type { ProviderName } from "../providers/provider";

/**
 * Which conversation an event belongs to, and its place in that conversation: the basis of ordered delivery
 * (a target with `ordering: "conversation"`). Pure: it reads only the provider's payload.
 *
 * The key is readable (`group:@TGS#1/topic-1`, `c2c:alice:bob`) and carried on every event as the `conversation`
 * extension attribute; each part is percent-encoded, so two different conversations never spell the same key.
 * It is unique within one app of one provider; lanes prefix provider and app (see `laneConversation`).
 */

/** Where an event sits: its conversation key, and its order value (ms since epoch) within it. */
export type Placement = { conversation?: string; order?: number };

/** The longest key carried; longer ids than any provider allows leave the event unordered. */
export const CONVERSATION_MAX = 256;

type Payload = Record<string, unknown>;

/** One row of the documented table: which events, which conversation, from which fields. */
export type ConversationRule = {
  provider: ProviderName;
  /** The `providerevent`s it covers: exact, or a prefix ending in `*`. */
  events: readonly string[];
  /** What the README says of it. */
  key: string;
  order: string;
  conversation: (p: Payload) => string | undefined;
};

const part = (v: unknown): string | undefined => {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return typeof v === "string" && v !== "" ? encodeURIComponent(v) : undefined;
};

/** A conversation between two accounts is the same whichever of them sends: the pair is sorted. */
function pair(kind: string, a: unknown, b: unknown): string | undefined {
  const x = part(a);
  const y = part(b);
  if (x === undefined || y === undefined) return undefined;
  return x <= y ? `${kind}:${x}:${y}` : `${kind}:${y}:${x}`;
}

function one(kind: string, v: unknown): string | undefined {
  const x = part(v);
  return x === undefined ? undefined : `${kind}:${x}`;
}

/** A number, or a string of digits (both providers send numbers as strings in places). */
function numeric(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\d{1,16}$/.test(v)) return Number(v);
  return undefined;
}

/**
 * Tencent's own time of the event, in ms: `EventTime` (ms), else `MsgTime` (seconds). `MsgSeq` is not used: it
 * orders a group's messages but not its other events (joins, changes), which share the conversation.
 */
function tencentOrder(p: Payload): number | undefined {
  const eventTime = numeric(p.EventTime);
  if (eventTime !== undefined) return eventTime;
  const msgTime = numeric(p.MsgTime);
  return msgTime === undefined ? undefined : msgTime * 1000;
}

/** The documented table (generated into the README). The first rule that covers an event applies. */
export const CONVERSATION_RULES: readonly ConversationRule[] = [
  {
    provider: "tencent",
    events: ["C2C.*", "Bot.OnC2CMessage", "Chatbot.OnC2CSignalMessage"],
    key: "`c2c:` + the sorted pair of `From_Account` and `To_Account`",
    order: "`EventTime`, else `MsgTime` × 1000",
    conversation: (p) => pair("c2c", p.From_Account, p.To_Account),
  },
  {
    provider: "tencent",
    events: ["Group.*", "Bot.OnGroupMessage"],
    key: "`group:` + `GroupId`, plus `/` + `TopicId` for a community topic",
    order: "`EventTime`, else `MsgTime` × 1000",
    conversation: (p) => {
      const group = one("group", p.GroupId);
      const topic = part(p.TopicId);
      return group === undefined || topic === undefined ? group : `${group}/${topic}`;
    },
  },
  {
    provider: "tencent",
    events: ["OfficialAccount.*"],
    key: "`official:` + `Official_Account`",
    order: "`EventTime`, else `MsgTime` × 1000",
    conversation: (p) => one("official", p.Official_Account),
  },
  {
    provider: "netease",
    events: ["cc.1"],
    key: "`convType` `PERSON`: `person:` + the sorted pair of `fromAccount` and `to`; `TEAM`: `team:` + `to`; `SUPER_TEAM`: `superteam:` + `to`",
    order: "`msgTimestamp`",
    conversation: (p) => {
      if (p.convType === "PERSON") return pair("person", p.fromAccount, p.to);
      if (p.convType === "TEAM") return one("team", p.to);
      if (p.convType === "SUPER_TEAM") return one("superteam", p.to);
      return undefined;
    },
  },
  {
    provider: "netease",
    events: ["cc.4"],
    key: "`chatroom:` + `roomId`",
    order: "`msgTimestamp`",
    conversation: (p) => one("chatroom", p.roomId),
  },
  {
    provider: "netease",
    events: ["cc.9"],
    key: "`chatroom:` + `roomId`",
    order: "`timestamp`",
    conversation: (p) => one("chatroom", p.roomId),
  },
];

function covers(rule: ConversationRule, providerEvent: string): boolean {
  return rule.events.some((e) => (e.endsWith("*") ? providerEvent.startsWith(e.slice(0, -1)) : e === providerEvent));
}

function neteaseOrder(p: Payload): number | undefined {
  return numeric(p.msgTimestamp) ?? numeric(p.timestamp);
}

/**
 * The conversation of one event and its order value. Anything without a conversation (or whose key would exceed
 * CONVERSATION_MAX) gets `{}`: it is delivered unordered. Without an order value of its own, an event is ordered
 * by when the relay acknowledged it.
 */
export function placement(provider: ProviderName, providerEvent: string, payload: unknown): Placement {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return {};
  const p = payload as Payload;
  const rule = CONVERSATION_RULES.find((r) => r.provider === provider && covers(r, providerEvent));
  const conversation = rule?.conversation(p);
  if (conversation === undefined || conversation.length > CONVERSATION_MAX) return {};
  const order = provider === "tencent" ? tencentOrder(p) : neteaseOrder(p);
  return order === undefined ? { conversation } : { conversation, order };
}

/**
 * The key a lane orders by: the conversation within its provider and app, so two apps' (or providers') groups
 * with the same id never hold each other back.
 */
export function laneConversation(event: { provider: string; appid: string; conversation?: string }): string | null {
  return event.conversation === undefined
    ? null
    : `${event.provider}/${encodeURIComponent(event.appid)}/${event.conversation}`;
}
