import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { putTarget } from "../../src/config/store";
import type { Target, TargetWithId } from "../../src/config/target";
import type { Lane } from "../../src/lanes/lane";
import { laneStub } from "../../src/lanes/route";
import { type DeadLetter, getDeadLetter, listDeadLetters } from "../../src/queue/dead-letters";
import { makeTarget } from "./consumer-harness";

/** The test bindings' RETRY_SCHEDULE_SECONDS is 1,2,3: four attempts in all. */
export const ATTEMPTS = 4;

/** The stub of a target's lane (shard 0 unless told). */
export function lane(target: string, shard = 0): DurableObjectStub<Lane> {
  return laneStub(env, target, shard);
}

/**
 * Moves a lane's clock forward, as far as its work is concerned: every pending delivery is due now, and an open
 * circuit's probe too. Tests then run the alarm instead of waiting out the retry schedule.
 */
export async function makeDue(stub: DurableObjectStub<Lane>): Promise<void> {
  await rewriteStorage(stub, (state) => {
    state.storage.sql.exec("UPDATE deliveries SET next_at = 0 WHERE state = 'pending'");
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'circuit'").toArray()[0];
    if (row) {
      const circuit = JSON.parse(row.value) as { probeAt?: number };
      if (circuit.probeAt !== undefined) circuit.probeAt = 0;
      state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'circuit'", JSON.stringify(circuit));
    }
  });
}

/**
 * Changes a lane's storage behind its back (as time passing would), then makes it forget what it keeps in memory
 * of that storage, so its next call reads the change.
 */
export async function rewriteStorage<R>(
  stub: DurableObjectStub<Lane>,
  change: (state: DurableObjectState) => R,
): Promise<R> {
  return runInDurableObject(stub, (instance: Lane, state) => {
    const self = instance as unknown as { store: { reset(): void; flush(): void }; pruneAt: number | undefined };
    self.store.flush();
    const result = change(state);
    self.store.reset();
    self.pruneAt = undefined;
    return result;
  });
}

/** Runs the lane's alarm once now, whether or not one is set. */
export async function runAlarm(stub: DurableObjectStub<Lane>): Promise<void> {
  if (await runDurableObjectAlarm(stub)) return;
  await runInDurableObject(stub, (instance: Lane) => instance.alarm());
}

/**
 * Runs a lane to rest: make everything due, run the alarm, repeat until nothing is pending (or `runs` alarm runs,
 * for a lane that never settles). Returns the lane's status at the end.
 */
export async function settle(stub: DurableObjectStub<Lane>, runs = 20) {
  for (let i = 0; i < runs; i++) {
    await makeDue(stub);
    await runAlarm(stub);
    const status = await stub.status();
    if (status.pending === 0) return status;
  }
  return stub.status();
}

/** A target id no other test uses: lanes keep their storage for the whole file. */
let n = 0;
export function uniqueTarget(prefix = "t"): string {
  n++;
  return `${prefix}-${n}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A stored target with a unique id and URL, and its lane (shard 0). */
export async function setupTarget(overrides: Partial<Target> = {}) {
  const id = uniqueTarget();
  const url = `https://${id}.example.test/hook`;
  const stored = makeTarget(url, overrides);
  await putTarget(env.TARGETS, id, stored);
  const target: TargetWithId = { ...stored, id };
  return { id, url, stored, target, stub: lane(id) };
}

/**
 * Drops the lane's memory of its target, as a lane freshly started would (its next run reads KV), and of when the
 * consumer last handed it one, unless `keepSeen` (a missing KV read right after a handover is not believed).
 */
export async function forgetTarget(stub: DurableObjectStub<Lane>, opts: { keepSeen?: boolean } = {}): Promise<void> {
  await runInDurableObject(stub, (instance: Lane) => {
    const self = instance as unknown as { target: unknown; seenAt: number };
    self.target = undefined;
    if (!opts.keepSeen) self.seenAt = 0;
  });
}

/** Every dead letter (of one target, or all), read in full. */
export async function deadLetters(target?: string): Promise<DeadLetter[]> {
  const page = await listDeadLetters(env.TARGETS, { target, limit: 1000 });
  const letters = await Promise.all(page.items.map((item) => getDeadLetter(env.TARGETS, item.id)));
  return letters.filter((l): l is DeadLetter => l !== undefined);
}
