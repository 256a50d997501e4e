import { Hono } from "hono/tiny";
import { adminRoutes } from "./admin";
import { consoleRoutes } from "./console/routes";
import { type AppEnv, exactPaths, requestContext } from "./context";
import { RelayError, toRelayError } from "./errors";
import { healthReport } from "./health";
import { handleCallback } from "./ingress/handler";
import { CHANNELS } from "./providers";
import { countRefusal } from "./stats/record";

/** The plain error body, for routes that are not a provider's (admin API, unknown paths). */
function plainError(err: RelayError, requestId: string): Response {
  return Response.json(
    { error: { code: err.code, message: err.message }, requestId },
    { status: err.status, headers: err.headers },
  );
}

/** The relay's HTTP surface: the Workers `fetch` handler. */
export type Relay = { fetch(req: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> };

/**
 * The relay's HTTP surface. Provider callbacks (POST to a channel path) go straight to the ack path; everything
 * else (health, admin API, wrong methods, unknown paths) goes through the Hono app.
 */
export function createApp(): Relay {
  const app = createHonoApp();
  const channels = new Map(CHANNELS.map((channel) => [channel.path, channel]));
  return {
    fetch(req, env, ctx) {
      if (req.method === "POST") {
        const url = new URL(req.url);
        const channel = channels.get(url.pathname);
        if (channel) return countRefusal(handleCallback(channel, req, url, env), env, ctx);
      }
      return app.fetch(req, env, ctx);
    },
  };
}

function createHonoApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestContext());
  // The admin API checks its token first, so an unauthenticated caller cannot map its paths.
  app.use(exactPaths((path) => !path.startsWith("/admin")));

  // 503 while the configuration has problems: a deploy check or monitor sees them before a provider does.
  app.get("/healthz", (c) => {
    const report = healthReport(c.env);
    return c.json(report, report.ok ? 200 : 503, { "cache-control": "no-store" });
  });

  for (const channel of CHANNELS) {
    app.all(channel.path, (c) => channel.reject(new RelayError("METHOD_NOT_ALLOWED", "use POST"), c.get("requestId")));
  }

  app.route("/admin", adminRoutes);
  // The console's pages are static assets (wrangler.toml [assets]); only its session lives in the Worker.
  app.route("/console", consoleRoutes);

  app.notFound((c) => plainError(new RelayError("NOT_FOUND", "no such route"), c.get("requestId")));
  app.onError((thrown, c) => {
    const err = toRelayError(thrown);
    const log = c.get("log");
    (err.status >= 500 ? log.error : log.warn)("request refused", {
      code: err.code,
      status: err.status,
      reason: err.message,
      ...err.detail,
    });
    return plainError(err, c.get("requestId"));
  });
  return app;
}
