import { Hono } from "hono";
import { deleteTarget, getTarget, listTargets, putTarget } from "../config/store";
import { type Target, TargetId, TargetInput } from "../config/target";
import type { AppEnv } from "../context";
import { generateSecret } from "../delivery/signature";
import { RelayError } from "../errors";
import { invalid, readJson } from "./validate";

/**
 * Secrets are write-only: read back, only the secret's last 4 characters show (enough to tell a rotation
 * happened), and header values are hidden, since they often carry credentials for the endpoint.
 */
function masked(id: string, target: Target): Record<string, unknown> {
  const headers = target.headers && Object.fromEntries(Object.keys(target.headers).map((name) => [name, "****"]));
  return { id, ...target, secret: `whsec_****${target.secret.slice(-4)}`, ...(headers && { headers }) };
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
    const target = await getTarget(c.env.TARGETS, id);
    if (!target) throw new RelayError("NOT_FOUND", "no such target");
    return c.json(masked(id, target));
  })
  .put("/:id", async (c) => {
    const id = targetId(c.req.param("id"));
    const parsed = TargetInput.safeParse(await readJson(c.req.raw, "INVALID_TARGET"));
    if (!parsed.success) throw invalid("INVALID_TARGET", "invalid target", parsed.error.issues);
    const input = parsed.data;
    const existing = await getTarget(c.env.TARGETS, id);
    const generated = input.secret === undefined && existing === undefined ? generateSecret() : undefined;
    const now = new Date().toISOString();
    const target: Target = {
      ...input,
      secret: input.secret ?? existing?.secret ?? (generated as string),
      enabled: input.enabled ?? true,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await putTarget(c.env.TARGETS, id, target);
    c.get("log").info("target saved", { target: id, created: !existing });
    // A generated secret is shown exactly once, here.
    const body = generated ? { ...masked(id, target), secret: generated } : masked(id, target);
    return c.json(body, existing ? 200 : 201);
  })
  .delete("/:id", async (c) => {
    const id = targetId(c.req.param("id"));
    if (!(await getTarget(c.env.TARGETS, id))) throw new RelayError("NOT_FOUND", "no such target");
    await deleteTarget(c.env.TARGETS, id);
    c.get("log").info("target deleted", { target: id });
    return c.body(null, 204);
  });
