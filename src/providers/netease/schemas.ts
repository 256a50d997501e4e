import * as z from "zod/mini";
import { bool, type CatalogueEntry, id, int, json, list, opt, record } from "../fields";

/**
 * NetEase Yunxin (网易云信) payload schemas: 消息抄送 (CC, one-way copies sent after the fact) and 第三方回调
 * (third-party callbacks, sent before NetEase executes the action). Field names and types follow the protocol
 * notes (netease.md §4–§6) and the docs' own example bodies, kept in test/fixtures/netease.
 *
 * The two eventType spaces collide (CC 7 = P2P recall, callback 7 = create team), so they are two catalogues and
 * the route, not the eventType, decides which one applies.
 */

// ---- Local field helpers (fields.ts is shared; these only make sense for NetEase) ----

/**
 * The eventType discriminator. CC docs print it as a string ("7"), callback docs as a number (7), and both kinds
 * have been seen the other way round in real traffic, so either form of exactly this number matches.
 */
function eventType<const N extends number>(n: N) {
  return z.union([z.literal(n), z.literal(String(n) as `${N}`)]);
}

/**
 * A 64-bit id (msgId, serverMsgId …). NetEase sends some as bare JSON numbers above 2^53 (e.g. 184409700039655569),
 * which `int` (safe integers only) would reject; JSON.parse already rounded them, but the relay forwards the raw
 * bytes, so only the shape is checked here.
 */
const long = z.union([z.number().check(z.refine(Number.isInteger)), z.string().check(z.regex(/^-?\d+$/))]);

/** A list sent either as a JSON array or as a string holding one (`"[a, b]"` is not even valid JSON for accids). */
function jsonArray<T extends z.ZodMiniType>(item: T) {
  return z.union([list(item), z.string().check(z.regex(/^\s*\[[\s\S]*\]\s*$/))]);
}

/** A port: documented as a string, masked in the docs ("568**"). */
const port = z.union([z.string(), z.int()]);

/** NetEase client types (AOS, IOS/iOS, PC, WEB, REST, MAC, HARMONY …): the spelling varies, so any string. */
const clientType = z.string();

/** A plain string field (documented "String" with no further format). */
const text = z.string();

// ---- Shared shapes ----

/** Who performed the action; present on every callback and on most message-like CCs (all optional: not always sent). */
const sender = {
  fromAccount: opt(text),
  fromDeviceId: opt(text),
  fromClientType: opt(clientType),
  fromClientIp: opt(text),
  fromClientPort: opt(port),
};

/** Login-like CCs (2 login, 3 logout, 9 chatroom in/out, 42 heartbeat, 84 login failure) describe one connection. */
const connection = {
  accid: opt(text),
  clientIp: opt(text),
  clientType: opt(clientType),
  code: opt(int),
  sdkVersion: opt(text),
  sdkHumanVersion: opt(text),
  customTag: opt(text),
  deviceId: opt(text),
  timestamp: opt(int),
};

/**
 * CC 7 / 8 / 25 recall events share one field set; only `to` changes meaning (accid or tid). A recall that does not
 * name the message, its sender and its conversation cannot be acted on, and every example carries all three.
 */
const recall = {
  msgId: long,
  from: id,
  to: id,
  clientId: opt(text),
  deleteTime: opt(int),
  fromClientType: opt(clientType),
  selfMsg: opt(text),
  sendTime: opt(int),
  attach: opt(json),
};

/** CC 5 and 21 are the same A/V/whiteboard duration report under two numbers. */
const avDuration = {
  channelId: opt(long),
  createtime: opt(int),
  duration: opt(int),
  live: opt(bool),
  members: opt(jsonArray(record({ accid: opt(text), caller: opt(bool), duration: opt(int) }))),
  status: opt(text),
  type: opt(text),
  ext: opt(text),
  running: opt(bool),
};

/** CC 89 / 90 / 91: message updated in a P2P chat, a team, a super team; like a recall, it must name the message. */
const messageUpdate = {
  msgId: long,
  from: id,
  to: id,
  clientId: opt(text),
  fromClientType: opt(clientType),
  modifyAccountId: opt(text),
  modifyTime: opt(int),
  text: opt(text),
  extension: opt(text),
  subType: opt(int),
  attachment: opt(json),
};

/** Message-type callbacks (1, 2, 6, 22, 41, 72, 73, 74): the only ones whose content the app can modify. */
const messageCallback = {
  ...sender,
  fromNick: opt(text),
  to: opt(text),
  msgTimestamp: opt(int),
  msgType: opt(text),
  msgidClient: opt(text),
  body: opt(text),
  attach: opt(json),
  ext: opt(text),
  callbackExt: opt(text),
};

/** 高级群 (advanced team) callbacks 8–19 all name the team and the operator; every example carries tid. */
const teamCallback = {
  ...sender,
  tid: int,
  timestamp: opt(int),
};

/** Team settings sent when a team is created (7) or updated (15). */
const teamSettings = {
  tname: opt(text),
  type: opt(int),
  announcement: opt(text),
  intro: opt(text),
  icon: opt(text),
  custom: opt(text),
  servercustom: opt(text),
  beinvitemode: opt(int),
  invitemode: opt(int),
  joinmode: opt(int),
  uptinfomode: opt(int),
  upcustommode: opt(int),
  teamMuteType: opt(int),
};

const accountList = jsonArray(text);

/** IM (36) and QChat (40) login callbacks: the app may check the token itself (authType 2). */
const loginCallback = {
  ...sender,
  token: opt(text),
  authType: opt(int),
  loginExt: opt(text),
  customTag: opt(text),
  customClientType: opt(int),
  autoLogin: opt(bool),
  timestamp: opt(int),
};

// ---- CC eventType 1: the schema the relay reads convType / msgType / attach from ----

/**
 * CC eventType 1 (会话类型消息): P2P, team and super-team messages, team notifications, friend and team system
 * notifications. `convType` and `msgType` route the event, so they are required; `attach` is a JSON-encoded
 * string in the field table but an object in most examples.
 */
export const SessionMessage = record({
  eventType: eventType(1),
  convType: z.enum(["PERSON", "TEAM", "SUPER_TEAM", "CUSTOM_PERSON", "CUSTOM_TEAM"]),
  msgType: id,
  fromAccount: id,
  to: id,
  fromClientType: opt(clientType),
  fromDeviceId: opt(text),
  fromNick: opt(text),
  msgTimestamp: opt(int),
  timestamp: opt(int),
  body: opt(text),
  attach: opt(json),
  msgidClient: opt(text),
  msgidServer: opt(long),
  resendFlag: opt(int),
  customSafeFlag: opt(int),
  customApnsText: opt(text),
  // The field table says "[123, 456]" as a string; the team add-manager example sends a real array.
  tMembers: opt(accountList),
  ext: opt(text),
  antispam: opt(bool),
  // A string in the field table, an object in the P2P picture example.
  yidunRes: opt(json),
  blacklist: opt(bool),
  ip: opt(text),
  port: opt(port),
  aiParams: opt(
    record({
      direction: opt(int),
      account: opt(text),
      content: opt(json),
      messages: opt(json),
      promptVariables: opt(json),
      config: opt(json),
    }),
  ),
});

/** A CC eventType 1 body as validated (unknown fields kept). */
export type SessionMessage = z.infer<typeof SessionMessage>;

function cc(schema: z.ZodMiniType, title: string): CatalogueEntry {
  return { schema, phase: "after", title };
}

function callback(schema: z.ZodMiniType, title: string): CatalogueEntry {
  return { schema, phase: "before", title };
}

/**
 * 消息抄送 (CC) catalogue, keyed by eventType as a decimal string. Every CC reports something that already
 * happened, so every entry is phase "after".
 */
export const NETEASE_CC_EVENTS: Readonly<Record<string, CatalogueEntry>> = {
  "1": cc(SessionMessage, "session message"),
  "2": cc(record({ eventType: eventType(2), ...connection }), "user logged in"),
  "3": cc(record({ eventType: eventType(3), ...connection, logOutReason: opt(int) }), "user logged out"),
  "4": cc(
    record({
      eventType: eventType(4),
      roomId: opt(long),
      fromAccount: opt(text),
      fromNick: opt(text),
      fromAvator: opt(text),
      fromExt: opt(text),
      fromClientType: opt(clientType),
      msgTimestamp: opt(int),
      msgType: opt(text),
      msgidClient: opt(text),
      resendFlag: opt(int),
      roleInfoTimetag: opt(int),
      // Chatroom messages carry their content here (there is no body); an object in the file example.
      attach: opt(json),
      ext: opt(text),
      antispam: opt(bool),
      yidunRes: opt(json),
    }),
    "chatroom message",
  ),
  "5": cc(record({ eventType: eventType(5), ...avDuration }), "A/V call duration"),
  "6": cc(
    record({
      eventType: eventType(6),
      fileinfo: opt(
        jsonArray(
          record({
            caller: opt(bool),
            channelid: opt(long),
            filename: opt(text),
            md5: opt(text),
            size: opt(int),
            type: opt(text),
            url: opt(text),
            user: opt(text),
            mix: opt(bool),
            vid: opt(long),
          }),
        ),
      ),
    }),
    "A/V file stored",
  ),
  "7": cc(record({ eventType: eventType(7), ...recall }), "P2P message recalled"),
  "8": cc(record({ eventType: eventType(8), ...recall }), "team message recalled"),
  "9": cc(
    record({
      eventType: eventType(9),
      ...connection,
      roomId: opt(long),
      event: opt(text),
      roleType: opt(int),
      anonymous: opt(bool),
      tags: opt(text),
      notifyTargetTags: opt(text),
      logOutReason: opt(text),
      ext: opt(text),
    }),
    "chatroom member entered or left",
  ),
  // The call record is a JSON string; the newer format adds "type":"CALL".
  "10": cc(record({ eventType: eventType(10), callback: opt(json), type: opt(text) }), "private-line call ended"),
  "11": cc(
    record({
      eventType: eventType(11),
      objects: opt(
        jsonArray(
          record({
            mobile: opt(text),
            sendid: opt(text),
            result: opt(text),
            sendTime: opt(text),
            reportTime: opt(text),
            spliced: opt(int),
            templateId: opt(long),
          }),
        ),
      ),
    }),
    "SMS delivery receipt",
  ),
  "12": cc(
    record({
      eventType: eventType(12),
      objects: opt(jsonArray(record({ mobile: opt(text), content: opt(text), replytime: opt(text) }))),
    }),
    "SMS reply received",
  ),
  // Only the number is known (community SDK constants); no field table was found.
  "13": cc(record({ eventType: eventType(13) }), "user entered or left A/V room"),
  "14": cc(
    record({
      eventType: eventType(14),
      qEvent: opt(int),
      fromWebApi: opt(bool),
      roomid: opt(long),
      operator: opt(text),
      belongTo: opt(text),
      elements: opt(json),
      keys: opt(json),
      transient: opt(bool),
      operationTime: opt(int),
    }),
    "chatroom queue changed",
  ),
  "20": cc(
    record({
      eventType: eventType(20),
      objects: opt(
        jsonArray(
          record({
            audioUrl: opt(text),
            serverMsgId: opt(long),
            antispam: opt(bool),
            clientMsgId: opt(text),
            yidunRes: opt(json),
            yidunApiVersion: opt(int),
            type: opt(text),
            from: opt(text),
            to: opt(text),
          }),
        ),
      ),
    }),
    "async antispam result",
  ),
  "21": cc(record({ eventType: eventType(21), ...avDuration }), "A/V call duration (alternate)"),
  "25": cc(record({ eventType: eventType(25), ...recall }), "super team message recalled"),
  "30": cc(
    record({
      eventType: eventType(30),
      objects: opt(
        jsonArray(
          record({
            fromAccount: opt(text),
            toAccount: opt(text),
            clientType: opt(clientType),
            msgidClient: opt(text),
            timestamp: opt(int),
          }),
        ),
      ),
    }),
    "P2P message read",
  ),
  "31": cc(
    record({
      eventType: eventType(31),
      type: opt(text),
      channelId: opt(text),
      channelName: opt(text),
      createTime: opt(int),
      creator: opt(text),
      ext: opt(text),
      from: opt(text),
      to: opt(text),
      timestamp: opt(int),
      attachExt: opt(text),
      isSave: opt(bool),
      uid: opt(long),
      requestId: opt(text),
      needPush: opt(bool),
      pushTitle: opt(text),
      pushContent: opt(text),
      pushPayload: opt(text),
      needBadge: opt(bool),
    }),
    "signaling event",
  ),
  // uploadInfo is documented as String but the example sends an object.
  "36": cc(record({ eventType: eventType(36), type: opt(int), uploadInfo: opt(json) }), "SDK log uploaded"),
  "42": cc(
    record({ eventType: eventType(42), ...connection, consid: opt(text), clientPort: opt(port) }),
    "connection heartbeat",
  ),
  "83": cc(
    record({ eventType: eventType(83), reason: opt(int), callbackBody: opt(json), timestamp: opt(int) }),
    "third-party callback failed",
  ),
  "84": cc(
    record({
      eventType: eventType(84),
      ...connection,
      event: opt(int),
      chatRoomId: opt(long),
      appLogin: opt(bool),
      consid: opt(text),
      sdkType: opt(int),
      fail: opt(text),
    }),
    "login failed",
  ),
  "89": cc(record({ eventType: eventType(89), ...messageUpdate }), "P2P message updated"),
  "90": cc(record({ eventType: eventType(90), ...messageUpdate }), "team message updated"),
  "91": cc(record({ eventType: eventType(91), ...messageUpdate }), "super team message updated"),
};

/**
 * 第三方回调 (third-party callback) catalogue, keyed by eventType as a decimal string. NetEase waits for the
 * app's verdict before executing the action, so every entry is phase "before".
 */
export const NETEASE_CALLBACK_EVENTS: Readonly<Record<string, CatalogueEntry>> = {
  "1": callback(record({ eventType: eventType(1), ...messageCallback }), "P2P message"),
  "2": callback(record({ eventType: eventType(2), ...messageCallback }), "team message"),
  "3": callback(
    record({
      eventType: eventType(3),
      account: opt(text),
      deviceId: opt(text),
      clientType: opt(clientType),
      // Only the changed profile fields are sent.
      name: opt(text),
      icon: opt(text),
      sign: opt(text),
      email: opt(text),
      birth: opt(text),
      mobile: opt(text),
      gender: opt(int),
      ex: opt(text),
      timestamp: opt(int),
    }),
    "user profile update",
  ),
  "6": callback(record({ eventType: eventType(6), ...messageCallback }), "chatroom message"),
  // The create-team example has no fromAccount and no tid (the team does not exist yet); creator names the operator.
  "7": callback(
    record({
      eventType: eventType(7),
      ...sender,
      ...teamSettings,
      creator: opt(text),
      inviteList: opt(accountList),
      msg: opt(text),
      level: opt(int),
      timestamp: opt(int),
    }),
    "team create",
  ),
  "8": callback(record({ eventType: eventType(8), ...teamCallback }), "team dismiss"),
  "9": callback(
    record({
      eventType: eventType(9),
      ...teamCallback,
      inviteList: opt(accountList),
      msg: opt(text),
      beinvitemode: opt(int),
      type: opt(int),
    }),
    "team invite",
  ),
  "10": callback(record({ eventType: eventType(10), ...teamCallback }), "team leave"),
  "11": callback(
    record({ eventType: eventType(11), ...teamCallback, managerList: opt(accountList) }),
    "team add manager",
  ),
  "12": callback(
    record({ eventType: eventType(12), ...teamCallback, managerList: opt(accountList) }),
    "team remove manager",
  ),
  "13": callback(
    record({ eventType: eventType(13), ...teamCallback, toAccount: opt(text), leave: opt(bool) }),
    "team transfer owner",
  ),
  "14": callback(record({ eventType: eventType(14), ...teamCallback, kickList: opt(accountList) }), "team kick"),
  "15": callback(record({ eventType: eventType(15), ...teamCallback, ...teamSettings }), "team update info"),
  "16": callback(
    record({ eventType: eventType(16), ...teamCallback, nick: opt(text), notifyType: opt(int), custom: opt(text) }),
    "team update own member info",
  ),
  "17": callback(
    record({ eventType: eventType(17), ...teamCallback, toAccount: opt(text), nick: opt(text), custom: opt(text) }),
    "team update other member info",
  ),
  "18": callback(
    record({ eventType: eventType(18), ...teamCallback, toAccount: opt(text), mute: opt(int) }),
    "team mute member",
  ),
  "19": callback(
    record({ eventType: eventType(19), ...teamCallback, joinmode: opt(int), msg: opt(text) }),
    "team apply join",
  ),
  "20": callback(
    record({
      eventType: eventType(20),
      ...sender,
      callType: opt(int),
      forceKeepCalling: opt(bool),
      notifyAttach: opt(text),
      toAccountList: opt(accountList),
      timestamp: opt(int),
    }),
    "A/V call initiate",
  ),
  "22": callback(record({ eventType: eventType(22), ...messageCallback }), "super team message"),
  // inviteList: "JSONArray" in the older table, "String, formatted as JSONArray" in the newer one.
  "23": callback(
    record({
      eventType: eventType(23),
      ...teamCallback,
      beinvitemode: opt(int),
      inviteList: opt(accountList),
      msg: opt(text),
    }),
    "super team invite",
  ),
  "35": callback(
    record({
      eventType: eventType(35),
      ...sender,
      msgFromAccid: opt(text),
      msgId: opt(long),
      time: opt(int),
      opeType: opt(int),
      toAccount: opt(text),
      msgidClient: opt(text),
      msg: opt(text),
      attach: opt(json),
      timestamp: opt(int),
    }),
    "message recall",
  ),
  "36": callback(record({ eventType: eventType(36), ...loginCallback }), "IM login"),
  "37": callback(
    record({
      eventType: eventType(37),
      ...sender,
      token: opt(text),
      loginAuthType: opt(int),
      loginExt: opt(text),
      roomid: opt(long),
      nick: opt(text),
      avatar: opt(text),
      ext: opt(text),
      anonymous: opt(bool),
      tags: opt(text),
      notifyTargetTags: opt(text),
      notifyExt: opt(text),
      // The doc example sends "timestamp":"" — blank, not a number.
      timestamp: opt(z.union([int, z.literal("")])),
    }),
    "chatroom login",
  ),
  "40": callback(record({ eventType: eventType(40), ...loginCallback }), "QChat login"),
  // Listed with 1/2/6/22 as message-type callbacks (responseCode 200, modifyResponse); their names were not found.
  "41": callback(record({ eventType: eventType(41), ...messageCallback }), "message-type callback 41"),
  "72": callback(record({ eventType: eventType(72), ...messageCallback }), "message-type callback 72"),
  "73": callback(record({ eventType: eventType(73), ...messageCallback }), "message-type callback 73"),
  "74": callback(record({ eventType: eventType(74), ...messageCallback }), "message-type callback 74"),
};
