import type { MiddlewareHandler } from "hono";
import { createLogger, type Logger, logLevel } from "./log";

/** Hono generics for this app: the bindings and what the request-context middleware provides. */
export type AppEnv = { Bindings: Env; Variables: { requestId: string; log: Logger } };

/**
 * Gives every request an id (Cloudflare's `cf-ray` when present, so our logs join Cloudflare's) and a logger
 * that stamps it on every line, and returns it as `x-request-id` so a provider's or customer's report can be
 * matched to our logs.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("log", createLogger({ requestId }, logLevel(c.env)));
    await next();
    c.res.headers.set("x-request-id", requestId);
  };
}
