import { runInDurableObject } from "cloudflare:test";
import type { TargetWithId } from "../../src/config/target";
import type { CloudEvent } from "../../src/event";
import type { Lane } from "../../src/lanes/lane";
import { shardOf } from "../../src/lanes/route";
import type { LaneItem } from "../../src/lanes/store";
import type { RecordedRequest } from "./consumer-harness";
import { deadLetters, lane, runAlarm } from "./lanes";

/** The private parts of a lane a test reaches into to stand in for time passing. */
type LaneInternals = { env: Env; holdUntil: number; target: unknown; seenAt: number };
const internals = (instance: Lane) => instance as unknown as LaneInternals;

/**
 * Hands events to a lane as the consumer does, then removes the alarm it set and forgets the target the call
 * carried: nothing runs until the test runs the alarm, and that run reads the target from KV.
 */
export async function acceptQuietly(target: TargetWithId, items: LaneItem[], shard = 0) {
  return runInDurableObject(lane(target.id, shard), async (instance: Lane, state) => {
    const result = await instance.accept(target, shard, items);
    internals(instance).target = undefined;
    internals(instance).seenAt = 0;
    await state.storage.deleteAlarm();
    return result;
  });
}

/** As if INFRA_RETRY_MS had passed since a failed KV write (or an invalid target): the lane tries again. */
export async function endHold(stub: DurableObjectStub<Lane>): Promise<void> {
  await runInDurableObject(stub, (instance: Lane) => {
    internals(instance).holdUntil = 0;
  });
}

/** Replaces vars the lane reads from its own env (the test bindings); returns the function that restores them. */
export async function overrideLaneEnv(stub: DurableObjectStub<Lane>, vars: Partial<Env>): Promise<() => Promise<void>> {
  const original = await runInDurableObject(stub, (instance: Lane) => {
    const before = internals(instance).env;
    internals(instance).env = { ...before, ...vars } as Env;
    return before;
  });
  return async () => {
    await runInDurableObject(stub, (instance: Lane) => {
      internals(instance).env = original;
    });
  };
}

/** Runs the lane's alarm once and returns what it threw (undefined when it resolved). */
export async function runAlarmCatching(stub: DurableObjectStub<Lane>): Promise<unknown> {
  try {
    await runAlarm(stub);
    return undefined;
  } catch (err) {
    return err;
  }
}

/** A promise and its resolve, for a fetch a test releases when it chooses. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The HTTP requests one event's delivery to one target made (other tests' lanes may fetch meanwhile). */
export function requestsFor(calls: RecordedRequest[], url: string, eventId: string): RecordedRequest[] {
  return calls.filter((c) => c.url === url && c.headers.get("webhook-id") === eventId);
}

/** What became of one (event, target) pair: the lane's record, its dead letters and the requests it made. */
export async function ledger(
  target: { id: string; url: string; lanes?: number },
  event: CloudEvent,
  calls: RecordedRequest[],
) {
  const view = await lane(target.id, shardOf(event.id, target.lanes ?? 1)).lookup(event.id);
  const letters = (await deadLetters(target.id)).filter((l) => l.event?.id === event.id);
  return {
    state: view?.state,
    logged: view?.attempts.length ?? 0,
    requests: requestsFor(calls, target.url, event.id).length,
    letters: letters.map((l) => l.attempts),
  };
}
