import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`. With no token configured the admin API is closed, never open. Both
 * sides are hashed before the constant-time compare, so neither the token's bytes nor its length leak.
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.env.ADMIN_TOKEN?.trim();
    if (!token) throw new RelayError("ADMIN_DISABLED", "the admin API is disabled: set the ADMIN_TOKEN secret");
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const [given, expected] = await Promise.all([sha256(match?.[1] ?? ""), sha256(token)]);
    if (!match || !crypto.subtle.timingSafeEqual(given, expected)) {
      throw new RelayError("UNAUTHORIZED", "missing or invalid bearer token", undefined, {
        "www-authenticate": 'Bearer realm="imrelay-admin"',
      });
    }
    await next();
  };
}
