/**
 * Secure defaults of the app secrets: a Tencent app is signed unless it opts out with `allowUnsigned: true`, a
 * signature the relay cannot check is refused, and a NetEase app names the channels it may be called on.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import teamCreate from "../fixtures/netease/callback-7-team-create.json";
import { relayWithFakeQueue } from "../helpers/app";
import { NETEASE_APP, NETEASE_SECRET, TENCENT_APP, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "../helpers/bindings";
import { expectRefused, guardConsole, NETEASE_BODY, signedTencent, TENCENT_BODY } from "../helpers/hostile-harness";
import { neteaseRequest, tencentRequest } from "../helpers/requests";

type TencentError = { ActionStatus: string; ErrorCode: number; ErrorInfo: string };
type NeteaseError = { code: number; desc: string };

/** A broken secret is a server-side failure (logged as an error): the lines are kept to check they leak nothing. */
function captureErrors() {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return lines;
}

describe("TENCENT_APPS: a token, or an explicit allowUnsigned", () => {
  const errors = captureErrors();

  it.each([
    ["an app with neither token nor allowUnsigned", { "1400000003": {} }],
    ['an app with "allowUnsigned": false and no token', { "1400000003": { allowUnsigned: false } }],
    ['an app with both a token and "allowUnsigned": true', { "1400000003": { token: "t", allowUnsigned: true } }],
  ])("answers 503 NOT_CONFIGURED naming the app and the expected shape for %s", async (_, broken) => {
    const apps = JSON.stringify({ ...broken, [TENCENT_TOKEN_APP]: { token: TENCENT_TOKEN } });
    const relay = relayWithFakeQueue({ TENCENT_APPS: apps });
    // The whole secret is refused, the valid app with it: serving half a broken config hides the break.
    const res = await relay.fetch(await signedTencent(TENCENT_BODY));
    expect(res.status).toBe(503);
    const body = (await res.json()) as TencentError;
    expect(body).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 50301 });
    expect(body.ErrorInfo).toMatch(/^NOT_CONFIGURED: TENCENT_APPS\["1400000003"\]: has /);
    expect(body.ErrorInfo).toContain('expected {"<SdkAppid>": {"token": "<callback token>"}}');
    expect(body.ErrorInfo).toContain('{"<SdkAppid>": {"allowUnsigned": true}}');
    expect(body.ErrorInfo).not.toContain(TENCENT_TOKEN);
    expect(errors.join("\n")).toContain('"code":"NOT_CONFIGURED"');
    expect(errors.join("\n")).not.toContain(TENCENT_TOKEN);
    expect(relay.queue.sent).toEqual([]);
  });
});

describe("TENCENT_APPS: a signature the relay cannot check", () => {
  guardConsole();

  it("accepts an unsigned callback for an app that opted out with allowUnsigned", async () => {
    const relay = relayWithFakeQueue();
    expect((await relay.fetch(await tencentRequest(TENCENT_BODY, { appId: TENCENT_APP }))).status).toBe(200);
    expect(relay.queue.sent).toHaveLength(1);
  });

  it.each([
    [
      "Sign and RequestTime",
      "&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112",
    ],
    ["Sign alone", "&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"],
    ["RequestTime alone", "&RequestTime=1669872112"],
  ])("refuses %s for an app without a token with 401 UNVERIFIABLE_SIGNATURE, saying what to set", async (_, extra) => {
    const relay = relayWithFakeQueue();
    const body = await expectRefused(
      relay,
      tencentRequest(TENCENT_BODY, { appId: TENCENT_APP, extraQuery: extra }),
      "tencent",
      "UNVERIFIABLE_SIGNATURE",
    );
    expect(body.ErrorInfo).toBe(
      "UNVERIFIABLE_SIGNATURE: the callback is signed but this SdkAppid has no token: set its callback token in TENCENT_APPS",
    );
  });
});

describe("TENCENT_APPS: the unsigned apps are logged once per isolate", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("names every unsigned app, and no token, at the first request and not again", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    // A secret this isolate has not read yet (the parse cache is per raw text).
    const apps = JSON.stringify({
      "1400000101": { allowUnsigned: true },
      "1400000102": { allowUnsigned: true, allowIps: ["203.0.113.0/24"] },
      [TENCENT_TOKEN_APP]: { token: TENCENT_TOKEN },
    });
    const relay = relayWithFakeQueue({ TENCENT_APPS: apps, LOG_LEVEL: "warn" });
    for (let i = 0; i < 3; i++) expect((await relay.fetch(await signedTencent(TENCENT_BODY))).status).toBe(200);
    const lines = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    const announced = lines.filter((l) => l.msg === "Tencent apps accept unsigned callbacks (allowUnsigned)");
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({
      level: "warn",
      unsignedApps: ["1400000101", "1400000102"],
      withoutAllowIps: ["1400000101"],
    });
    expect(JSON.stringify(lines)).not.toContain(TENCENT_TOKEN);
  });

  it("logs nothing about unsigned apps when every app has a token", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const apps = JSON.stringify({ [TENCENT_TOKEN_APP]: { token: TENCENT_TOKEN }, "1400000103": { token: "other" } });
    const relay = relayWithFakeQueue({ TENCENT_APPS: apps });
    expect((await relay.fetch(await signedTencent(TENCENT_BODY))).status).toBe(200);
    expect(warn.mock.calls.map(([line]) => String(line)).join("\n")).not.toContain("unsigned");
  });
});

describe("NETEASE_APPS: every app lists its channels", () => {
  const errors = captureErrors();

  it.each([
    ["no channels", { secret: NETEASE_SECRET }, "channels: is missing"],
    ["an empty channels list", { secret: NETEASE_SECRET, channels: [] }, "channels: is empty"],
    [
      "an unknown channel",
      { secret: NETEASE_SECRET, channels: ["cc", "im"] },
      'channels[1]: must be "cc" or "callback"',
    ],
    ["a channel twice", { secret: NETEASE_SECRET, channels: ["cc", "cc"] }, "channels: lists a channel twice"],
    ["channels that are not a list", { secret: NETEASE_SECRET, channels: "cc" }, "channels: must be a list"],
  ])("answers both channels with 503 NOT_CONFIGURED naming the app when it has %s", async (_, app, problem) => {
    const relay = relayWithFakeQueue({ NETEASE_APPS: JSON.stringify({ [NETEASE_APP]: app }) });
    for (const channel of ["cc", "callback"] as const) {
      const res = await relay.fetch(await neteaseRequest(NETEASE_BODY, { channel }));
      expect(res.status).toBe(503);
      const body = (await res.json()) as NeteaseError;
      expect(body.desc).toMatch(/^NOT_CONFIGURED: /);
      expect(body.desc).toContain(`NETEASE_APPS["${NETEASE_APP}"].${problem}; expected "channels": `);
      expect(body.desc).toContain('["cc"], ["callback"] or ["cc", "callback"]');
      expect(body.desc).not.toContain(NETEASE_SECRET);
    }
    expect(errors).toHaveLength(2);
    expect(errors.join("\n")).not.toContain(NETEASE_SECRET);
    expect(relay.queue.sent).toEqual([]);
  });
});

describe("NETEASE_APPS: a callback replayed onto the other channel", () => {
  guardConsole();

  describe("regression: a 第三方回调 team creation replayed onto /netease/cc", () => {
    // NetEase signs headers and body but not the URL: the captured request is valid on either channel, and
    // eventType 7 is a team creation on one and a message recall on the other.
    const replay = async (channels: string[]) => {
      const relay = relayWithFakeQueue({
        NETEASE_APPS: JSON.stringify({ [NETEASE_APP]: { secret: NETEASE_SECRET, channels } }),
      });
      const body = JSON.stringify(teamCreate);
      const captured = await neteaseRequest(body, { channel: "callback" });
      const url = captured.url.replace("/netease/callback", "/netease/cc");
      const res = await relay.fetch(new Request(url, { method: "POST", headers: captured.headers, body }));
      return { relay, res };
    };

    it("reaches the targets as a message recall when the app takes both channels", async () => {
      const { relay, res } = await replay(["cc", "callback"]);
      expect(res.status).toBe(200);
      expect(relay.events()[0]).toMatchObject({ providerevent: "cc.7", type: "im.message.recalled" });
    });

    it("is refused with 401 UNKNOWN_APP, enqueueing nothing, when the app lists only the callback channel", async () => {
      const { relay, res } = await replay(["callback"]);
      expect(res.status).toBe(401);
      expect(((await res.json()) as NeteaseError).desc).toBe(
        "UNKNOWN_APP: AppKey is not configured for the cc channel",
      );
      expect(relay.queue.sent).toEqual([]);
    });
  });
});
