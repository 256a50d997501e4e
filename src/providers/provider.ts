import type { Answer, Verdict } from "../deciders/verdict";
import type { RelayError } from "../errors";
import type { EventEnvelope } from "../event";
import type { CatalogueEntry } from "./fields";

/** Providers the relay speaks to. */
export type ProviderName = "tencent" | "netease";

/** Who sent a callback, once its credentials have been checked against the raw request. */
export type Authenticated = {
  appId: string;
  body: Uint8Array;
  /** The provider's own request time (Tencent `RequestTime`, NetEase `CurTime`), as sent. */
  requestTime?: string;
};

/**
 * One callback endpoint of one provider. Each provider folder exports one of these per channel; the generic
 * ingress handler does the rest (parse, validate, build the event, enqueue, ack), so adding a provider is a
 * folder and a registry line.
 */
export interface Channel {
  readonly provider: ProviderName;
  /** `im` for Tencent; NetEase has two independent channels, `cc` (抄送) and `callback` (第三方回调). */
  readonly channel: "im" | "cc" | "callback";
  /** Route path, part of the public contract. */
  readonly path: string;
  /** Documented payloads, keyed by what `identify` returns. */
  readonly catalogue: Readonly<Record<string, CatalogueEntry>>;
  /** Checks credentials on the raw request and reads the body (limited in size); throws RelayError. */
  authenticate(req: Request, url: URL, env: Env, nowMs: number): Promise<Authenticated>;
  /**
   * The root body key `identify` routes on. A body that repeats it is refused (AMBIGUOUS_BODY) before `identify`
   * runs: JSON.parse keeps the last duplicate, a receiver's parser may keep the first.
   */
  readonly routingKey: string;
  /** The command / eventType of this callback; throws MISSING_EVENT_TYPE when there is none. */
  identify(payload: Record<string, unknown>, url: URL): string;
  /** A provider's liveness probe (NetEase posts `{}` to a new address): answer OK, forward nothing. */
  isProbe(payload: Record<string, unknown>): boolean;
  /** `providerevent` extension value, e.g. `Group.CallbackAfterGroupDestroyed` or `cc.1`. */
  providerEvent(key: string): string;
  /** The inverse of `providerEvent`: the catalogue key, or undefined when the value is another channel's. */
  keyOf(providerEvent: string): string | undefined;
  /** CloudEvents `type`: vendor-neutral where the meaning is shared, provider-scoped otherwise. */
  eventType(key: string, payload: Record<string, unknown>): string;
  /** Extension attributes from outside the body (Tencent sends ClientIP and OptPlatform in the query only). */
  attributes?(url: URL): Pick<EventEnvelope, "clientip" | "optplatform">;
  /** When the event happened per the payload (ms since epoch), if it says. */
  eventTime(payload: Record<string, unknown>): number | undefined;
  /** The provider's success answer, sent only after the event is on the queue. */
  ack(key: string, payload: Record<string, unknown>): Response;
  /** A before-callback's answer for a decider's verdict; absent on channels that have no before-callbacks. */
  decide?(key: string, payload: Record<string, unknown>, verdict: Verdict): Answer;
  /** The provider's error answer. */
  reject(err: RelayError, requestId: string): Response;
}
