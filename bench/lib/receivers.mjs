// Webhook receivers for the fan-out bench: plain node:http servers on 127.0.0.1 that answer 200 at once and count.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `n` receivers; each keeps its first request (to check the relay's signature) and a delivery count. */
export async function startReceivers(n) {
  let count = 0;
  let lastAt = 0;
  const firsts = [];
  const servers = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const server = createServer((req, res) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
          count++;
          lastAt = performance.now();
          if (!firsts[i]) firsts[i] = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
          res.writeHead(200, { "content-length": "0" }).end();
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
    lastAt: () => lastAt,
    firsts,
    reset() {
      count = 0;
      lastAt = 0;
      firsts.length = 0;
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
