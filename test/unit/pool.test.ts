import { describe, expect, it } from "vitest";
import { mapLimit, pool, type Take } from "../../src/pool";

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** `next` over a fixed list of items. */
function from<T>(items: T[]): () => Take<T> {
  let i = 0;
  return () => items[i++];
}

describe("pool", () => {
  it("starts the next item as soon as any one finishes: a held item blocks one slot, not the rest", async () => {
    const held = gate();
    const done: number[] = [];
    await pool(2, from([0, 1, 2, 3, 4, 5]), async (item) => {
      if (item === 0) await held.promise;
      done.push(item);
      // Everything else finished while item 0 held its slot.
      if (done.length === 5) held.open();
    });
    expect(done).toEqual([1, 2, 3, 4, 5, 0]);
  });

  it("never has more than the limit in flight, and uses all of it", async () => {
    let inFlight = 0;
    let peak = 0;
    await pool(3, from(Array.from({ length: 20 }, (_, i) => i)), async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
    });
    expect(peak).toBe(3);
  });

  it("passes the number in flight to next, and a wait looks again once an item finishes", async () => {
    const seen: number[] = [];
    let released = false;
    const started: string[] = [];
    await pool(
      3,
      (inFlight) => {
        seen.push(inFlight);
        if (started.length === 0) return "head";
        // The second item exists only once the first has finished (a conversation's next event).
        if (!released) return "wait";
        return started.includes("next") ? undefined : "next";
      },
      async (item) => {
        started.push(item);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (item === "head") released = true;
      },
    );
    expect(started).toEqual(["head", "next"]);
    expect(seen.slice(0, 3)).toEqual([0, 1, 1]);
  });

  it("ends when next waits with nothing in flight", async () => {
    let asked = 0;
    await pool(
      4,
      () => {
        asked++;
        return "wait";
      },
      async () => {},
    );
    expect(asked).toBe(4);
  });

  it("starts nothing after a throw, waits for those in flight, then rethrows the first error", async () => {
    const held = gate();
    const finished: number[] = [];
    const run = pool(2, from([0, 1, 2, 3]), async (item) => {
      if (item === 0) {
        await held.promise;
        finished.push(0);
        return;
      }
      throw new Error(`item ${item} failed`);
    });
    let settled = false;
    void run.catch(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    held.open();
    await expect(run).rejects.toThrow("item 1 failed");
    expect(finished).toEqual([0]);
  });

  it("rethrows an error of next once those in flight finished", async () => {
    const finished: string[] = [];
    let calls = 0;
    await expect(
      pool(
        2,
        () => {
          calls++;
          if (calls === 1) return "slow";
          throw new Error("storage failed");
        },
        async (item) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          finished.push(item);
        },
      ),
    ).rejects.toThrow("storage failed");
    expect(finished).toEqual(["slow"]);
  });

  it("mapLimit answers each item's result in the items' order, whatever order they finish in", async () => {
    const delays = [15, 1, 8, 0, 4];
    const results = await mapLimit(delays, 2, async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms * 10;
    });
    expect(results).toEqual([150, 10, 80, 0, 40]);
    expect(await mapLimit([], 6, async () => 1)).toEqual([]);
  });
});
