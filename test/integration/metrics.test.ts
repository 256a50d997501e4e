import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { putTarget } from "../../src/config/store";
import { relayWithFakeQueue } from "../helpers/app";
import {
  clearKv,
  consumerEnv,
  eventMessage,
  makeEvent,
  makeTarget,
  runBatch,
  stubFetch,
} from "../helpers/consumer-harness";
import { lane, runAlarm, uniqueTarget } from "../helpers/lanes";
import { fakeDataset } from "../helpers/metrics";
import { neteaseRequest } from "../helpers/requests";

const DISMISS = JSON.stringify({ eventType: 8, fromAccount: "a", tid: 1, timestamp: "1564575855993" });

describe("metrics (optional Analytics Engine binding)", () => {
  beforeEach(() => clearKv(env.TARGETS));
  afterEach(() => vi.restoreAllMocks());

  it("counts an accepted callback by provider, event type and outcome", async () => {
    const { points, dataset } = fakeDataset();
    const relay = relayWithFakeQueue({ METRICS: dataset });
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }));
    expect(points).toEqual([
      { indexes: ["netease"], blobs: ["accepted", "netease", "netease.callback.team_dismiss", ""], doubles: [1] },
    ]);
  });

  it("counts a refusal with its error code and no secret", async () => {
    const { points, dataset } = fakeDataset();
    const relay = relayWithFakeQueue({ METRICS: dataset });
    await relay.fetch(await neteaseRequest(DISMISS, { channel: "cc", secret: "wrong" }));
    expect(points).toEqual([
      { indexes: ["netease"], blobs: ["refused", "netease", "cc", "BAD_SIGNATURE"], doubles: [1] },
    ]);
  });

  it("counts deliveries and retries per target outcome in the lanes", async () => {
    const { points, dataset } = fakeDataset();
    const ok = uniqueTarget("ok");
    const down = uniqueTarget("down");
    await putTarget(env.TARGETS, ok, makeTarget("https://ok.example.test/"));
    await putTarget(env.TARGETS, down, makeTarget("https://down.example.test/"));
    stubFetch({ "https://ok.example.test/": 200, "https://down.example.test/": 503 });
    const event = await makeEvent();
    await runBatch(consumerEnv().env, [{ body: eventMessage(event) }]);
    // A lane counts with its own env: give it the dataset, then run its alarm.
    for (const id of [ok, down]) {
      await runInDurableObject(lane(id), (instance) => {
        const self = instance as unknown as { env: Env };
        self.env = { ...self.env, METRICS: dataset };
      });
      await runAlarm(lane(id));
    }
    expect(points.map((p) => p.blobs?.slice(0, 2).concat(p.blobs?.[3] ?? "")).sort()).toEqual([
      ["delivered", event.provider, ""],
      ["retried", event.provider, "HTTP 503"],
    ]);
  });

  it("is a no-op without the binding, and a failing dataset never costs the event", async () => {
    const relay = relayWithFakeQueue({ METRICS: undefined });
    expect((await relay.fetch(await neteaseRequest(DISMISS, { channel: "callback" }))).status).toBe(200);
    const broken = {
      writeDataPoint: () => {
        throw new Error("AE down");
      },
    } as unknown as AnalyticsEngineDataset;
    const relay2 = relayWithFakeQueue({ METRICS: broken });
    expect((await relay2.fetch(await neteaseRequest(DISMISS, { channel: "callback" }))).status).toBe(200);
    expect(relay2.events()).toHaveLength(1);
  });
});
