import type { MiddlewareHandler } from "hono";
import { createLogger, type Logger, logSettings } from "./log";

/** Hono generics for this app: the bindings and what the request-context middleware provides. */
export type AppEnv = { Bindings: Env; Variables: { requestId: string; log: Logger } };

/**
 * A request's id: Cloudflare's `cf-ray` when present and well-formed (so our logs join Cloudflare's), else a
 * UUID. A client-supplied value is never trusted beyond that shape: it is echoed and logged on every line.
 */
export function requestIdOf(req: Request): string {
  const ray = req.headers.get("cf-ray");
  return ray !== null && /^[0-9A-Za-z-]{1,64}$/.test(ray) ? ray : crypto.randomUUID();
}

/**
 * Gives every request an id and a logger that stamps it on every line, and returns it as `x-request-id` so a
 * provider's or customer's report can be matched to our logs.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = requestIdOf(c.req.raw);
    c.set("requestId", requestId);
    c.set("log", createLogger({ requestId }, logSettings(c.env)));
    await next();
    c.res.headers.set("x-request-id", requestId);
  };
}

/**
 * A trailing slash names no route here (`/healthz/` is a 404). The small router (hono/tiny, a third of the
 * default's bundle) would match it to the route without one, so this keeps paths exact where `applies` says.
 */
export function exactPaths(applies: (path: string) => boolean = () => true): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = c.req.path;
    if (path.length > 1 && path.endsWith("/") && applies(path)) return c.notFound();
    await next();
  };
}
