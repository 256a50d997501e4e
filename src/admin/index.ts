import { Hono } from "hono";
import type { AppEnv } from "../context";
import { adminAuth } from "./auth";
import { deadLetterRoutes } from "./dead-letters";
import { targetRoutes } from "./targets";

/** The admin API, all behind the bearer token. */
export const adminRoutes = new Hono<AppEnv>()
  .use(adminAuth())
  .route("/targets", targetRoutes)
  .route("/dead-letters", deadLetterRoutes);
