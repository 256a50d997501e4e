/**
 * The published admin contract (schemas/openapi.json, built by src/admin/openapi-spec.ts): every operation is
 * addressable by a stable operationId, every answer with a body has a schema, and the document covers exactly
 * the routes the Worker serves.
 */
import { describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin";
import { openApiDocument } from "../../src/admin/openapi-spec";

type Operation = { operationId?: string; responses: Record<string, { content?: Record<string, { schema?: object }> }> };
type PathItem = Record<string, Operation | unknown>;

const METHODS = ["get", "put", "post", "delete", "patch"] as const;
const doc = openApiDocument("0.0.0") as {
  paths: Record<string, PathItem>;
  webhooks: Record<string, PathItem>;
  components: { schemas: Record<string, unknown> };
};

function operations(): { where: string; op: Operation }[] {
  const out: { where: string; op: Operation }[] = [];
  for (const [group, items] of [
    ["paths", doc.paths],
    ["webhooks", doc.webhooks],
  ] as const) {
    for (const [path, item] of Object.entries(items)) {
      for (const method of METHODS) {
        const op = item[method] as Operation | undefined;
        if (op) out.push({ where: `${group} ${method.toUpperCase()} ${path}`, op });
      }
    }
  }
  return out;
}

describe("OpenAPI document", () => {
  it("gives every operation, the decide webhook included, a camelCase operationId", () => {
    for (const { where, op } of operations()) expect(op.operationId, where).toMatch(/^[a-z][a-zA-Z0-9]*$/);
  });

  it("keeps operationIds unique and stable: client generators name their methods after them", () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual([
      "createConsoleSession",
      "decide",
      "deleteConsoleSession",
      "deleteDeadLetter",
      "deleteDecider",
      "deleteTarget",
      "getConsoleSession",
      "getDeadLetter",
      "getDecider",
      "getEvent",
      "getOpenApiDocument",
      "getStats",
      "getTarget",
      "listDeadLetters",
      "listDeciders",
      "listTargetDeliveries",
      "listTargets",
      "putDecider",
      "putTarget",
      "replayDeadLetter",
      "replayDeadLetters",
      "rotateDeciderSecret",
      "rotateTargetSecret",
      "sendTestEvent",
    ]);
  });

  it("gives every response a content schema, except 204 No Content", () => {
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === "204") {
          expect(response.content, `${where} ${status}`).toBeUndefined();
          continue;
        }
        const media = Object.values(response.content ?? {});
        expect(media.length, `${where} ${status} has no content`).toBeGreaterThan(0);
        for (const m of media) expect(m.schema, `${where} ${status}`).toBeTypeOf("object");
      }
    }
  });

  it("answers every error in the admin error shape", () => {
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect(response.content?.["application/json"]?.schema, `${where} ${status}`).toEqual({
          $ref: "#/components/schemas/Error",
        });
      }
    }
  });

  it("resolves every $ref to a component schema", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const name of refs) expect(doc.components.schemas, name).toHaveProperty(name as string);
  });

  it("documents exactly the routes the admin API serves", () => {
    const served = adminRoutes.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} /admin${r.path.replace(/:([a-z]+)/g, "{$1}")}`);
    // The console's session routes are the console's (src/console/), documented beside the admin API.
    const documented = operations()
      .filter(({ where }) => where.startsWith("paths ") && where.includes(" /admin"))
      .map(({ where }) => where.slice("paths ".length));
    expect(documented.sort()).toEqual(served.sort());
  });

  it("publishes the CloudEvent open to extension attributes, as CloudEvents consumers must ignore unknown ones", () => {
    expect(doc.components.schemas.CloudEvent).toMatchObject({ additionalProperties: {} });
  });
});
