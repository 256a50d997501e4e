import * as z from "zod/mini";

/**
 * The shape of `GET /admin/stats`, for OpenAPI and the types. Imported by the runtime as a type only, so the schema
 * stays out of the Worker's bundle.
 */

const Counts = z.record(z.string(), z.int());

/** `GET /admin/stats`: counts per kind and label over the window, and a series of the window's slices. */
export const StatsSummary = z.object({
  since: z.iso.datetime(),
  totals: z.object({
    /** Events taken from the queue, by provider. */
    accepted: Counts,
    /** Finished deliveries and failed attempts, by target. */
    delivered: Counts,
    retried: Counts,
    dead: Counts,
    /** Callbacks the ingress refused, by error code. */
    refused: Counts,
    /** Before-callbacks a decider answered, by what the provider was told; `fallback` those a fallback decided. */
    verdict: Counts,
    fallback: Counts,
  }),
  series: z.array(
    z.object({ at: z.iso.datetime(), accepted: z.int(), delivered: z.int(), dead: z.int(), refused: z.int() }),
  ),
});
export type StatsSummary = z.infer<typeof StatsSummary>;
