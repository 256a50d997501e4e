import { afterEach, describe, expect, it } from "vitest";
import neteaseCcText from "../fixtures/netease/cc-1-p2p-text.json";
import { admin, relayUrl, sendNetease, uniqueId, waitFor } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";

/**
 * Under `wrangler dev` the admin API is reached on 127.0.0.1, so the relay knows it runs locally: loopback
 * receivers are allowed, but never the relay's own port.
 */

const created: string[] = [];

afterEach(async () => {
  for (const id of created.splice(0)) await admin("DELETE", `/targets/${id}`);
  await Receiver.closeAll();
});

describe("target URLs under wrangler dev", () => {
  it("refuses a target at the relay's own address (it would re-ingest its own deliveries), storing nothing", async () => {
    const port = new URL(relayUrl()).port;
    for (const url of [
      `${relayUrl()}/netease/cc`,
      `http://localhost:${port}/tencent?SdkAppid=1400000001`,
      `http://[::1]:${port}/`,
      `http://2130706433:${port}/netease/callback`,
    ]) {
      const id = uniqueId("self");
      const res = await admin("PUT", `/targets/${id}`, { url });
      expect(res.status, url).toBe(422);
      expect(res.json).toMatchObject({
        error: { code: "INVALID_TARGET", message: "invalid target: url: url points at the relay itself" },
      });
      expect((await admin("GET", `/targets/${id}`)).status).toBe(404);
    }
  });

  it("accepts a receiver on another loopback port in any spelling, and delivers to its normalised URL", async () => {
    const receiver = await Receiver.start();
    const id = uniqueId("spelled");
    const res = await admin("PUT", `/targets/${id}`, { url: `http://0x7f.1:${receiver.port}/hook` });
    expect(res.status).toBe(201);
    created.push(id);
    expect((res.json as { url: string }).url).toBe(receiver.url("/hook"));

    const sent = await sendNetease(JSON.stringify({ ...neteaseCcText, msgidClient: uniqueId("msg") }));
    expect(sent.status).toBe(200);
    const eventId = sent.headers.get("x-imrelay-event-id") ?? "";
    await waitFor("the receiver to get the event", () => receiver.withId(eventId).length > 0);
  });

  it("refuses a private address even on a local relay", async () => {
    const res = await admin("PUT", `/targets/${uniqueId("private")}`, { url: "https://192.168.1.10/hook" });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.json)).toContain("192.168.0.0/16");
  });
});
