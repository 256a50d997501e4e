import * as z from "zod/mini";
import { TargetId } from "../config/target";
import { CloudEvent } from "../event";

/**
 * What travels on the queue, versioned so a deploy can change the shape while old messages drain.
 * - `event`: a new event from the ingress; the consumer fans it out to every matching target.
 * - `delivery`: one (event, target) pair that failed, or was deferred, and is retried on its own, so a failing
 *   target never causes a re-send to a target that already has the event.
 */
export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(1), kind: z.literal("event"), event: CloudEvent }),
  z.object({
    v: z.literal(1),
    kind: z.literal("delivery"),
    event: CloudEvent,
    target: TargetId,
    /** The attempt number this message makes when first read (1 = first try). */
    attempt: z.int().check(z.minimum(1)),
  }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;
export type EventMessage = Extract<QueueMessage, { kind: "event" }>;
export type DeliveryMessage = Extract<QueueMessage, { kind: "delivery" }>;
