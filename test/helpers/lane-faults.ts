import { env, runInDurableObject } from "cloudflare:test";
import { putTarget } from "../../src/config/store";
import type { Target, TargetWithId } from "../../src/config/target";
import type { CloudEvent } from "../../src/event";
import type { Lane } from "../../src/lanes/lane";
import { shardOf } from "../../src/lanes/route";
import type { LaneItem } from "../../src/lanes/store";
import { type DeadLetter, getDeadLetter, listDeadLetters } from "../../src/queue/dead-letters";
import { makeTarget, type RecordedRequest } from "./consumer-harness";
import { lane, runAlarm, uniqueTarget } from "./lanes";

/** The test bindings' RETRY_SCHEDULE_SECONDS is 1,2,3: four attempts in all. */
export const ATTEMPTS = 4;

/** A stored target with a unique id and URL, and its lane (shard 0). */
export async function setupTarget(overrides: Partial<Target> = {}) {
  const id = uniqueTarget();
  const url = `https://${id}.example.test/hook`;
  const stored = makeTarget(url, overrides);
  await putTarget(env.TARGETS, id, stored);
  const target: TargetWithId = { ...stored, id };
  return { id, url, stored, target, stub: lane(id) };
}

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

/** Forgets the target the lane last saw, and when, as a lane freshly started would. */
export async function forgetTarget(stub: DurableObjectStub<Lane>): Promise<void> {
  await runInDurableObject(stub, (instance: Lane) => {
    internals(instance).target = undefined;
    internals(instance).seenAt = 0;
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

/** Every dead letter of a target, read in full. */
export async function deadLetters(target: string): Promise<DeadLetter[]> {
  const page = await listDeadLetters(env.TARGETS, { target, limit: 1000 });
  const letters = await Promise.all(page.items.map((item) => getDeadLetter(env.TARGETS, item.id)));
  return letters.filter((l): l is DeadLetter => l !== undefined);
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
