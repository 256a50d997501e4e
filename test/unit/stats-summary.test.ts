import { describe, expect, it } from "vitest";
import { summarize } from "../../src/stats/summary";

const HOUR = 3600_000;
const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const minute = (ms: number) => Math.floor(ms / 60_000);

describe("stats summary", () => {
  it("sums rows into totals by kind and label, and into the slice each minute falls in", () => {
    const since = now - 24 * HOUR;
    const rows = [
      { minute: minute(since + 10 * 60_000), kind: "delivered", label: "a", n: 2 },
      { minute: minute(since + 30 * 60_000), kind: "delivered", label: "a", n: 3 },
      { minute: minute(now - 60_000), kind: "dead", label: "b", n: 1 },
      { minute: minute(now - 60_000), kind: "refused", label: "BAD_SIGNATURE", n: 4 },
      { minute: minute(now - 60_000), kind: "verdict", label: "words:deny", n: 1 },
    ];
    const { totals, series } = summarize(rows, since, now, 24);
    expect(totals.delivered).toEqual({ a: 5 });
    expect(totals.dead).toEqual({ b: 1 });
    expect(totals.refused).toEqual({ BAD_SIGNATURE: 4 });
    expect(totals.verdict).toEqual({ "words:deny": 1 });
    expect(series).toHaveLength(24);
    expect(series[0]).toMatchObject({ at: new Date(since).toISOString(), delivered: 5, dead: 0 });
    expect(series[23]).toMatchObject({ dead: 1, refused: 4, delivered: 0 });
  });

  it("ignores kinds it does not know, and puts a minute just before the window in the first slice", () => {
    const since = now - HOUR;
    const rows = [
      { minute: minute(since) - 0, kind: "accepted", label: "tencent", n: 1 },
      { minute: minute(now), kind: "nonsense", label: "x", n: 9 },
    ];
    const { totals, series } = summarize(rows, since + 30_000, now, 12);
    expect(totals.accepted).toEqual({ tencent: 1 });
    expect(Object.keys(totals)).not.toContain("nonsense");
    expect(series[0]?.accepted).toBe(1);
  });
});
