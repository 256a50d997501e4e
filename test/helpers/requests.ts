import { NETEASE_APP, NETEASE_SECRET, TENCENT_APP } from "./bindings";

const encoder = new TextEncoder();

async function hex(algorithm: string, data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return [...new Uint8Array(await crypto.subtle.digest(algorithm, bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

export type NeteaseOptions = {
  channel?: "cc" | "callback";
  appKey?: string;
  secret?: string;
  curTime?: string;
  /** Override the MD5 header (default: MD5 of `body`). */
  md5?: string;
  /** Body actually sent (default: `body`): lets a test tamper after signing. */
  sentBody?: string | Uint8Array;
  omit?: ("AppKey" | "CurTime" | "MD5" | "CheckSum")[];
  lowercase?: boolean;
};

/** A correctly signed NetEase request by default; each option breaks exactly one thing. */
export async function neteaseRequest(body: string | Uint8Array, opts: NeteaseOptions = {}): Promise<Request> {
  const curTime = opts.curTime ?? String(Date.now());
  const md5 = opts.md5 ?? (await hex("MD5", body));
  const checkSum = await hex("SHA-1", (opts.secret ?? NETEASE_SECRET) + md5 + curTime);
  const headers: Record<string, string> = {
    AppKey: opts.appKey ?? NETEASE_APP,
    CurTime: curTime,
    MD5: md5,
    CheckSum: checkSum,
  };
  for (const name of opts.omit ?? []) delete headers[name];
  const finalHeaders = new Headers({ "content-type": "application/json; charset=utf-8" });
  for (const [k, v] of Object.entries(headers)) finalHeaders.set(opts.lowercase ? k.toLowerCase() : k, v);
  return new Request(`http://relay.test/netease/${opts.channel ?? "cc"}`, {
    method: "POST",
    headers: finalHeaders,
    body: opts.sentBody ?? body,
  });
}

export type TencentOptions = {
  appId?: string;
  command?: string | null;
  token?: string;
  requestTime?: string;
  sign?: string;
  extraQuery?: string;
};

/** A Tencent request; with `token` it carries a valid Sign/RequestTime unless overridden. */
export async function tencentRequest(body: string, opts: TencentOptions = {}): Promise<Request> {
  const params = new URLSearchParams({ SdkAppid: opts.appId ?? TENCENT_APP });
  if (opts.command !== null) params.set("CallbackCommand", opts.command ?? JSON.parse(body).CallbackCommand);
  params.set("contenttype", "json");
  params.set("ClientIP", "127.0.0.1");
  params.set("OptPlatform", "RESTAPI");
  if (opts.token !== undefined || opts.sign !== undefined || opts.requestTime !== undefined) {
    const requestTime = opts.requestTime ?? String(Math.floor(Date.now() / 1000));
    params.set("RequestTime", requestTime);
    params.set("Sign", opts.sign ?? (await hex("SHA-256", (opts.token ?? "") + requestTime)));
  }
  const query = params.toString() + (opts.extraQuery ?? "");
  return new Request(`http://relay.test/tencent?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
}
