import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import { deleteTarget, getTarget, listTargets, putTarget, readTarget } from "../config/store";
import { type Target, TargetId, TargetInput } from "../config/target";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";
import type { Lane } from "../lanes/lane";
import { DeliveryStateSchema, type LaneSummary } from "../lanes/log";
import { targetLanes } from "../lanes/route";
import { checkEndpointUrl, fromInput, masked, rotated } from "./endpoints";
import { invalid, readJson } from "./validate";

/** Retire calls per lane in one DELETE; a lane with more left keeps writing its dead letters from its alarm. */
const RETIRE_CALLS = 10;

const DeliveriesQuery = z.object({
  state: z.optional(DeliveryStateSchema),
  since: z.optional(z.iso.datetime({ offset: true })),
  limit: z.optional(z.pipe(z.string().check(z.regex(/^\d{1,4}$/)), z.transform(Number))),
  cursor: z.optional(z.string().check(z.regex(/^\d{1,15}\.evt_[0-9a-f]{32}$/))),
});

/** Calls a lane's `retire` until it has written all it owes, or the request's subrequest budget is near. */
async function retireLane(lane: DurableObjectStub<Lane>): Promise<number> {
  let remaining = 0;
  for (let call = 0; call < RETIRE_CALLS; call++) {
    ({ remaining } = await lane.retire());
    if (remaining === 0) break;
  }
  return remaining;
}

/** The target's delivery state from its lanes: circuit breaker and backlog, per shard and in sum. */
async function laneState(env: Env, id: string, target: Target) {
  const shards = await Promise.all(targetLanes(env, { id, lanes: target.lanes }).map((lane) => lane.status()));
  return {
    circuit: shards.some((s) => s.circuit === "open") ? "open" : "closed",
    pending: shards.reduce((n, s) => n + s.pending, 0),
    dead: shards.reduce((n, s) => n + s.dead, 0),
    shards: shards.map(({ rowsWritten: _, ...s }) => s),
  };
}

function targetId(raw: string): string {
  const parsed = TargetId.safeParse(raw);
  if (!parsed.success) throw invalid("INVALID_TARGET", "invalid target id", parsed.error.issues);
  return parsed.data;
}

/** `/admin/targets`: the customer webhook endpoints. */
export const targetRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { targets, invalid: broken } = await listTargets(c.env.TARGETS);
    return c.json({ items: targets.map(({ id, ...t }) => masked(id, t)), invalid: broken });
  })
  .get("/:id", async (c) => {
    const id = targetId(c.req.param("id"));
    const found = await readTarget(c.env.TARGETS, id);
    if (found.kind === "missing") throw new RelayError("NOT_FOUND", "no such target");
    if (found.kind === "invalid") {
      throw new RelayError("CONFLICT", "the stored target fails its schema; PUT it again to fix it");
    }
    const { id: _, ...target } = found.target;
    return c.json({ ...masked(id, target), delivery: await laneState(c.env, id, target) });
  })
  .get("/:id/deliveries", async (c) => {
    const id = targetId(c.req.param("id"));
    const parsed = DeliveriesQuery.safeParse(c.req.query());
    if (!parsed.success) throw invalid("INVALID_REQUEST", "invalid query", parsed.error.issues);
    const { state, since, limit = 100, cursor } = parsed.data;
    if (limit < 1 || limit > 1000) throw new RelayError("INVALID_REQUEST", "limit must be between 1 and 1000");
    const found = await readTarget(c.env.TARGETS, id);
    if (found.kind === "missing") throw new RelayError("NOT_FOUND", "no such target");
    // A target whose stored config fails its schema still has a log: its lanes hold what waits for the fix.
    const lanes = found.kind === "ok" ? found.target.lanes : found.lanes;
    const [at, eventId] = cursor ? cursor.split(".", 2) : [];
    const before = at && eventId ? { at: Number(at), id: eventId } : undefined;
    const query = { state, sinceMs: since ? Date.parse(since) : undefined, before, limit };
    // Each shard pages newest first on (createdAt, event id); merged, the first `limit` are this page.
    const pages = await Promise.all(targetLanes(c.env, { id, lanes }).map((lane) => lane.list(query)));
    const rows: LaneSummary[] = pages
      .flat()
      .sort((a, b) => b.createdAt - a.createdAt || (a.event < b.event ? 1 : a.event > b.event ? -1 : 0));
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const more = rows.length > limit || pages.some((p) => p.length === limit);
    return c.json({
      items: page.map(({ createdAt: _, ...item }) => item),
      ...(more && last && { cursor: `${last.createdAt}.${last.event}` }),
    });
  })
  .put("/:id", async (c) => {
    const id = targetId(c.req.param("id"));
    const parsed = TargetInput.safeParse(await readJson(c.req.raw, "INVALID_TARGET"));
    if (!parsed.success) throw invalid("INVALID_TARGET", "invalid target", parsed.error.issues);
    const input = parsed.data;
    checkEndpointUrl("INVALID_TARGET", "target", input.url, c.req.url);
    const found = await readTarget(c.env.TARGETS, id);
    // One that fails its schema (stored before a rule existed) is repaired in place: its secrets stay.
    const existing = found.kind === "ok" ? found.target : found.kind === "invalid" ? found.kept : undefined;
    const { value: target, shown } = fromInput(input, existing, Date.now());
    await putTarget(c.env.TARGETS, id, target);
    c.get("log").info("target saved", { target: id, created: !existing });
    const body = shown ? { ...masked(id, target), secret: shown } : masked(id, target);
    return c.json(body, existing ? 200 : 201);
  })
  .post("/:id/rotate-secret", async (c) => {
    const id = targetId(c.req.param("id"));
    const existing = await getTarget(c.env.TARGETS, id);
    if (!existing) throw new RelayError("NOT_FOUND", "no such target");
    const { value: target, shown } = rotated(existing, Date.now());
    await putTarget(c.env.TARGETS, id, target);
    c.get("log").info("target secret rotated", { target: id });
    // The new secret is shown exactly once, here; the previous one signs too until it expires.
    return c.json({ ...masked(id, target), secret: shown });
  })
  .delete("/:id", async (c) => {
    const id = targetId(c.req.param("id"));
    const found = await readTarget(c.env.TARGETS, id);
    if (found.kind === "missing") throw new RelayError("NOT_FOUND", "no such target");
    // One that fails its schema can be deleted too; its lanes are found from the stored value.
    const lanes = found.kind === "ok" ? found.target.lanes : found.lanes;
    // Lanes first: if one cannot retire, the target stays, and the operator can simply retry the DELETE.
    const left = await Promise.all(targetLanes(c.env, { id, lanes }).map(retireLane));
    await deleteTarget(c.env.TARGETS, id);
    const remaining = left.reduce((n, r) => n + r, 0);
    if (remaining > 0)
      c.get("log").warn("target deleted; its lanes still write dead letters", { target: id, remaining });
    c.get("log").info("target deleted", { target: id });
    return c.body(null, 204);
  });
