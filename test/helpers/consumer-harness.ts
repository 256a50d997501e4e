import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { type MockInstance, vi } from "vitest";
import type { Target } from "../../src/config/target";
import { generateSecret } from "../../src/delivery/signature";
import { buildEvent, type CloudEvent, type EventEnvelope } from "../../src/event";
import { consumeBatch } from "../../src/queue/consumer";
import { inlineText, type QueueMessageV1 } from "../../src/queue/message";
import { TENCENT_APP } from "./bindings";
import { FakeQueue } from "./fake-queue";

const encoder = new TextEncoder();
let sequence = 0;

/** A valid CloudEvent, unique per call (its id hashes a counter into the body). */
export async function makeEvent(
  opts: { provider?: "tencent" | "netease"; appId?: string; type?: string; providerEvent?: string } = {},
): Promise<CloudEvent> {
  const seq = ++sequence;
  const payload = { CallbackCommand: opts.providerEvent ?? "C2C.CallbackAfterSendMsg", seq };
  const envelope = await buildEvent({
    provider: opts.provider ?? "tencent",
    channel: opts.provider === "netease" ? "cc" : "",
    appId: opts.appId ?? TENCENT_APP,
    body: encoder.encode(JSON.stringify(payload)),
    providerEvent: opts.providerEvent ?? "C2C.CallbackAfterSendMsg",
    type: opts.type ?? "im.message.sent",
    timeMs: Date.now(),
    schemaValid: true,
  });
  return { ...envelope, schemavalid: true, data: payload };
}

/** A CloudEvent as the queue carries it: the envelope, and `data` as raw JSON text. */
export function split(event: CloudEvent): { event: EventEnvelope; data: string } {
  const { data, ...envelope } = event;
  return { event: envelope, data: JSON.stringify(data) };
}

/** A valid stored target with a fresh secret; `overrides` changes exactly what a test is about. */
export function makeTarget(url: string, overrides: Partial<Target> = {}): Target {
  const now = new Date().toISOString();
  return { url, secret: generateSecret(), enabled: true, createdAt: now, updatedAt: now, ...overrides };
}

type V1<K> = Extract<QueueMessageV1, { kind: K }>;

/** A v1 event message (one JSON object), as queued before v2: the consumer still reads them. */
export const eventMessage = (event: CloudEvent): V1<"event"> => ({ v: 1, kind: "event", ...split(event) });
/** A v1 delivery message (an operator's replay, or a delivery from before lanes). */
export const deliveryMessage = (event: CloudEvent, target: string, attempt: number): V1<"delivery"> => ({
  v: 1,
  kind: "delivery",
  ...split(event),
  target,
  attempt,
});

/** An event message as the relay writes it now: v2 text, its data inline. */
export const wireEventMessage = (event: CloudEvent): string => inlineText({ kind: "event", ...split(event) });

/** Deletes every key of a KV namespace, so each test starts from an empty store. */
export async function clearKv(kv: KVNamespace): Promise<void> {
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await kv.list({ cursor });
    await Promise.all(page.keys.map((k) => kv.delete(k.name)));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
}

/** One outbound request the consumer made. */
export type RecordedRequest = { url: string; method: string; headers: Headers; body: string; redirect?: string };

/** How a scripted URL answers: a status, a response factory, or a function of the request and its init. */
export type Responder =
  | number
  | ((call: RecordedRequest, init: RequestInit | undefined) => Response | Promise<Response>);

/**
 * Replaces `globalThis.fetch` with a scripted one. Every call is recorded; a URL not in the script answers 599
 * (so an unexpected delivery is visible as a call and as a failure, never as a silent success).
 */
export function stubFetch(script: Record<string, Responder>): {
  calls: RecordedRequest[];
  spy: MockInstance<typeof fetch>;
} {
  const calls: RecordedRequest[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const call: RecordedRequest = {
      url,
      method: init?.method ?? (input instanceof Request ? input.method : "GET"),
      headers: new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)),
      body: typeof init?.body === "string" ? init.body : "",
      redirect: init?.redirect,
    };
    calls.push(call);
    const responder = script[url];
    if (responder === undefined) return new Response("unscripted", { status: 599 });
    if (typeof responder === "number") return new Response(null, { status: responder });
    return responder(call, init);
  });
  return { calls, spy };
}

/** A fetch that only settles when its request is aborted (by the delivery timeout), rejecting with the abort reason. */
export function hangUntilAborted(_call: RecordedRequest, init: RequestInit | undefined): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = init?.signal;
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason));
  });
}

/** The test bindings with a recording queue as `EVENTS` and the real test KV as `TARGETS`. */
export function consumerEnv(overrides: Partial<Env> = {}): { env: Env; queue: FakeQueue } {
  const queue = new FakeQueue();
  return { env: { ...env, ...overrides, EVENTS: queue as unknown as Queue } as Env, queue };
}

export type BatchMessage = { body: unknown; attempts?: number; id?: string; timestamp?: Date };

/**
 * Runs `consumeBatch` over a batch built with `createMessageBatch`, recording the options each message's
 * `retry()` received (the pool's `getQueueResult` reports retries but not their delays).
 */
export async function runBatch(testEnv: Env, messages: BatchMessage[], queueName = "imrelay-events") {
  const batch = createMessageBatch<unknown>(
    queueName,
    messages.map((m, i) => ({
      id: m.id ?? `msg-${i}`,
      timestamp: m.timestamp ?? new Date(),
      attempts: m.attempts ?? 1,
      body: m.body,
    })),
  );
  const retryOptions = new Map<string, (QueueRetryOptions | undefined)[]>();
  for (const msg of batch.messages) {
    const original = msg.retry.bind(msg);
    msg.retry = (options?: QueueRetryOptions) => {
      retryOptions.set(msg.id, [...(retryOptions.get(msg.id) ?? []), options]);
      original(options);
    };
  }
  const ctx = createExecutionContext();
  const returned = await consumeBatch(batch, testEnv);
  const result = await getQueueResult(batch, ctx);
  return { batch, result, retryOptions, returned };
}

/** Bounds of a ±20 % jittered, rounded delay. */
export function jitterBounds(seconds: number): [number, number] {
  return [Math.round(seconds * 0.8), Math.round(seconds * 1.2)];
}
