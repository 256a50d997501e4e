/**
 * A lane's circuit breaker, as pure state transitions. After `threshold` consecutive failed attempts the
 * circuit opens: the lane stops spending attempts on a target that is down and instead probes it with a single
 * delivery at a growing interval (first `probeSeconds`, doubling up to {@link MAX_PROBE_SECONDS}). The first 2xx
 * closes it. Deliveries waiting meanwhile keep their retry budget: only real attempts count.
 */

/** The longest wait between two probes of an open circuit. */
export const MAX_PROBE_SECONDS = 600;

export type Circuit = {
  state: "closed" | "open";
  /** Consecutive failed attempts, reset by a 2xx. */
  failures: number;
  /** While open: when it opened, and when the next probe may go (ms since epoch). */
  openedAt?: number;
  probeAt?: number;
  /** Probes that failed since it opened; sets the interval. */
  probes?: number;
};

export const CLOSED: Circuit = { state: "closed", failures: 0 };

function probeDelayMs(probes: number, probeSeconds: number): number {
  return Math.min(MAX_PROBE_SECONDS, probeSeconds * 2 ** Math.min(probes, 20)) * 1000;
}

/**
 * The circuit after an attempt's outcome. `probe` says the attempt was the open circuit's probe: only a failed
 * probe lengthens the interval. Attempts already in flight when the circuit opened fail on their own, and
 * counting them as probes would push the first real probe out by minutes.
 */
export function afterAttempt(
  circuit: Circuit,
  ok: boolean,
  nowMs: number,
  opts: { threshold: number; probeSeconds: number },
  probe = false,
): Circuit {
  if (ok) return CLOSED;
  const failures = circuit.failures + 1;
  if (circuit.state === "open" && !probe) return { ...circuit, failures };
  if (circuit.state === "open") {
    const probes = (circuit.probes ?? 0) + 1;
    return { ...circuit, failures, probes, probeAt: nowMs + probeDelayMs(probes, opts.probeSeconds) };
  }
  if (failures < opts.threshold) return { state: "closed", failures };
  return { state: "open", failures, openedAt: nowMs, probes: 0, probeAt: nowMs + probeDelayMs(0, opts.probeSeconds) };
}

/**
 * How many attempts the lane may start now: all it likes when closed, one probe once an open circuit's probe is
 * due, none before.
 */
export function allowance(circuit: Circuit, nowMs: number): "all" | "probe" | "none" {
  if (circuit.state === "closed") return "all";
  return (circuit.probeAt ?? 0) <= nowMs ? "probe" : "none";
}
