import { relayWithFakeQueue } from "./app";
import { ADMIN_TOKEN } from "./bindings";

/** Where admin requests go by default: a deployed relay's own host (not loopback). */
export const RELAY_ORIGIN = "http://relay.test";
/** A relay running locally, as under `wrangler dev`: loopback endpoints are allowed from here. */
export const LOCAL_ORIGIN = "http://127.0.0.1:8787";

/**
 * An admin API request; authenticated with the real token unless `authorization` says otherwise (null = none),
 * sent to `origin` (default {@link RELAY_ORIGIN}).
 */
export function adminRequest(
  method: string,
  path: string,
  opts: { authorization?: string | null; body?: unknown; headers?: Record<string, string>; origin?: string } = {},
): Request {
  const headers = new Headers(opts.headers);
  const authorization = opts.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : opts.authorization;
  if (authorization !== null) headers.set("authorization", authorization);
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers.set("content-type", "application/json");
  }
  return new Request(`${opts.origin ?? RELAY_ORIGIN}${path}`, { method, headers, body });
}

/** The admin API over `createApp().fetch`, authenticated with the test token unless told otherwise. */
export function adminClient(overrides: Partial<Env> = {}) {
  const relay = relayWithFakeQueue(overrides);
  const call = (
    method: string,
    path: string,
    opts: { body?: unknown; authorization?: string | null; origin?: string } = {},
  ) => relay.fetch(adminRequest(method, path, opts));
  return { ...relay, call };
}

/** The `{ error: { code, message } }` body of a refusal. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const json = (await res.json()) as { error: { code: string; message: string } };
  return json.error;
}
