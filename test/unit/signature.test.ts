import { describe, expect, it } from "vitest";
import { generateSecret, parseSecret, sign, verify } from "../../src/delivery/signature";

// Reference vector from standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts
// ("sign function works"); the other libraries in that repo use the same values.
const REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const REF_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const REF_TIMESTAMP = 1614265330;
const REF_BODY = '{"test": 2432232314}';
const REF_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// Signatures that appear next to the valid one in the reference "multi sig payload is valid" test.
const REF_DECOY = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
const REF_DECOY_V2 = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

const refHeaders = { id: REF_MSG_ID, timestamp: String(REF_TIMESTAMP), signature: REF_SIGNATURE };
const atRef = { now: REF_TIMESTAMP };

describe("Standard Webhooks reference vectors", () => {
  it("signs the reference message to the reference signature", async () => {
    expect(await sign(REF_SECRET, REF_MSG_ID, REF_TIMESTAMP, REF_BODY)).toBe(REF_SIGNATURE);
  });

  it("verifies the reference signature", async () => {
    expect(await verify(REF_SECRET, refHeaders, REF_BODY, atRef)).toBe(true);
  });

  it("verifies when the valid signature is listed among v1 and v2 decoys", async () => {
    const signature = [REF_DECOY, REF_DECOY_V2, REF_SIGNATURE, REF_DECOY].join(" ");
    expect(await verify(REF_SECRET, { ...refHeaders, signature }, REF_BODY, atRef)).toBe(true);
  });

  it("rejects an invalid, a truncated and an empty v1 signature", async () => {
    for (const signature of ["v1,dawfeoifkpqwoekfpqoekf", REF_SIGNATURE.slice(0, 8), "v1,", ""]) {
      expect(await verify(REF_SECRET, { ...refHeaders, signature }, REF_BODY, atRef)).toBe(false);
    }
  });

  it("rejects a non-numeric timestamp and an empty message id", async () => {
    expect(await verify(REF_SECRET, { ...refHeaders, timestamp: "hello" }, REF_BODY, atRef)).toBe(false);
    expect(await verify(REF_SECRET, { ...refHeaders, id: "" }, REF_BODY, atRef)).toBe(false);
  });
});

describe("sign and verify", () => {
  const secret = generateSecret();
  const msgId = "msg_01J0000000000000000000000";
  const timestamp = 1_750_000_000;
  const body = '{"type":"im.group.dismissed","data":{"GroupId":"@TGS#1"}}';

  async function headersFor(s: string, ts = timestamp) {
    return { id: msgId, timestamp: String(ts), signature: await sign(s, msgId, ts, body) };
  }

  it("accepts its own signature", async () => {
    expect(await verify(secret, await headersFor(secret), body, { now: timestamp })).toBe(true);
  });

  it("produces a v1 signature of 32 base64-encoded bytes", async () => {
    expect(await sign(secret, msgId, timestamp, body)).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it("rejects a tampered body", async () => {
    expect(await verify(secret, await headersFor(secret), body.replace("#1", "#2"), { now: timestamp })).toBe(false);
  });

  it("rejects a signature made with a different secret", async () => {
    expect(await verify(generateSecret(), await headersFor(secret), body, { now: timestamp })).toBe(false);
  });

  it("rejects a tampered message id or timestamp", async () => {
    const headers = await headersFor(secret);
    expect(await verify(secret, { ...headers, id: "msg_other" }, body, { now: timestamp })).toBe(false);
    expect(await verify(secret, { ...headers, timestamp: String(timestamp + 1) }, body, { now: timestamp })).toBe(
      false,
    );
  });

  it("rejects a timestamp older than the default 300 s tolerance", async () => {
    const headers = await headersFor(secret);
    expect(await verify(secret, headers, body, { now: timestamp + 300 })).toBe(true);
    expect(await verify(secret, headers, body, { now: timestamp + 301 })).toBe(false);
  });

  it("rejects a timestamp further in the future than the default 300 s tolerance", async () => {
    const headers = await headersFor(secret);
    expect(await verify(secret, headers, body, { now: timestamp - 300 })).toBe(true);
    expect(await verify(secret, headers, body, { now: timestamp - 301 })).toBe(false);
  });

  it("honours a custom tolerance", async () => {
    const headers = await headersFor(secret);
    expect(await verify(secret, headers, body, { now: timestamp + 60, toleranceSeconds: 59 })).toBe(false);
    expect(await verify(secret, headers, body, { now: timestamp + 60, toleranceSeconds: 60 })).toBe(true);
  });

  it("checks the timestamp against the current time when no clock is given", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await verify(secret, await headersFor(secret, now), body)).toBe(true);
    expect(await verify(secret, await headersFor(secret, now - 3600), body)).toBe(false);
  });

  it("accepts when one of several space-separated signatures matches (sender rotating secrets)", async () => {
    const oldSecret = generateSecret();
    const headers = await headersFor(secret);
    const oldSignature = await sign(oldSecret, msgId, timestamp, body);
    const signature = `${oldSignature} ${headers.signature}`;
    expect(await verify(secret, { ...headers, signature }, body, { now: timestamp })).toBe(true);
    expect(await verify(oldSecret, { ...headers, signature }, body, { now: timestamp })).toBe(true);
    expect(await verify(generateSecret(), { ...headers, signature }, body, { now: timestamp })).toBe(false);
  });

  it("accepts when any of several receiver secrets matches (receiver rotating secrets)", async () => {
    const headers = await headersFor(secret);
    expect(await verify([generateSecret(), secret], headers, body, { now: timestamp })).toBe(true);
    expect(await verify([generateSecret(), generateSecret()], headers, body, { now: timestamp })).toBe(false);
    expect(await verify([], headers, body, { now: timestamp })).toBe(false);
  });

  it("signs many messages concurrently with one cached key", async () => {
    const signatures = await Promise.all(
      Array.from({ length: 20 }, () => sign(REF_SECRET, REF_MSG_ID, REF_TIMESTAMP, REF_BODY)),
    );
    expect(new Set(signatures)).toEqual(new Set([REF_SIGNATURE]));
  });

  it("keeps signing correctly after more than 100 distinct secrets evict cached keys", async () => {
    for (let i = 0; i < 105; i++) await sign(generateSecret(), msgId, timestamp, body);
    expect(await sign(REF_SECRET, REF_MSG_ID, REF_TIMESTAMP, REF_BODY)).toBe(REF_SIGNATURE);
  });

  it("refuses a message id containing a dot, which would make the signed content ambiguous", async () => {
    await expect(sign(secret, "msg.1", timestamp, body)).rejects.toThrow(/message id/);
    await expect(sign(secret, "", timestamp, body)).rejects.toThrow(/message id/);
  });

  it("refuses a negative or fractional timestamp", async () => {
    await expect(sign(secret, msgId, -1, body)).rejects.toThrow(/timestamp/);
    await expect(sign(secret, msgId, 1.5, body)).rejects.toThrow(/timestamp/);
  });

  it("refuses to sign or verify with a malformed secret", async () => {
    await expect(sign("not-a-secret", msgId, timestamp, body)).rejects.toThrow(/whsec_/);
    await expect(verify("not-a-secret", await headersFor(secret), body, { now: timestamp })).rejects.toThrow(/whsec_/);
  });
});

describe("parseSecret", () => {
  it("decodes the reference secret to its 24 key bytes", () => {
    expect(parseSecret(REF_SECRET)).toHaveLength(24);
  });

  it("rejects a secret without the whsec_ prefix", () => {
    expect(() => parseSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toThrow('must start with "whsec_"');
  });

  it("rejects a secret whose body is not base64", () => {
    for (const bad of [
      "whsec_not base64!!",
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w",
    ]) {
      expect(() => parseSecret(bad), bad).toThrow("not valid base64");
    }
  });

  it("rejects a secret shorter than 24 bytes", () => {
    expect(() => parseSecret(`whsec_${btoa("x".repeat(23))}`)).toThrow("got 23");
    expect(() => parseSecret("whsec_")).toThrow("got 0");
  });

  it("rejects a secret longer than 64 bytes", () => {
    expect(parseSecret(`whsec_${btoa("x".repeat(64))}`)).toHaveLength(64);
    expect(() => parseSecret(`whsec_${btoa("x".repeat(65))}`)).toThrow("got 65");
  });
});

describe("generateSecret", () => {
  it("generates a parseable whsec_ secret of 32 random bytes", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(parseSecret(secret)).toHaveLength(32);
  });

  it("generates a different secret each time", () => {
    expect(new Set(Array.from({ length: 50 }, generateSecret)).size).toBe(50);
  });
});
