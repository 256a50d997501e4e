import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getTarget, putTarget, targetKey } from "../../src/config/store";
import { Lane } from "../../src/lanes/lane";
import { LaneStore } from "../../src/lanes/store";
import { adminClient } from "../helpers/admin-client";
import {
  clearKv,
  consumerEnv,
  eventMessage,
  makeEvent,
  type RecordedRequest,
  runBatch,
  split,
  stubFetch,
} from "../helpers/consumer-harness";
import { acceptQuietly, endHold, ledger, requestsFor, runAlarmCatching } from "../helpers/lane-faults";
import { ATTEMPTS, deadLetters, forgetTarget, lane, makeDue, runAlarm, settle, setupTarget } from "../helpers/lanes";

/**
 * Failure semantics of the delivery lanes, proven by injecting one failure per test. Each test checks the three
 * properties for every (event, target) pair it touches:
 * - nothing acknowledged vanishes: the pair ends delivered, dead (with its dead letter in KV) or pending;
 * - no target gets an event twice unless its own 2xx was lost;
 * - attempts count HTTP delivery attempts only: the log, the dead letter and the requests made agree.
 * `expectPair` states all three at once.
 */

type Ledger = Awaited<ReturnType<typeof ledger>>;

/** The pair ended in `state` after exactly `requests` HTTP attempts, each logged; dead means one dead letter saying so. */
function expectPair(found: Ledger, state: "delivered" | "dead" | "pending", requests: number) {
  expect(found).toEqual({ state, logged: requests, requests, letters: state === "dead" ? [requests] : [] });
}

/** KV puts of dead letters fail while `failing.on` is true; every other KV call goes through. */
function failDeadLetterWrites() {
  const failing = { on: true, refused: 0 };
  const put = env.TARGETS.put.bind(env.TARGETS);
  vi.spyOn(env.TARGETS, "put").mockImplementation((async (key: string, ...rest: unknown[]) => {
    if (failing.on && key.startsWith("dead:")) {
      failing.refused++;
      throw new Error("KV write failed");
    }
    return (put as (...args: unknown[]) => Promise<void>)(key, ...rest);
  }) as typeof env.TARGETS.put);
  return failing;
}

/** A LANES binding whose stubs' `accept` runs `accept` instead, for the target ids in `targets`. */
function lanesWith(
  targets: string[],
  accept: (real: DurableObjectStub<Lane>, args: Parameters<Lane["accept"]>) => Promise<unknown>,
): DurableObjectNamespace<Lane> {
  const real = env.LANES;
  return {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      const faulty = targets.some((t) => real.idFromName(t).equals(id));
      if (!faulty) return stub;
      return { accept: (...args: Parameters<Lane["accept"]>) => accept(stub, args) };
    },
  } as unknown as DurableObjectNamespace<Lane>;
}

/** A queue binding that refuses every send, counting the calls. */
function brokenQueue() {
  const queue = { calls: 0 };
  const refuse = async () => {
    queue.calls++;
    throw new Error("queue unavailable");
  };
  return { queue, binding: { send: refuse, sendBatch: refuse } as unknown as Queue };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, polling; used where a promise resolved across contexts would not do. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(2);
}

const acked = (result: { explicitAcks: string[] }) => [...result.explicitAcks].sort();
const retried = (result: { retryMessages: { msgId: string }[] }) => result.retryMessages.map((m) => m.msgId).sort();

beforeEach(async () => {
  await clearKv(env.TARGETS);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("faults: KV", () => {
  it("retries the whole batch when the target list cannot be read, before any lane has it; the retry delivers once", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    vi.spyOn(env.TARGETS, "list").mockRejectedValueOnce(new Error("KV unavailable"));

    const first = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);

    expect(first.result.retryBatch.retry).toBe(true);
    expect(first.result.explicitAcks).toEqual([]);
    expect(await a.stub.lookup(event.id)).toBeUndefined();

    const second = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);
    await settle(a.stub);

    expect(acked(second.result)).toEqual(["m1"]);
    expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  it("retries the whole batch when the targets' bulk read fails; no lane is called until it succeeds", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    vi.spyOn(env.TARGETS, "get").mockRejectedValueOnce(new Error("KV unavailable"));

    const first = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);

    expect(first.result.retryBatch.retry).toBe(true);
    expect(await a.stub.lookup(event.id)).toBeUndefined();
    await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);
    await settle(a.stub);
    expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  it("keeps delivering with the target it last saw when its KV read fails, and counts no attempt for the read", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 503 });
    const event = await makeEvent();
    const get = vi.spyOn(env.TARGETS, "get").mockRejectedValue(new Error("KV unavailable"));

    await a.stub.accept(a.target, 0, [split(event)]);
    await settle(a.stub);

    expect(get).toHaveBeenCalled();
    get.mockRestore();
    expectPair(await ledger(a, event, calls), "dead", ATTEMPTS);
  });

  it("delivers nothing and records nothing while a lane that knows no target cannot read it; delivers once KV is back", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    await acceptQuietly(a.target, [split(event)]);
    const get = vi.spyOn(env.TARGETS, "get").mockRejectedValue(new Error("KV unavailable"));

    // The run does not throw (the runtime's alarm retries would give up after six): it pauses and re-arms.
    expect(await runAlarmCatching(a.stub)).toBeUndefined();
    expectPair(await ledger(a, event, calls), "pending", 0);
    expect(await runInDurableObject(a.stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());

    get.mockRestore();
    await forgetTarget(a.stub);
    await endHold(a.stub);
    await settle(a.stub);
    expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  it("keeps a dead delivery in the lane's outbox while its dead-letter write fails, then writes exactly one", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 503 });
    const event = await makeEvent();
    const failing = failDeadLetterWrites();

    await a.stub.accept(a.target, 0, [split(event)]);
    await settle(a.stub);

    expect(failing.refused).toBeGreaterThan(0);
    expect(await ledger(a, event, calls)).toEqual({ state: "dead", logged: ATTEMPTS, requests: ATTEMPTS, letters: [] });

    failing.on = false;
    await endHold(a.stub);
    await runAlarm(a.stub);
    await endHold(a.stub);
    await runAlarm(a.stub);

    expectPair(await ledger(a, event, calls), "dead", ATTEMPTS);
  });
});

describe("faults: the five failures of the old design", () => {
  it("1. a failed KV write after one target succeeded neither redelivers to it nor starts a second retry chain for the other", async () => {
    const ok = await setupTarget();
    const failing = await setupTarget();
    const { calls } = stubFetch({ [ok.url]: 200, [failing.url]: 503 });
    const kv = failDeadLetterWrites();
    const event = await makeEvent();
    const batch = [{ body: eventMessage(event), id: "m1" }];

    const { result } = await runBatch(consumerEnv().env, batch);
    await settle(ok.stub);
    await settle(failing.stub);

    expect(acked(result)).toEqual(["m1"]);
    expect(kv.refused).toBeGreaterThan(0);
    // The queue redelivering the message changes nothing either: both lanes already own the event.
    await runBatch(consumerEnv().env, batch);
    await settle(ok.stub);
    await settle(failing.stub);
    kv.on = false;
    await endHold(failing.stub);
    await runAlarm(failing.stub);

    expectPair(await ledger(ok, event, calls), "delivered", 1);
    expectPair(await ledger(failing, event, calls), "dead", ATTEMPTS);
  });

  it("2. a 410 disable that succeeds followed by a failed dead-letter write leaves the delivery dead in the lane and writes its dead letter on a later run", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 410 });
    const kv = failDeadLetterWrites();
    const event = await makeEvent();

    await acceptQuietly(a.target, [split(event)]);
    await runAlarm(a.stub);

    const disabled = await getTarget(env.TARGETS, a.id);
    expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });
    expect(kv.refused).toBeGreaterThan(0);
    expect(await ledger(a, event, calls)).toEqual({ state: "dead", logged: 1, requests: 1, letters: [] });

    kv.on = false;
    await endHold(a.stub);
    await runAlarm(a.stub);

    expectPair(await ledger(a, event, calls), "dead", 1);
    const [letter] = await deadLetters(a.id);
    expect(letter).toMatchObject({ kind: "delivery", target: a.id, lastStatus: 410, ...split(event) });
  });

  it("3. delivers and dead-letters without the queue: a queue that refuses every send is never called by the consumer or a lane", async () => {
    const ok = await setupTarget();
    const failing = await setupTarget();
    const { calls } = stubFetch({ [ok.url]: 200, [failing.url]: 503 });
    const { queue, binding } = brokenQueue();
    const events = [await makeEvent(), await makeEvent(), await makeEvent()];

    const { result } = await runBatch(
      { ...env, EVENTS: binding } as Env,
      events.map((e, i) => ({ body: eventMessage(e), id: `m${i}` })),
    );
    await settle(ok.stub);
    await settle(failing.stub);

    expect(acked(result)).toEqual(["m0", "m1", "m2"]);
    expect(retried(result)).toEqual([]);
    expect(queue.calls).toBe(0);
    for (const event of events) {
      expectPair(await ledger(ok, event, calls), "delivered", 1);
      expectPair(await ledger(failing, event, calls), "dead", ATTEMPTS);
    }
  });

  it("3. a replay whose enqueue fails leaves the dead letter in place; a later replay re-delivers it exactly once", async () => {
    const a = await setupTarget();
    let status = 503;
    const { calls } = stubFetch({ [a.url]: () => new Response(null, { status }) });
    const event = await makeEvent();
    await a.stub.accept(a.target, 0, [split(event)]);
    await settle(a.stub);
    const [letter] = await deadLetters(a.id);
    if (!letter) throw new Error("no dead letter");

    const broken = adminClient();
    broken.queue.failWith = new Error("queue unavailable");
    const refused = await broken.call("POST", `/admin/dead-letters/${letter.id}/replay`);
    const bulk = await broken.call("POST", "/admin/dead-letters/replay", { body: { target: a.id } });

    expect(refused.status).toBe(503);
    expect(await bulk.json()).toMatchObject({ replayed: [], skipped: [{ id: letter.id, reason: "enqueue failed" }] });
    expect((await broken.call("GET", `/admin/dead-letters/${letter.id}`)).status).toBe(200);
    expect(broken.queue.sent).toEqual([]);

    status = 200;
    const admin = adminClient();
    expect((await admin.call("POST", `/admin/dead-letters/${letter.id}/replay`)).status).toBe(202);
    expect((await admin.call("GET", `/admin/dead-letters/${letter.id}`)).status).toBe(404);
    const [sent] = admin.queue.sent;
    expect(sent?.body).toMatchObject({ kind: "delivery", target: a.id, replay: letter.id });
    // The queue may deliver the replay message twice: the lane re-delivers once per replay id.
    const replayBatch = [{ body: sent?.raw, id: "r1" }];
    await runBatch(consumerEnv().env, replayBatch);
    await settle(a.stub);
    await runBatch(consumerEnv().env, replayBatch);
    await settle(a.stub);

    const found = await ledger(a, event, calls);
    expect(found).toEqual({ state: "delivered", logged: ATTEMPTS + 1, requests: ATTEMPTS + 1, letters: [] });
  });

  it("4. lane calls that fail twice before one succeeds count no attempt: the dead letter and the log say 4, the 4 HTTP attempts", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 503 });
    const event = await makeEvent();
    let failures = 2;
    const lanes = lanesWith([a.id], (stub, args) => {
      if (failures > 0) {
        failures--;
        return Promise.reject(new Error("lane unavailable"));
      }
      return stub.accept(...args);
    });
    const testEnv = consumerEnv({ LANES: lanes }).env;

    for (const attempts of [1, 2]) {
      const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1", attempts }]);
      expect(retried(result)).toEqual(["m1"]);
    }
    const { result } = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1", attempts: 3 }]);
    await settle(a.stub);

    expect(acked(result)).toEqual(["m1"]);
    expectPair(await ledger(a, event, calls), "dead", ATTEMPTS);
    expect((await a.stub.lookup(event.id))?.attempts.map((x) => x.status)).toEqual([503, 503, 503, 503]);
  });

  it("5. a stored target that fails its schema keeps its pending deliveries pending, neither dropped nor dead-lettered, until fixed; then delivers them", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const events = [await makeEvent(), await makeEvent()];
    await acceptQuietly(
      a.target,
      events.map((e) => split(e)),
    );
    await env.TARGETS.put(targetKey(a.id), JSON.stringify({ ...a.stored, url: "ftp://broken.example.test" }));

    await runAlarm(a.stub);
    await endHold(a.stub);
    await makeDue(a.stub);
    await runAlarm(a.stub);

    expect(await a.stub.status()).toMatchObject({ pending: 2, delivered: 0, dead: 0 });
    for (const event of events) expectPair(await ledger(a, event, calls), "pending", 0);

    await putTarget(env.TARGETS, a.id, a.stored);
    await settle(a.stub);

    for (const event of events) expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  it("5. (contrast) a deleted target's pending deliveries are dead-lettered with reason target deleted, without an attempt, and the lane forgets them", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    await acceptQuietly(a.target, [split(event)]);
    await env.TARGETS.delete(targetKey(a.id));

    await runAlarm(a.stub);

    expect(await ledger(a, event, calls)).toEqual({ state: undefined, logged: 0, requests: 0, letters: [0] });
    expect((await deadLetters(a.id))[0]).toMatchObject({ lastError: "target deleted", attempts: 0 });
  });
});

describe("faults: the lane RPC", () => {
  it("retries only the message whose lane call failed; the other lane keeps its single delivery", async () => {
    const a = await setupTarget();
    const b = await setupTarget({ events: ["im.message.sent"] });
    const { calls } = stubFetch({ [a.url]: 200, [b.url]: 200 });
    const both = await makeEvent({ type: "im.message.sent" });
    const onlyA = await makeEvent({ type: "im.group.created" });
    const batch = [
      { body: eventMessage(both), id: "both" },
      { body: eventMessage(onlyA), id: "only-a" },
    ];
    const broken = lanesWith([b.id], () => Promise.reject(new Error("lane unavailable")));

    const first = await runBatch(consumerEnv({ LANES: broken }).env, batch);
    await settle(a.stub);

    expect(acked(first.result)).toEqual(["only-a"]);
    expect(retried(first.result)).toEqual(["both"]);
    expect(first.retryOptions.get("both")).toEqual([{ delaySeconds: 30 }]);
    expect(await b.stub.lookup(both.id)).toBeUndefined();

    const second = await runBatch(consumerEnv().env, [{ body: eventMessage(both), id: "both", attempts: 2 }]);
    await settle(a.stub);
    await settle(b.stub);

    expect(acked(second.result)).toEqual(["both"]);
    expectPair(await ledger(a, both, calls), "delivered", 1);
    expectPair(await ledger(a, onlyA, calls), "delivered", 1);
    expectPair(await ledger(b, both, calls), "delivered", 1);
    expect(await b.stub.lookup(onlyA.id)).toBeUndefined();
  });

  it("treats a lane call whose answer was lost after the lane stored the events as failed; the retried message is a duplicate", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    let lose = true;
    const lanes = lanesWith([a.id], async (stub, args) => {
      const answer = await stub.accept(...args);
      if (lose) {
        lose = false;
        throw new Error("connection reset");
      }
      return answer;
    });
    const testEnv = consumerEnv({ LANES: lanes }).env;

    const first = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1" }]);
    await settle(a.stub);
    const second = await runBatch(testEnv, [{ body: eventMessage(event), id: "m1", attempts: 2 }]);
    await settle(a.stub);

    expect(retried(first.result)).toEqual(["m1"]);
    expect(acked(second.result)).toEqual(["m1"]);
    expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  it("fails the lane call when the lane's storage fails while accepting; the retried message is stored and delivered once", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    vi.spyOn(LaneStore.prototype, "accept").mockImplementationOnce(() => {
      throw new Error("SQLITE_FULL");
    });

    const first = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);

    expect(retried(first.result)).toEqual(["m1"]);
    expect(await a.stub.lookup(event.id)).toBeUndefined();

    const second = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1", attempts: 2 }]);
    await settle(a.stub);

    expect(acked(second.result)).toEqual(["m1"]);
    expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  // If the alarm write fails after the events were stored, the call fails and the consumer retries; the retry is
  // all duplicates, and must still set the alarm, or the acknowledged events would wait for some other event.
  it("still schedules events whose first accept stored them but failed to set the alarm, once the consumer retries", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    await runInDurableObject(a.stub, (_instance, state) => {
      vi.spyOn(state.storage, "setAlarm").mockRejectedValueOnce(new Error("storage unavailable"));
    });

    const first = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1" }]);
    const second = await runBatch(consumerEnv().env, [{ body: eventMessage(event), id: "m1", attempts: 2 }]);

    expect(retried(first.result)).toEqual(["m1"]);
    expect(acked(second.result)).toEqual(["m1"]);
    const alarm = await runInDurableObject(a.stub, (_instance, state) => state.storage.getAlarm());
    const view = await a.stub.lookup(event.id);
    // Either the event was already delivered, or an alarm is set to deliver it.
    expect(view?.state === "delivered" || alarm !== null).toBe(true);
  });
});

describe("faults: alarm runs", () => {
  it("delivers each event once when two alarm runs overlap", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({
      [a.url]: async () => {
        // Keeps the first run under way while the second one starts.
        await sleep(20);
        return new Response(null, { status: 200 });
      },
    });
    const events = [await makeEvent(), await makeEvent()];
    await acceptQuietly(
      a.target,
      events.map((e) => split(e)),
    );
    const trace: string[] = [];
    const alarm = Lane.prototype.alarm;
    vi.spyOn(Lane.prototype, "alarm").mockImplementation(async function (this: Lane) {
      trace.push("enter");
      try {
        return await alarm.call(this);
      } finally {
        trace.push("leave");
      }
    });

    await Promise.all([runAlarm(a.stub), runAlarm(a.stub)]);
    await runAlarm(a.stub);

    // The second run entered before the first left.
    expect(trace.slice(0, 2)).toEqual(["enter", "enter"]);
    for (const event of events) expectPair(await ledger(a, event, calls), "delivered", 1);
  });

  it("changes nothing when the alarm runs twice in a row after its deliveries finished", async () => {
    const ok = await setupTarget();
    const failing = await setupTarget();
    const { calls } = stubFetch({ [ok.url]: 200, [failing.url]: 503 });
    const event = await makeEvent();
    await ok.stub.accept(ok.target, 0, [split(event)]);
    await failing.stub.accept(failing.target, 0, [split(event)]);
    await settle(ok.stub);
    await settle(failing.stub);

    for (const stub of [ok.stub, failing.stub]) {
      await makeDue(stub);
      await runAlarm(stub);
      await runAlarm(stub);
    }

    expectPair(await ledger(ok, event, calls), "delivered", 1);
    expectPair(await ledger(failing, event, calls), "dead", ATTEMPTS);
  });

  it("redelivers an event only when the lane lost the record of its own 2xx (storage failed recording it)", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    vi.spyOn(LaneStore.prototype, "recordAttempt").mockImplementationOnce(() => {
      throw new Error("SQLITE_IOERR");
    });
    await acceptQuietly(a.target, [split(event)]);

    expect(await runAlarmCatching(a.stub)).toBeUndefined();
    expect(await ledger(a, event, calls)).toEqual({ state: "pending", logged: 0, requests: 1, letters: [] });

    await endHold(a.stub);
    await settle(a.stub);

    // The lost 2xx is the one redelivery allowed; the log holds the attempt it could record.
    expect(await ledger(a, event, calls)).toEqual({ state: "delivered", logged: 1, requests: 2, letters: [] });
  });

  // When one delivery of a round throws (here: storage fails recording its attempt), the round's other deliveries
  // are still in flight: the run must wait for them, or the next run would pick the same rows and send them again.
  it("does not resend a round's in-flight deliveries after one delivery of the round failed to record", async () => {
    const a = await setupTarget();
    const events = [await makeEvent(), await makeEvent(), await makeEvent()];
    const [first, ...others] = events;
    if (!first) throw new Error("no event");
    // Plain flags, polled: a promise resolved from the test would run the lane's code in the test's context.
    const gate = { released: false, hanging: 0 };
    const seen = new Set<string>();
    const { calls } = stubFetch({
      [a.url]: async (call: RecordedRequest) => {
        const id = call.headers.get("webhook-id") ?? "";
        if (id !== first.id && !seen.has(id)) {
          seen.add(id);
          gate.hanging++;
          await until(() => gate.released);
        }
        return new Response(null, { status: 200 });
      },
    });
    let threw = false;
    const record = LaneStore.prototype.recordAttempt;
    vi.spyOn(LaneStore.prototype, "recordAttempt").mockImplementation(function (this: LaneStore, ...args) {
      if (args[0].event_id === first.id && !threw) {
        threw = true;
        throw new Error("SQLITE_IOERR");
      }
      return record.apply(this, args);
    });
    await acceptQuietly(
      a.target,
      events.map((e) => split(e)),
    );

    const firstRun = runAlarmCatching(a.stub);
    await until(() => threw && gate.hanging === others.length);
    // A run that waits for its in-flight deliveries cannot end before they are released: give it a moment, and
    // only if it has ended (the bug) run the next alarm to completion while they still hang.
    const ended = await Promise.race([firstRun.then(() => true), sleep(200).then(() => false)]);
    await makeDue(a.stub);
    const second = runAlarmCatching(a.stub);
    if (ended) await second;
    gate.released = true;
    await Promise.all([firstRun, second]);
    await settle(a.stub);

    for (const event of others) expect(requestsFor(calls, a.url, event.id)).toHaveLength(1);
  });
});

describe("faults: a consumer batch retried after its lanes accepted", () => {
  it("delivers each (event, target) pair once when the same batch runs twice", async () => {
    const a = await setupTarget();
    const b = await setupTarget({ lanes: 3 });
    const { calls } = stubFetch({ [a.url]: 200, [b.url]: 200 });
    const events = [await makeEvent(), await makeEvent(), await makeEvent(), await makeEvent()];
    const batch = events.map((e, i) => ({ body: eventMessage(e), id: `m${i}` }));

    const first = await runBatch(consumerEnv().env, batch);
    const second = await runBatch(consumerEnv().env, batch);
    for (let shard = 0; shard < 3; shard++) await settle(lane(b.id, shard));
    await settle(a.stub);

    expect(acked(first.result)).toEqual(["m0", "m1", "m2", "m3"]);
    expect(acked(second.result)).toEqual(["m0", "m1", "m2", "m3"]);
    for (const event of events) {
      expectPair(await ledger(a, event, calls), "delivered", 1);
      expectPair(await ledger({ ...b, lanes: 3 }, event, calls), "delivered", 1);
    }
  });
});

describe("faults: a 410 whose disable write fails", () => {
  it("keeps owing the disable and writes it on a later run; the pending deliveries it killed are dead-lettered", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 410 });
    const put = env.TARGETS.put.bind(env.TARGETS);
    let refuse = true;
    vi.spyOn(env.TARGETS, "put").mockImplementation((async (key: string, ...rest: unknown[]) => {
      if (refuse) throw new Error("KV write failed");
      return (put as (...args: unknown[]) => Promise<void>)(key, ...rest);
    }) as typeof env.TARGETS.put);
    const event = await makeEvent();
    await acceptQuietly(a.target, [split(event)]);

    await runAlarm(a.stub);

    expect(await getTarget(env.TARGETS, a.id)).toMatchObject({ enabled: true });
    refuse = false;
    await endHold(a.stub);
    await runAlarm(a.stub);

    expect(await getTarget(env.TARGETS, a.id)).toMatchObject({ enabled: false });
    expectPair(await ledger(a, event, calls), "dead", 1);
  });

  // While the 410 disable is still owed (its KV write failed), KV still says enabled: the lane must treat its
  // target as disabled meanwhile, or new events would go to the target that answered 410 Gone.
  it("sends nothing more to a target that answered 410 while the disable write is still owed", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 410 });
    const put = env.TARGETS.put.bind(env.TARGETS);
    vi.spyOn(env.TARGETS, "put").mockImplementation((async (key: string, ...rest: unknown[]) => {
      if (key.startsWith("target:")) throw new Error("KV write failed");
      return (put as (...args: unknown[]) => Promise<void>)(key, ...rest);
    }) as typeof env.TARGETS.put);
    const gone = await makeEvent();
    const later = await makeEvent();
    await acceptQuietly(a.target, [split(gone)]);
    await runAlarm(a.stub);

    await acceptQuietly(a.target, [split(later)]);
    await runAlarm(a.stub);

    expect(requestsFor(calls, a.url, gone.id)).toHaveLength(1);
    expect(requestsFor(calls, a.url, later.id)).toHaveLength(0);
  });
});
