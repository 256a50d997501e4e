import { inject } from "vitest";
import { ADMIN_TOKEN } from "./bindings";
import { neteaseHeaders, tencentQuery } from "./e2e-sign";

/** Talking to the dev server started by test/helpers/e2e-server.ts, and waiting for what it does. */

export function relayUrl(): string {
  return inject("relayUrl");
}

export type JsonResponse = { status: number; headers: Headers; json: unknown };

async function asJson(res: Response): Promise<JsonResponse> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/** An admin API call with the test bearer token. */
export async function admin(method: string, path: string, body?: unknown): Promise<JsonResponse> {
  const res = await fetch(`${relayUrl()}/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return asJson(res);
}

/** POSTs a correctly signed NetEase 抄送 (or 第三方回调) callback. */
export async function sendNetease(
  body: string,
  opts: { channel?: "cc" | "callback"; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const res = await fetch(`${relayUrl()}/netease/${opts.channel ?? "cc"}`, {
    method: "POST",
    headers: { ...neteaseHeaders(body), ...opts.headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return asJson(res);
}

/** POSTs a Tencent callback for the app with a callback token, signed unless `query` overrides it. */
export async function sendTencent(body: string, command: string, opts: { query?: string } = {}): Promise<JsonResponse> {
  const res = await fetch(`${relayUrl()}/tencent?${opts.query ?? tencentQuery(command)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return asJson(res);
}

/** A target id unique within the run (KV persists across the tests of one run). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value (which is returned) or `timeoutMs` passes, then
 * fails naming `what` and, if given, the state `describe()` reports.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(opts.intervalMs ?? 100);
  }
  const state = opts.describe ? `; state: ${JSON.stringify(opts.describe())}` : "";
  const error = lastError ? `; last error: ${String(lastError)}` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}${error}`);
}
