// Load generation for the ack bench: autocannon at a fixed concurrency over a pool of pre-signed requests, with
// latency taken per response in fractional ms (autocannon's own histogram rounds to whole ms).
import autocannon from "autocannon";

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Sends `amount` requests from `requests` (each connection cycles through the pool) with `connections` in
 * flight. Resolves with throughput, latency percentiles and failures; never runs longer than `maxSeconds`.
 */
export function runLoad({ url, requests, amount, connections, maxSeconds = 60 }) {
  return new Promise((resolvePromise, reject) => {
    const latencies = [];
    const statuses = new Map();
    const t0 = performance.now();
    let last = t0;
    const instance = autocannon(
      {
        url,
        requests,
        amount,
        connections: Math.min(connections, amount),
        pipelining: 1,
        timeout: 10,
        maxOverallRequests: amount,
      },
      (err, result) => {
        clearTimeout(guard);
        if (err) return reject(err);
        latencies.sort((a, b) => a - b);
        const seconds = (last - t0) / 1000;
        resolvePromise({
          sent: result.requests.sent,
          ok: latencies.length,
          failed: result.non2xx + result.errors + result.timeouts,
          statuses: Object.fromEntries(statuses),
          seconds,
          rps: latencies.length / seconds,
          p50: percentile(latencies, 50),
          p90: percentile(latencies, 90),
          p99: percentile(latencies, 99),
          max: latencies.at(-1),
        });
      },
    );
    const guard = setTimeout(() => instance.stop(), maxSeconds * 1000);
    instance.on("response", (_client, status, _bytes, responseTime) => {
      last = performance.now();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
}
