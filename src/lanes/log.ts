import * as z from "zod/mini";

/**
 * The delivery log's public shapes (`GET /admin/events/:id`, `GET /admin/targets/:id/deliveries`), the single
 * source of their types and of their OpenAPI schemas.
 */

export const DeliveryStateSchema = z.enum(["pending", "delivered", "dead"]);
export type DeliveryState = z.infer<typeof DeliveryStateSchema>;

export const AttemptLog = z.object({
  at: z.iso.datetime(),
  status: z.optional(z.int()),
  durationMs: z.int(),
  error: z.optional(z.string()),
  /** The first 512 bytes of a failing answer's body. */
  response: z.optional(z.string()),
});

/**
 * Ordered targets: the event this one waits behind, the earliest undelivered event of its conversation (which is
 * being attempted or waits for its retry). Absent when nothing holds it back.
 */
const blockedBy = z.optional(z.string());

export const DeliveryLog = z.object({
  target: z.string(),
  state: DeliveryStateSchema,
  attempts: z.array(AttemptLog),
  nextAttemptAt: z.optional(z.iso.datetime()),
  blockedBy,
});

export const DeliveryListItem = z.object({
  event: z.string(),
  type: z.string(),
  /** Kept while the lane keeps the event's payload (the console filters by it). */
  provider: z.optional(z.string()),
  state: DeliveryStateSchema,
  attempts: z.int(),
  lastStatus: z.optional(z.int()),
  lastAttemptAt: z.optional(z.iso.datetime()),
  nextAttemptAt: z.optional(z.iso.datetime()),
  blockedBy,
});

export const LaneStatusSchema = z.object({
  circuit: z.enum(["closed", "open"]),
  consecutiveFailures: z.int(),
  openedAt: z.optional(z.iso.datetime()),
  nextProbeAt: z.optional(z.iso.datetime()),
  pending: z.int(),
  delivered: z.int(),
  dead: z.int(),
  rowsWritten: z.int(),
});

export type LaneStatus = z.infer<typeof LaneStatusSchema>;

/** One lane's answer for one event: its delivery, and the event's raw envelope and data while kept. */
export type DeliveryView = z.infer<typeof DeliveryLog> & { event: { envelope: string; data: string } | null };

/** A delivery-log row as a lane returns it: `createdAt` (ms) orders and pages rows merged from several shards. */
export type LaneSummary = z.infer<typeof DeliveryListItem> & { createdAt: number };

export type ListQuery = {
  state?: DeliveryState;
  sinceMs?: number;
  before?: { at: number; id: string };
  limit: number;
};
