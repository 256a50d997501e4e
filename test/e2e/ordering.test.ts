import { afterAll, afterEach, describe, expect, it } from "vitest";
import neteaseCcText from "../fixtures/netease/cc-1-p2p-text.json";
import { admin, sendNetease, uniqueId, waitFor } from "../helpers/e2e-client";
import { type ReceivedRequest, Receiver } from "../helpers/e2e-receiver";
import { newWebhookSecret } from "../helpers/e2e-sign";

/**
 * Ordered delivery per conversation end to end through `wrangler dev`: NetEase P2P 抄送 posted out of order,
 * to a real receiver that fails some first attempts, arrive per conversation in `msgTimestamp` order, one at a
 * time. The dev server retries after 1 s (RETRY_SCHEDULE_SECONDS=1,1,1; test/helpers/e2e-server.ts).
 */

const created: string[] = [];

afterEach(async () => {
  for (const id of created.splice(0)) await admin("DELETE", `/targets/${id}`);
  await Receiver.closeAll();
});

afterAll(async () => {
  await Receiver.closeAll();
});

async function createOrderedTarget(url: string): Promise<string> {
  const id = uniqueId("ordered");
  const res = await admin("PUT", `/targets/${id}`, {
    url,
    secret: newWebhookSecret(),
    events: ["cc.1"],
    ordering: "conversation",
    // Wide enough that every post of the test lands within it, on a loaded machine too.
    reorderWindowMs: 3000,
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  created.push(id);
  return id;
}

/** One P2P message between `from` and `to` at `at` (ms), unique per run. */
function message(from: string, to: string, at: number): string {
  return JSON.stringify({
    ...neteaseCcText,
    fromAccount: from,
    to,
    msgTimestamp: String(at),
    msgidClient: uniqueId("m"),
  });
}

type Sent = { id: string; conversation: string; at: number };

async function post(from: string, to: string, at: number, conversation: string): Promise<Sent> {
  const res = await sendNetease(message(from, to, at));
  expect(res.status).toBe(200);
  return { id: res.headers.get("x-imrelay-event-id") ?? "", conversation, at };
}

/** The conversation's attempts as the receiver saw them, in order. */
function attemptsOf(requests: ReceivedRequest[], sent: Sent[]) {
  const ids = new Set(sent.map((s) => s.id));
  return requests.filter((r) => ids.has(r.headers["webhook-id"] ?? ""));
}

describe("e2e: ordered delivery per conversation", () => {
  it("delivers each conversation in order, one at a time, while first attempts fail and one conversation is stuck", async () => {
    const base = Date.now() - 60_000;
    const failFirst = new Set<string>();
    let stuckHead = "";
    const seen = new Set<string>();
    const answered = new Map<ReceivedRequest, number>();
    const receiver = await Receiver.start({
      respond: (req) => {
        const id = req.headers["webhook-id"] ?? "";
        const first = !seen.has(id);
        seen.add(id);
        const status = id === stuckHead || (first && failFirst.has(id)) ? 503 : 200;
        answered.set(req, status);
        return { status };
      },
    });
    await createOrderedTarget(receiver.url());

    // Three conversations of four messages each (amy–bob written from both sides), posted newest first.
    const plan = [
      ...[3, 2, 1, 0].map((i) => ({
        from: i % 2 ? "amy" : "bob",
        to: i % 2 ? "bob" : "amy",
        conversation: "person:amy:bob",
        i,
      })),
      ...[3, 2, 1, 0].map((i) => ({ from: "cat", to: "dan", conversation: "person:cat:dan", i })),
      ...[3, 2, 1, 0].map((i) => ({ from: "eve", to: "fay", conversation: "person:eve:fay", i })),
    ];
    const sent: Sent[] = [];
    for (const p of plan) {
      const s = await post(p.from, p.to, base + p.i * 10, p.conversation);
      sent.push(s);
      // One failed first attempt per healthy conversation: they finish well before the stuck head's four attempts.
      if ((p.conversation === "person:amy:bob" && p.i === 1) || (p.conversation === "person:cat:dan" && p.i === 2)) {
        failFirst.add(s.id);
      }
      if (p.conversation === "person:eve:fay" && p.i === 0) stuckHead = s.id;
    }
    const inOrder = (conversation: string) =>
      sent.filter((s) => s.conversation === conversation).sort((a, b) => a.at - b.at);
    const delivered = (r: ReceivedRequest) => answered.get(r) === 200;

    await waitFor(
      "every event of the healthy conversations, and the stuck conversation's after its head died",
      () =>
        sent.every(
          (s) => s.id === stuckHead || receiver.requests.some((r) => r.headers["webhook-id"] === s.id && delivered(r)),
        ),
      { timeoutMs: 45_000, describe: () => receiver.requests.map((r) => [r.headers["webhook-id"], answered.get(r)]) },
    );

    for (const conversation of ["person:amy:bob", "person:cat:dan", "person:eve:fay"]) {
      const order = inOrder(conversation);
      const attempts = attemptsOf(receiver.requests, order);
      // Order: first 2xx by first 2xx, in msgTimestamp order.
      const firsts = attempts.filter(delivered).map((r) => r.headers["webhook-id"]);
      expect(firsts).toEqual(order.map((s) => s.id).filter((id) => id !== stuckHead));
      // No overtaking: an event's attempts end (in a 2xx, or its last failure) before the next event's begin.
      const runs = attempts.map((r) => r.headers["webhook-id"]).filter((id, i, all) => id !== all[i - 1]);
      expect(runs).toEqual(order.map((s) => s.id));
      for (const r of attempts) {
        expect(JSON.parse(r.body)).toMatchObject({ conversation });
      }
    }
    // Isolation: the healthy conversations were through before the stuck head had used up its attempts.
    const stuckAttempts = receiver.withId(stuckHead);
    expect(stuckAttempts).toHaveLength(4);
    const lastHealthy = Math.max(
      ...receiver.requests
        .filter((r) => delivered(r) && !JSON.parse(r.body).conversation.startsWith("person:eve"))
        .map((r) => r.at),
    );
    expect(lastHealthy).toBeLessThan(stuckAttempts[3]?.at ?? 0);
  });
});
