import * as z from "zod/mini";
import { TargetId } from "../config/target";
import { EventEnvelope, QueuedEnvelope } from "../event";

/**
 * What travels on the queue, versioned so a deploy can change the shape while old messages drain.
 * - `event`: a new event from the ingress; the consumer fans it out to every matching target.
 * - `delivery`: one (event, target) pair an operator replays; it reaches that target's lane only.
 * Both carry the event's attributes and its `data` as the raw JSON text of the callback body.
 */
const data = z.string().check(z.minLength(2));
export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(1), kind: z.literal("event"), event: QueuedEnvelope, data }),
  z.object({
    v: z.literal(1),
    kind: z.literal("delivery"),
    event: EventEnvelope,
    data,
    target: TargetId,
    /** Kept for messages enqueued before delivery lanes; lanes count attempts themselves. */
    attempt: z.int().check(z.minimum(1)),
    /** An operator's replay: the dead letter's id. A lane re-delivers an event once per replay id. */
    replay: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;
export type EventMessage = Extract<QueueMessage, { kind: "event" }>;
export type DeliveryMessage = Extract<QueueMessage, { kind: "delivery" }>;
