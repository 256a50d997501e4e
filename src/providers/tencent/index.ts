import { settings, tencentApps } from "../../env";
import { RelayError } from "../../errors";
import { readBody } from "../../ingress/body";
import type { Channel } from "../provider";
import { firstTime, type TimePath } from "../time";
import { authenticateTencent, singleParam } from "./auth";
import { tencentDecide } from "./decide";
import { tencentEventType } from "./event-types";
import { tencentAck, tencentReject } from "./respond";
import { TENCENT_COMMANDS } from "./schemas";

const COMMAND = /^[A-Za-z][A-Za-z0-9_.]{0,127}$/;
/**
 * Where Tencent payloads carry their time: EventTime (ms), else the first of a push batch's `Events` (seconds),
 * else the message's MsgTime (seconds), else a read report's LastReadTime (seconds); epochMs reads both units.
 */
const TIME_PATHS: readonly TimePath[] = ["EventTime", ["Events", 0, "EventTime"], "MsgTime", "LastReadTime"];

/** Tencent Cloud Chat third-party callbacks: one URL, the command in the query string. */
export const tencent: Channel = {
  provider: "tencent",
  channel: "im",
  path: "/tencent",
  catalogue: TENCENT_COMMANDS,
  routingKey: "CallbackCommand",

  async authenticate(req, url, env, nowMs) {
    const appId = await authenticateTencent(
      url.searchParams,
      req.headers,
      tencentApps(env),
      settings(env).tencentWindowSeconds,
      nowMs,
    );
    const requestTime = singleParam(url.searchParams, "RequestTime");
    return { appId, body: await readBody(req), ...(requestTime !== undefined && { requestTime }) };
  },

  identify(payload, url) {
    // The query names the command for every callback; the body repeats it for most (not ContentCallback.*).
    const command = singleParam(url.searchParams, "CallbackCommand") ?? payload.CallbackCommand;
    if (typeof command !== "string" || !COMMAND.test(command)) {
      throw new RelayError("MISSING_EVENT_TYPE", "CallbackCommand is missing or malformed");
    }
    return command;
  },

  isProbe: () => false,
  providerEvent: (command) => command,
  keyOf: (providerEvent) => providerEvent,
  eventType: tencentEventType,

  attributes(url) {
    // Kept only when well-formed: they land in every delivered event.
    const clientip = url.searchParams.get("ClientIP") ?? "";
    const optplatform = url.searchParams.get("OptPlatform") ?? "";
    return {
      ...(/^[0-9A-Fa-f.:]{2,64}$/.test(clientip) && { clientip }),
      ...(/^[A-Za-z0-9_.-]{1,32}$/.test(optplatform) && { optplatform }),
    };
  },

  eventTime: (payload) => firstTime(payload, TIME_PATHS),

  ack: tencentAck,
  decide: tencentDecide,
  reject: tencentReject,
};
