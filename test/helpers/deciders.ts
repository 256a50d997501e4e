import { env } from "cloudflare:test";
import { Decider } from "../../src/deciders/config";
import { deleteDecider, invalidateDeciderCache, putDecider } from "../../src/deciders/store";
import { generateSecret } from "../../src/delivery/signature";

/** Stores a decider directly in KV (the admin API has its own tests); returns its secret. */
export async function storeDecider(id: string, fields: Partial<Decider> & { url: string }): Promise<string> {
  const now = new Date().toISOString();
  const secret = fields.secret ?? generateSecret();
  await putDecider(
    env.TARGETS,
    id,
    Decider.parse({ enabled: true, createdAt: now, updatedAt: now, ...fields, secret }),
  );
  return secret;
}

/** Removes deciders a test stored, so other files' before-callbacks are answered as without any. */
export async function removeDeciders(): Promise<void> {
  const { keys } = await env.TARGETS.list({ prefix: "decider:" });
  for (const key of keys) await deleteDecider(env.TARGETS, key.name.slice("decider:".length));
  invalidateDeciderCache();
}
