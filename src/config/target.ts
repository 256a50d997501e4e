import * as z from "zod/mini";
import { parseSecret } from "../delivery/signature";

/**
 * A customer webhook endpoint ("target"), as stored in KV under `target:<id>` and accepted by the admin API.
 * This schema is the single source of truth; `schemas/target.json` is generated from it.
 */

/** A lane's Durable Object request may hold 6 outgoing connections at once, as any Workers request. */
export const LANE_CONNECTIONS = 6;
/** Lane shards per target. */
export const MAX_LANES = 16;

/** Target ids appear in KV keys and dead-letter ids, so they are restricted to a URL- and key-safe alphabet. */
export const TargetId = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "target id must match ^[a-z0-9][a-z0-9_-]{0,63}$"));

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `https://` anywhere; `http://` only to a loopback host, so local development works and nothing else leaks. */
const TargetUrl = z.string().check(
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
const TargetSecret = z.string().check(
  z.superRefine((value, ctx) => {
    try {
      parseSecret(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message, input: "(redacted)" });
    }
  }),
);

/** Headers the relay sets itself; a target may not override them. */
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

const HeaderName = z.string().check(
  z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, "header names must be HTTP tokens of at most 64 characters"),
  z.refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), "header is set by the relay and cannot be overridden"),
);
const HeaderValue = z
  .string()
  .check(z.maxLength(1024), z.regex(/^[^\r\n\0]*$/, "header values must not contain CR, LF or NUL"));

/** Glob over the event `type` and `providerevent`: `*` any run of characters, `?` one character. */
const EventPattern = z.string().check(z.minLength(1), z.maxLength(128));

/** What an operator sends to `PUT /admin/targets/:id`. */
export const TargetInput = z.strictObject({
  url: TargetUrl,
  /** Omitted on create: one is generated and shown once. Omitted on update: the current one is kept. */
  secret: z.optional(TargetSecret),
  /** Omitted = every event. */
  events: z.optional(z.array(EventPattern).check(z.maxLength(100))),
  providers: z.optional(z.array(z.enum(["tencent", "netease"])).check(z.minLength(1))),
  apps: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.minLength(1), z.maxLength(100))),
  enabled: z.optional(z.boolean()),
  headers: z.optional(z.record(HeaderName, HeaderValue)),
  timeoutMs: z.optional(z.int().check(z.minimum(100), z.maximum(60_000))),
  /** Deliveries in flight at once, across the target's lanes (each lane holds at most 6). Default 6. */
  maxInFlight: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_LANES * LANE_CONNECTIONS))),
  /** Upper bound on deliveries started per second, across the target's lanes. Default: unlimited. */
  ratePerSecond: z.optional(z.number().check(z.gt(0), z.lte(10_000))),
  /** Shards of the target's delivery lane, for a target that needs more than one lane sustains. Default 1. */
  lanes: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_LANES))),
});
export type TargetInput = z.infer<typeof TargetInput>;

/** A target as stored in KV. */
export const Target = z.object({
  ...TargetInput.shape,
  secret: TargetSecret,
  enabled: z.boolean(),
  /** Why the relay disabled the target (e.g. it answered 410 Gone); cleared by the next PUT. */
  disabledReason: z.optional(z.string()),
  /**
   * Secrets replaced less than ROTATION_GRACE_SECONDS ago. Deliveries are signed with these too (one `v1,`
   * signature each), so receivers keep verifying while they switch to the new secret.
   */
  previousSecrets: z.optional(
    z.array(z.object({ secret: TargetSecret, expiresAt: z.iso.datetime() })).check(z.maxLength(5)),
  ),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Target = z.infer<typeof Target>;

/** How long a replaced secret keeps signing deliveries (Svix uses 24 h too). */
export const ROTATION_GRACE_SECONDS = 86_400;

/** The secrets a delivery is signed with now: the current one first, then unexpired previous ones. */
export function signingSecrets(target: Target, nowMs: number): string[] {
  const previous = (target.previousSecrets ?? []).filter((p) => Date.parse(p.expiresAt) > nowMs).map((p) => p.secret);
  return [target.secret, ...previous];
}

/** `target` with its secret replaced by `secret`, the old one kept for the grace period. */
export function withRotatedSecret(target: Target, secret: string, nowMs: number): Target {
  if (secret === target.secret) return target;
  const expiresAt = new Date(nowMs + ROTATION_GRACE_SECONDS * 1000).toISOString();
  const kept = (target.previousSecrets ?? []).filter((p) => Date.parse(p.expiresAt) > nowMs && p.secret !== secret);
  return { ...target, secret, previousSecrets: [{ secret: target.secret, expiresAt }, ...kept].slice(0, 5) };
}

/** A target with its id, as the consumer uses it. */
export type TargetWithId = Target & { id: string };
