import type { EventEnvelope, QueuedEnvelope } from "../event";
import { issueSummary } from "../log";
import { catalogueEntry } from "../providers";

/**
 * The `schemavalid` verdict, given off the ack path: the consumer checks each event the ingress left unchecked
 * against its provider's documented schema before handing it to the lanes. `issues` name the failing fields
 * (never their values), for the log.
 */
export function withSchemaVerdict(
  event: QueuedEnvelope,
  data: string,
  parsed: () => unknown = () => JSON.parse(data),
): { event: EventEnvelope; issues?: string[]; unknown?: true } {
  if (event.schemavalid !== undefined) return { event: { ...event, schemavalid: event.schemavalid } };
  const entry = catalogueEntry(event.provider, event.providerevent);
  if (!entry) return { event: { ...event, schemavalid: false }, unknown: true };
  // The ingress accepted `data` as a JSON object; parsing it again costs the consumer, not the provider's wait.
  const result = entry.schema.safeParse(parsed());
  return result.success
    ? { event: { ...event, schemavalid: true } }
    : { event: { ...event, schemavalid: false }, issues: issueSummary(result.error.issues) };
}
