/**
 * Standard Webhooks (https://www.standardwebhooks.com) symmetric signatures: HMAC-SHA256 over
 * `${msgId}.${timestamp}.${body}`, sent as `webhook-signature: v1,<base64>`.
 *
 * Only Web APIs are used so the module runs unchanged in workerd and in Node.
 */

const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 24;
// The spec caps symmetric secrets at 512 bits.
const MAX_SECRET_BYTES = 64;
const DEFAULT_TOLERANCE_SECONDS = 300;
const KEY_CACHE_LIMIT = 100;
const encoder = new TextEncoder();

// Strict RFC 4648 alphabet with padding: `atob` alone tolerates whitespace and missing padding,
// which would let two different config strings name the same key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Decodes a `whsec_` secret into its HMAC key bytes.
 *
 * @param secret - `whsec_` followed by standard, padded base64 of 24–64 bytes.
 * @returns The raw key bytes.
 * @throws Error when the prefix is missing, the base64 is invalid or the key length is out of range.
 */
export function parseSecret(secret: string): Uint8Array<ArrayBuffer> {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('webhook secret must start with "whsec_"');
  const key = decodeBase64(secret.slice(SECRET_PREFIX.length));
  if (key === undefined) throw new Error('webhook secret is not valid base64 after "whsec_"');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new Error(`webhook secret must decode to ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/**
 * Creates a new random signing secret.
 *
 * @returns `whsec_` + base64 of 32 bytes from `crypto.getRandomValues`.
 */
export function generateSecret(): string {
  return SECRET_PREFIX + encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
}

// Promises rather than keys are cached so concurrent signings in one batch share a single import.
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  const cached = keyCache.get(secret);
  if (cached !== undefined) {
    // Re-insert to keep the Map in least-recently-used order for eviction.
    keyCache.delete(secret);
    keyCache.set(secret, cached);
    return cached;
  }
  const raw = parseSecret(secret);
  const pending = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  pending.catch(() => keyCache.delete(secret));
  keyCache.set(secret, pending);
  if (keyCache.size > KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) keyCache.delete(oldest.value);
  }
  return pending;
}

async function hmac(secret: string, msgId: string, timestamp: string, body: string): Promise<Uint8Array> {
  const key = await hmacKey(secret);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${msgId}.${timestamp}.${body}`));
  return new Uint8Array(mac);
}

/**
 * Signs one delivery attempt.
 *
 * @param secret - `whsec_` secret of the target.
 * @param msgId - The `webhook-id` header value; must be non-empty and contain no `.`, because the
 *   signed content is dot-delimited and a dotted id would make it ambiguous.
 * @param timestampSeconds - The `webhook-timestamp` header value (Unix seconds, integer).
 * @param body - The exact request body that will be sent.
 * @returns The `webhook-signature` header value, `v1,<base64>`.
 * @throws Error for an invalid secret, message id or timestamp.
 */
export async function sign(secret: string, msgId: string, timestampSeconds: number, body: string): Promise<string> {
  if (msgId === "" || msgId.includes(".")) throw new Error('webhook message id must be non-empty and contain no "."');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new Error(`webhook timestamp must be a non-negative integer, got ${timestampSeconds}`);
  }
  return `v1,${encodeBase64(await hmac(secret, msgId, String(timestampSeconds), body))}`;
}

// Manual loop because `crypto.subtle.timingSafeEqual` is workerd-only; the length is not secret.
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Verifies a request the way a Standard Webhooks receiver does.
 *
 * @param secrets - One `whsec_` secret or several (accepts any, for secret rotation).
 * @param headers - Values of `webhook-id`, `webhook-timestamp` and `webhook-signature`.
 * @param body - The raw request body.
 * @param opts - `toleranceSeconds` (default 300) allowed clock skew either way; `now` in Unix seconds
 *   (default: the current time).
 * @returns True when the timestamp is within tolerance and any `v1,` signature matches any secret.
 * @throws Error (as a rejection) when a secret is malformed: that is a configuration bug, not a bad request.
 */
export async function verify(
  secrets: string | string[],
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  opts?: { toleranceSeconds?: number; now?: number },
): Promise<boolean> {
  const keys = typeof secrets === "string" ? [secrets] : secrets;
  for (const secret of keys) parseSecret(secret);
  if (headers.id === "" || !/^\d+$/.test(headers.timestamp)) return false;
  const now = opts?.now ?? Math.floor(Date.now() / 1000);
  const tolerance = opts?.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - Number(headers.timestamp)) > tolerance) return false;

  const candidates: Uint8Array[] = [];
  for (const entry of headers.signature.split(" ")) {
    // Other schemes (e.g. `v1a,` asymmetric) may appear alongside ours and are skipped.
    if (!entry.startsWith("v1,")) continue;
    const bytes = decodeBase64(entry.slice(3));
    if (bytes !== undefined) candidates.push(bytes);
  }
  if (candidates.length === 0) return false;

  let matched = false;
  for (const secret of keys) {
    const expected = await hmac(secret, headers.id, headers.timestamp, body);
    // No early exit, so timing does not reveal which candidate or secret matched.
    for (const candidate of candidates) matched = constantTimeEqual(expected, candidate) || matched;
  }
  return matched;
}
