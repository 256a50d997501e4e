// The bench's callbacks: every fixture of test/fixtures (both providers), signed for the bench apps.
import { fixtureCallbacks, signedRequest } from "../../scripts/lib/sign.mjs";

/**
 * Apps the relay runs with in the bench. The Tencent app has no callback token, so its requests stay valid for
 * the whole run; NetEase requests carry CurTime (±300 s window) and are signed again before every phase.
 */
export const APPS = {
  tencent: { appId: "1400000001" },
  netease: { appKey: "bench-appkey", secret: "bench-appsecret" },
};
export const ADMIN_TOKEN = "bench-admin-token-0123456789";
export const RELAY_VARS = {
  TENCENT_APPS: JSON.stringify({ [APPS.tencent.appId]: {} }),
  NETEASE_APPS: JSON.stringify({ [APPS.netease.appKey]: { secret: APPS.netease.secret } }),
  ADMIN_TOKEN,
};

export const loadFixtures = (root) => fixtureCallbacks(root);

/** Signs `fixtures` now, as autocannon request descriptions ({ method, path, headers, body }). */
export function signPool(fixtures) {
  return fixtures.map((callback) => {
    const [path, init] = signedRequest("", callback, {
      ...APPS,
      netease: { ...APPS.netease, curTime: String(Date.now()) },
    });
    return { method: "POST", path, headers: init.headers, body: Buffer.from(init.body) };
  });
}
