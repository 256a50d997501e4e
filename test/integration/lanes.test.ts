import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { putTarget } from "../../src/config/store";
import type { Target, TargetWithId } from "../../src/config/target";
import { verify } from "../../src/delivery/signature";
import type { CloudEvent } from "../../src/event";
import type { Lane } from "../../src/lanes/lane";
import { adminClient } from "../helpers/admin-client";
import { hangUntilAborted, makeEvent, makeTarget, split, stubFetch } from "../helpers/consumer-harness";
import { ATTEMPTS, deadLetters, forgetTarget, lane, makeDue, runAlarm, settle, setupTarget } from "../helpers/lanes";

afterEach(() => {
  vi.restoreAllMocks();
});

async function accept(target: TargetWithId, events: CloudEvent[], replay?: string) {
  return lane(target.id).accept(
    target,
    0,
    events.map((e) => ({ ...split(e), ...(replay !== undefined && { replay }) })),
  );
}

describe("lane: delivery", () => {
  it("stores accepted events before answering, then delivers each once, signed, and logs it delivered", async () => {
    const { url, target, stub } = await setupTarget();
    const { calls } = stubFetch({ [url]: 200 });
    const events = [await makeEvent(), await makeEvent()];

    expect(await accept(target, events)).toEqual({ accepted: 2, duplicates: 0 });
    expect((await stub.status()).pending + (await stub.status()).delivered).toBe(2);
    const status = await settle(stub);

    expect(status).toMatchObject({ pending: 0, delivered: 2, dead: 0, circuit: "closed" });
    expect(calls.map((c) => c.headers.get("webhook-id")).sort()).toEqual(events.map((e) => e.id).sort());
    for (const call of calls) {
      const headers = {
        id: call.headers.get("webhook-id") ?? "",
        timestamp: call.headers.get("webhook-timestamp") ?? "",
        signature: call.headers.get("webhook-signature") ?? "",
      };
      expect(await verify(target.secret, headers, call.body)).toBe(true);
    }
    const view = await stub.lookup(events[0]?.id ?? "");
    expect(view).toMatchObject({ target: target.id, state: "delivered", attempts: [{ status: 200 }] });
    expect(view?.attempts[0]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("records each of many attempts written together on its own delivery", async () => {
    const { url, target, stub } = await setupTarget();
    const events = await Promise.all(Array.from({ length: 30 }, () => makeEvent()));
    // Every third event fails: the records of one run are written by one statement, and each must reach its row.
    const failing = new Set(events.filter((_, i) => i % 3 === 0).map((e) => e.id));
    stubFetch({
      [url]: (call) => new Response(null, { status: failing.has(call.headers.get("webhook-id") ?? "") ? 503 : 200 }),
    });
    await accept(target, events);

    await runAlarm(stub);

    for (const event of events) {
      const view = await stub.lookup(event.id);
      const status = failing.has(event.id) ? 503 : 200;
      expect(view).toMatchObject({ state: status === 200 ? "delivered" : "pending", attempts: [{ status }] });
    }
    expect(await stub.status()).toMatchObject({ pending: 10, delivered: 20 });
  });
});

describe("lane: dedupe", () => {
  it("delivers an event accepted twice (a provider's duplicate, or a consumer retried) once", async () => {
    const { url, target, stub } = await setupTarget();
    const { calls } = stubFetch({ [url]: 200 });
    const event = await makeEvent();

    await accept(target, [event]);
    await settle(stub);
    expect(await accept(target, [event])).toEqual({ accepted: 0, duplicates: 1 });
    await settle(stub);

    expect(calls).toHaveLength(1);
  });

  it("delivers the same event again for an operator's replay, once per replay id", async () => {
    const { url, target, stub } = await setupTarget();
    const { calls } = stubFetch({ [url]: 200 });
    const event = await makeEvent();
    await accept(target, [event]);
    await settle(stub);

    expect(await accept(target, [event], "replay-1")).toEqual({ accepted: 1, duplicates: 0 });
    await settle(stub);
    expect(await accept(target, [event], "replay-1")).toEqual({ accepted: 0, duplicates: 1 });
    await settle(stub);

    expect(calls).toHaveLength(2);
    expect((await stub.lookup(event.id))?.attempts).toHaveLength(2);
  });
});

describe("lane: retries and dead letters", () => {
  it("retries a failing delivery on the schedule and delivers it on the 3rd attempt", async () => {
    const { url, target, stub } = await setupTarget();
    let n = 0;
    const { calls } = stubFetch({ [url]: () => new Response(null, { status: ++n < 3 ? 503 : 200 }) });
    const event = await makeEvent();
    await accept(target, [event]);

    await runAlarm(stub);
    const pending = await stub.lookup(event.id);
    expect(pending?.state).toBe("pending");
    // The first retry waits 1 s ± 20 %, the schedule's first entry.
    const wait = Date.parse(pending?.nextAttemptAt ?? "") - Date.parse(pending?.attempts[0]?.at ?? "");
    expect(wait).toBeGreaterThanOrEqual(800);
    expect(wait).toBeLessThanOrEqual(1_300 + (pending?.attempts[0]?.durationMs ?? 0));
    await settle(stub);

    expect(calls).toHaveLength(3);
    const view = await stub.lookup(event.id);
    expect(view?.state).toBe("delivered");
    expect(view?.attempts.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(view?.attempts[0]?.error).toBe("HTTP 503");
  });

  it("keeps the first 512 bytes of a failing answer in the delivery log", async () => {
    const { url, target, stub } = await setupTarget();
    stubFetch({ [url]: () => new Response(`${"x".repeat(600)}`, { status: 500 }) });
    const event = await makeEvent();
    await accept(target, [event]);
    await runAlarm(stub);

    expect((await stub.lookup(event.id))?.attempts[0]?.response).toBe("x".repeat(512));
  });

  it("dead-letters a delivery after its last scheduled attempt, with its status, error, attempts and event", async () => {
    const { url, target, stub, id } = await setupTarget();
    const { calls } = stubFetch({ [url]: 503 });
    const warn = vi.spyOn(console, "warn");
    const event = await makeEvent();
    await accept(target, [event]);

    const status = await settle(stub);

    expect(calls).toHaveLength(ATTEMPTS);
    expect(status).toMatchObject({ pending: 0, dead: 1 });
    const [letter, ...more] = await deadLetters(id);
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      kind: "delivery",
      target: id,
      lastStatus: 503,
      lastError: "HTTP 503",
      attempts: ATTEMPTS,
      ...split(event),
    });
    // The log line of the death names the dead letter, so an operator can go straight to it.
    const line = warn.mock.calls.map(([l]) => JSON.parse(String(l))).find((l) => l.msg.includes("dead-lettered"));
    expect(line).toMatchObject({ eventId: event.id, target: id, deadLetter: letter?.id });
  });

  it("waits at least as long as a Retry-After that is longer than the schedule", async () => {
    const { url, target, stub } = await setupTarget();
    stubFetch({ [url]: () => new Response(null, { status: 429, headers: { "retry-after": "120" } }) });
    const event = await makeEvent();
    await accept(target, [event]);
    await runAlarm(stub);

    const view = await stub.lookup(event.id);
    const wait = Date.parse(view?.nextAttemptAt ?? "") - Date.parse(view?.attempts[0]?.at ?? "");
    expect(wait).toBeGreaterThanOrEqual(120_000);
  });

  it("retries a delivery that outlasts the target's timeoutMs, recorded as a timeout", async () => {
    const { url, target, stub } = await setupTarget({ timeoutMs: 100 });
    stubFetch({ [url]: hangUntilAborted });
    const event = await makeEvent();
    await accept(target, [event]);
    await runAlarm(stub);

    const view = await stub.lookup(event.id);
    expect(view).toMatchObject({ state: "pending", attempts: [{ error: "timeout" }] });
    expect(view?.attempts[0]?.status).toBeUndefined();
  });

  it("retries a 3xx instead of following it", async () => {
    const { url, target, stub } = await setupTarget();
    const { calls } = stubFetch({ [url]: () => new Response(null, { status: 302, headers: { location: "/x" } }) });
    await accept(target, [await makeEvent()]);
    await runAlarm(stub);

    expect(calls).toHaveLength(1);
    expect(calls[0]?.redirect).toBe("manual");
    expect((await stub.status()).pending).toBe(1);
  });
});

describe("lane: 410 Gone", () => {
  it("disables the target, dead-letters that delivery and every other pending one, and sends nothing more", async () => {
    const { url, target, stub, id } = await setupTarget();
    const { calls } = stubFetch({ [url]: 410 });
    const warn = vi.spyOn(console, "warn");
    const events = [await makeEvent(), await makeEvent(), await makeEvent()];
    await accept(target, events);

    await settle(stub);

    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.length).toBeLessThanOrEqual(events.length);
    const stored = await env.TARGETS.get(`target:${id}`, "json");
    expect(stored).toMatchObject({ enabled: false, disabledReason: expect.stringContaining("410") });
    const letters = await deadLetters(id);
    expect(letters.map((l) => l.event?.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(letters.find((l) => l.lastStatus === 410)?.lastError).toBe("HTTP 410 (target disabled)");
    // Each delivery answered 410 is logged with the id of its dead letter.
    const lines = warn.mock.calls.map(([l]) => JSON.parse(String(l))).filter((l) => l.msg.includes("410 Gone"));
    expect(lines).toHaveLength(calls.length);
    for (const line of lines) {
      expect(events.map((e) => e.id)).toContain(line.eventId);
      expect(line.deadLetter).toEqual(expect.any(String));
      expect(letters.find((l) => l.id === line.deadLetter)?.event?.id, JSON.stringify(line)).toBe(line.eventId);
    }
    const sent = calls.length;
    await accept({ ...target, enabled: false }, [await makeEvent()]);
    await settle(stub);
    expect(calls).toHaveLength(sent);
  });
});

describe("lane: circuit breaker", () => {
  it("opens after 10 consecutive failures, then spends one probe per interval while the rest wait with their budget", async () => {
    const { url, target, stub } = await setupTarget();
    let up = false;
    const { calls } = stubFetch({ [url]: () => new Response(null, { status: up ? 200 : 503 }) });
    const events = await Promise.all(Array.from({ length: 20 }, () => makeEvent()));
    await accept(target, events);

    await runAlarm(stub);
    // Up to 5 more than the threshold were already in flight on the other connections when it opened.
    const open = await stub.status();
    expect(open.circuit).toBe("open");
    expect(calls.length).toBeGreaterThanOrEqual(10);
    expect(calls.length).toBeLessThanOrEqual(15);
    expect(open.consecutiveFailures).toBe(calls.length);
    const before = calls.length;

    await runAlarm(stub);
    expect(calls).toHaveLength(before);

    await makeDue(stub);
    await runAlarm(stub);
    expect(calls).toHaveLength(before + 1);
    expect((await stub.status()).circuit).toBe("open");

    up = true;
    const closed = await settle(stub);
    expect(closed).toMatchObject({ circuit: "closed", consecutiveFailures: 0, pending: 0, delivered: 20, dead: 0 });
    // Waiting in an open circuit spent no attempt: the events never tried while it was open needed exactly one.
    const attempts = await Promise.all(events.map(async (e) => (await stub.lookup(e.id))?.attempts.length ?? 0));
    expect(attempts.filter((n) => n === 1).length).toBeGreaterThanOrEqual(20 - before - 1);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(3);
  });
});

describe("lane: target changes", () => {
  it("dead-letters pending deliveries of a target that was deleted, so they can be replayed", async () => {
    const { url, target, stub, id } = await setupTarget();
    stubFetch({ [url]: 503 });
    const event = await makeEvent();
    await accept(target, [event]);
    await runAlarm(stub);
    await env.TARGETS.delete(`target:${id}`);
    await forgetTarget(stub);

    await settle(stub);

    expect(await deadLetters(id)).toMatchObject([{ lastError: "target deleted", attempts: 1 }]);
    // The lane forgot everything: a new target with this id starts with a clean log and dedupe memory.
    expect(await stub.lookup(event.id)).toBeUndefined();
  });

  it("does not believe a missing KV read within a minute of the consumer handing it the target (KV propagation)", async () => {
    const { url, target, stub, id } = await setupTarget();
    stubFetch({ [url]: 503 });
    await accept(target, [await makeEvent()]);
    await runAlarm(stub);
    await env.TARGETS.delete(`target:${id}`);
    await forgetTarget(stub, { keepSeen: true });

    await makeDue(stub);
    await runAlarm(stub);

    expect(await stub.status()).toMatchObject({ pending: 1, dead: 0 });
    expect(await deadLetters(id)).toEqual([]);
  });

  it("dead-letters pending deliveries of a target that was disabled", async () => {
    const { url, target, stub, id } = await setupTarget();
    stubFetch({ [url]: 503 });
    await accept(target, [await makeEvent()]);
    await runAlarm(stub);
    const { id: _, ...stored } = target;
    await putTarget(env.TARGETS, id, { ...stored, enabled: false });
    await forgetTarget(stub, { keepSeen: true });

    await settle(stub);

    expect(await deadLetters(id)).toMatchObject([{ lastError: "target disabled", attempts: 1 }]);
  });
});

describe("lane: concurrency and rate", () => {
  /** Delivers `events` events through a lane whose target answers after 20 ms; returns the peak in flight. */
  async function peakInFlight(overrides: Partial<Target>, events: number): Promise<number> {
    const { url, target, stub } = await setupTarget(overrides);
    let inFlight = 0;
    let peak = 0;
    stubFetch({
      [url]: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return new Response(null, { status: 200 });
      },
    });
    await accept(target, await Promise.all(Array.from({ length: events }, () => makeEvent())));
    expect(await settle(stub)).toMatchObject({ delivered: events });
    return peak;
  }

  it("keeps at most maxInFlight deliveries in flight at once", async () => {
    expect(await peakInFlight({ maxInFlight: 2 }, 8)).toBe(2);
  });

  it("keeps at most 6 deliveries in flight by default, a Durable Object request's connection limit", async () => {
    expect(await peakInFlight({}, 20)).toBe(6);
  });

  it("splits maxInFlight over a target's lanes", async () => {
    expect(await peakInFlight({ maxInFlight: 4, lanes: 2 }, 8)).toBe(2);
  });

  it("keeps its other connections busy while one answer is slow, past the rows one read takes", async () => {
    // A Paid plan's budget: an alarm run reads its due rows ROUND_ROWS (50) at a time, and delivers 120 here.
    const { url, target, stub } = await setupTarget();
    await runInDurableObject(stub, (instance: Lane) => {
      (instance as unknown as { env: Env }).env = { ...env, SUBREQUEST_BUDGET: "1000" };
    });
    const events = 120;
    let others = 0;
    let release = () => {};
    const othersDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    let slow: "released by the others" | "timed out" | undefined;
    stubFetch({
      [url]: async () => {
        if (!held) {
          held = true;
          // The first delivery answers only once every other one is done (or after 2 s): a lane that waited for
          // it before reading the next rows would leave 70 of them behind it.
          slow = await Promise.race([
            othersDone.then(() => "released by the others" as const),
            new Promise<"timed out">((resolve) => setTimeout(() => resolve("timed out"), 2_000)),
          ]);
        } else if (++others === events - 1) release();
        return new Response(null, { status: 200 });
      },
    });
    await accept(target, await Promise.all(Array.from({ length: events }, () => makeEvent())));

    await runAlarm(stub);

    expect(slow).toBe("released by the others");
    expect(await stub.status()).toMatchObject({ pending: 0, delivered: events });
  });

  it("starts no more than ratePerSecond deliveries per second", async () => {
    const { url, target, stub } = await setupTarget({ ratePerSecond: 20 });
    const starts: number[] = [];
    stubFetch({
      [url]: () => {
        starts.push(Date.now());
        return new Response(null, { status: 200 });
      },
    });
    await accept(target, await Promise.all(Array.from({ length: 5 }, () => makeEvent())));

    await settle(stub);

    expect(starts).toHaveLength(5);
    // 5 starts at 20/s span at least 4 intervals of 50 ms.
    expect((starts[4] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(195);
  });
});

describe("lane: deleting its target (DELETE /admin/targets/:id)", () => {
  it("dead-letters the pending deliveries and forgets the rest, so a new target with the id gets an identical event again", async () => {
    const { url, target, stub, id } = await setupTarget();
    const { calls } = stubFetch({ [url]: 200 });
    const delivered = await makeEvent();
    await accept(target, [delivered]);
    await settle(stub);
    calls.length = 0;
    stubFetch({ [url]: 503 });
    const pending = await makeEvent();
    await accept(target, [pending]);
    await runAlarm(stub);

    const res = await adminClient().call("DELETE", `/admin/targets/${id}`);

    expect(res.status).toBe(204);
    expect(await env.TARGETS.get(`target:${id}`)).toBeNull();
    expect(await deadLetters(id)).toMatchObject([{ lastError: "target deleted", attempts: 1, ...split(pending) }]);
    expect(await stub.lookup(delivered.id)).toBeUndefined();
    const again = stubFetch({ [url]: 200 });
    await putTarget(env.TARGETS, id, makeTarget(url));
    await accept({ ...makeTarget(url), id }, [delivered]);
    await settle(stub);
    expect(again.calls).toHaveLength(1);
  });

  it("keeps the target, and answers 503, when a lane cannot be reached: the DELETE can simply be retried", async () => {
    const { id } = await setupTarget();
    const broken = {
      idFromName: (name: string) => env.LANES.idFromName(name),
      get: () => ({
        retire: () => Promise.reject(new Error("lane unavailable")),
      }),
    } as unknown as DurableObjectNamespace<Lane>;

    const res = await adminClient({ LANES: broken }).call("DELETE", `/admin/targets/${id}`);

    expect(res.status).toBe(503);
    expect(await env.TARGETS.get(`target:${id}`)).not.toBeNull();
  });
});
