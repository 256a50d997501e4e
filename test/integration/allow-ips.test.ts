/**
 * `allowIps`: an app's callbacks are taken only from the addresses its provider calls from, read from
 * `CF-Connecting-IP` (set by Cloudflare's edge) before any signature or body is looked at.
 */
import { describe, expect, it } from "vitest";
import { relayWithFakeQueue } from "../helpers/app";
import { NETEASE_APP, NETEASE_SECRET, TENCENT_APP, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "../helpers/bindings";
import {
  endlessStream,
  expectRefused,
  guardConsole,
  NETEASE_BODY,
  nowSeconds,
  signedTencent,
  TENCENT_BODY,
  withHeaders,
  withStreamBody,
} from "../helpers/hostile-harness";
import { neteaseRequest, tencentRequest } from "../helpers/requests";

/** A Tencent server's address, and an attacker's. */
const TENCENT_IP = "203.0.113.10";
const ATTACKER_IP = "198.51.100.66";

const TENCENT_APPS = JSON.stringify({
  [TENCENT_APP]: { allowUnsigned: true, allowIps: ["203.0.113.0/24", "2001:db8::/32"] },
  [TENCENT_TOKEN_APP]: { token: TENCENT_TOKEN, allowIps: ["203.0.113.0/24"] },
});
const NETEASE_APPS = JSON.stringify({
  [NETEASE_APP]: { secret: NETEASE_SECRET, channels: ["cc", "callback"], allowIps: ["203.0.113.0/24"] },
});

const from = (ip: string | null, req: Request) =>
  withHeaders(req, (h) => (ip === null ? h.delete("cf-connecting-ip") : h.set("cf-connecting-ip", ip)));

describe("allowIps on Tencent apps", () => {
  const console = guardConsole();
  const relay = () => relayWithFakeQueue({ TENCENT_APPS });

  it.each([TENCENT_IP, "203.0.113.0", "203.0.113.255", "::ffff:203.0.113.10", "2001:db8::10", "2001:DB8:0:0:0:0:0:10"])(
    "accepts an unsigned callback from %s, inside allowIps",
    async (ip) => {
      const r = relay();
      const res = await r.fetch(from(ip, await tencentRequest(TENCENT_BODY)));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
      expect(r.queue.sent).toHaveLength(1);
    },
  );

  it.each([ATTACKER_IP, "203.0.114.10", "203.0.112.255", "::ffff:198.51.100.66", "2001:db9::10", "::1"])(
    "refuses a callback from %s with 403 IP_NOT_ALLOWED in Tencent's format",
    async (ip) => {
      const body = await expectRefused(
        relay(),
        from(ip, await tencentRequest(TENCENT_BODY)),
        "tencent",
        "IP_NOT_ALLOWED",
      );
      expect(body.ErrorInfo).toBe("IP_NOT_ALLOWED: the caller's address is not in allowIps for this app");
    },
  );

  it("refuses a request without CF-Connecting-IP: the allow-list fails closed", async () => {
    const body = await expectRefused(
      relay(),
      from(null, await tencentRequest(TENCENT_BODY)),
      "tencent",
      "IP_NOT_ALLOWED",
    );
    expect(body.ErrorInfo).toBe("IP_NOT_ALLOWED: CF-Connecting-IP is missing or not an IP address");
  });

  it.each(["", "unknown", "203.0.113.10, 198.51.100.66", "203.0.113.10:443", "[2001:db8::10]", "203.0.113.010"])(
    "refuses a CF-Connecting-IP of %j, which is not one address",
    async (value) => {
      await expectRefused(relay(), from(value, await tencentRequest(TENCENT_BODY)), "tencent", "IP_NOT_ALLOWED");
    },
  );

  it.each(["x-forwarded-for", "x-real-ip", "true-client-ip", "forwarded"])(
    "ignores an allowed address claimed in %s",
    async (header) => {
      const req = withHeaders(await tencentRequest(TENCENT_BODY), (h) => {
        h.set("cf-connecting-ip", ATTACKER_IP);
        h.set(header, header === "forwarded" ? `for=${TENCENT_IP}` : TENCENT_IP);
      });
      await expectRefused(relay(), req, "tencent", "IP_NOT_ALLOWED");
    },
  );

  it("refuses before reading the body: an endless upload from outside costs nothing", async () => {
    const { stream, counter } = endlessStream(16_384);
    const req = withStreamBody(from(ATTACKER_IP, await tencentRequest(TENCENT_BODY)), stream);
    await expectRefused(relay(), req, "tencent", "IP_NOT_ALLOWED");
    expect(counter.pulls).toBe(0);
  });

  it("refuses a caller from outside before checking its Sign, so it learns nothing about the token", async () => {
    const req = from(ATTACKER_IP, await signedTencent(TENCENT_BODY, { token: "a guess" }));
    await expectRefused(relay(), req, "tencent", "IP_NOT_ALLOWED");
  });

  it("still checks Sign for a caller inside allowIps", async () => {
    const r = relay();
    await expectRefused(
      r,
      from(TENCENT_IP, await signedTencent(TENCENT_BODY, { token: "a guess" })),
      "tencent",
      "BAD_SIGNATURE",
    );
    expect((await r.fetch(from(TENCENT_IP, await signedTencent(TENCENT_BODY)))).status).toBe(200);
  });

  it("lets an app without allowIps take callbacks from any address", async () => {
    const apps = JSON.stringify({ [TENCENT_APP]: { allowUnsigned: true } });
    const r = relayWithFakeQueue({ TENCENT_APPS: apps });
    expect((await r.fetch(from(ATTACKER_IP, await tencentRequest(TENCENT_BODY)))).status).toBe(200);
    expect((await r.fetch(from(null, await tencentRequest(TENCENT_BODY)))).status).toBe(200);
  });

  it("logs the refused address for the operator, and never answers it", async () => {
    const res = await relay().fetch(from("::ffff:198.51.100.66", await tencentRequest(TENCENT_BODY)));
    expect(await res.text()).not.toContain("198.51.100");
    const line = console.lines().find((l) => l.text.includes('"code":"IP_NOT_ALLOWED"'));
    expect(line?.level).toBe("warn");
    expect(JSON.parse(line?.text ?? "{}")).toMatchObject({ clientIp: ATTACKER_IP, status: 403 });
  });

  describe("regression: Tencent's Sign covers only RequestTime", () => {
    // A callback captured in transit (or from a log): Sign and RequestTime authorise any body and any command
    // until RequestTime leaves the window.
    const captured = async (ip: string) => {
      const requestTime = String(nowSeconds() - 5);
      const state = JSON.stringify({ CallbackCommand: "State.StateChange", EventTime: 1, Info: {} });
      const genuine = await signedTencent(state, { requestTime });
      const forged = new URL(genuine.url);
      forged.searchParams.set("CallbackCommand", "Group.CallbackAfterGroupDestroyed");
      const req = new Request(forged, { method: "POST", headers: genuine.headers, body: TENCENT_BODY });
      return from(ip, req);
    };

    it("delivers a forged Group.CallbackAfterGroupDestroyed under a captured Sign when the app has no allowIps", async () => {
      const apps = JSON.stringify({ [TENCENT_TOKEN_APP]: { token: TENCENT_TOKEN } });
      const r = relayWithFakeQueue({ TENCENT_APPS: apps });
      expect((await r.fetch(await captured(ATTACKER_IP))).status).toBe(200);
      expect(r.events()[0]).toMatchObject({ type: "im.group.dismissed", appid: TENCENT_TOKEN_APP });
    });

    it("refuses the same forgery with allowIps, from any address outside Tencent's", async () => {
      const r = relay();
      await expectRefused(r, captured(ATTACKER_IP), "tencent", "IP_NOT_ALLOWED");
      expect(r.events()).toEqual([]);
    });
  });
});

describe("allowIps on NetEase apps", () => {
  guardConsole();
  const relay = () => relayWithFakeQueue({ NETEASE_APPS });

  for (const channel of ["cc", "callback"] as const) {
    it(`accepts a signed ${channel} callback from inside allowIps, IPv4 or IPv4-mapped`, async () => {
      const r = relay();
      for (const ip of [TENCENT_IP, `::ffff:${TENCENT_IP}`]) {
        expect((await r.fetch(from(ip, await neteaseRequest(NETEASE_BODY, { channel })))).status).toBe(200);
      }
      expect(r.queue.sent).toHaveLength(2);
    });

    it(`refuses a correctly signed ${channel} callback from outside with 403 IP_NOT_ALLOWED in NetEase's format`, async () => {
      const body = await expectRefused(
        relay(),
        from(ATTACKER_IP, await neteaseRequest(NETEASE_BODY, { channel })),
        "netease",
        "IP_NOT_ALLOWED",
      );
      expect(body.code).toBe(403);
    });
  }

  it("refuses a caller from outside before its CheckSum and its body", async () => {
    const { stream, counter } = endlessStream(16_384);
    const req = withStreamBody(from(ATTACKER_IP, await neteaseRequest(NETEASE_BODY, { secret: "a guess" })), stream);
    await expectRefused(relay(), req, "netease", "IP_NOT_ALLOWED");
    expect(counter.pulls).toBe(0);
  });

  it("refuses a request without CF-Connecting-IP", async () => {
    await expectRefused(relay(), from(null, await neteaseRequest(NETEASE_BODY)), "netease", "IP_NOT_ALLOWED");
  });
});
