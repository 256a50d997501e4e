import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { vi } from "vitest";
import type { Outbox } from "../../src/outbox/outbox";
import { OUTBOX_SHARDS, outboxShard } from "../../src/outbox/route";
import { decodeMessage, type QueueMessage } from "../../src/queue/message";

/** Every outbox, by shard. */
export const allOutboxes = (): DurableObjectStub<Outbox>[] =>
  Array.from({ length: OUTBOX_SHARDS }, (_, shard) => outboxShard(env, shard));

/** Empties every outbox and removes its alarm: outboxes keep their storage for the whole test file. */
export async function clearOutboxes(): Promise<void> {
  for (const stub of allOutboxes()) {
    await runInDurableObject(stub, async (_instance: Outbox, state) => {
      state.storage.sql.exec("DELETE FROM outbox");
      state.storage.sql.exec("DELETE FROM meta");
      await state.storage.deleteAlarm();
    });
  }
}

/** Events waiting in all outboxes together. */
export async function outboxPending(): Promise<number> {
  let pending = 0;
  for (const stub of allOutboxes()) pending += (await stub.status()).pending;
  return pending;
}

/** Runs an outbox's alarm now, whether or not one is set (a drain that finds nothing sends nothing). */
export async function drainNow(stub: DurableObjectStub<Outbox>): Promise<void> {
  if (await runDurableObjectAlarm(stub)) return;
  await runInDurableObject(stub, (instance: Outbox) => instance.alarm());
}

/** An OUTBOX binding whose outboxes cannot be reached: every `put` rejects. */
export function unreachableOutbox(): DurableObjectNamespace<Outbox> {
  const refuse = async () => {
    throw new Error("outbox unavailable");
  };
  return {
    idFromName: (name: string) => env.OUTBOX.idFromName(name),
    get: () => ({ put: refuse }),
  } as unknown as DurableObjectNamespace<Outbox>;
}

/** One `sendBatch` call the outboxes made: the raw messages, and each one decoded. */
export type DrainCall = { raw: string[]; messages: ReturnType<typeof decodeMessage>[] };

/**
 * Replaces the real queue's `sendBatch` (which the outboxes drain into) with a recording one that fails while
 * `state.down` is true, or on the calls listed in `failCalls` (1-based).
 */
export function recordDrains(opts: { down?: boolean; failCalls?: number[] } = {}) {
  const state = { down: opts.down ?? false, calls: [] as DrainCall[], attempts: 0 };
  const spy = vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (batch) => {
    state.attempts++;
    if (state.down || opts.failCalls?.includes(state.attempts)) throw new Error("queue unavailable");
    const raw = [...batch].map((m) => m.body as string);
    state.calls.push({ raw, messages: raw.map((r) => decodeMessage(r)) });
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  });
  return { state, spy };
}

/** The inline messages of the recorded drains, in order. */
export function drainedMessages(calls: readonly DrainCall[]): QueueMessage[] {
  return calls.flatMap((c) => c.messages.flatMap((m) => (m && "message" in m ? [m.message] : [])));
}
