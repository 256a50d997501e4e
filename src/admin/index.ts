import { Hono } from "hono";
import openapi from "../../schemas/openapi.json";
import type { AppEnv } from "../context";
import { adminAuth } from "./auth";
import { deadLetterRoutes } from "./dead-letters";
import { deciderRoutes } from "./deciders";
import { eventRoutes } from "./events";
import { targetRoutes } from "./targets";

/** The admin API, all behind the bearer token. */
export const adminRoutes = new Hono<AppEnv>()
  .use(adminAuth())
  .get("/openapi.json", (c) => c.json(openapi))
  .route("/targets", targetRoutes)
  .route("/deciders", deciderRoutes)
  .route("/dead-letters", deadLetterRoutes)
  .route("/events", eventRoutes);
