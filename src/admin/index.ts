import { Hono } from "hono";
import openapi from "../../schemas/openapi.json";
import type { AppEnv } from "../context";
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
  .get("/openapi.json", (c) => c.json(openapi))
  .route("/targets", targetRoutes)
  .route("/targets", testEventRoutes)
  .route("/deciders", deciderRoutes)
  .route("/dead-letters", deadLetterRoutes)
  .route("/events", eventRoutes)
  .route("/stats", statsRoutes);
