import { relayWithFakeQueue } from "./app";
import { ADMIN_TOKEN } from "./bindings";

/** The admin API over `createApp().fetch`, authenticated with the test token unless told otherwise. */
export function adminClient(overrides: Partial<Env> = {}) {
  const relay = relayWithFakeQueue(overrides);
  const call = (method: string, path: string, opts: { body?: unknown; authorization?: string | null } = {}) => {
    const headers = new Headers();
    const authorization = opts.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : opts.authorization;
    if (authorization !== null) headers.set("authorization", authorization);
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers.set("content-type", "application/json");
    }
    return relay.fetch(new Request(`http://relay.test${path}`, { method, headers, body }));
  };
  return { ...relay, call };
}

/** The `{ error: { code, message } }` body of a refusal. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const json = (await res.json()) as { error: { code: string; message: string } };
  return json.error;
}
