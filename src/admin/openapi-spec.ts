import * as z from "zod/mini";
import { Target, TargetInput } from "../config/target";
import { SessionAnswer, TestEventAnswer } from "../console/schemas";
import { Decider, DeciderInput } from "../deciders/config";
import { DeciderAnswer } from "../deciders/verdict";
import { CloudEvent } from "../event";
import { DeliveryListItem, DeliveryLog, DeliveryStateSchema, LaneStatusSchema } from "../lanes/log";
import { DeadLetter } from "../queue/dead-letters";
import { StatsSummary } from "../stats/schema";

/**
 * The admin API's OpenAPI 3.1 document, built from the zod schemas the routes validate with. It is generated at
 * build time into `schemas/openapi.json` (`npm run generate`, drift-checked by a test) and the Worker serves that
 * file, so `toJSONSchema` is not shipped in the bundle.
 */
export function openApiDocument(version: string): Record<string, unknown> {
  const schema = (s: z.ZodMiniType) => {
    const { $schema: _, ...rest } = z.toJSONSchema(s, { unrepresentable: "any", io: "input" }) as Record<
      string,
      unknown
    >;
    return rest;
  };
  const ErrorBody = z.object({
    error: z.object({ code: z.string(), message: z.string() }),
    requestId: z.string(),
  });
  const StoredTarget = z.object({
    id: z.string(),
    ...Target.shape,
    secret: z.string(),
    previousSecrets: z.optional(z.array(z.object({ expiresAt: z.string() }))),
  });
  const StoredDecider = z.object({
    id: z.string(),
    ...Decider.shape,
    secret: z.string(),
    previousSecrets: z.optional(z.array(z.object({ expiresAt: z.string() }))),
  });
  const Summary = z.object({
    id: z.string(),
    kind: z.enum(["delivery", "event", "malformed"]),
    target: z.optional(z.string()),
    lastStatus: z.optional(z.int()),
    lastError: z.string(),
    attempts: z.int(),
    deadAt: z.string(),
    eventId: z.optional(z.string()),
    type: z.optional(z.string()),
  });
  const { rowsWritten: _, ...laneShape } = LaneStatusSchema.shape;
  const TargetDelivery = z.object({
    circuit: z.enum(["closed", "open"]),
    pending: z.int(),
    dead: z.int(),
    shards: z.array(z.object(laneShape)),
  });
  const EventLog = z.object({ event: z.nullable(CloudEvent), deliveries: z.array(DeliveryLog) });
  const DeliveryPage = z.object({ items: z.array(DeliveryListItem), cursor: z.optional(z.string()) });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (s: object) => ({ "application/json": { schema: s } });
  const error = (description: string) => ({ description, content: json(ref("Error")) });
  const errors = {
    "401": error("missing or wrong bearer token"),
    "403": error("ADMIN_TOKEN is not set: the admin API is closed"),
    "503": error("KV, a delivery lane or the queue could not be reached: nothing changed, retry"),
  };
  const tooLarge = { "413": error("body larger than 64 KiB") };
  const targetId = { "422": error("invalid target id"), "404": error("no such target") };
  const deciderId = { "422": error("invalid decider id"), "404": error("no such decider") };
  const idParam = (name: string, description: string) => ({
    name,
    in: "path",
    required: true,
    description,
    schema: { type: "string" },
  });
  const query = (name: string, description: string, s: object) => ({
    name,
    in: "query",
    required: false,
    description,
    schema: s,
  });

  const paging = (since: string) => [
    query("since", since, { type: "string", format: "date-time" }),
    query("limit", "page size, 1–1000 (default 100)", { type: "integer" }),
    query("cursor", "continue a previous page", { type: "string" }),
  ];

  return {
    openapi: "3.1.0",
    info: {
      title: "imrelay admin API",
      version,
      description:
        "Targets (customer webhook endpoints), their delivery lanes' log and state, deciders (which answer before-callbacks), and dead letters of an imrelay deployment.",
    },
    security: [{ bearer: [] }, { session: [] }],
    paths: {
      "/admin/targets": {
        get: {
          operationId: "listTargets",
          summary: "List targets (secrets masked)",
          responses: {
            "200": {
              description: "all targets",
              content: json({
                type: "object",
                properties: {
                  items: { type: "array", items: ref("Target") },
                  invalid: { type: "array", items: { type: "string" } },
                },
              }),
            },
            ...errors,
          },
        },
      },
      "/admin/targets/{id}": {
        parameters: [idParam("id", "target id, ^[a-z0-9][a-z0-9_-]{0,63}$")],
        get: {
          operationId: "getTarget",
          summary: "Read a target (secret masked), with its lanes' state",
          description:
            "`delivery` sums the target's lanes: circuit breaker (`open` if any shard's is), backlog and dead deliveries, and per shard the breaker's detail.",
          responses: {
            "200": {
              description: "the target",
              content: json({
                allOf: [ref("Target"), { type: "object", properties: { delivery: ref("TargetDelivery") } }],
              }),
            },
            "409": error("the stored target fails its schema: PUT it again to fix it"),
            ...targetId,
            ...errors,
          },
        },
        put: {
          operationId: "putTarget",
          summary: "Create or replace a target",
          description:
            "On create without `secret`, one is generated and returned once, unmasked. On replace without `secret`, the current one is kept.",
          requestBody: { required: true, content: json(ref("TargetInput")) },
          responses: {
            "200": { description: "replaced", content: json(ref("Target")) },
            "201": { description: "created", content: json(ref("Target")) },
            "400": error("body is not JSON"),
            "422": error("invalid target or target id; the message names each offending field"),
            ...tooLarge,
            ...errors,
          },
        },
        delete: {
          operationId: "deleteTarget",
          summary: "Delete a target",
          description:
            "Its lanes first turn their pending deliveries into dead letters and forget the rest; if a lane cannot be reached the answer is 503 and nothing changed.",
          responses: { "204": { description: "deleted" }, ...targetId, ...errors },
        },
      },
      "/admin/targets/{id}/rotate-secret": {
        parameters: [idParam("id", "target id")],
        post: {
          operationId: "rotateTargetSecret",
          summary: "Rotate a target's secret",
          description:
            "Generates a new secret and returns it once, unmasked. The previous secret keeps signing deliveries (a second `v1,` signature) for 24 h, so receivers can switch without dropping events.",
          responses: {
            "200": { description: "rotated", content: json(ref("Target")) },
            ...targetId,
            ...errors,
          },
        },
      },
      "/admin/targets/{id}/test": {
        parameters: [idParam("id", "target id")],
        post: {
          operationId: "sendTestEvent",
          summary: "Send a test event to a target",
          description:
            "Queues a signed `imrelay.test` CloudEvent with a fresh id for this target only, through its lane.",
          responses: {
            "202": { description: "queued", content: json(ref("TestEventAnswer")) },
            "404": error("no such target"),
            "409": error("the target is disabled"),
            ...errors,
          },
        },
      },
      "/admin/targets/{id}/deliveries": {
        parameters: [idParam("id", "target id")],
        get: {
          operationId: "listTargetDeliveries",
          summary: "A target's delivery log, newest first",
          parameters: [
            query("state", "only deliveries in this state", schema(DeliveryStateSchema)),
            ...paging("only events accepted at or after this ISO 8601 time"),
          ],
          responses: {
            "200": { description: "a page", content: json(ref("DeliveryPage")) },
            "400": error("invalid query"),
            ...targetId,
            ...errors,
          },
        },
      },
      "/admin/deciders": {
        get: {
          operationId: "listDeciders",
          summary: "List deciders (secrets masked)",
          responses: {
            "200": {
              description: "all deciders",
              content: json({
                type: "object",
                properties: {
                  items: { type: "array", items: ref("Decider") },
                  invalid: { type: "array", items: { type: "string" } },
                },
              }),
            },
            ...errors,
          },
        },
      },
      "/admin/deciders/{id}": {
        parameters: [idParam("id", "decider id, ^[a-z0-9][a-z0-9_-]{0,63}$")],
        get: {
          operationId: "getDecider",
          summary: "Read a decider (secret masked)",
          responses: {
            "200": { description: "the decider", content: json(ref("Decider")) },
            "409": error("the stored decider fails its schema: PUT it again to fix it"),
            ...deciderId,
            ...errors,
          },
        },
        put: {
          operationId: "putDecider",
          summary: "Create or replace a decider",
          description:
            "A decider answers the before-callbacks it matches (see the `decide` webhook). On create without `secret`, one is generated and returned once, unmasked; on replace without `secret`, the current one is kept. A change reaches the ack path within TARGETS_CACHE_TTL_SECONDS, plus KV's propagation elsewhere.",
          requestBody: { required: true, content: json(ref("DeciderInput")) },
          responses: {
            "200": { description: "replaced", content: json(ref("Decider")) },
            "201": { description: "created", content: json(ref("Decider")) },
            "400": error("body is not JSON"),
            "422": error("invalid decider or decider id; the message names each offending field"),
            ...tooLarge,
            ...errors,
          },
        },
        delete: {
          operationId: "deleteDecider",
          summary: "Delete a decider",
          responses: { "204": { description: "deleted" }, ...deciderId, ...errors },
        },
      },
      "/admin/deciders/{id}/rotate-secret": {
        parameters: [idParam("id", "decider id")],
        post: {
          operationId: "rotateDeciderSecret",
          summary: "Rotate a decider's secret",
          description:
            "Generates a new secret and returns it once, unmasked. The previous secret keeps signing (a second `v1,` signature) for 24 h.",
          responses: {
            "200": { description: "rotated", content: json(ref("Decider")) },
            ...deciderId,
            ...errors,
          },
        },
      },
      "/admin/events/{id}": {
        parameters: [idParam("id", "event id, evt_ and 32 hex digits")],
        get: {
          operationId: "getEvent",
          summary: "What happened to one event at every target",
          description:
            "`event` is the CloudEvent as delivered, or null once its payload was pruned; one entry in `deliveries` per target whose lane knows the event, with every attempt.",
          responses: {
            "200": { description: "the event's deliveries", content: json(ref("EventLog")) },
            "400": error("not an event id"),
            "404": error("no lane knows this event"),
            ...errors,
          },
        },
      },
      "/admin/dead-letters": {
        get: {
          operationId: "listDeadLetters",
          summary: "List dead letters, oldest first per target",
          parameters: [
            query("target", "only this target's", { type: "string" }),
            ...paging("only those dead-lettered at or after this ISO 8601 time"),
          ],
          responses: {
            "200": {
              description: "a page",
              content: json({
                type: "object",
                properties: { items: { type: "array", items: ref("DeadLetterSummary") }, cursor: { type: "string" } },
                required: ["items"],
              }),
            },
            "400": error("invalid query"),
            ...errors,
          },
        },
      },
      "/admin/dead-letters/replay": {
        post: {
          operationId: "replayDeadLetters",
          summary: "Replay dead letters in bulk",
          requestBody: {
            required: false,
            content: json({
              type: "object",
              properties: {
                target: { type: "string" },
                since: { type: "string", format: "date-time" },
                limit: { type: "integer", minimum: 1, maximum: 100 },
              },
              additionalProperties: false,
            }),
          },
          responses: {
            "202": {
              description: "replayed",
              content: json({
                type: "object",
                properties: {
                  replayed: { type: "array", items: { type: "string" } },
                  skipped: {
                    type: "array",
                    items: { type: "object", properties: { id: { type: "string" }, reason: { type: "string" } } },
                  },
                  more: { type: "boolean" },
                },
              }),
            },
            "400": error("invalid request"),
            ...tooLarge,
            ...errors,
          },
        },
      },
      "/admin/dead-letters/{id}": {
        parameters: [idParam("id", "dead letter id")],
        get: {
          operationId: "getDeadLetter",
          summary: "Read a dead letter with its event",
          responses: {
            "200": { description: "the dead letter", content: json(ref("DeadLetter")) },
            "404": error("no such dead letter"),
            ...errors,
          },
        },
        delete: {
          operationId: "deleteDeadLetter",
          summary: "Delete a dead letter",
          responses: { "204": { description: "deleted" }, "404": error("no such dead letter"), ...errors },
        },
      },
      "/admin/dead-letters/{id}/replay": {
        parameters: [idParam("id", "dead letter id")],
        post: {
          operationId: "replayDeadLetter",
          summary: "Replay one dead letter as a fresh delivery; the dead letter is removed once queued",
          responses: {
            "202": {
              description: "queued",
              content: json({
                type: "object",
                properties: { replayed: { type: "string" }, eventId: { type: "string" }, target: { type: "string" } },
              }),
            },
            "404": error("no such dead letter"),
            "409": error("not replayable: malformed, or its target was deleted"),
            ...errors,
          },
        },
      },
      "/admin/stats": {
        get: {
          operationId: "getStats",
          summary: "The relay's counters over the last hour or day",
          description:
            "Accepted (by provider), delivered, retried, dead (by target), refused (by code), decider verdicts and fallbacks, with 5-minute (1h) or hourly (1d) slices.",
          parameters: [query("window", "`1h` (default) or `1d`", { type: "string", enum: ["1h", "1d"] })],
          responses: {
            "200": { description: "the counts", content: json(ref("Stats")) },
            "400": error("another window"),
            ...errors,
          },
        },
      },
      "/console/session": {
        post: {
          operationId: "createConsoleSession",
          summary: "Sign in to the console",
          description: "Form field `token`, from the relay's origin. Sets the 12 h `imrelay_session` cookie.",
          security: [],
          requestBody: {
            required: true,
            content: {
              "application/x-www-form-urlencoded": {
                schema: { type: "object", properties: { token: { type: "string" } }, required: ["token"] },
              },
            },
          },
          responses: {
            "200": { description: "signed in", content: json(ref("ConsoleSession")) },
            "401": error("wrong admin token"),
            "403": error("another origin, or no ADMIN_TOKEN"),
          },
        },
        get: {
          operationId: "getConsoleSession",
          summary: "The console session and its CSRF token",
          security: [{ session: [] }],
          responses: {
            "200": { description: "signed in", content: json(ref("ConsoleSession")) },
            "401": error("not signed in"),
          },
        },
        delete: {
          operationId: "deleteConsoleSession",
          summary: "Sign out of the console",
          security: [],
          responses: { "204": { description: "signed out" }, "403": error("CSRF token missing or wrong") },
        },
      },
      "/admin/openapi.json": {
        get: {
          operationId: "getOpenApiDocument",
          summary: "This document",
          responses: {
            "200": {
              description: "OpenAPI 3.1",
              content: json({
                type: "object",
                description: "An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0).",
                properties: { openapi: { type: "string" }, info: { type: "object" }, paths: { type: "object" } },
                required: ["openapi", "info", "paths"],
              }),
            },
            ...errors,
          },
        },
      },
    },
    webhooks: {
      decide: {
        post: {
          operationId: "decide",
          summary: "What the relay asks a decider, for each before-callback it matches",
          description:
            "The signed CloudEvent targets receive (Standard Webhooks headers), without `decision`/`decidedby`. Answer 2xx with a verdict within the decider's `timeoutMs`, counted from the callback's receipt; anything else applies its `fallback`.",
          requestBody: { required: true, content: { "application/cloudevents+json": { schema: ref("CloudEvent") } } },
          responses: { "200": { description: "the verdict", content: json(ref("DeciderAnswer")) } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "the ADMIN_TOKEN secret" },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "imrelay_session",
          description: "The console's session; a state change also needs `x-csrf-token` and the relay's origin.",
        },
      },
      schemas: {
        TargetInput: schema(TargetInput),
        Target: schema(StoredTarget),
        DeadLetter: schema(DeadLetter),
        DeadLetterSummary: schema(Summary),
        TargetDelivery: schema(TargetDelivery),
        DeciderInput: schema(DeciderInput),
        Decider: schema(StoredDecider),
        DeciderAnswer: schema(DeciderAnswer),
        CloudEvent: schema(CloudEvent),
        EventLog: schema(EventLog),
        DeliveryPage: schema(DeliveryPage),
        TestEventAnswer: schema(TestEventAnswer),
        ConsoleSession: schema(SessionAnswer),
        Stats: schema(z.object({ window: z.enum(["1h", "1d"]), ...StatsSummary.shape })),
        Error: schema(ErrorBody),
      },
    },
  };
}
