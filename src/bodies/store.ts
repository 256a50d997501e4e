/**
 * Callback bodies too big for a queue message, kept in R2 (`BODIES`) while their message is on the queue. Each
 * message gets its own object (`<event id>/<unique>`): a provider's duplicate, an operator's replay and the
 * original never share one, so deleting one message's object never takes another's.
 *
 * An object is deleted once the message that references it is done with (every lane has the event, or it is a
 * dead letter in KV). Copies of that same message (the queue delivers at least once) then find it gone, and are
 * done too. Objects whose message never reached the queue are left to the bucket's lifecycle rule (README).
 */

/** A fresh key for a body of the event `eventId`. */
export function bodyKey(eventId: string, unique: string = crypto.randomUUID()): string {
  return `${eventId}/${unique}`;
}

/** Stores a body; resolves once R2 has it. Throws when R2 fails. */
export async function putBody(bucket: R2Bucket, key: string, data: string): Promise<void> {
  await bucket.put(key, data, { httpMetadata: { contentType: "application/json" } });
}

/** The body at `key`, or undefined when it is gone. Throws when R2 fails (the caller retries; nothing is lost). */
export async function getBody(bucket: R2Bucket, key: string): Promise<string | undefined> {
  const object = await bucket.get(key);
  return object === null ? undefined : object.text();
}

/** Deletes bodies whose messages are done with, in one call (R2 takes up to 1000 keys). */
export async function deleteBodies(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
}
