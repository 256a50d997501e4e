// Signs provider callbacks from Node (Node's WebCrypto has no MD5, so node:crypto does the digests).
import { createHash } from "node:crypto";

const hex = (algorithm, data) => createHash(algorithm).update(data).digest("hex");

/** Headers of a correctly signed NetEase Yunxin callback: CheckSum = sha1(AppSecret + MD5 + CurTime). */
export function neteaseHeaders(body, { appKey, secret, curTime = String(Date.now()) }) {
  const md5 = hex("md5", body);
  return {
    "content-type": "application/json; charset=utf-8",
    AppKey: appKey,
    CurTime: curTime,
    MD5: md5,
    CheckSum: hex("sha1", secret + md5 + curTime),
  };
}

/** Query string of a Tencent Cloud Chat callback; with a token it carries Sign = sha256(token + RequestTime). */
export function tencentQuery(command, { appId, token, requestTime = String(Math.floor(Date.now() / 1000)) }) {
  const params = new URLSearchParams({
    SdkAppid: appId,
    CallbackCommand: command,
    contenttype: "json",
    ClientIP: "127.0.0.1",
    OptPlatform: "RESTAPI",
  });
  if (token) {
    params.set("RequestTime", requestTime);
    params.set("Sign", hex("sha256", token + requestTime));
  }
  return params.toString();
}

/**
 * Every fixture of test/fixtures as a ready-to-send request description: { name, provider, path, query, body }.
 * The path and command come from the file name (Tencent: `<Command>[.n].json`; NetEase: `cc-…`, `callback-…`).
 */
export async function fixtureCallbacks(root) {
  const { readdir, readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const out = [];
  for (const provider of ["tencent", "netease"]) {
    const dir = join(root, "test", "fixtures", provider);
    for (const file of (await readdir(dir)).sort()) {
      if (!file.endsWith(".json")) continue;
      const body = await readFile(join(dir, file), "utf8");
      if (provider === "tencent") {
        out.push({ name: file, provider, path: "/tencent", command: file.replace(/(\.\d+)?\.json$/, ""), body });
      } else {
        out.push({ name: file, provider, path: file.startsWith("cc-") ? "/netease/cc" : "/netease/callback", body });
      }
    }
  }
  return out;
}

/** Signs a fixture (or any callback) for the given apps; returns [url, fetch init]. */
export function signedRequest(baseUrl, callback, apps) {
  if (callback.provider === "tencent") {
    return [
      `${baseUrl}/tencent?${tencentQuery(callback.command, apps.tencent)}`,
      { method: "POST", headers: { "content-type": "application/json" }, body: callback.body },
    ];
  }
  return [
    `${baseUrl}${callback.path}`,
    { method: "POST", headers: neteaseHeaders(callback.body, apps.netease), body: callback.body },
  ];
}
