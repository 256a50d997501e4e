import { hexDigest, safeEqual } from "../../crypto";
import type { TencentApp } from "../../env";
import { forApp, RelayError } from "../../errors";
import { checkClientIp } from "../../ingress/allow-ips";
import { lookup } from "../fields";

/**
 * Reads a query parameter that must appear at most once. A repeated `SdkAppid` or `Sign` is refused rather than
 * resolved: picking the first or the last would let a proxy and the relay disagree about who is calling.
 */
export function singleParam(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new RelayError("AMBIGUOUS_PARAMETER", `query parameter ${name} is repeated`);
  return values[0] === "" ? undefined : values[0];
}

/**
 * Authenticates a Tencent Cloud Chat callback from its query string (and, with `allowIps`, its peer address) and
 * returns the SdkAppid.
 *
 * Tencent signs no part of the body: with a callback token configured it appends
 * `Sign = hex(sha256(token + RequestTime))` and `RequestTime` (Unix seconds), so a captured Sign authorises any
 * body until its RequestTime leaves the window. `allowIps` is the only check that binds a request to Tencent's
 * servers; it runs as soon as the app is known, before the signature or the body. An app without a token has
 * opted out of signatures (`allowUnsigned`); a request signed anyway is refused: the relay cannot check it.
 */
export async function authenticateTencent(
  params: URLSearchParams,
  headers: Headers,
  apps: Readonly<Record<string, TencentApp>>,
  windowSeconds: number,
  nowMs: number,
): Promise<string> {
  const appId = singleParam(params, "SdkAppid");
  if (appId === undefined) throw new RelayError("MISSING_CREDENTIALS", "query parameter SdkAppid is missing");
  const app = lookup(apps, appId);
  if (!app) throw new RelayError("UNKNOWN_APP", "SdkAppid is not configured", { appId: appId.slice(0, 32) });
  return forApp(appId, async () => {
    checkClientIp(headers, app.allowIps);

    const sign = singleParam(params, "Sign");
    const requestTime = singleParam(params, "RequestTime");
    if (app.token === undefined) {
      // Tencent sends Sign only when 回调鉴权 has a token: the console and TENCENT_APPS disagree, and accepting the
      // request would pass off an unchecked signature as a checked one.
      if (sign !== undefined || requestTime !== undefined) {
        throw new RelayError(
          "UNVERIFIABLE_SIGNATURE",
          "the callback is signed but this SdkAppid has no token: set its callback token in TENCENT_APPS",
          { appId },
        );
      }
      return appId;
    }

    if (sign === undefined) throw new RelayError("MISSING_CREDENTIALS", "query parameter Sign is missing");
    if (requestTime === undefined)
      throw new RelayError("MISSING_CREDENTIALS", "query parameter RequestTime is missing");
    if (!/^\d{1,12}$/.test(requestTime)) throw new RelayError("INVALID_TIMESTAMP", "RequestTime is not Unix seconds");
    // Signature before freshness: a caller without the token learns nothing about our clock or window.
    const expected = await hexDigest("SHA-256", app.token + requestTime);
    if (!safeEqual(expected, sign.toLowerCase())) throw new RelayError("BAD_SIGNATURE", "Sign does not match");
    const skew = Math.abs(nowMs / 1000 - Number(requestTime));
    if (skew > windowSeconds) {
      throw new RelayError("TIMESTAMP_OUT_OF_WINDOW", `RequestTime is outside the ±${windowSeconds} s window`, {
        skewSeconds: Math.round(skew),
      });
    }
    return appId;
  });
}
