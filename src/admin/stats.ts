import { Hono } from "hono/tiny";
import type { AppEnv } from "../context";
import { RelayError } from "../errors";
import { statsStub } from "../stats/record";

/** The windows the console shows, and the slices of each one's series. */
const WINDOWS = { "1h": { ms: 3600_000, buckets: 12 }, "1d": { ms: 86_400_000, buckets: 24 } } as const;

/**
 * `GET /admin/stats?window=1h|1d`: the relay's own counters over the last hour or day (see src/stats/stats.ts),
 * with a series of 5-minute (1h) or hourly (1d) slices.
 */
export const statsRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const name = c.req.query("window") ?? "1h";
  if (!Object.hasOwn(WINDOWS, name)) throw new RelayError("INVALID_REQUEST", "window must be 1h or 1d");
  const window = WINDOWS[name as keyof typeof WINDOWS];
  const summary = await statsStub(c.env).summary(Date.now() - window.ms, window.buckets);
  return c.json({ window: name, ...summary }, 200, { "cache-control": "no-store" });
});
