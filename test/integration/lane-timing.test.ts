import { afterEach, describe, expect, it, vi } from "vitest";
import { makeEvent, split, stubFetch } from "../helpers/consumer-harness";
import { overrideLaneEnv } from "../helpers/lane-faults";
import { setupTarget } from "../helpers/lanes";

/**
 * The lane on its own clock: nothing here runs an alarm by hand, so these tests prove that the alarms a lane
 * sets really fire (the other lane tests drive alarms themselves, which would hide a lane that never wakes).
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it holds, for at most `ms`. */
async function eventually(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(50);
  }
  return probe();
}

describe("lane: its own alarms", () => {
  it("delivers accepted events without anyone running its alarm", async () => {
    const a = await setupTarget();
    const { calls } = stubFetch({ [a.url]: 200 });
    const events = [await makeEvent(), await makeEvent()];

    await a.stub.accept(a.target, 0, events.map(split));

    expect(await eventually(async () => (await a.stub.status()).delivered === 2, 5_000)).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it("probes an open circuit on its own after CIRCUIT_PROBE_SECONDS, and closes it once the target is back", {
    timeout: 30_000,
  }, async () => {
    const a = await setupTarget();
    let up = false;
    const { calls } = stubFetch({ [a.url]: () => new Response(null, { status: up ? 200 : 503 }) });
    await overrideLaneEnv(a.stub, { CIRCUIT_BREAKER_FAILURES: "3", CIRCUIT_PROBE_SECONDS: "1" });
    const events = await Promise.all(Array.from({ length: 8 }, () => makeEvent()));

    await a.stub.accept(a.target, 0, events.map(split));
    expect(await eventually(async () => (await a.stub.status()).circuit === "open", 5_000)).toBe(true);
    up = true;

    expect(await eventually(async () => (await a.stub.status()).delivered === 8, 15_000)).toBe(true);
    expect((await a.stub.status()).circuit).toBe("closed");
    expect(calls.length).toBeGreaterThan(8);
  });
});

describe("lane: its own alarms under load", () => {
  it("recovers a target that refused connections while batches kept arriving", { timeout: 60_000 }, async () => {
    const a = await setupTarget();
    let up = false;
    const { calls } = stubFetch({
      [a.url]: async () => {
        if (!up) throw new TypeError("Network connection lost.");
        return new Response(null, { status: 200 });
      },
    });
    await overrideLaneEnv(a.stub, { CIRCUIT_PROBE_SECONDS: "1" });
    const events = await Promise.all(Array.from({ length: 600 }, () => makeEvent()));
    for (let i = 0; i < events.length; i += 100) {
      await a.stub.accept(a.target, 0, events.slice(i, i + 100).map(split));
      await sleep(100);
    }
    expect(await eventually(async () => (await a.stub.status()).circuit === "open", 5_000)).toBe(true);
    up = true;

    // Within a few probe intervals of CIRCUIT_PROBE_SECONDS = 1 (the unit tests pin the interval itself).
    expect(await eventually(async () => (await a.stub.status()).delivered === 600, 10_000)).toBe(true);
    expect(calls.length).toBeGreaterThan(600);
  });
});
