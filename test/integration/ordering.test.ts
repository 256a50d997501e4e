import { afterEach, describe, expect, it, vi } from "vitest";
import { buildEvent, type CloudEvent } from "../../src/event";
import { shardFor } from "../../src/lanes/route";
import type { LaneItem } from "../../src/lanes/store";
import { LaneStore } from "../../src/lanes/store";
import { adminClient } from "../helpers/admin-client";
import { TENCENT_APP } from "../helpers/bindings";
import {
  consumerEnv,
  eventMessage,
  makeEvent,
  type RecordedRequest,
  runBatch,
  split,
  stubFetch,
} from "../helpers/consumer-harness";
import { acceptQuietly, endHold, runAlarmCatching } from "../helpers/lane-faults";
import { ATTEMPTS, lane, makeDue, runAlarm, settle, setupTarget } from "../helpers/lanes";

afterEach(() => {
  vi.restoreAllMocks();
});

const ORDERED = { ordering: "conversation", reorderWindowMs: 0 } as const;

/** One event of a conversation, with its order value, as the consumer hands it to a lane. */
async function inConversation(conversation: string, order: number): Promise<{ event: CloudEvent; item: LaneItem }> {
  const event = { ...(await makeEvent()), conversation };
  return { event, item: { ...split(event), order, acked: 0 } };
}

/**
 * An endpoint that answers 500 to the first attempt of the events in `failFirst` (every attempt of those in
 * `failAlways`) and 200 otherwise, recording each answer.
 */
function endpoint(url: string, opts: { failFirst?: Set<string>; failAlways?: Set<string> }) {
  const answered: { id: string; status: number }[] = [];
  const seen = new Set<string>();
  const { calls } = stubFetch({
    [url]: (call: RecordedRequest) => {
      const id = call.headers.get("webhook-id") ?? "";
      const first = !seen.has(id);
      seen.add(id);
      const status = opts.failAlways?.has(id) || (first && opts.failFirst?.has(id)) ? 500 : 200;
      answered.push({ id, status });
      return new Response(null, { status });
    },
  });
  return { answered, calls };
}

/** The attempts on one conversation's events, in the order they were made. */
function attemptsOf(answered: { id: string; status: number }[], ids: string[]) {
  return answered.filter((a) => ids.includes(a.id));
}

describe("ordered delivery: order", () => {
  it("delivers every conversation's events, first 2xx by first 2xx, in the events' order, when first attempts fail", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const conversations = ["group:a", "group:b", "c2c:x:y"];
    const byConversation = new Map<string, string[]>();
    const items: LaneItem[] = [];
    const failFirst = new Set<string>();
    for (const [c, conversation] of conversations.entries()) {
      const events = [];
      for (let order = 0; order < 5; order++) events.push(await inConversation(conversation, 1000 + order));
      byConversation.set(
        conversation,
        events.map((e) => e.event.id),
      );
      for (const [i, e] of events.entries()) if ((i + c) % 2 === 0) failFirst.add(e.event.id);
      // Accepted in reverse: the order value, not the arrival, decides.
      items.push(...events.reverse().map((e) => e.item));
    }
    const { answered } = endpoint(url, { failFirst });

    await acceptQuietly(target, items);
    expect(await settle(stub)).toMatchObject({ pending: 0, delivered: 15, dead: 0 });

    for (const ids of byConversation.values()) {
      const delivered = attemptsOf(answered, ids)
        .filter((a) => a.status === 200)
        .map((a) => a.id);
      expect(delivered).toEqual(ids);
    }
  });

  it("attempts no event before its predecessor was delivered", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const events = [];
    for (let order = 0; order < 6; order++) events.push(await inConversation("group:overtake", order));
    const ids = events.map((e) => e.event.id);
    const { answered } = endpoint(url, { failFirst: new Set([ids[0], ids[2], ids[3]] as string[]) });

    await acceptQuietly(
      target,
      [...events].reverse().map((e) => e.item),
    );
    await settle(stub);

    // Each event's attempts form one run that ends in its 2xx, and the runs follow the events' order.
    const attempts = attemptsOf(answered, ids);
    expect(attempts.map((a) => a.id)).toEqual([ids[0], ids[0], ids[1], ids[2], ids[2], ids[3], ids[3], ids[4], ids[5]]);
    for (const [i, a] of attempts.entries()) {
      const next = attempts[i + 1];
      if (next && next.id !== a.id) expect(a.status).toBe(200);
    }
  });

  it("breaks a tie in order value by when the relay acknowledged the events", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const early = await inConversation("group:tie", 7);
    const late = await inConversation("group:tie", 7);
    const { answered } = endpoint(url, {});

    await acceptQuietly(target, [
      { ...late.item, acked: 2 },
      { ...early.item, acked: 1 },
    ]);
    await settle(stub);

    expect(answered.map((a) => a.id)).toEqual([early.event.id, late.event.id]);
  });
});

describe("ordered delivery: isolation", () => {
  it("delivers other conversations while one retries, and shows what the held events wait behind", async () => {
    const { url, id, target, stub } = await setupTarget(ORDERED);
    const stuck = [await inConversation("group:stuck", 1), await inConversation("group:stuck", 2)];
    const free = [
      await inConversation("group:free", 1),
      await inConversation("group:free", 2),
      await inConversation("group:free", 3),
    ];
    const head = stuck[0]?.event.id ?? "";
    const { answered } = endpoint(url, { failAlways: new Set([head]) });

    await acceptQuietly(
      target,
      [...stuck, ...free].map((e) => e.item),
    );
    await makeDue(stub);
    await runAlarm(stub);

    // One alarm run: the stuck head failed once and waits for its retry; the free conversation went through.
    expect(answered.filter((a) => a.status === 200).map((a) => a.id)).toEqual(free.map((e) => e.event.id));
    expect(answered.filter((a) => a.id === head)).toHaveLength(1);
    const held = stuck[1]?.event.id ?? "";
    expect(await stub.lookup(held)).toMatchObject({ state: "pending", attempts: [], blockedBy: head });
    const headView = await stub.lookup(head);
    expect(headView).toMatchObject({ state: "pending" });
    expect(headView).not.toHaveProperty("blockedBy");

    const admin = adminClient();
    const page = (await (await admin.call("GET", `/admin/targets/${id}/deliveries?state=pending`)).json()) as {
      items: { event: string; blockedBy?: string }[];
    };
    expect(page.items.find((i) => i.event === held)?.blockedBy).toBe(head);
    const headItem = page.items.find((i) => i.event === head);
    expect(headItem).toBeDefined();
    expect(headItem).not.toHaveProperty("blockedBy");
    const byEvent = (await (await admin.call("GET", `/admin/events/${held}`)).json()) as {
      deliveries: { blockedBy?: string }[];
    };
    expect(byEvent.deliveries[0]?.blockedBy).toBe(head);
  });

  it("releases the next event once the head is dead-lettered", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const [head, next] = [await inConversation("group:dead", 1), await inConversation("group:dead", 2)];
    const { answered } = endpoint(url, { failAlways: new Set([head.event.id]) });

    await acceptQuietly(target, [next.item, head.item]);
    await settle(stub);

    expect(answered.map((a) => a.id)).toEqual([...Array(ATTEMPTS).fill(head.event.id), next.event.id]);
    expect((await stub.lookup(head.event.id))?.state).toBe("dead");
    expect((await stub.lookup(next.event.id))?.state).toBe("delivered");
  });
});

describe("ordered delivery: dedupe, replay and faults", () => {
  it("delivers an event accepted twice once, in its place", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const [a, b] = [await inConversation("group:dup", 1), await inConversation("group:dup", 2)];
    const { answered } = endpoint(url, {});

    await acceptQuietly(target, [b.item, a.item]);
    expect(await acceptQuietly(target, [a.item])).toEqual({ accepted: 0, duplicates: 1 });
    await settle(stub);

    expect(answered.map((x) => x.id)).toEqual([a.event.id, b.event.id]);
  });

  it("puts a replayed event back in its place: it holds back the later events still pending", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const [a, b, c] = [
      await inConversation("group:replay", 1),
      await inConversation("group:replay", 2),
      await inConversation("group:replay", 3),
    ];
    const failAlways = new Set([a.event.id]);
    const { answered } = endpoint(url, { failAlways });
    await acceptQuietly(target, [a.item, b.item]);
    await settle(stub);
    expect((await stub.lookup(a.event.id))?.state).toBe("dead");

    // The endpoint is fixed; the operator replays the dead head while a later event waits in the window.
    failAlways.clear();
    await acceptQuietly(target, [c.item, { ...a.item, replay: "replay-1" }]);
    await settle(stub);

    const delivered = answered.filter((x) => x.status === 200).map((x) => x.id);
    expect(delivered).toEqual([b.event.id, a.event.id, c.event.id]);
  });

  it("loses nothing and keeps the order when the lane's storage fails while it picks the heads", async () => {
    const { url, target, stub } = await setupTarget(ORDERED);
    const events = [await inConversation("group:fault", 1), await inConversation("group:fault", 2)];
    const { answered } = endpoint(url, {});
    await acceptQuietly(
      target,
      [...events].reverse().map((e) => e.item),
    );
    await makeDue(stub);
    vi.spyOn(LaneStore.prototype, "due").mockImplementationOnce(() => {
      throw new Error("storage unavailable");
    });

    expect(await runAlarmCatching(stub)).toBeUndefined();
    expect(answered).toEqual([]);
    expect((await stub.status()).pending).toBe(2);

    await endHold(stub);
    await settle(stub);
    expect(answered.map((x) => x.id)).toEqual(events.map((e) => e.event.id));
  });
});

describe("ordered delivery: the reorder window", () => {
  it("holds events for the window, so one the queue hands over late still goes first", async () => {
    const { url, target, stub } = await setupTarget({ ordering: "conversation", reorderWindowMs: 60_000 });
    const first = await inConversation("group:window", 1);
    const second = await inConversation("group:window", 2);
    const { answered } = endpoint(url, {});

    const acceptedAt = Date.now();
    await acceptQuietly(target, [second.item]);
    await runAlarm(stub);
    expect(answered).toEqual([]);
    // Held for the window: due no sooner than 60 s after it was accepted.
    const held = Date.parse((await stub.lookup(second.event.id))?.nextAttemptAt ?? "");
    expect(held).toBeGreaterThanOrEqual(acceptedAt + 60_000);

    await acceptQuietly(target, [first.item]);
    await runAlarm(stub);
    expect(answered).toEqual([]);

    // The window passes.
    await settle(stub);
    expect(answered.map((a) => a.id)).toEqual([first.event.id, second.event.id]);
  });
});

describe("unordered targets", () => {
  it("attempt every event at once, whatever its conversation, as before", async () => {
    const { url, target, stub } = await setupTarget();
    const events = [await inConversation("group:u", 1), await inConversation("group:u", 2)];
    const { answered } = endpoint(url, { failAlways: new Set([events[0]?.event.id ?? ""]) });

    await acceptQuietly(
      target,
      events.map((e) => e.item),
    );
    await makeDue(stub);
    await runAlarm(stub);

    expect(answered.map((a) => a.id).sort()).toEqual(events.map((e) => e.event.id).sort());
    expect((await stub.lookup(events[1]?.event.id ?? ""))?.state).toBe("delivered");
  });
});

describe("ordered delivery: the consumer", () => {
  const encoder = new TextEncoder();
  async function groupMessage(groupId: string, msgTime: number): Promise<CloudEvent> {
    const payload = {
      CallbackCommand: "Group.CallbackAfterSendMsg",
      GroupId: groupId,
      MsgTime: msgTime,
      Type: "Public",
    };
    const envelope = await buildEvent({
      provider: "tencent",
      channel: "",
      appId: TENCENT_APP,
      body: encoder.encode(JSON.stringify(payload)),
      providerEvent: payload.CallbackCommand,
      type: "im.group.message.sent",
      timeMs: msgTime * 1000,
    });
    return { ...envelope, schemavalid: true, data: payload };
  }

  it("sets the conversation attribute on every event and sends a conversation's events to one shard", async () => {
    const { url, target } = await setupTarget({ ...ORDERED, lanes: 3 });
    const { calls } = stubFetch({ [url]: 200 });
    const events = [];
    for (let i = 0; i < 6; i++) events.push(await groupMessage(`@TGS#order-${i % 2}`, 1_700_000_000 + i));
    const { env: testEnv } = consumerEnv();

    await runBatch(
      testEnv,
      events.map((e) => ({ body: eventMessage(e) })),
    );

    for (const event of events) {
      const shard = shardFor(target, {
        ...event,
        conversation: `group:${encodeURIComponent(event.data.GroupId as string)}`,
      });
      const view = await lane(target.id, shard).lookup(event.id);
      expect(view?.event?.envelope).toContain(`"conversation":"group:%40TGS%23order-`);
    }
    // Whichever lane holds an event, every event of its conversation is in that lane alone.
    for (const group of ["@TGS#order-0", "@TGS#order-1"]) {
      const holding = new Set<number>();
      for (const event of events.filter((e) => e.data.GroupId === group)) {
        for (let s = 0; s < 3; s++) if (await lane(target.id, s).lookup(event.id)) holding.add(s);
      }
      expect(holding.size).toBe(1);
    }
    for (let s = 0; s < 3; s++) await settle(lane(target.id, s));
    const delivered = calls
      .filter((c) => c.url === url)
      .map((c) => JSON.parse(c.body) as { id: string; conversation?: string; data: { GroupId: string } });
    expect(delivered).toHaveLength(6);
    for (const d of delivered) expect(d.conversation).toBe(`group:${encodeURIComponent(d.data.GroupId)}`);
  });

  it("leaves the attribute off an event without a conversation, and delivers it unordered", async () => {
    const { url, stub } = await setupTarget({ ...ORDERED, events: ["State.StateChange"] });
    const first = await makeEvent({ providerEvent: "State.StateChange", type: "im.user.state.changed" });
    const second = await makeEvent({ providerEvent: "State.StateChange", type: "im.user.state.changed" });
    // The first keeps failing: on an ordered target, events without a conversation still do not wait for it.
    const { answered, calls } = endpoint(url, { failAlways: new Set([first.id]) });

    await runBatch(consumerEnv().env, [{ body: eventMessage(first) }, { body: eventMessage(second) }]);
    await runAlarm(stub);

    expect(answered.map((a) => a.id).sort()).toEqual([first.id, second.id].sort());
    expect(answered.find((a) => a.id === second.id)?.status).toBe(200);
    for (const call of calls) expect(JSON.parse(call.body)).not.toHaveProperty("conversation");
  });
});
