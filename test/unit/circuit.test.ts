import { describe, expect, it } from "vitest";
import { afterAttempt, allowance, CLOSED, MAX_PROBE_SECONDS } from "../../src/lanes/circuit";

const opts = { threshold: 3, probeSeconds: 5 };
const T = 1_000_000;

function fail(times: number, start = CLOSED, at = T) {
  let circuit = start;
  for (let i = 0; i < times; i++) circuit = afterAttempt(circuit, false, at, opts, circuit.state === "open");
  return circuit;
}

describe("circuit breaker", () => {
  it("stays closed below the threshold of consecutive failures, and a success resets the count", () => {
    const twice = fail(2);
    expect(twice).toEqual({ state: "closed", failures: 2 });
    expect(afterAttempt(twice, true, T, opts)).toEqual(CLOSED);
    expect(fail(2, afterAttempt(twice, true, T, opts)).state).toBe("closed");
  });

  it("opens at the threshold with the first probe one probe interval away", () => {
    expect(fail(3)).toEqual({ state: "open", failures: 3, openedAt: T, probes: 0, probeAt: T + 5_000 });
  });

  it("allows everything when closed, nothing before the probe time, one probe from then on", () => {
    const open = fail(3);
    expect(allowance(CLOSED, T)).toBe("all");
    expect(allowance(open, T + 4_999)).toBe("none");
    expect(allowance(open, T + 5_000)).toBe("probe");
  });

  it("doubles the probe interval per failed probe, up to the cap", () => {
    let circuit = fail(3);
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      circuit = afterAttempt(circuit, false, T, opts, true);
      waits.push(((circuit.probeAt ?? 0) - T) / 1000);
    }
    expect(waits).toEqual([10, 20, 40, 80, 160, 320, 600, 600, 600, 600]);
    expect(MAX_PROBE_SECONDS).toBe(600);
    expect(circuit.openedAt).toBe(T);
  });

  it("counts, but does not treat as failed probes, attempts that were in flight when it opened", () => {
    let circuit = fail(3);
    for (let i = 0; i < 5; i++) circuit = afterAttempt(circuit, false, T + 100, opts, false);
    expect(circuit).toMatchObject({ state: "open", failures: 8, probes: 0, probeAt: T + 5_000 });
  });

  it("closes on the first success of a probe", () => {
    expect(afterAttempt(fail(5), true, T, opts)).toEqual(CLOSED);
  });
});
