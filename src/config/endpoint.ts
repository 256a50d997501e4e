import * as z from "zod/mini";
import { parseSecret } from "../delivery/signature";

/**
 * The fields every endpoint the relay POSTs signed events to shares: targets (delivered to, later) and deciders
 * (asked, before the provider gets its answer). One definition, so both validate URLs, secrets, headers and
 * filters the same way.
 */

/** Ids appear in KV keys, lane names and dead-letter ids, so they are restricted to a URL- and key-safe alphabet. */
export const EndpointId = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "id must match ^[a-z0-9][a-z0-9_-]{0,63}$"));

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `https://` anywhere; `http://` only to a loopback host, so local development works and nothing else leaks. */
export const EndpointUrl = z.string().check(
  z.maxLength(2048),
  z.superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "url is not a valid absolute URL", input: value });
      return;
    }
    if (url.username !== "" || url.password !== "") {
      ctx.addIssue({ code: "custom", message: "url must not contain credentials; use headers instead", input: value });
    } else if (url.protocol === "http:" && !LOOPBACK.has(url.hostname)) {
      ctx.addIssue({
        code: "custom",
        message: "url must use https:// (http:// is allowed only for localhost, 127.0.0.1 and [::1])",
        input: value,
      });
    } else if (url.protocol !== "https:" && url.protocol !== "http:") {
      ctx.addIssue({ code: "custom", message: "url must use https://", input: value });
    }
  }),
);

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

/** Headers the relay sets itself; an endpoint may not override them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "user-agent",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

export const HeaderName = z.string().check(
  z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, "header names must be HTTP tokens of at most 64 characters"),
  z.refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), "header is set by the relay and cannot be overridden"),
);
export const HeaderValue = z
  .string()
  .check(z.maxLength(1024), z.regex(/^[^\r\n\0]*$/, "header values must not contain CR, LF or NUL"));

/** Glob over the event `type` and `providerevent`: `*` any run of characters, `?` one character. */
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
