import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { catalogueEntry } from "../../src/providers";
import { NETEASE_CALLBACK_EVENTS, NETEASE_CC_EVENTS } from "../../src/providers/netease/schemas";
import { TENCENT_COMMANDS } from "../../src/providers/tencent/schemas";
import { relayWithFakeQueue } from "../helpers/app";
import { clearKv, runBatch, stubFetch } from "../helpers/consumer-harness";
import { settle, setupTarget } from "../helpers/lanes";
import { neteaseRequest, tencentRequest } from "../helpers/requests";

/**
 * Schema validation is off the ack path for after-callbacks (their answer does not depend on it): the consumer
 * gives the `schemavalid` verdict before any target sees the event. Before-callbacks are still checked on the ack
 * path, since their deciders receive the event first.
 */

const DESTROYED = JSON.stringify({
  CallbackCommand: "Group.CallbackAfterGroupDestroyed",
  GroupId: "@TGS#1",
  Type: "Public",
  EventTime: 1670574414123,
});
// GroupId must be a non-empty string.
const DESTROYED_INVALID = JSON.stringify({ CallbackCommand: "Group.CallbackAfterGroupDestroyed", GroupId: 7 });
const BEFORE_INVALID = JSON.stringify({ CallbackCommand: "Group.CallbackBeforeSendMsg", GroupId: "" });

beforeEach(async () => {
  await clearKv(env.TARGETS);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** What a target receives for `body`: the callback sent through the ack path, then the consumer and a lane. */
async function delivered(req: Request): Promise<Record<string, unknown>> {
  const { id, url, stub } = await setupTarget();
  const { calls } = stubFetch({ [url]: 200 });
  const relay = relayWithFakeQueue();
  expect((await relay.fetch(req)).status).toBe(200);
  await runBatch(
    env,
    relay.queue.sent.map((s) => ({ body: s.raw })),
  );
  await settle(stub);
  expect(calls, `target ${id}`).toHaveLength(1);
  return JSON.parse(calls[0]?.body ?? "{}") as Record<string, unknown>;
}

describe("schema validation off the ack path", () => {
  it("answers an after-callback without checking its schema, and enqueues it without a verdict", async () => {
    const entry = TENCENT_COMMANDS["Group.CallbackAfterGroupDestroyed"];
    if (!entry) throw new Error("catalogue entry missing");
    const safeParse = vi.spyOn(entry.schema, "safeParse");
    const relay = relayWithFakeQueue();
    const res = await relay.fetch(await tencentRequest(DESTROYED));
    expect(await res.json()).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" });
    expect(safeParse).not.toHaveBeenCalled();
    expect(relay.queued()[0]).not.toHaveProperty("schemavalid");
  });

  it("checks a before-callback on the ack path: its deciders see the verdict", async () => {
    const relay = relayWithFakeQueue();
    await relay.fetch(await tencentRequest(BEFORE_INVALID));
    await relay.fetch(
      await neteaseRequest('{"eventType":1,"fromAccount":"a","fromClientType":"WEB","to":"b"}', {
        channel: "callback",
      }),
    );
    expect(relay.queued().map((e) => e.schemavalid)).toEqual([false, true]);
  });

  it("the consumer marks an after-callback that matches its schema schemavalid: true before its target gets it", async () => {
    expect(await delivered(await tencentRequest(DESTROYED))).toMatchObject({
      schemavalid: true,
      type: "im.group.dismissed",
    });
  });

  it("the consumer marks one that fails its schema schemavalid: false, forwards it anyway and logs where it failed", async () => {
    const warn = vi.spyOn(console, "warn");
    const event = await delivered(await tencentRequest(DESTROYED_INVALID));
    expect(event).toMatchObject({ schemavalid: false, data: JSON.parse(DESTROYED_INVALID) });
    const line = warn.mock.calls.map((c) => String(c[0])).find((l) => l.includes("fails its schema"));
    const fields = JSON.parse(line as string) as { issues: string[] };
    expect(fields.issues.some((i) => i.startsWith("GroupId"))).toBe(true);
    // Locations only: the payload's values stay out of the logs.
    expect(line).not.toContain("@TGS");
  });

  it("the consumer marks an unknown command schemavalid: false", async () => {
    const body = JSON.stringify({ CallbackCommand: "Group.CallbackAfterSomethingNew", GroupId: "g" });
    expect(await delivered(await tencentRequest(body))).toMatchObject({ schemavalid: false });
  });

  it("finds each event's schema by provider and providerevent: cc.7 and callback.7 are different schemas", () => {
    expect(catalogueEntry("netease", "cc.7")).toBe(NETEASE_CC_EVENTS["7"]);
    expect(catalogueEntry("netease", "callback.7")).toBe(NETEASE_CALLBACK_EVENTS["7"]);
    expect(catalogueEntry("tencent", "C2C.CallbackAfterSendMsg")).toBe(TENCENT_COMMANDS["C2C.CallbackAfterSendMsg"]);
    expect(catalogueEntry("tencent", "cc.7")).toBeUndefined();
    expect(catalogueEntry("netease", "constructor")).toBeUndefined();
    expect(catalogueEntry("netease", "cc.constructor")).toBeUndefined();
  });

  it("a message queued with a verdict (before-callbacks, or an older deploy) keeps it", async () => {
    expect(await delivered(await tencentRequest(BEFORE_INVALID))).toMatchObject({ schemavalid: false });
  });
});
