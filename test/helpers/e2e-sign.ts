import { randomBytes } from "node:crypto";
import { neteaseHeaders as signNetease, tencentQuery as signTencent } from "../../scripts/lib/sign.mjs";
import { NETEASE_APP, NETEASE_SECRET, TENCENT_TOKEN, TENCENT_TOKEN_APP } from "./bindings";

/**
 * Provider request signing for the end-to-end tests, with the test apps as defaults. Node's WebCrypto has no MD5,
 * so this wraps scripts/lib/sign.mjs (node:crypto); test/helpers/requests.ts is the workerd twin.
 */

/** The headers of a correctly signed NetEase Yunxin callback: `CheckSum = sha1(AppSecret + MD5 + CurTime)`. */
export function neteaseHeaders(
  body: string,
  opts: { appKey?: string; secret?: string; curTime?: string } = {},
): Record<string, string> {
  return signNetease(body, {
    appKey: opts.appKey ?? NETEASE_APP,
    secret: opts.secret ?? NETEASE_SECRET,
    curTime: opts.curTime,
  });
}

/** The query string of a Tencent callback for an app with a callback token: `Sign = sha256(token + RequestTime)`. */
export function tencentQuery(
  command: string,
  opts: { appId?: string; token?: string; requestTime?: string } = {},
): string {
  return signTencent(command, {
    appId: opts.appId ?? TENCENT_TOKEN_APP,
    token: opts.token ?? TENCENT_TOKEN,
    requestTime: opts.requestTime,
  });
}

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}
