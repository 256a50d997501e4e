const encoder = new TextEncoder();

/** Joins byte arrays into one. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a stream to its end, or stops (cancelling it) as soon as it passes `limit` bytes and returns undefined:
 * a huge or endless body costs neither memory nor CPU.
 */
export async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : concatBytes(chunks);
}

/** Lowercase hex digest of `data` (a string is hashed as UTF-8). MD5 is a Workers extension to WebCrypto. */
export async function hexDigest(
  algorithm: "MD5" | "SHA-1" | "SHA-256",
  data: string | ArrayBuffer | Uint8Array,
): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest(algorithm, bytes));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Constant-time equality of two strings of any length: both are hashed first, so neither their bytes nor their
 * lengths leak (for secrets such as the admin token, whose length is not public).
 */
export async function hashedEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * Constant-time string comparison, so an attacker cannot learn a signature byte by byte from response times.
 * Only the length can leak, and the lengths compared here (hex digests, tokens) are public anyway.
 */
export function safeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.byteLength !== y.byteLength) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}
