/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { neteaseCallback, neteaseCc } from "../../src/providers/netease";
import type { Channel } from "../../src/providers/provider";
import { tencent } from "../../src/providers/tencent";
import { epochMs, firstTime } from "../../src/providers/time";

type Body = Record<string, unknown>;

const FIXTURES: { file: string; channel: Channel; body: Body }[] = [
  ...Object.entries(import.meta.glob<Body>("../fixtures/tencent/*.json", { eager: true, import: "default" })).map(
    ([path, body]) => ({ file: `tencent/${path.split("/").pop()}`, channel: tencent, body }),
  ),
  ...Object.entries(import.meta.glob<Body>("../fixtures/netease/*.json", { eager: true, import: "default" })).map(
    ([path, body]) => {
      const file = path.split("/").pop() as string;
      return { file: `netease/${file}`, channel: file.startsWith("cc-") ? neteaseCc : neteaseCallback, body };
    },
  ),
];

function timeOf(file: string): string | undefined {
  const found = FIXTURES.find((f) => f.file === file);
  if (!found) throw new Error(`missing fixture ${file}`);
  const ms = found.channel.eventTime(found.body);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

describe("epochMs", () => {
  const now = Date.UTC(2026, 0, 1);

  it("reads milliseconds as sent, as a number or a decimal string", () => {
    expect(epochMs(1670574414123, now)).toBe(1670574414123);
    expect(epochMs("1670574414123", now)).toBe(1670574414123);
  });

  it("reads seconds (Tencent's MsgTime and push EventTime) as seconds", () => {
    expect(epochMs(1557481126, now)).toBe(1557481126000);
    expect(epochMs("1557481126", now)).toBe(1557481126000);
  });

  it("returns nothing for a blank, a date string, a time before 2000 or more than a day ahead", () => {
    for (const value of ["", "2017-06-02 14:40:45", "1234", 0, -5, now + 86_400_001, "1e12", null, undefined, {}]) {
      expect(epochMs(value, now), String(value)).toBeUndefined();
    }
  });
});

describe("firstTime", () => {
  it("takes the first plausible value in the order of the paths", () => {
    expect(firstTime({ a: "", b: "1456802852094", c: "1456802852000" }, ["a", "b", "c"])).toBe(1456802852094);
  });

  it("follows a path through arrays and JSON-encoded strings", () => {
    const payload = { objects: '[{"timestamp":1578551421737}]', nested: { list: [{ t: "1578551421000" }] } };
    expect(firstTime(payload, [["objects", 0, "timestamp"]])).toBe(1578551421737);
    expect(firstTime(payload, [["nested", "list", 0, "t"]])).toBe(1578551421000);
  });

  it("skips a path through malformed JSON text, a missing index or an inherited key", () => {
    const payload = { callback: '{"createtime":1484103244***}', objects: "[]", other: "plain text" };
    expect(
      firstTime(payload, [["callback", "createtime"], ["objects", 0, "timestamp"], ["other", "x"], ["constructor"]]),
    ).toBeUndefined();
  });
});

describe("event time of every fixture", () => {
  // Each time field a fixture carries, read as the event's time; the cases that used to fall back to receipt.
  const cases: [file: string, time: string, field: string][] = [
    ["netease/cc-5-av-duration.json", "2016-03-24T05:40:33.925Z", "createtime"],
    ["netease/cc-21-av-duration.json", "2016-03-24T05:40:33.925Z", "createtime"],
    ["netease/cc-10-private-line-call.json", "2017-01-11T07:10:14.911Z", "callback → createtime"],
    ["netease/cc-30-p2p-read-receipt.json", "2020-01-09T06:30:21.737Z", "objects[0].timestamp"],
    ["tencent/C2C.CallbackAfterMsgReport.json", "2021-03-03T06:56:46.000Z", "LastReadTime (seconds)"],
    // Already read before; kept as the reference for the order of the fields.
    ["netease/cc-7-p2p-recall.json", "2017-02-17T05:07:34.709Z", "deleteTime before sendTime"],
    ["netease/callback-35-recall.json", "2020-05-26T08:40:57.381Z", "timestamp before time"],
    ["tencent/Push.OfflinePush.json", "2019-05-10T09:38:47.000Z", "Events[0].EventTime (seconds)"],
    ["tencent/C2C.CallbackAfterSendMsg.json", "2019-05-10T09:38:46.000Z", "MsgTime (seconds)"],
  ];
  for (const [file, time, field] of cases) {
    it(`reads ${file} at its ${field}`, () => {
      expect(timeOf(file)).toBe(time);
    });
  }

  it("falls back to the receipt time only where the payload has no epoch time (or a masked or blank one)", () => {
    const timeless = FIXTURES.filter((f) => f.channel.eventTime(f.body) === undefined).map((f) => f.file);
    expect(timeless.sort()).toEqual([
      "netease/callback-37-chatroom-login.json", // "timestamp": ""
      "netease/cc-10-private-line-conference.json", // createtime masked in NetEase's example: 1484103244***
      "netease/cc-11-sms-receipt.json", // sendTime / reportTime are zone-less "2017-06-02 14:40:45"
      "netease/cc-12-sms-uplink.json", // replytime, likewise
      "netease/cc-13-av-room-inout.json",
      "netease/cc-14-queue-add.json",
      "netease/cc-14-queue-delete.json",
      "netease/cc-14-queue-init.json",
      "netease/cc-20-yidun-async-antispam.json",
      "netease/cc-31-signaling.json", // createTime "1234" in the example: not a plausible time
      "netease/cc-36-upload-task.json",
      "netease/cc-6-av-file-info.json",
      "tencent/Alert.RequestOverLimit.json",
      "tencent/C2C.CallbackAfterMsgWithDraw.json",
      "tencent/ContentCallback.ResultNotify.json",
      "tencent/Group.CallbackAfterCreateTopic.json",
      "tencent/Group.CallbackAfterNewMemberJoin.2.json",
      "tencent/Group.CallbackAfterTopicDestroyed.json",
      "tencent/Group.CallbackAfterTopicInfoChanged.json",
      "tencent/Group.CallbackBeforeCreateTopic.json",
      "tencent/Group.CallbackBeforeSendMsg.json",
      "tencent/Group.CallbackOnMemberStateChange.json",
      "tencent/Sns.CallbackBlackListAdd.json",
      "tencent/Sns.CallbackBlackListDelete.json",
      "tencent/Sns.CallbackFriendAdd.json",
      "tencent/Sns.CallbackFriendDelete.json",
    ]);
  });

  it("finds a time in every fixture that carries a top-level epoch field", () => {
    const looksLikeTime = /time|stamp/i;
    for (const { file, channel, body } of FIXTURES) {
      const carried = Object.entries(body).filter(([k, v]) => looksLikeTime.test(k) && epochMs(v) !== undefined);
      if (carried.length > 0) expect(channel.eventTime(body), `${file}: ${carried.map(([k]) => k)}`).toBeDefined();
    }
  });
});
