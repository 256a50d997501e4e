import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Lane } from "../../src/lanes/lane";
import { laneStub } from "../../src/lanes/route";

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
