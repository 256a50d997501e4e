import { afterAll, afterEach, describe, expect, it } from "vitest";
import { admin, sendNetease, sendTencent, uniqueId, waitFor } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";
import { newWebhookSecret } from "../helpers/e2e-sign";

/**
 * Callbacks up to 1 MiB end to end through `wrangler dev`: a quote-heavy body near the queue's 128 KB message
 * limit travels inline, a bigger one through the local R2 bucket, and each reaches the target byte for byte, which
 * also shows that Miniflare's queue accepts the messages as the producer sized them.
 */

const created: string[] = [];

afterEach(async () => {
  for (const id of created.splice(0)) await admin("DELETE", `/targets/${id}`);
  await Receiver.closeAll();
});

afterAll(async () => {
  await Receiver.closeAll();
});

async function target(): Promise<Receiver> {
  const receiver = await Receiver.start();
  const id = uniqueId("bodies");
  const res = await admin("PUT", `/targets/${id}`, { url: receiver.url(), secret: newWebhookSecret() });
  expect(res.status).toBe(201);
  created.push(id);
  return receiver;
}

/** A NetEase body of `bytes` bytes (ASCII) whose padding is all escaped quotes, with a 64-bit integer. */
function neteaseBody(bytes: number): string {
  const head = `{"eventType":36,"fromAccount":"${uniqueId("a")}","msgId":184409700039655569,"pad":"`;
  const pad = '\\"'.repeat(Math.floor((bytes - head.length - 2) / 2));
  return `${head}${pad}${"x".repeat(bytes - head.length - 2 - pad.length)}"}`;
}

describe("e2e: big callbacks", () => {
  for (const [name, bytes] of [
    ["a 120 KB quote-heavy body, inline in its queue message", 120_000],
    ["a 500 KB body, through R2", 500_000],
    ["a 1 MiB body, through R2", 1_048_576],
  ] as const) {
    it(`accepts ${name} and delivers it byte for byte`, async () => {
      const receiver = await target();
      const body = neteaseBody(bytes);
      expect(Buffer.byteLength(body)).toBe(bytes);

      const res = await sendNetease(body, { channel: "cc" });

      expect(res.status).toBe(200);
      const id = res.headers.get("x-imrelay-event-id") ?? "";
      await waitFor(`the ${bytes}-byte event at the target`, () => receiver.withId(id).length > 0);
      expect(receiver.withId(id)[0]?.body.endsWith(`,"data":${body}}`)).toBe(true);
      expect(receiver.withId(id)).toHaveLength(1);
    });
  }

  it("refuses a callback of 1 MiB + 1 byte with 413, in Tencent's format too", async () => {
    const ne = await sendNetease(neteaseBody(1_048_577), { channel: "cc" });
    expect(ne.status).toBe(413);
    expect((ne.json as { desc: string }).desc).toMatch(/^PAYLOAD_TOO_LARGE/);

    const command = "C2C.CallbackAfterSendMsg";
    const head = `{"CallbackCommand":"${command}","pad":"`;
    const tc = await sendTencent(`${head}${"x".repeat(1_048_577 - head.length - 2)}"}`, command);
    expect(tc.status).toBe(413);
    expect(tc.json).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 41301 });
  });
});
