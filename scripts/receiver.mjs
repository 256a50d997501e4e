#!/usr/bin/env node
// A tiny webhook receiver for local development: prints each delivery and checks its Standard Webhooks signature.
// Usage: node scripts/receiver.mjs [port] [whsec_secret]     (or RECEIVER_SECRET=whsec_... )
// Also imported by scripts/demo.mjs for `verifyWebhook`.
import { createHmac, timingSafeEqual } from "node:crypto";
import { realpathSync } from "node:fs";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

/**
 * Checks a Standard Webhooks signature (dependency-free): `webhook-signature` holds space-separated `v1,<base64>`
 * entries, each an HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}` keyed with the base64 after
 * `whsec_`; the timestamp must be within `toleranceSeconds` of now, both ways.
 *
 * @returns `{ ok: true }` or `{ ok: false, reason }`.
 */
export function verifyWebhook(secret, headers, body, { toleranceSeconds = 300, nowMs = Date.now() } = {}) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (!id || !timestamp || !headers["webhook-signature"]) return { ok: false, reason: "missing webhook-* headers" };
  if (!/^\d+$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) {
    return { ok: false, reason: "timestamp out of tolerance" };
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  const ok = String(headers["webhook-signature"])
    .split(" ")
    .some((sig) => {
      const [version, value] = sig.split(",", 2);
      const given = Buffer.from(value ?? "", "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
  return ok ? { ok: true } : { ok: false, reason: "no matching v1 signature" };
}

function main() {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 9999);
  const secret = process.argv[3] ?? process.env.RECEIVER_SECRET;
  const verified = (headers, body) => {
    if (!secret) return "unchecked (no secret given)";
    const result = verifyWebhook(secret, headers, body);
    return result.ok ? "signature verified ✓" : `SIGNATURE INVALID ✗ (${result.reason})`;
  };

  createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let event = {};
      try {
        event = JSON.parse(body);
      } catch {}
      console.log(
        `${new Date().toISOString()} ${event.type} (${event.provider} ${event.providerevent}) id=${req.headers["webhook-id"]} ${verified(req.headers, body)}`,
      );
      res.writeHead(204).end();
    });
  }).listen(port, "127.0.0.1", () => console.log(`receiver listening on http://127.0.0.1:${port}`));
}

// Run as a script (not imported): argv[1] is this file (Node resolves symlinks in import.meta.url, so do the same).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();
