import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE,
  MAX_DELAY_SECONDS,
  parseRetryAfter,
  parseRetrySchedule,
  retryDelay,
  withJitter,
} from "../../src/queue/backoff";

describe("constants", () => {
  it("caps a single delay at one day: lanes retry from their own alarm, not bound by the Queue's 12 hours", () => {
    expect(MAX_DELAY_SECONDS).toBe(86_400);
  });

  it("uses the documented default schedule, every entry within the cap", () => {
    expect(DEFAULT_RETRY_SCHEDULE).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(DEFAULT_RETRY_SCHEDULE.every((s) => s <= MAX_DELAY_SECONDS)).toBe(true);
  });
});

describe("parseRetrySchedule", () => {
  it("returns the default schedule for undefined, empty or blank text", () => {
    for (const text of [undefined, "", "   "]) expect(parseRetrySchedule(text)).toEqual(DEFAULT_RETRY_SCHEDULE);
  });

  it("returns a copy so callers cannot mutate the default", () => {
    const schedule = parseRetrySchedule(undefined);
    schedule[0] = 999;
    expect(DEFAULT_RETRY_SCHEDULE[0]).toBe(5);
  });

  it("parses comma-separated integers with surrounding whitespace", () => {
    expect(parseRetrySchedule(" 5, 300 ,1800\t,0 ")).toEqual([5, 300, 1800, 0]);
  });

  it("accepts a single entry, one beyond the Queue's 12-hour cap, and exactly 86400", () => {
    expect(parseRetrySchedule("43201")).toEqual([43201]);
    expect(parseRetrySchedule("86400")).toEqual([86400]);
  });

  it("accepts 50 entries and rejects 51", () => {
    expect(parseRetrySchedule(Array(50).fill("1").join(","))).toHaveLength(50);
    expect(() => parseRetrySchedule(Array(51).fill("1").join(","))).toThrow("51 entries, at most 50");
  });

  it("rejects a negative entry, naming it", () => {
    expect(() => parseRetrySchedule("5,-1")).toThrow('entry 2 "-1" is not a non-negative integer');
  });

  it("rejects non-integer entries, naming them", () => {
    expect(() => parseRetrySchedule("1.5")).toThrow('entry 1 "1.5" is not a non-negative integer');
    expect(() => parseRetrySchedule("5,1e3")).toThrow('entry 2 "1e3"');
    expect(() => parseRetrySchedule("5,ten")).toThrow('entry 2 "ten"');
    expect(() => parseRetrySchedule("5 300")).toThrow('entry 1 "5 300"');
  });

  it("rejects an entry above 86400, naming it", () => {
    expect(() => parseRetrySchedule("5,86401")).toThrow('entry 2 "86401" exceeds the 86400 s');
    expect(() => parseRetrySchedule("99999999999999999999999")).toThrow("exceeds");
  });

  it("rejects an empty entry, naming its position", () => {
    expect(() => parseRetrySchedule("5,,300")).toThrow("entry 2 is empty");
    expect(() => parseRetrySchedule("5,300,")).toThrow("entry 3 is empty");
  });
});

describe("withJitter", () => {
  it("stays within ±20 % over many random draws", () => {
    for (const seconds of [5, 300, 1800, 36000]) {
      const low = Math.round(seconds * 0.8);
      const high = Math.round(seconds * 1.2);
      for (let i = 0; i < 2000; i++) {
        const jittered = withJitter(seconds);
        expect(Number.isInteger(jittered)).toBe(true);
        expect(jittered).toBeGreaterThanOrEqual(low);
        expect(jittered).toBeLessThanOrEqual(high);
      }
    }
  });

  it("returns exactly -20 % when random is 0", () => {
    expect(withJitter(300, () => 0)).toBe(240);
    expect(withJitter(5, () => 0)).toBe(4);
  });

  it("returns +20 % (rounded) when random approaches 1", () => {
    expect(withJitter(300, () => 0.999999)).toBe(360);
    expect(withJitter(5, () => 0.999999)).toBe(6);
  });

  it("returns the delay unchanged when random is 0.5", () => {
    expect(withJitter(1800, () => 0.5)).toBe(1800);
  });

  it("keeps 0 at 0", () => {
    expect(withJitter(0, () => 0)).toBe(0);
    expect(withJitter(0, () => 0.999999)).toBe(0);
  });

  it("clamps to the delay cap", () => {
    expect(withJitter(86400, () => 0.999999)).toBe(MAX_DELAY_SECONDS);
    expect(withJitter(80000, () => 0.999999)).toBe(MAX_DELAY_SECONDS);
  });

  it("treats negative and NaN delays as 0", () => {
    expect(withJitter(-10, () => 0.5)).toBe(0);
    expect(withJitter(Number.NaN, () => 0.5)).toBe(0);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0); // Thu, 01 Jan 2026 00:00:00 GMT

  it("returns undefined when the header is absent", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("parses delta-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("86400", now)).toBe(86400);
  });

  it("parses a future IMF-fixdate into seconds from now", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:02:00 GMT", now)).toBe(120);
  });

  it("rounds a partial second up so we never retry early", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:02:00 GMT", now + 500)).toBe(120);
  });

  it("returns 0 for an HTTP-date in the past", () => {
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  });

  it("accepts the obsolete RFC 850 and asctime date forms", () => {
    expect(parseRetryAfter("Thursday, 01-Jan-26 00:02:00 GMT", now)).toBe(120);
    expect(parseRetryAfter("Thu Jan  1 00:02:00 2026", now)).toBe(120);
  });

  it("returns undefined for garbage", () => {
    for (const value of ["", "soon", "-5", "1.5", "12abc", "2026-01-01T00:02:00Z", "Thu, 31 Feb 2026 00:00:00 GMT"]) {
      expect(parseRetryAfter(value, now), value).toBeUndefined();
    }
  });
});

describe("retryDelay", () => {
  it("uses the scheduled delay when there is no Retry-After", () => {
    expect(retryDelay(300, undefined)).toBe(300);
  });

  it("waits longer when Retry-After asks for more than the schedule", () => {
    expect(retryDelay(300, 900)).toBe(900);
  });

  it("never retries sooner than scheduled even if Retry-After is shorter", () => {
    expect(retryDelay(300, 10)).toBe(300);
    expect(retryDelay(300, 0)).toBe(300);
  });

  it("never exceeds the delay cap", () => {
    expect(retryDelay(300, 200_000)).toBe(MAX_DELAY_SECONDS);
    expect(retryDelay(100_000, undefined)).toBe(MAX_DELAY_SECONDS);
  });
});
