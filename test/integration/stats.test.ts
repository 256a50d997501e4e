import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { REFUSALS_FLUSH_MS } from "../../src/stats/record";
import type { StatsSummary } from "../../src/stats/schema";
import { adminClient, errorOf } from "../helpers/admin-client";
import { makeEvent, runBatch, split, stubFetch } from "../helpers/consumer-harness";
import { acceptQuietly, overrideLaneEnv } from "../helpers/lane-faults";
import { ATTEMPTS, settle, setupTarget } from "../helpers/lanes";

/**
 * The console's counters (src/stats/): refusals counted after the ingress answered, accepted events and decider
 * verdicts once per event by the consumer, delivered/retried/dead per target by the lanes, read through
 * `GET /admin/stats`. Counting never costs the work it counts: a failing Stats object loses only the counts.
 */

type Summary = StatsSummary & { window: string };

async function stats(window = "1h"): Promise<Summary> {
  const res = await adminClient().call("GET", `/admin/stats?window=${window}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Summary;
}

/** Posts a callback through the relay's fetch handler and waits for what it left to `waitUntil`. */
async function post(req: Request, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(req, { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A Stats binding that throws; `idFromName` records that the relay did try it. */
function brokenStats() {
  const idFromName = vi.fn(() => {
    throw new Error("stats unavailable");
  });
  return { binding: { idFromName } as unknown as Env["STATS"], idFromName };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("stats: refusals at ingress", () => {
  const tencent = () => new Request("http://relay.test/tencent?contenttype=json", { method: "POST", body: "{}" });
  const netease = () => new Request("http://relay.test/netease/cc", { method: "POST", body: "{}" });
  /** The isolate remembers when it last sent its counts, across tests: this clock only moves forward. */
  let clock = Date.now();
  /** Moves the clock past the isolate's flush interval, so the next refusal sends what is counted. */
  const flushDue = () => {
    clock = Math.max(clock, Date.now()) + REFUSALS_FLUSH_MS + 1;
    vi.setSystemTime(clock);
  };

  it("counts refused callbacks by their error code, in either provider's format", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    flushDue();
    await post(tencent());
    const before = (await stats()).totals.refused.MISSING_CREDENTIALS ?? 0;
    expect((await post(tencent())).status).toBe(401);
    flushDue();
    expect((await post(netease())).status).toBe(401);
    const after = (await stats()).totals.refused.MISSING_CREDENTIALS ?? 0;
    expect(after - before).toBe(2);
  });

  it("sends a flood of refusals in one call per flush interval, not one call each", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    flushDue();
    const calls = vi.spyOn(env.STATS, "idFromName");
    for (let i = 0; i < 20; i++) expect((await post(tencent())).status).toBe(401);
    expect(calls).toHaveBeenCalledTimes(1);
  });

  it("answers the provider exactly as before when the Stats object fails", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    flushDue();
    const broken = brokenStats();
    const res = await post(tencent(), { STATS: broken.binding });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { ErrorInfo: string }).ErrorInfo).toMatch(/^MISSING_CREDENTIALS: /);
    expect(broken.idFromName).toHaveBeenCalled();
  });
});

describe("stats: the consumer", () => {
  it("counts an accepted event once by provider however often its message is retried, and decider verdicts", async () => {
    const before = (await stats()).totals;
    const plain = await makeEvent({ provider: "netease" });
    const denied = { ...(await makeEvent()), decision: "deny" as const, decidedby: "words" };
    const fallback = { ...(await makeEvent()), decision: "allow" as const, decidedby: "fallback" };
    const message = (e: typeof plain) => ({ v: 1, kind: "event", ...split(e) });
    await runBatch(env, [
      { body: message(plain) },
      { body: message(plain), attempts: 2 },
      { body: message(denied) },
      { body: message(fallback) },
    ]);
    const after = (await stats()).totals;
    expect((after.accepted.netease ?? 0) - (before.accepted.netease ?? 0)).toBe(1);
    expect((after.accepted.tencent ?? 0) - (before.accepted.tencent ?? 0)).toBe(2);
    expect((after.verdict["words:deny"] ?? 0) - (before.verdict["words:deny"] ?? 0)).toBe(1);
    expect((after.fallback.allow ?? 0) - (before.fallback.allow ?? 0)).toBe(1);
  });

  it("still acks its messages when the Stats object fails", async () => {
    const event = await makeEvent();
    const broken = brokenStats();
    const { result } = await runBatch({ ...env, STATS: broken.binding } as Env, [
      { body: { v: 1, kind: "event", ...split(event) }, id: "m0" },
    ]);
    expect(result.explicitAcks).toEqual(["m0"]);
    expect(result.retryMessages).toEqual([]);
    expect(broken.idFromName).toHaveBeenCalled();
  });
});

describe("stats: the lanes", () => {
  it("counts delivered, retried and dead per target", async () => {
    const ok = await setupTarget();
    const failing = await setupTarget();
    stubFetch({ [ok.url]: 200, [failing.url]: 500 });
    const event = split(await makeEvent());
    await acceptQuietly(ok.target, [event]);
    await acceptQuietly(failing.target, [event]);
    await settle(ok.stub);
    await settle(failing.stub);

    const { totals } = await stats();
    expect(totals.delivered[ok.id]).toBe(1);
    expect(totals.retried[ok.id]).toBeUndefined();
    // Every attempt but the last is retried; the last makes it dead.
    expect(totals.retried[failing.id]).toBe(ATTEMPTS - 1);
    expect(totals.dead[failing.id]).toBe(1);
  });

  it("delivers as before when the Stats object fails", async () => {
    const ok = await setupTarget();
    stubFetch({ [ok.url]: 200 });
    await acceptQuietly(ok.target, [split(await makeEvent())]);
    const restore = await overrideLaneEnv(ok.stub, { STATS: brokenStats().binding });
    const status = await settle(ok.stub);
    await restore();
    expect(status).toMatchObject({ pending: 0, delivered: 1 });
    expect((await stats()).totals.delivered[ok.id]).toBeUndefined();
  });
});

describe("stats: GET /admin/stats", () => {
  it("answers a day in 24 hourly slices and an hour in 12", async () => {
    const day = await stats("1d");
    expect(day.window).toBe("1d");
    expect(day.series).toHaveLength(24);
    expect((await stats("1h")).series).toHaveLength(12);
  });

  it("refuses another window with 400", async () => {
    for (const window of ["2h", "toString", ""]) {
      const res = await adminClient().call("GET", `/admin/stats?window=${window}`);
      expect(res.status, window).toBe(400);
    }
  });

  it("answers 503 when the Stats object fails", async () => {
    const res = await adminClient({ STATS: brokenStats().binding }).call("GET", "/admin/stats");
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("INTERNAL");
  });
});
