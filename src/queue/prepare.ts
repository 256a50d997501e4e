import type { EventEnvelope, QueuedEnvelope } from "../event";
import { placement } from "../ordering/conversation";
import { withSchemaVerdict } from "../validate/schema";

/** `data` parsed at most once; undefined if it is not JSON (the ingress accepted it as JSON, so never in practice). */
function parsedOnce(data: string): () => unknown {
  let parsed: { value: unknown } | undefined;
  return () => {
    if (parsed) return parsed.value;
    try {
      parsed = { value: JSON.parse(data) };
    } catch {
      parsed = { value: undefined };
    }
    return parsed.value;
  };
}

/**
 * What the consumer adds to an event before its lanes get it, off the ack path: the `schemavalid` verdict the
 * ingress leaves to it for after-callbacks, and the event's conversation (src/ordering/) with its order value.
 * Both read the parsed `data`, parsed once. `issues` and `unknown` are for the caller's log.
 */
export function prepare(
  queued: QueuedEnvelope,
  data: string,
): { event: EventEnvelope; order?: number; issues?: string[]; unknown?: true } {
  const payload = parsedOnce(data);
  const { event: checked, issues, unknown } = withSchemaVerdict(queued, data, payload);
  const { conversation, order } = placement(checked.provider, checked.providerevent, payload());
  // A replay carries the attribute it was delivered with; it is placed again, from its data.
  const { conversation: _, ...rest } = checked;
  const event = conversation === undefined ? rest : { ...rest, conversation };
  return { event, ...(order !== undefined && { order }), ...(issues && { issues }), ...(unknown && { unknown }) };
}
