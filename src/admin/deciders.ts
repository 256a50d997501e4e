import { Hono } from "hono/tiny";
import type { AppEnv } from "../context";
import { DeciderId, DeciderInput } from "../deciders/config";
import { deleteDecider, getDecider, listDeciders, putDecider, readDecider } from "../deciders/store";
import { RelayError } from "../errors";
import { checkEndpointUrl, fromInput, masked, rotated } from "./endpoints";
import { invalid, readJson } from "./validate";

function deciderId(raw: string): string {
  const parsed = DeciderId.safeParse(raw);
  if (!parsed.success) throw invalid("INVALID_DECIDER", "invalid decider id", parsed.error.issues);
  return parsed.data;
}

/**
 * `/admin/deciders`: the endpoints that answer before-callbacks. Changes reach the ack path within
 * TARGETS_CACHE_TTL_SECONDS in this isolate's location (others also wait for KV to propagate, up to ~60 s).
 */
export const deciderRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { deciders, invalid: broken } = await listDeciders(c.env.TARGETS);
    return c.json({ items: deciders.map(({ id, ...d }) => masked(id, d)), invalid: broken });
  })
  .get("/:id", async (c) => {
    const id = deciderId(c.req.param("id"));
    const found = await readDecider(c.env.TARGETS, id);
    if (found.kind === "missing") throw new RelayError("NOT_FOUND", "no such decider");
    if (found.kind === "invalid")
      throw new RelayError("CONFLICT", "the stored decider fails its schema; PUT it again to fix it");
    const { id: _, ...decider } = found.decider;
    return c.json(masked(id, decider));
  })
  .put("/:id", async (c) => {
    const id = deciderId(c.req.param("id"));
    const parsed = DeciderInput.safeParse(await readJson(c.req.raw, "INVALID_DECIDER"));
    if (!parsed.success) throw invalid("INVALID_DECIDER", "invalid decider", parsed.error.issues);
    checkEndpointUrl("INVALID_DECIDER", "decider", parsed.data.url, c.req.url);
    const found = await readDecider(c.env.TARGETS, id);
    // One that fails its schema (stored before a rule existed) is repaired in place: its secrets stay.
    const existing = found.kind === "ok" ? found.decider : found.kind === "invalid" ? found.kept : undefined;
    const { value: decider, shown } = fromInput(parsed.data, existing, Date.now());
    await putDecider(c.env.TARGETS, id, decider);
    c.get("log").info("decider saved", { decider: id, created: !existing });
    return c.json(shown ? { ...masked(id, decider), secret: shown } : masked(id, decider), existing ? 200 : 201);
  })
  .post("/:id/rotate-secret", async (c) => {
    const id = deciderId(c.req.param("id"));
    const existing = await getDecider(c.env.TARGETS, id);
    if (!existing) throw new RelayError("NOT_FOUND", "no such decider");
    const { id: _, ...stored } = existing;
    const { value: decider, shown } = rotated(stored, Date.now());
    await putDecider(c.env.TARGETS, id, decider);
    c.get("log").info("decider secret rotated", { decider: id });
    return c.json({ ...masked(id, decider), secret: shown });
  })
  .delete("/:id", async (c) => {
    const id = deciderId(c.req.param("id"));
    const found = await readDecider(c.env.TARGETS, id);
    if (found.kind === "missing") throw new RelayError("NOT_FOUND", "no such decider");
    await deleteDecider(c.env.TARGETS, id);
    c.get("log").info("decider deleted", { decider: id });
    return c.body(null, 204);
  });
