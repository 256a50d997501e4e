import { afterEach, describe, expect, it } from "vitest";
import neteaseCcText from "../fixtures/netease/cc-1-p2p-text.json";
import { admin, sendNetease, uniqueId, waitFor } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";
import { newWebhookSecret } from "../helpers/e2e-sign";

/**
 * Under `wrangler dev`, workerd reports a refused connection and one closed before the answer alike ("Network
 * connection lost."). A developer who registered a receiver before starting it must read "connection refused".
 */

const created: string[] = [];

afterEach(async () => {
  for (const id of created.splice(0)) {
    const letters = await admin("GET", `/dead-letters?target=${id}`);
    await admin("DELETE", `/targets/${id}`);
    for (const l of (letters.json as { items?: { id: string }[] }).items ?? []) {
      await admin("DELETE", `/dead-letters/${l.id}`);
    }
  }
  await Receiver.closeAll();
});

type Attempt = { error?: string; status?: number };

async function firstAttemptError(url: string): Promise<{ target: string; eventId: string; error: string }> {
  const target = uniqueId("neterr");
  expect((await admin("PUT", `/targets/${target}`, { url, secret: newWebhookSecret() })).status).toBe(201);
  created.push(target);
  const res = await sendNetease(JSON.stringify({ ...neteaseCcText, msgidClient: uniqueId("msg") }));
  const eventId = res.headers.get("x-imrelay-event-id") as string;
  const attempt = await waitFor(`the first attempt of ${eventId} at ${target}`, async () => {
    const log = await admin("GET", `/events/${eventId}`);
    const deliveries = (log.json as { deliveries?: { target: string; attempts: Attempt[] }[] }).deliveries ?? [];
    return deliveries.find((d) => d.target === target)?.attempts[0];
  });
  return { target, eventId, error: String(attempt.error) };
}

describe("network errors in the delivery log (wrangler dev)", () => {
  it("reports a receiver that is not running as connection refused, naming the address, up to the dead letter", async () => {
    const receiver = await Receiver.start();
    await receiver.down();

    const { target, error } = await firstAttemptError(receiver.url());

    const expected = `network: connection refused (nothing listens on 127.0.0.1:${receiver.port})`;
    expect(error).toBe(expected);
    const [letter] = await waitFor(
      "the dead letter after the last attempt",
      async () => {
        const items = (await admin("GET", `/dead-letters?target=${target}`)).json as { items: unknown[] };
        return items.items.length > 0 ? items.items : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(letter).toMatchObject({ lastError: expected, attempts: 4 });
  });

  it("reports a receiver that accepts the connection and closes it before answering as such, not as refused", async () => {
    const receiver = await Receiver.start({ fallback: { drop: true } });

    const { error } = await firstAttemptError(receiver.url());

    expect(error).toBe(`network: connection closed by 127.0.0.1:${receiver.port} before it answered`);
  });
});
