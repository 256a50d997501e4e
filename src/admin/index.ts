import { Hono } from "hono/tiny";
import { type AppEnv, exactPaths } from "../context";
import { RelayError } from "../errors";
import { adminAuth } from "./auth";
import { deadLetterRoutes } from "./dead-letters";
import { deciderRoutes } from "./deciders";
import { eventRoutes } from "./events";
import { statsRoutes } from "./stats";
import { targetRoutes } from "./targets";
import { testEventRoutes } from "./test-event";

/** The admin API, all behind the bearer token or the console's session (src/admin/auth.ts). */
export const adminRoutes = new Hono<AppEnv>()
  .use(adminAuth())
  .use(exactPaths())
  // The document is a static asset (public/schemas/openapi.json, generated): bundled, it would cost the Worker 7 KiB
  // gzip on every cold start for a route an operator calls now and then.
  .get("/openapi.json", async (c) => {
    const res = await c.env.ASSETS.fetch(new URL("/schemas/openapi.json", c.req.url));
    if (!res.ok) throw new RelayError("INTERNAL", "the OpenAPI document is missing from the static assets");
    return c.json(await res.json());
  })
  .route("/targets", targetRoutes)
  .route("/targets", testEventRoutes)
  .route("/deciders", deciderRoutes)
  .route("/dead-letters", deadLetterRoutes)
  .route("/events", eventRoutes)
  .route("/stats", statsRoutes);
