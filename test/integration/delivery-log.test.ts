import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as z from "zod/mini";
import type { CloudEvent } from "../../src/event";
import type { Lane } from "../../src/lanes/lane";
import { DeliveryListItem, DeliveryLog } from "../../src/lanes/log";
import { shardOf } from "../../src/lanes/route";
import { adminClient, errorOf } from "../helpers/admin-client";
import { clearKv, makeEvent, split, stubFetch } from "../helpers/consumer-harness";
import { acceptQuietly, overrideLaneEnv } from "../helpers/lane-faults";
import { ATTEMPTS, lane, makeDue, rewriteStorage, runAlarm, settle, setupTarget } from "../helpers/lanes";

/** The test bindings leave these at wrangler.toml's values. */
const RETENTION_MS = 604_800 * 1000;
const CIRCUIT_BREAKER_FAILURES = 10;
const HOUR_MS = 3_600_000;

const EventView = z.object({ event: z.nullable(z.looseObject({ id: z.string() })), deliveries: z.array(DeliveryLog) });
const ListPage = z.object({ items: z.array(DeliveryListItem), cursor: z.optional(z.string()) });

type ListItem = z.infer<typeof DeliveryListItem>;

async function getJson(path: string): Promise<{ status: number; body: unknown; text: string }> {
  const res = await adminClient().call("GET", path);
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
}

async function eventView(id: string) {
  const { status, body, text } = await getJson(`/admin/events/${id}`);
  expect(status).toBe(200);
  return { ...EventView.parse(body), text };
}

async function listPage(target: string, query = "") {
  const { status, body } = await getJson(`/admin/targets/${target}/deliveries${query}`);
  expect(status).toBe(200);
  return ListPage.parse(body);
}

/** Runs SQL in a lane's storage (to age its rows, standing in for time passing). */
async function sql(stub: DurableObjectStub<Lane>, query: string, ...params: SqlStorageValue[]) {
  return rewriteStorage(stub, (state) => state.storage.sql.exec(query, ...params).toArray());
}

/** Ages one delivery: it finished (was last updated) `ago` ms before now. */
async function finishedAgo(stub: DurableObjectStub<Lane>, eventId: string, ago: number) {
  await sql(stub, "UPDATE deliveries SET updated_at = ? WHERE event_id = ?", Date.now() - ago, eventId);
}

/** Moves every pending delivery's next attempt to `at` and the alarm with it, so no run starts meanwhile. */
async function postpone(stub: DurableObjectStub<Lane>, at: number) {
  await runInDurableObject(stub, async (_instance, state) => {
    state.storage.sql.exec("UPDATE deliveries SET next_at = ? WHERE state = 'pending'", at);
    await state.storage.setAlarm(at);
  });
}

beforeEach(async () => {
  await clearKv(env.TARGETS);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("delivery log: GET /admin/events/:id", () => {
  it.each([
    "evt_123",
    `evt_${"A".repeat(32)}`,
    `evt_${"g".repeat(32)}`,
    `evt_${"0".repeat(33)}`,
    `msg_${"0".repeat(32)}`,
  ])("answers 400 INVALID_REQUEST for the malformed id %s", async (id) => {
    await setupTarget();
    const res = await adminClient().call("GET", `/admin/events/${id}`);

    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
  });

  it("answers 404 NOT_FOUND for a well-formed id that no target's lane knows", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 200 });
    await acceptQuietly(a.target, [split(await makeEvent())]);
    const unknown = await makeEvent();

    const res = await adminClient().call("GET", `/admin/events/${unknown.id}`);

    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("NOT_FOUND");
  });

  it("returns the CloudEvent with data byte for byte, and per target: delivered with its 2xx, pending with the failing answer's first 512 bytes and nextAttemptAt", async () => {
    const ok = await setupTarget();
    const failing = await setupTarget();
    const other = await setupTarget();
    const answer = `${"e".repeat(500)}<tail beyond 512 bytes>${"z".repeat(1000)}`;
    stubFetch({ [ok.url]: 204, [failing.url]: () => new Response(answer, { status: 503 }) });
    const event = await makeEvent();
    const raw = '{"eventType":36,"msgId":184409700039655569, "nick":"空格"}';
    const item = { event: split(event).event, data: raw };
    await acceptQuietly(ok.target, [item]);
    await acceptQuietly(failing.target, [item]);
    await acceptQuietly(other.target, [split(await makeEvent())]);

    await runAlarm(ok.stub);
    await runAlarm(failing.stub);
    const scheduled = (await failing.stub.lookup(event.id))?.nextAttemptAt;
    const later = Date.now() + HOUR_MS;
    await postpone(failing.stub, later);
    const view = await eventView(event.id);

    expect(view.text).toContain(`,"data":${raw}},"deliveries":`);
    const { data: _, ...envelope } = event;
    expect(view.event).toEqual({ ...envelope, data: expect.anything() });
    expect(view.deliveries.map((d) => d.target).sort()).toEqual([ok.id, failing.id].sort());
    const delivered = view.deliveries.find((d) => d.target === ok.id);
    expect(delivered).toEqual({
      target: ok.id,
      state: "delivered",
      attempts: [{ at: expect.any(String), status: 204, durationMs: expect.any(Number) }],
    });
    const pending = view.deliveries.find((d) => d.target === failing.id);
    expect(pending).toEqual({
      target: failing.id,
      state: "pending",
      attempts: [
        {
          at: expect.any(String),
          status: 503,
          durationMs: expect.any(Number),
          error: "HTTP 503",
          response: answer.slice(0, 512),
        },
      ],
      nextAttemptAt: new Date(later).toISOString(),
    });
    // The retry the lane scheduled was the schedule's first step, 1 s ± 20 % after the attempt.
    const at = Date.parse(pending?.attempts[0]?.at ?? "");
    expect(Date.parse(scheduled ?? "") - at).toBeGreaterThanOrEqual(800);
    expect(Date.parse(scheduled ?? "") - at).toBeLessThanOrEqual(1300);
  });

  it("shows a dead delivery with every attempt and no nextAttemptAt, and a network failure as an error without a status", async () => {
    const a = await setupTarget();
    let n = 0;
    stubFetch({
      [a.url]: () => {
        n++;
        if (n === 1) throw new TypeError("connection refused");
        return new Response("busy", { status: 503 });
      },
    });
    const event = await makeEvent();
    await acceptQuietly(a.target, [split(event)]);

    await settle(a.stub);
    const [delivery] = (await eventView(event.id)).deliveries;

    expect(delivery?.state).toBe("dead");
    expect(delivery?.nextAttemptAt).toBeUndefined();
    expect(delivery?.attempts).toHaveLength(ATTEMPTS);
    expect(delivery?.attempts[0]).toEqual({
      at: expect.any(String),
      durationMs: expect.any(Number),
      error: "network: connection refused",
    });
    expect(delivery?.attempts.slice(1).map((x) => [x.status, x.response])).toEqual([
      [503, "busy"],
      [503, "busy"],
      [503, "busy"],
    ]);
    const times = delivery?.attempts.map((x) => Date.parse(x.at)) ?? [];
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });

  it("finds the event on the shard its id maps to, for a target with three lanes", async () => {
    const a = await setupTarget({ lanes: 3 });
    stubFetch({ [a.url]: 200 });
    const events = await eventsCoveringShards(3, 1);

    for (const event of events) {
      const shard = shardOf(event.id, 3);
      await acceptQuietly(a.target, [split(event)], shard);
      await runAlarm(lane(a.id, shard));
    }

    for (const event of events) {
      const view = await eventView(event.id);
      expect(view.event?.id).toBe(event.id);
      expect(view.deliveries).toMatchObject([{ target: a.id, state: "delivered" }]);
    }
  });
});

/** Events until every shard of `lanes` has at least `each` of them. */
async function eventsCoveringShards(lanes: number, each: number): Promise<CloudEvent[]> {
  const events: CloudEvent[] = [];
  const counts = new Array<number>(lanes).fill(0);
  while (counts.some((c) => c < each)) {
    const event = await makeEvent();
    const shard = shardOf(event.id, lanes);
    if ((counts[shard] ?? 0) >= each) continue;
    counts[shard] = (counts[shard] ?? 0) + 1;
    events.push(event);
  }
  return events;
}

describe("delivery log: GET /admin/targets/:id/deliveries", () => {
  it("answers 404 NOT_FOUND for an unknown target", async () => {
    const res = await adminClient().call("GET", "/admin/targets/no-such-target/deliveries");

    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("NOT_FOUND");
  });

  it.each(["?state=lost", "?limit=0", "?limit=1001", "?limit=ten", "?since=yesterday", "?cursor=garbage"])(
    "answers 400 INVALID_REQUEST for the query %s",
    async (query) => {
      const a = await setupTarget();

      const res = await adminClient().call("GET", `/admin/targets/${a.id}/deliveries${query}`);

      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
    },
  );

  it("lists deliveries newest first with state, attempts, lastStatus and lastAttemptAt, and nextAttemptAt only while pending", async () => {
    const a = await setupTarget();
    let status = 200;
    stubFetch({ [a.url]: () => new Response(null, { status }) });
    const older = await makeEvent();
    const newer = await makeEvent({ type: "im.group.created" });
    const untried = await makeEvent();
    await acceptQuietly(a.target, [split(older)]);
    await runAlarm(a.stub);
    status = 500;
    await acceptQuietly(a.target, [split(newer)]);
    await runAlarm(a.stub);
    const later = Date.now() + HOUR_MS;
    await postpone(a.stub, later);
    await acceptQuietly(a.target, [split(untried)]);
    await postpone(a.stub, later);
    await sql(a.stub, "UPDATE deliveries SET created_at = ? WHERE event_id = ?", Date.now() - 2000, older.id);
    await sql(a.stub, "UPDATE deliveries SET created_at = ? WHERE event_id = ?", Date.now() - 1000, newer.id);

    const { items, cursor } = await listPage(a.id);

    expect(cursor).toBeUndefined();
    expect(items).toEqual([
      {
        event: untried.id,
        type: "im.message.sent",
        provider: "tencent",
        state: "pending",
        attempts: 0,
        nextAttemptAt: new Date(later).toISOString(),
      },
      {
        event: newer.id,
        type: "im.group.created",
        provider: "tencent",
        state: "pending",
        attempts: 1,
        lastStatus: 500,
        lastAttemptAt: expect.any(String),
        nextAttemptAt: new Date(later).toISOString(),
      },
      {
        event: older.id,
        type: "im.message.sent",
        provider: "tencent",
        state: "delivered",
        attempts: 1,
        lastStatus: 200,
        lastAttemptAt: expect.any(String),
      },
    ]);
  });

  it("pages through all three shards of a target with limit and cursor: every delivery once, newest first, the last page without a cursor", async () => {
    const a = await setupTarget({ lanes: 3 });
    stubFetch({ [a.url]: 200 });
    const events = await eventsCoveringShards(3, 3);
    const base = Date.now() - HOUR_MS;
    for (const [i, event] of events.entries()) {
      const shard = shardOf(event.id, 3);
      await acceptQuietly(a.target, [split(event)], shard);
      // Distinct times, plus one tie across shards, which the event id breaks.
      await sql(
        lane(a.id, shard),
        "UPDATE deliveries SET created_at = ? WHERE event_id = ?",
        base + Math.min(i, 7) * 1000,
        event.id,
      );
    }
    const expected = events
      .map((e, i) => ({ id: e.id, at: base + Math.min(i, 7) * 1000 }))
      .sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1))
      .map((e) => e.id);

    const seen: ListItem[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listPage(a.id, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 20);

    expect(cursor).toBeUndefined();
    expect(seen.map((i) => i.event)).toEqual(expected);
    const status = await adminClient().call("GET", `/admin/targets/${a.id}`);
    const { delivery } = (await status.json()) as { delivery: { pending: number; shards: { pending: number }[] } };
    expect(delivery.pending).toBe(events.length);
    expect(delivery.shards.map((s) => s.pending)).toEqual([3, 3, 3]);
  });

  it("filters by state", async () => {
    const ok = await setupTarget();
    let status = 200;
    stubFetch({ [ok.url]: () => new Response(null, { status }) });
    const delivered = await makeEvent();
    const dead = await makeEvent();
    const pending = await makeEvent();
    await acceptQuietly(ok.target, [split(delivered)]);
    await runAlarm(ok.stub);
    status = 503;
    await acceptQuietly(ok.target, [split(dead)]);
    await settle(ok.stub);
    await acceptQuietly(ok.target, [split(pending)]);
    await postpone(ok.stub, Date.now() + HOUR_MS);

    const ids = async (state: string) => (await listPage(ok.id, `?state=${state}`)).items.map((i) => i.event);

    expect(await ids("delivered")).toEqual([delivered.id]);
    expect(await ids("dead")).toEqual([dead.id]);
    expect(await ids("pending")).toEqual([pending.id]);
    expect((await listPage(ok.id)).items).toHaveLength(3);
  });

  it("filters by since: only deliveries the lane accepted at or after it", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 200 });
    const old = await makeEvent();
    const recent = await makeEvent();
    await acceptQuietly(a.target, [split(old), split(recent)]);
    await settle(a.stub);
    const since = Date.now() - HOUR_MS;
    await sql(a.stub, "UPDATE deliveries SET created_at = ? WHERE event_id = ?", since - 1, old.id);
    await sql(a.stub, "UPDATE deliveries SET created_at = ? WHERE event_id = ?", since, recent.id);

    const page = await listPage(a.id, `?since=${encodeURIComponent(new Date(since).toISOString())}`);

    expect(page.items.map((i) => i.event)).toEqual([recent.id]);
  });
});

describe("delivery log: GET /admin/targets/:id delivery state", () => {
  it("opens the circuit after CIRCUIT_BREAKER_FAILURES consecutive failures, holds waiting deliveries without spending their attempts, and closes on the probe's 2xx", async () => {
    const a = await setupTarget();
    let status = 503;
    const { calls } = stubFetch({ [a.url]: () => new Response(null, { status }) });
    const events = await Promise.all(Array.from({ length: CIRCUIT_BREAKER_FAILURES }, () => makeEvent()));
    const state = async () => {
      const res = await adminClient().call("GET", `/admin/targets/${a.id}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { delivery: Record<string, unknown> }).delivery;
    };

    await acceptQuietly(
      a.target,
      events.slice(0, -1).map((e) => split(e)),
    );
    await runAlarm(a.stub);
    expect(await state()).toMatchObject({ circuit: "closed", pending: CIRCUIT_BREAKER_FAILURES - 1 });

    await acceptQuietly(a.target, [split(events.at(-1) as CloudEvent)]);
    await runAlarm(a.stub);
    const open = await state();
    expect(open).toMatchObject({
      circuit: "open",
      pending: CIRCUIT_BREAKER_FAILURES,
      dead: 0,
      shards: [{ circuit: "open", consecutiveFailures: CIRCUIT_BREAKER_FAILURES, openedAt: expect.any(String) }],
    });
    expect(Date.parse((open.shards as { nextProbeAt: string }[])[0]?.nextProbeAt ?? "")).toBeGreaterThan(Date.now());

    // Due, but the circuit is open and its probe is not: nothing is attempted.
    await sql(a.stub, "UPDATE deliveries SET next_at = 0 WHERE state = 'pending'");
    await runAlarm(a.stub);
    expect(calls.filter((c) => c.url === a.url)).toHaveLength(CIRCUIT_BREAKER_FAILURES);

    status = 200;
    await makeDue(a.stub);
    await runAlarm(a.stub);

    expect(await state()).toMatchObject({ circuit: "closed", pending: 0, shards: [{ consecutiveFailures: 0 }] });
    expect(calls.filter((c) => c.url === a.url)).toHaveLength(2 * CIRCUIT_BREAKER_FAILURES);
    for (const event of events) {
      expect((await a.stub.lookup(event.id))?.attempts.map((x) => x.status)).toEqual([503, 200]);
    }
  });
});

describe("delivery log: pruning", () => {
  it("drops a finished delivery once DELIVERY_LOG_RETENTION has passed since it finished; a younger one stays", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 200 });
    const expired = await makeEvent();
    const kept = await makeEvent();
    await acceptQuietly(a.target, [split(expired), split(kept)]);
    await settle(a.stub);
    await finishedAgo(a.stub, expired.id, RETENTION_MS + 60_000);
    await finishedAgo(a.stub, kept.id, RETENTION_MS - HOUR_MS);

    await runAlarm(a.stub);

    expect((await adminClient().call("GET", `/admin/events/${expired.id}`)).status).toBe(404);
    expect(await sql(a.stub, "SELECT * FROM deliveries WHERE event_id = ?", expired.id)).toEqual([]);
    expect((await eventView(kept.id)).event?.id).toBe(kept.id);
    expect((await listPage(a.id)).items.map((i) => i.event)).toEqual([kept.id]);
  });

  it("never prunes a pending delivery, nor a dead one whose dead letter is not yet written", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 503 });
    const pending = await makeEvent();
    const dead = await makeEvent();
    await acceptQuietly(a.target, [split(dead)]);
    const put = env.TARGETS.put.bind(env.TARGETS);
    vi.spyOn(env.TARGETS, "put").mockImplementation((async (key: string, ...rest: unknown[]) => {
      if (key.startsWith("dead:")) throw new Error("KV write failed");
      return (put as (...args: unknown[]) => Promise<void>)(key, ...rest);
    }) as typeof env.TARGETS.put);
    await settle(a.stub);
    await acceptQuietly(a.target, [split(pending)]);
    await postpone(a.stub, Date.now() + HOUR_MS);
    await finishedAgo(a.stub, dead.id, 10 * RETENTION_MS);
    await finishedAgo(a.stub, pending.id, 10 * RETENTION_MS);

    await runAlarm(a.stub);

    const view = await eventView(dead.id);
    expect(view.event?.id).toBe(dead.id);
    expect(view.deliveries).toMatchObject([{ state: "dead" }]);
    expect((await eventView(pending.id)).deliveries).toMatchObject([{ state: "pending" }]);
  });

  it("keeps the record but drops the payload while the dedupe window outlasts retention: event null, delivery still listed, a duplicate still refused", async () => {
    const a = await setupTarget();
    const b = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200, [b.url]: 200 });
    const event = await makeEvent();
    const restore = await overrideLaneEnv(a.stub, { DEDUPE_WINDOW_SECONDS: String(30 * 86_400) });
    try {
      await acceptQuietly(a.target, [split(event)]);
      await settle(a.stub);
      await finishedAgo(a.stub, event.id, RETENTION_MS + 60_000);

      await runAlarm(a.stub);
      const view = await eventView(event.id);

      expect(view.text.startsWith('{"event":null,')).toBe(true);
      expect(view.deliveries).toMatchObject([{ target: a.id, state: "delivered", attempts: [{ status: 200 }] }]);
      expect((await listPage(a.id)).items.map((i) => i.event)).toEqual([event.id]);
      expect(await a.stub.accept(a.target, 0, [split(event)])).toEqual({ accepted: 0, duplicates: 1 });
      await settle(a.stub);
      expect(calls.filter((c) => c.url === a.url)).toHaveLength(1);

      // Another lane that still keeps the payload supplies the event.
      await acceptQuietly(b.target, [split(event)]);
      const both = await eventView(event.id);
      expect(both.event?.id).toBe(event.id);
      expect(both.deliveries.map((d) => d.target).sort()).toEqual([a.id, b.id].sort());
    } finally {
      await restore();
    }
  });
});

describe("delivery log: edge cases", () => {
  // prune() removes nothing before `retention` (payload) and `max(retention, dedupe)` (record): waking earlier
  // would re-run the alarm back to back, doing nothing each time.
  it("after a run that has nothing to prune, sets the next alarm no earlier than the delivery's retention ends", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    await acceptQuietly(a.target, [split(event)]);
    await settle(a.stub);
    const finishedAt = Date.now() - 2 * 86_400_000;
    await sql(a.stub, "UPDATE deliveries SET updated_at = ? WHERE event_id = ?", finishedAt, event.id);

    try {
      await runAlarm(a.stub);
      const alarm = await runInDurableObject(a.stub, (_instance, state) => state.storage.getAlarm());

      expect((await eventView(event.id)).event?.id).toBe(event.id);
      expect(alarm).toBeGreaterThanOrEqual(finishedAt + RETENTION_MS);
    } finally {
      // Stops the back-to-back alarms this bug causes from running through the rest of the file.
      await sql(a.stub, "DELETE FROM deliveries WHERE event_id = ?", event.id);
      await runInDurableObject(a.stub, (_instance, state) => state.storage.deleteAlarm());
    }
  });

  // A stored target that fails its schema keeps its pending deliveries (faults.test.ts #5): the operator must be
  // able to see them while they wait for the fix.
  it("shows the pending delivery of a target whose stored config fails its schema", async () => {
    const a = await setupTarget();
    stubFetch({ [a.url]: 200 });
    const event = await makeEvent();
    await acceptQuietly(a.target, [split(event)]);
    await env.TARGETS.put(`target:${a.id}`, JSON.stringify({ ...a.stored, url: "ftp://broken.example.test" }));
    await runAlarm(a.stub);
    expect(await a.stub.lookup(event.id)).toMatchObject({ state: "pending" });

    const res = await adminClient().call("GET", `/admin/events/${event.id}`);

    expect(res.status).toBe(200);
  });
});
