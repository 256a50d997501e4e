import * as z from "zod/mini";
import { parseSecret } from "../delivery/signature";
import { classifyHost } from "../net/address";

/**
 * The fields every endpoint the relay POSTs signed events to shares: targets (delivered to, later) and deciders
 * (asked, before the provider gets its answer). One definition, so both validate URLs, secrets, headers and
 * filters the same way.
 */

/** Ids appear in KV keys, lane names and dead-letter ids, so they are restricted to a URL- and key-safe alphabet. */
export const EndpointId = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "id must match ^[a-z0-9][a-z0-9_-]{0,63}$"));

/** The normalised form of a URL (`URL.href`: IPv4 in dotted decimal, names lower-cased and in punycode). */
function normalised(value: string): string {
  try {
    return new URL(value).href;
  } catch {
    return value; // refused by the check below, which names the field
  }
}

/** Why a parsed endpoint URL may not be stored, whatever relay stores it; undefined when it may. */
function urlRule(url: URL): string | undefined {
  if (url.username !== "" || url.password !== "") return "url must not contain credentials; use headers instead";
  if (url.protocol !== "https:" && url.protocol !== "http:") return "url must use https://";
  const host = classifyHost(url.hostname);
  if (host.kind === "refused") return `url must point at a public host: ${host.reason}`;
  if (url.protocol === "http:" && host.kind !== "loopback") {
    return "url must use https:// (http:// is allowed only for localhost, 127.0.0.0/8 and [::1])";
  }
  if (url.href.length > 2048) return "url must be at most 2048 characters once normalised";
  return undefined;
}

/**
 * Where the relay POSTs signed events. `https://` to a public host; `http://` only to loopback, for local
 * development. Private, link-local, CGNAT, reserved and metadata hosts are refused in every spelling the URL
 * parser accepts (see src/net/address.ts). Stored as `URL.href`, so the URL delivered to is the one validated.
 *
 * Loopback and the relay's own host depend on where the relay runs: {@link endpointUrlProblem} checks those
 * when an admin request writes the endpoint.
 */
export const EndpointUrl = z.string().check(
  z.maxLength(2048),
  z.overwrite(normalised),
  z.superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "url is not a valid absolute URL", input: value });
      return;
    }
    const problem = urlRule(url);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: "(redacted)" });
  }),
);

/** Whether the host of a parsed URL is this machine. */
function isLoopback(url: URL): boolean {
  return classifyHost(url.hostname).kind === "loopback";
}

/**
 * What the admin request that writes an endpoint knows beyond the schema: where the relay itself runs.
 * - Loopback endpoints only when the relay runs locally, told by the admin request itself having arrived on a
 *   loopback host (`wrangler dev`, `npm run dev`). A deployed Worker is only reached under its own names, so it
 *   never sees such a request.
 * - Never the relay itself: an endpoint on the relay's own host would feed its deliveries back into the relay.
 *   Locally, where every receiver is on loopback too, that is the relay's own port.
 *
 * @param url - The endpoint URL, already accepted by {@link EndpointUrl}.
 * @param relayUrl - The URL of the admin request.
 * @returns Why the URL is refused, or undefined.
 */
export function endpointUrlProblem(url: string, relayUrl: string): string | undefined {
  const target = new URL(url);
  const relay = new URL(relayUrl);
  const local = isLoopback(relay);
  if (isLoopback(target)) {
    if (!local) {
      return "url points at a loopback host, which is allowed only when the relay runs locally (wrangler dev)";
    }
    if (effectivePort(target) === effectivePort(relay)) return "url points at the relay itself";
    return undefined;
  }
  if (bareHost(target) === bareHost(relay)) return "url points at the relay itself";
  return undefined;
}

function effectivePort(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

/** The host name without the trailing dot DNS ignores. */
function bareHost(url: URL): string {
  return url.hostname.replace(/\.+$/, "");
}

/** A Standard Webhooks secret: `whsec_` + base64 of 24–64 bytes. */
export const EndpointSecret = z.string().check(
  z.superRefine((value, ctx) => {
    try {
      parseSecret(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message, input: "(redacted)" });
    }
  }),
);

/**
 * Header names an endpoint's `headers` may not set, each with the reason. The relay's own headers carry the
 * signature and the body's type; the hop-by-hop and framing headers belong to the connection (a wrong
 * Content-Length or Transfer-Encoding would desynchronise it); the forwarding headers would let a config forge
 * the client address or proxy state a receiver's infrastructure trusts.
 */
const RELAY_OWN = "is set by the relay (content-type, user-agent, webhook-*) and cannot be overridden";
const CONNECTION = "belongs to the HTTP connection (hop-by-hop or framing) and cannot be set";
const FORWARDING = "is a proxy or forwarding header (Forwarded, X-Forwarded-*, CF-*, Proxy-*) and cannot be set";
const DENIED_HEADERS = new Map([
  ["content-type", RELAY_OWN],
  ["user-agent", RELAY_OWN],
  ["host", CONNECTION],
  ["content-length", CONNECTION],
  ["content-encoding", CONNECTION],
  ["transfer-encoding", CONNECTION],
  ["connection", CONNECTION],
  ["keep-alive", CONNECTION],
  ["te", CONNECTION],
  ["trailer", CONNECTION],
  ["upgrade", CONNECTION],
  ["expect", CONNECTION],
  ["forwarded", FORWARDING],
  ["x-real-ip", FORWARDING],
  ["true-client-ip", FORWARDING],
]);
const DENIED_PREFIXES: readonly [prefix: string, reason: string][] = [
  ["webhook-", RELAY_OWN],
  ["x-forwarded-", FORWARDING],
  ["cf-", FORWARDING],
  ["proxy-", FORWARDING],
];

/** Why an endpoint may not set this header (case-insensitive); undefined when it may. */
export function deniedHeader(name: string): string | undefined {
  const lower = name.toLowerCase();
  return DENIED_HEADERS.get(lower) ?? DENIED_PREFIXES.find(([prefix]) => lower.startsWith(prefix))?.[1];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/** A header name an endpoint sets on every request to it (typically its own credentials); see {@link deniedHeader}. */
export const HeaderName = z.string().check(
  z.regex(TOKEN, "header names must be HTTP tokens of at most 64 characters"),
  z.superRefine((name, ctx) => {
    // Only a valid token is named in the message: anything else might be a credential pasted in the wrong place.
    const reason = TOKEN.test(name) ? deniedHeader(name) : undefined;
    if (reason) ctx.addIssue({ code: "custom", message: `header ${name} ${reason}`, input: name });
  }),
);
export const HeaderValue = z
  .string()
  .check(z.maxLength(1024), z.regex(/^[^\r\n\0]*$/, "header values must not contain CR, LF or NUL"));

/** Glob over the event `type` and `providerevent`: `*` any run of characters, `?` one code point (see filter.ts). */
export const EventPattern = z.string().check(z.minLength(1), z.maxLength(128));

/** What targets and deciders both accept: where to POST, how to sign, and which events they want. */
export const ENDPOINT_FIELDS = {
  url: EndpointUrl,
  /** Omitted on create: one is generated and shown once. Omitted on update: the current one is kept. */
  secret: z.optional(EndpointSecret),
  /** Omitted = every event. */
  events: z.optional(z.array(EventPattern).check(z.maxLength(100))),
  providers: z.optional(z.array(z.enum(["tencent", "netease"])).check(z.minLength(1))),
  apps: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.minLength(1), z.maxLength(100))),
  enabled: z.optional(z.boolean()),
  headers: z.optional(z.record(HeaderName, HeaderValue)),
};

/**
 * Secrets replaced less than ROTATION_GRACE_SECONDS ago. Requests are signed with these too (one `v1,` signature
 * each), so receivers keep verifying while they switch to the new secret.
 */
export const PreviousSecrets = z.optional(
  z.array(z.object({ secret: EndpointSecret, expiresAt: z.iso.datetime() })).check(z.maxLength(5)),
);

/** What a PUT keeps of a stored endpoint. */
export type Kept = Signed & { enabled: boolean; createdAt: string; updatedAt: string };

const KeptFields = z.object({
  secret: EndpointSecret,
  previousSecrets: PreviousSecrets,
  enabled: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/**
 * What a PUT repairing a stored endpoint that fails its schema (one stored before a rule existed, or edited in KV)
 * keeps of it: its secrets, so its receiver goes on verifying, and its creation time. Undefined when even those do
 * not parse.
 */
export function keptOf(value: unknown): Kept | undefined {
  const parsed = KeptFields.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** What signing needs of an endpoint. */
export type Signed = {
  secret: string;
  previousSecrets?: { secret: string; expiresAt: string }[] | undefined;
};

/** How long a replaced secret keeps signing deliveries (Svix uses 24 h too). */
export const ROTATION_GRACE_SECONDS = 86_400;

/** The secrets a delivery is signed with now: the current one first, then unexpired previous ones. */
export function signingSecrets(endpoint: Signed, nowMs: number): string[] {
  const previous = (endpoint.previousSecrets ?? []).filter((p) => Date.parse(p.expiresAt) > nowMs).map((p) => p.secret);
  return [endpoint.secret, ...previous];
}

/** `endpoint` with its secret replaced by `secret`, the old one kept for the grace period. */
export function withRotatedSecret<T extends Signed>(endpoint: T, secret: string, nowMs: number): T {
  if (secret === endpoint.secret) return endpoint;
  const expiresAt = new Date(nowMs + ROTATION_GRACE_SECONDS * 1000).toISOString();
  const kept = (endpoint.previousSecrets ?? []).filter((p) => Date.parse(p.expiresAt) > nowMs && p.secret !== secret);
  return { ...endpoint, secret, previousSecrets: [{ secret: endpoint.secret, expiresAt }, ...kept].slice(0, 5) };
}
