import * as z from "zod/mini";
import { TargetId } from "../config/target";
import { EventEnvelope } from "../event";

/**
 * What travels on the queue, versioned so a deploy can change the shape while old messages drain.
 * - `event`: a new event from the ingress; the consumer fans it out to every matching target.
 * - `delivery`: one (event, target) pair that failed, or was deferred, and is retried on its own, so a failing
 *   target never causes a re-send to a target that already has the event.
 * Both carry the event's attributes and its `data` as the raw JSON text of the callback body.
 */
const data = z.string().check(z.minLength(2));
export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(1), kind: z.literal("event"), event: EventEnvelope, data }),
  z.object({
    v: z.literal(1),
    kind: z.literal("delivery"),
    event: EventEnvelope,
    data,
    target: TargetId,
    /** The attempt number this message makes when first read (1 = first try). */
    attempt: z.int().check(z.minimum(1)),
  }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;
export type EventMessage = Extract<QueueMessage, { kind: "event" }>;
export type DeliveryMessage = Extract<QueueMessage, { kind: "delivery" }>;
