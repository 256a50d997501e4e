import { hexDigest, safeEqual } from "../../crypto";
import type { NeteaseApp } from "../../env";
import { forApp, RelayError } from "../../errors";
import { checkClientIp } from "../../ingress/allow-ips";
import { readBody } from "../../ingress/body";
import { lookup } from "../fields";
import type { Authenticated } from "../provider";

function header(headers: Headers, name: string): string {
  // Headers are case-insensitive: NetEase's own cURL samples send `appkey`, `curtime`, `md5`, `checksum`.
  const value = headers.get(name);
  if (value === null || value.trim() === "") {
    throw new RelayError("MISSING_CREDENTIALS", `header ${name} is missing`);
  }
  return value.trim();
}

/**
 * Authenticates a NetEase Yunxin callback (抄送 and 第三方回调 alike) and returns its AppKey and raw body.
 *
 * `CheckSum = hex(sha1(AppSecret + MD5 + CurTime))` binds the secret to the `MD5` header, and `MD5` must be the
 * MD5 of the raw body: checking only one of the two would let a captured request carry another body. The
 * CheckSum is verified before the body is read, so a forged request costs us no body read; `allowIps` is checked
 * before that. NetEase signs no part of the URL, so the app's `channels` decide which channel may take it.
 */
export async function authenticateNetease(
  req: Request,
  channel: "cc" | "callback",
  apps: Readonly<Record<string, NeteaseApp>>,
  windowSeconds: number,
  nowMs: number,
): Promise<Authenticated> {
  const appKey = header(req.headers, "AppKey");
  const curTime = header(req.headers, "CurTime");
  const md5 = header(req.headers, "MD5");
  const checkSum = header(req.headers, "CheckSum");
  const app = lookup(apps, appKey);
  if (!app) throw new RelayError("UNKNOWN_APP", "AppKey is not configured", { appId: appKey.slice(0, 64) });
  if (!app.channels.includes(channel)) {
    throw new RelayError("UNKNOWN_APP", `AppKey is not configured for the ${channel} channel`, { appId: appKey });
  }
  return forApp(appKey, async () => {
    checkClientIp(req.headers, app.allowIps);
    if (!/^\d{1,16}$/.test(curTime)) throw new RelayError("INVALID_TIMESTAMP", "CurTime is not epoch milliseconds");

    // CurTime enters the CheckSum exactly as received (a string), as NetEase computes it.
    const expected = await hexDigest("SHA-1", app.secret + md5 + curTime);
    if (!safeEqual(expected, checkSum.toLowerCase())) throw new RelayError("BAD_SIGNATURE", "CheckSum does not match");

    const body = await readBody(req);
    if (!safeEqual(await hexDigest("MD5", body), md5.toLowerCase())) {
      throw new RelayError("BODY_DIGEST_MISMATCH", "MD5 does not match the body");
    }
    const skew = Math.abs(nowMs - Number(curTime)) / 1000;
    if (skew > windowSeconds) {
      throw new RelayError("TIMESTAMP_OUT_OF_WINDOW", `CurTime is outside the ±${windowSeconds} s window`, {
        skewSeconds: Math.round(skew),
      });
    }
    return { appId: appKey, body, requestTime: curTime };
  });
}
