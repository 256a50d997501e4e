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
  TENCENT_APPS: JSON.stringify({ [APPS.tencent.appId]: { allowUnsigned: true } }),
  NETEASE_APPS: JSON.stringify({
    [APPS.netease.appKey]: { secret: APPS.netease.secret, channels: ["cc", "callback"] },
  }),
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

/**
 * The fixture body with `"benchSeq": tag` as its first member (textually, so the rest stays byte-identical). Lanes
 * deduplicate on the event id, a hash of the body: a fixture sent twice would be delivered once.
 */
export function withMarker(body, tag) {
  const open = body.indexOf("{");
  if (open < 0) throw new Error("fixture is not a JSON object");
  const rest = body.slice(open + 1);
  return `${body.slice(0, open)}{"benchSeq":${JSON.stringify(tag)}${/^\s*\}/.test(rest) ? "" : ","}${rest}`;
}

let serial = 0;

/** `n` signed requests cycling through `fixtures`, each with a body (so an event id) no other request of this run has. */
export function uniquePool(fixtures, n) {
  const run = `${process.pid}.${Date.now()}`;
  return signPool(
    Array.from({ length: n }, (_, i) => {
      const fixture = fixtures[i % fixtures.length];
      return { ...fixture, body: withMarker(fixture.body, `${run}.${serial++}`) };
    }),
  );
}

/**
 * An autocannon request list that hands out `pool` in order across all connections: each connection cycling
 * through the pool on its own would send the same bodies again. Make `pool` `amount + connections` long:
 * autocannon builds each connection's first request ahead.
 */
export function sequential(pool) {
  let next = 0;
  return [{ setupRequest: (req) => ({ ...req, ...pool[next++ % pool.length] }) }];
}
