import * as z from "zod/mini";
import { ENDPOINT_FIELDS, EndpointId, EndpointSecret, PreviousSecrets } from "../config/endpoint";

/**
 * A decider: the customer endpoint that answers before-callbacks (allow, deny, drop, rewrite), as stored in KV
 * under `decider:<id>` and accepted by `PUT /admin/deciders/:id`. Shaped like a target, with two fields of its
 * own. Published as `schemas/decider.json` and `schemas/decider-input.json`.
 */

export const DeciderId = EndpointId;

/** Both providers wait 2 s; the transit to the edge and the enqueue must fit in what `timeoutMs` leaves. */
export const DECIDER_TIMEOUT_MS = { min: 100, max: 1500, default: 1000 } as const;

/** What an operator sends to `PUT /admin/deciders/:id`. */
export const DeciderInput = z.strictObject({
  ...ENDPOINT_FIELDS,
  /** How long the relay waits for the verdict, counted from the callback's receipt. Default 1000. */
  timeoutMs: z.optional(z.int().check(z.minimum(DECIDER_TIMEOUT_MS.min), z.maximum(DECIDER_TIMEOUT_MS.max))),
  /**
   * The verdict when the decider times out, fails to connect, answers non-2xx or answers something that is not
   * a verdict. Default `allow`: both providers let the action through when their own callback times out.
   */
  fallback: z.optional(z.enum(["allow", "deny"])),
});
export type DeciderInput = z.infer<typeof DeciderInput>;

/** A decider as stored in KV. */
export const Decider = z.object({
  ...DeciderInput.shape,
  secret: EndpointSecret,
  enabled: z.boolean(),
  previousSecrets: PreviousSecrets,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Decider = z.infer<typeof Decider>;
export type DeciderWithId = Decider & { id: string };
