#!/usr/bin/env node
// A tiny webhook receiver for local development: prints each delivery and checks its Standard Webhooks signature.
// Usage: node scripts/receiver.mjs [port] [whsec_secret] [--body]     (or RECEIVER_SECRET=whsec_... )
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

const USAGE = "usage: npm run receiver -- [port] [whsec_secret] [--body]   (or RECEIVER_SECRET=whsec_…)";

/**
 * Why `secret` cannot verify anything, or undefined when it is a Standard Webhooks secret (`whsec_` + base64 of
 * 24–64 bytes, as the relay generates). The admin API shows secrets masked (`whsec_****` + last 4): pasting that
 * one would make every delivery look forged.
 */
export function secretProblem(secret) {
  if (secret.includes("*")) {
    return (
      "that is the masked secret the admin API shows (whsec_****…): use the secret printed once when the target " +
      "was created, or get a new one with POST /admin/targets/<id>/rotate-secret"
    );
  }
  if (!secret.startsWith("whsec_")) return 'a webhook secret starts with "whsec_"';
  const encoded = secret.slice("whsec_".length);
  const bytes = Buffer.from(encoded, "base64");
  if (
    !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ||
    bytes.toString("base64").replace(/=+$/, "") !== encoded.replace(/=+$/, "")
  ) {
    return 'the part after "whsec_" is not base64';
  }
  if (bytes.length < 24 || bytes.length > 64) return `the secret decodes to ${bytes.length} bytes; expected 24–64`;
  return undefined;
}

/** The command line: positional port and secret, and `--body` to print each delivery's body as received. */
function parseArgs(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const [port, secret] = argv.filter((a) => !a.startsWith("--"));
  return { flags, port: port ?? process.env.PORT ?? "9999", secret: secret ?? process.env.RECEIVER_SECRET };
}

function main() {
  const { flags, port: portArg, secret } = parseArgs(process.argv.slice(2));
  const unknown = [...flags].filter((f) => f !== "--body" && f !== "--help");
  if (flags.has("--help") || unknown.length > 0) {
    if (unknown.length > 0) console.error(`unknown option ${unknown.join(", ")}`);
    console.error(USAGE);
    process.exit(unknown.length > 0 ? 2 : 0);
  }
  const port = Number(portArg);
  if (!/^\d{1,5}$/.test(portArg) || port > 65535) {
    console.error(`receiver: "${portArg}" is not a port number\n${USAGE}`);
    process.exit(2);
  }
  const problem = secret === undefined ? undefined : secretProblem(secret);
  if (problem) {
    console.error(`receiver: cannot verify signatures with this secret: ${problem}`);
    process.exit(2);
  }
  const printBody = flags.has("--body");
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
      // The body exactly as received: re-serialising it would change NetEase's 64-bit ids.
      if (printBody) console.log(body);
      res.writeHead(204).end();
    });
  }).listen(port, "127.0.0.1", function () {
    console.log(`receiver listening on http://127.0.0.1:${this.address().port}`);
  });
}

// Run as a script (not imported): argv[1] is this file (Node resolves symlinks in import.meta.url, so do the same).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();
