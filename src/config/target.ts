import * as z from "zod/mini";
import { ENDPOINT_FIELDS, EndpointId, EndpointSecret, PreviousSecrets } from "./endpoint";

/**
 * A customer webhook endpoint ("target"), as stored in KV under `target:<id>` and accepted by the admin API.
 * This schema is the single source of truth; `schemas/target.json` is generated from it.
 */

/** A lane's Durable Object request may hold 6 outgoing connections at once, as any Workers request. */
export const LANE_CONNECTIONS = 6;
/** Lane shards per target. */
export const MAX_LANES = 16;

/** Target ids name lanes and dead letters too. */
export const TargetId = EndpointId;

/** What an operator sends to `PUT /admin/targets/:id`. */
export const TargetInput = z.strictObject({
  ...ENDPOINT_FIELDS,
  timeoutMs: z.optional(z.int().check(z.minimum(100), z.maximum(60_000))),
  /** Deliveries in flight at once, across the target's lanes (each lane holds at most 6). Default 6. */
  maxInFlight: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_LANES * LANE_CONNECTIONS))),
  /** Upper bound on deliveries started per second, across the target's lanes. Default: unlimited. */
  ratePerSecond: z.optional(z.number().check(z.gt(0), z.lte(10_000))),
  /** Shards of the target's delivery lane, for a target that needs more than one lane sustains. Default 1. */
  lanes: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_LANES))),
  /**
   * `conversation`: each conversation's events are delivered one at a time, in the events' order (a failing one
   * holds back only its own conversation). Default `none`: no order.
   */
  ordering: z.optional(z.enum(["none", "conversation"])),
  /** How long an ordered target's lane holds each event, so events the queue hands over out of order are put back in order. Default 1000. */
  reorderWindowMs: z.optional(z.int().check(z.minimum(0), z.maximum(60_000))),
});
export type TargetInput = z.infer<typeof TargetInput>;

/** A target as stored in KV. */
export const Target = z.object({
  ...TargetInput.shape,
  secret: EndpointSecret,
  enabled: z.boolean(),
  /** Why the relay disabled the target (e.g. it answered 410 Gone); cleared by the next PUT. */
  disabledReason: z.optional(z.string()),
  previousSecrets: PreviousSecrets,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Target = z.infer<typeof Target>;

/** The reorder window of an ordered target when it sets none. */
export const REORDER_WINDOW_MS = 1000;

/** Whether the target asked for ordered delivery per conversation. */
export function isOrdered(target: Pick<Target, "ordering">): boolean {
  return target.ordering === "conversation";
}

/** A target with its id, as the consumer uses it. */
export type TargetWithId = Target & { id: string };
