import { neteaseApps, settings } from "../../env";
import { RelayError } from "../../errors";
import type { CatalogueEntry } from "../fields";
import type { Channel } from "../provider";
import { firstTime, type TimePath } from "../time";
import { authenticateNetease } from "./auth";
import { neteaseDecide } from "./decide";
import { neteaseEventType } from "./event-types";
import { neteaseCallbackAck, neteaseCcAck, neteaseReject } from "./respond";
import { NETEASE_CALLBACK_EVENTS, NETEASE_CC_EVENTS } from "./schemas";

/** eventType as NetEase sends it: an integer or a numeric string; newer products use names (MEETING_INFO_CHANGE). */
const EVENT_TYPE = /^[A-Za-z0-9_]{1,64}$/;
/**
 * Where NetEase payloads carry their time, most specific first (a recall's deleteTime before the message's
 * sendTime, an operation's timestamp before callback 35's `time` of the original message). A/V duration (抄送 5,
 * 21) has only the call's createtime, the private-line call (10) has it inside its `callback` JSON text, and the
 * read receipt (30) in its first `objects` entry. SMS receipts (11, 12) carry zone-less local date strings only.
 */
const TIME_PATHS: readonly TimePath[] = [
  "timestamp",
  "msgTimestamp",
  "deleteTime",
  "modifyTime",
  "operationTime",
  "sendTime",
  "createtime",
  "createTime",
  "time",
  ["callback", "createtime"],
  ["objects", 0, "timestamp"],
];

function neteaseChannel(
  channel: "cc" | "callback",
  catalogue: Readonly<Record<string, CatalogueEntry>>,
  ack: () => Response,
  decide?: Channel["decide"],
): Channel {
  return {
    provider: "netease",
    channel,
    path: `/netease/${channel}`,
    catalogue,
    routingKey: "eventType",

    async authenticate(req, _url, env, nowMs) {
      return authenticateNetease(req, channel, neteaseApps(env), settings(env).neteaseWindowSeconds, nowMs);
    },

    identify(payload) {
      const raw = payload.eventType;
      const eventType = typeof raw === "number" && Number.isSafeInteger(raw) ? String(raw) : raw;
      if (typeof eventType !== "string" || !EVENT_TYPE.test(eventType)) {
        throw new RelayError("MISSING_EVENT_TYPE", "eventType is missing or malformed");
      }
      // "007" and 7 are the same eventType.
      return /^\d+$/.test(eventType) ? String(Number(eventType)) : eventType;
    },

    // NetEase verifies a new address by POSTing a signed `{}`: it must get a 200 and nothing is forwarded.
    isProbe: (payload) => Object.keys(payload).length === 0,
    providerEvent: (eventType) => `${channel}.${eventType}`,
    keyOf: (providerEvent) =>
      providerEvent.startsWith(`${channel}.`) ? providerEvent.slice(channel.length + 1) : undefined,
    eventType: (eventType, payload) => neteaseEventType(channel, eventType, payload),
    eventTime: (payload) => firstTime(payload, TIME_PATHS),
    ack,
    ...(decide && { decide }),
    reject: neteaseReject,
  };
}

/** NetEase 消息抄送 (event copy, after the fact). */
export const neteaseCc = neteaseChannel("cc", NETEASE_CC_EVENTS, neteaseCcAck);
/** NetEase 第三方回调 (asked before the action). */
export const neteaseCallback = neteaseChannel(
  "callback",
  NETEASE_CALLBACK_EVENTS,
  neteaseCallbackAck,
  (eventType, _, verdict) => neteaseDecide(eventType, verdict),
);
