// Webhook receivers for the soak: real HTTP servers on 127.0.0.1 that record every request (webhook-id, what
// they answered) and inject faults on demand. Every timer and socket they create is released by close().
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32), so a run's fault pattern can be reproduced with --seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard Webhooks check: v1 HMAC-SHA256 over `id.timestamp.body` with the target's secret. */
function signatureValid(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key)
    .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
    .digest();
  return String(headers["webhook-signature"] ?? "")
    .split(" ")
    .some((sig) => {
      const [version, value] = sig.split(",", 2);
      const given = Buffer.from(value ?? "", "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** Always answers 200. */
export const healthy = () => ({ kind: "ok", status: 200 });

/** Never answers: reads the request and holds the connection until the relay gives up on it (or close()). */
export const never = () => ({ kind: "never" });

/**
 * Fails about `rate` of requests, evenly split between a 5xx answer, a hang longer than the relay's delivery
 * timeout (then the connection is closed without an answer), and a dropped connection (socket.destroy()).
 */
export function flaky({ rate, hangMs, random }) {
  const statuses = [500, 502, 503, 504];
  return () => {
    const r = random();
    if (r >= rate) return { kind: "ok", status: 200 };
    const which = Math.floor((r / rate) * 3);
    if (which === 0) return { kind: "5xx", status: statuses[Math.floor(random() * statuses.length)] };
    if (which === 1) return { kind: "hang", ms: hangMs };
    return { kind: "drop" };
  };
}

/**
 * Starts a receiver. `behaviour()` decides each answer. Returns { name, port, url, stats, down(), up(), close() };
 * `secret` may be set once the target is registered, to verify signatures.
 */
export async function startReceiver({ name, behaviour, clock }) {
  const sockets = new Set();
  const timers = new Set();
  const stats = {
    requests: 0,
    /** Injected failures by kind. */
    injected: { "5xx": 0, hang: 0, drop: 0, never: 0 },
    /** webhook-id → { ok: number of 2xx answers, firstOkAt: ms, seen: [[ms since start, outcome], …] } */
    byId: new Map(),
    badSignature: 0,
    noId: 0,
    /** Periods when the server was closed: [[fromMs, toMs?], …] */
    downtime: [],
  };
  const receiver = { name, port: 0, secret: undefined, stats, url: () => `http://127.0.0.1:${receiver.port}/${name}` };

  const record = (id, outcome, ok) => {
    let entry = stats.byId.get(id);
    if (!entry) {
      entry = { ok: 0, firstOkAt: undefined, seen: [] };
      stats.byId.set(id, entry);
    }
    const now = clock();
    if (ok) entry.ok++;
    if (ok && entry.firstOkAt === undefined) entry.firstOkAt = now;
    entry.seen.push([now, outcome]);
  };

  const handle = (req, res, body) => {
    stats.requests++;
    const id = req.headers["webhook-id"];
    if (typeof id !== "string" || id === "") {
      stats.noId++;
      res.writeHead(400).end();
      return;
    }
    if (receiver.secret && !signatureValid(receiver.secret, req.headers, body)) stats.badSignature++;
    const decision = behaviour();
    switch (decision.kind) {
      case "ok":
        record(id, String(decision.status), true);
        res.writeHead(decision.status, { "content-type": "text/plain" }).end("ok");
        return;
      case "5xx":
        stats.injected["5xx"]++;
        record(id, String(decision.status), false);
        res.writeHead(decision.status, { "content-type": "text/plain" }).end("injected failure");
        return;
      case "hang": {
        stats.injected.hang++;
        record(id, "hang", false);
        const timer = setTimeout(() => {
          timers.delete(timer);
          req.socket.destroy();
        }, decision.ms);
        timers.add(timer);
        return;
      }
      case "drop":
        stats.injected.drop++;
        record(id, "drop", false);
        req.socket.destroy();
        return;
      case "never":
        stats.injected.never++;
        record(id, "never", false);
        return;
    }
  };

  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }, (req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => {});
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_err, socket) => socket.destroy());

  let listening = false;
  const listen = async (port) => {
    // The port was ours a moment ago; retry briefly (bounded) if the OS has not released it yet.
    for (let i = 0; ; i++) {
      try {
        await new Promise((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, "127.0.0.1", () => {
            server.off("error", reject);
            resolve();
          });
        });
        listening = true;
        receiver.port = server.address().port;
        return;
      } catch (err) {
        if (i >= 40 || err.code !== "EADDRINUSE") throw err;
        await sleep(250);
      }
    }
  };

  /** Closes the listening socket and every open connection (keep-alive ones too): the target is down. */
  const shut = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise((resolve) => server.close(() => resolve()));
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  receiver.down = async () => {
    if (listening) stats.downtime.push([clock()]);
    await shut();
  };
  /** Listens again on the same port. */
  receiver.up = async () => {
    if (listening) return;
    await listen(receiver.port);
    const last = stats.downtime.at(-1);
    if (last && last.length === 1) last.push(clock());
  };
  receiver.close = shut;

  await listen(0);
  return receiver;
}
