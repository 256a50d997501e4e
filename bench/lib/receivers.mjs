// Webhook receivers for the fan-out, isolation and deciders benches: plain node:http servers on 127.0.0.1 that answer
// 200 at once and count (targets, or a decider answering one verdict), and a TCP server that accepts connections and
// never answers.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `n` receivers; each keeps its first request (to check the relay's signature) and a delivery count.
 * `delayMs` holds every answer that long (a target that takes time to answer), and `peakInFlight` then tells how
 * many requests were open at once.
 */
export async function startReceivers(n, { delayMs = 0 } = {}) {
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const firsts = [];
  /** webhook-id → performance.now() of its first arrival, for lag per event. */
  const arrivals = new Map();
  const servers = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const server = createServer((req, res) => {
        const chunks = [];
        inFlight++;
        peakInFlight = Math.max(peakInFlight, inFlight);
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
          count++;
          lastAt = performance.now();
          firstAt ||= lastAt;
          const id = req.headers["webhook-id"];
          if (typeof id === "string" && !arrivals.has(id)) arrivals.set(id, lastAt);
          if (!firsts[i]) firsts[i] = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
          const answer = () => {
            inFlight--;
            res.writeHead(200, { "content-length": "0" }).end();
          };
          if (delayMs > 0) setTimeout(answer, delayMs);
          else answer();
        });
      });
      server.keepAliveTimeout = 30_000;
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
      });
    }),
  );
  return {
    urls: servers.map((s, i) => `http://127.0.0.1:${s.address().port}/hook${i}`),
    count: () => count,
    firstAt: () => firstAt,
    lastAt: () => lastAt,
    peakInFlight: () => peakInFlight,
    firsts,
    arrivals,
    reset() {
      count = 0;
      firstAt = 0;
      lastAt = 0;
      peakInFlight = inFlight;
      firsts.length = 0;
      arrivals.clear();
    },
    /** Resolves true once `total` deliveries arrived, false after `timeoutMs`. */
    async waitFor(total, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (count < total && Date.now() < deadline) await sleep(5);
      return count >= total;
    },
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      ),
  };
}

/**
 * A decider that answers every request at once with `answer` (200, JSON), over keep-alive; it counts requests and
 * keeps the first one (to check the relay's signature).
 */
export async function startInstantDecider(answer = { decision: "allow" }) {
  let count = 0;
  let first;
  const body = JSON.stringify(answer);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      count++;
      first ??= { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/decide`,
    count: () => count,
    first: () => first,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A target that hangs: accepts every TCP connection, reads what it is sent and never answers, until the client
 * gives up (the relay's delivery timeout) or close().
 */
export async function startHangingReceiver() {
  const sockets = new Set();
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/hang`,
    connections: () => connections,
    open: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Standard Webhooks check of one received request against a `whsec_` secret. */
export function verifySignature(secret, { headers, body }) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key)
    .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
    .digest();
  return String(headers["webhook-signature"] ?? "")
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .some((s) => {
      const got = Buffer.from(s.slice(3), "base64");
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
}
