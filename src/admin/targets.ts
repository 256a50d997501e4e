import { Hono } from "hono";
import { deleteTarget, getTarget, listTargets, putTarget } from "../config/store";
import { type Target, TargetId, TargetInput, withRotatedSecret } from "../config/target";
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
  const previousSecrets = target.previousSecrets?.map(({ expiresAt }) => ({ expiresAt }));
  return {
    id,
    ...target,
    secret: `whsec_****${target.secret.slice(-4)}`,
    ...(headers && { headers }),
    ...(previousSecrets && { previousSecrets }),
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
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    // Omitted: keep the current secret, or generate one for a new target (shown once, below).
    const secret = input.secret ?? existing?.secret ?? generateSecret();
    const generated = secret !== input.secret && secret !== existing?.secret;
    const saved: Target = {
      ...input,
      secret: existing?.secret ?? secret,
      previousSecrets: existing?.previousSecrets,
      enabled: input.enabled ?? true,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    // A new secret on an existing target rotates it: the old one keeps signing for the grace period.
    const target = withRotatedSecret(saved, secret, nowMs);
    await putTarget(c.env.TARGETS, id, target);
    c.get("log").info("target saved", { target: id, created: !existing });
    const body = generated ? { ...masked(id, target), secret } : masked(id, target);
    return c.json(body, existing ? 200 : 201);
  })
  .post("/:id/rotate-secret", async (c) => {
    const id = targetId(c.req.param("id"));
    const existing = await getTarget(c.env.TARGETS, id);
    if (!existing) throw new RelayError("NOT_FOUND", "no such target");
    const secret = generateSecret();
    const nowMs = Date.now();
    const target = { ...withRotatedSecret(existing, secret, nowMs), updatedAt: new Date(nowMs).toISOString() };
    await putTarget(c.env.TARGETS, id, target);
    c.get("log").info("target secret rotated", { target: id });
    // The new secret is shown exactly once, here; the previous one signs too until it expires.
    return c.json({ ...masked(id, target), secret });
  })
  .delete("/:id", async (c) => {
    const id = targetId(c.req.param("id"));
    if (!(await getTarget(c.env.TARGETS, id))) throw new RelayError("NOT_FOUND", "no such target");
    await deleteTarget(c.env.TARGETS, id);
    c.get("log").info("target deleted", { target: id });
    return c.body(null, 204);
  });
