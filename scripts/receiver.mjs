#!/usr/bin/env node
// A tiny webhook receiver for local development: prints each delivery and checks its Standard Webhooks signature.
// Usage: node scripts/receiver.mjs [port] [whsec_secret]     (or RECEIVER_SECRET=whsec_... )
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? process.env.PORT ?? 9999);
const secret = process.argv[3] ?? process.env.RECEIVER_SECRET;

function verified(headers, body) {
  if (!secret) return "unchecked (no secret given)";
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest();
  const ok = String(headers["webhook-signature"] ?? "")
    .split(" ")
    .some((sig) => {
      const [version, value] = sig.split(",", 2);
      const given = Buffer.from(value ?? "", "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
  return ok ? "signature verified ✓" : "SIGNATURE INVALID ✗";
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let event = {};
    try {
      event = JSON.parse(body);
    } catch {}
    console.log(`${new Date().toISOString()} ${event.type} (${event.provider} ${event.providerevent}) id=${req.headers["webhook-id"]} ${verified(req.headers, body)}`);
    res.writeHead(204).end();
  });
}).listen(port, "127.0.0.1", () => console.log(`receiver listening on http://127.0.0.1:${port}`));
