/**
 * Generated artifacts must not drift from their source: the README's event-type table from the mapping tables,
 * and `schemas/*.json` from the zod schemas. Run `npm run generate` to rewrite them after changing the source.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { openApiDocument } from "../../src/admin/openapi-spec";
import { Target, TargetInput } from "../../src/config/target";
import { Decider, DeciderInput } from "../../src/deciders/config";
import { DeciderAnswer } from "../../src/deciders/verdict";
import { CloudEvent } from "../../src/event";
import { CONVERSATION_RULES } from "../../src/ordering/conversation";
import type { CatalogueEntry } from "../../src/providers/fields";
import {
  CC_SESSION_RULES,
  NETEASE_CALLBACK_EVENT_TYPES,
  NETEASE_CC_EVENT_TYPES,
  TEAM_NOTIFICATIONS,
} from "../../src/providers/netease/event-types";
import { NETEASE_CALLBACK_EVENTS, NETEASE_CC_EVENTS } from "../../src/providers/netease/schemas";
import { TENCENT_EVENT_TYPES, TENCENT_REFINEMENTS } from "../../src/providers/tencent/event-types";
import { TENCENT_COMMANDS } from "../../src/providers/tencent/schemas";
import { DeadLetter } from "../../src/queue/dead-letters";
import { QueueWireMessage } from "../../src/queue/message";

const ROOT = join(__dirname, "..", "..");
const UPDATE = process.env.UPDATE_GENERATED === "1";

function eventTypeTable(): string {
  const rows = new Map<string, { tencent: string[]; netease: string[] }>();
  const row = (type: string) => rows.get(type) ?? rows.set(type, { tencent: [], netease: [] }).get(type)!;
  for (const [command, type] of Object.entries(TENCENT_EVENT_TYPES)) row(type).tencent.push(`\`${command}\``);
  for (const r of TENCENT_REFINEMENTS) row(r.type).tencent.push(`\`${r.command}\` (${r.field} ${r.value})`);
  for (const [n, type] of Object.entries(NETEASE_CC_EVENT_TYPES)) row(type).netease.push(`\`cc.${n}\``);
  for (const r of CC_SESSION_RULES) row(r.type).netease.push(`\`cc.1\` (${r.when})`);
  const notifications = new Map<string, number[]>();
  for (const [id, type] of Object.entries(TEAM_NOTIFICATIONS))
    notifications.set(type, [...(notifications.get(type) ?? []), Number(id)]);
  for (const [type, ids] of notifications)
    row(type).netease.push(`\`cc.1\` (TEAM/SUPER_TEAM NOTIFICATION, attach.id ${ids.join("/")})`);
  for (const [n, type] of Object.entries(NETEASE_CALLBACK_EVENT_TYPES)) row(type).netease.push(`\`callback.${n}\``);
  const lines = ["| type | Tencent | NetEase |", "|---|---|---|"];
  for (const type of [...rows.keys()].sort()) {
    const { tencent, netease } = rows.get(type)!;
    lines.push(`| \`${type}\` | ${tencent.join("<br>") || "–"} | ${netease.join("<br>") || "–"} |`);
  }
  lines.push("| *(anything else)* | `tencent.<CallbackCommand>` | `netease.cc.<name>` / `netease.callback.<name>` |");
  return lines.join("\n");
}

function conversationTable(): string {
  const lines = ["| provider | `providerevent` | conversation | order |", "|---|---|---|---|"];
  for (const r of CONVERSATION_RULES) {
    lines.push(`| ${r.provider} | ${r.events.map((e) => `\`${e}\``).join(", ")} | ${r.key} | ${r.order} |`);
  }
  lines.push("| *(anything else)* | | none: delivered unordered | |");
  return lines.join("\n");
}

/** The README with the text between `<!-- name:start -->` and `<!-- name:end -->` replaced. */
function withSection(readme: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->\n`;
  const end = `<!-- ${name}:end -->`;
  return `${readme.slice(0, readme.indexOf(start) + start.length)}${body}\n${readme.slice(readme.indexOf(end))}`;
}

function checkFile(path: string, expected: string): void {
  const full = join(ROOT, path);
  if (UPDATE) {
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, expected);
  }
  let actual = "";
  try {
    actual = readFileSync(full, "utf8");
  } catch {}
  expect(actual, `${path} is out of date: run npm run generate`).toBe(expected);
}

function jsonSchema(schema: z.ZodMiniType, title: string, description: string): string {
  return `${JSON.stringify({ title, description, ...z.toJSONSchema(schema, { unrepresentable: "any" }) }, null, 2)}\n`;
}

describe("generated artifacts", () => {
  it("README's event-type and conversation tables match src/providers/*/event-types.ts and src/ordering/", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const expected = withSection(
      withSection(readme, "event-types", eventTypeTable()),
      "conversations",
      conversationTable(),
    );
    checkFile("README.md", expected);
  });

  const documents: [string, z.ZodMiniType, string, string][] = [
    ["event", CloudEvent, "imrelay event", "The CloudEvents 1.0 event every target receives (structured JSON mode)."],
    ["target", Target, "imrelay target (KV value)", "A target as stored in Workers KV under target:<id>."],
    ["target-input", TargetInput, "imrelay target (admin input)", "The body of PUT /admin/targets/:id."],
    ["decider", Decider, "imrelay decider (KV value)", "A decider as stored in Workers KV under decider:<id>."],
    ["decider-input", DeciderInput, "imrelay decider (admin input)", "The body of PUT /admin/deciders/:id."],
    [
      "decider-answer",
      DeciderAnswer,
      "imrelay decider answer",
      "What a decider answers (HTTP 2xx, JSON) to the CloudEvent of a before-callback.",
    ],
    [
      "queue-message",
      QueueWireMessage,
      "imrelay queue message",
      "A message on the imrelay-events queue, sent as text. v2 (written): this header as one line of JSON, a newline " +
        "(\\n), then the event's data, the callback body exactly as received; or nothing after the newline when `ref` " +
        "names the object of the BODIES R2 bucket that holds it. v1 (read only, for messages queued before v2): one " +
        "JSON object with the data as a string.",
    ],
    ["dead-letter", DeadLetter, "imrelay dead letter", "A dead letter as stored in Workers KV under dead:<id>."],
  ];
  it("schemas/*.json match the zod schemas of the envelope, target, decider, queue message and dead letter", () => {
    for (const [name, schema, title, description] of documents) {
      checkFile(`schemas/${name}.json`, jsonSchema(schema, title, description));
    }
  });

  it("publishes the envelope open to extension attributes, and keeps the internal queue message closed", () => {
    const read = (name: string) => JSON.parse(readFileSync(join(ROOT, "schemas", name), "utf8"));
    // CloudEvents consumers must ignore unknown extension attributes: a newer relay may send one.
    expect(read("event.json").additionalProperties).toEqual({});
    const event = {
      specversion: "1.0",
      id: `evt_${"0".repeat(32)}`,
      source: "/tencent/1400000001",
      type: "im.group.dismissed",
      time: "2022-12-09T08:26:54.123Z",
      datacontenttype: "application/json",
      provider: "tencent",
      providerevent: "Group.CallbackAfterGroupDestroyed",
      appid: "1400000001",
      schemavalid: true,
      data: {},
      newextension: "kept",
    };
    expect(CloudEvent.parse(event)).toEqual(event);
    // The queue message has one producer and a version: its schema says exactly what that producer writes.
    // Every wire version (v2 header line, v1 JSON), each a union of the message kinds.
    const variants = (read("queue-message.json").anyOf as { oneOf: Record<string, unknown>[] }[]).flatMap(
      (version) => version.oneOf,
    ) as { additionalProperties: unknown; properties: { event: { additionalProperties: unknown } } }[];
    expect(variants).toHaveLength(4);
    for (const variant of variants) {
      expect(variant.additionalProperties).toBe(false);
      expect(variant.properties.event.additionalProperties).toBe(false);
    }
  });

  it("schemas/openapi.json matches the admin API's zod schemas", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const document = `${JSON.stringify(openApiDocument(version), null, 2)}\n`;
    checkFile("schemas/openapi.json", document);
    // The copy the Worker serves as a static asset (GET /admin/openapi.json, and public at /schemas/openapi.json).
    checkFile("public/schemas/openapi.json", document);
  });

  const catalogues: [string, string, Readonly<Record<string, CatalogueEntry>>][] = [
    ["tencent", "", TENCENT_COMMANDS],
    ["netease", "cc-", NETEASE_CC_EVENTS],
    ["netease", "callback-", NETEASE_CALLBACK_EVENTS],
  ];
  for (const [provider, prefix, catalogue] of catalogues) {
    it(`schemas/${provider}/${prefix}*.json match the ${provider} ${prefix || "command "}catalogue`, () => {
      for (const [key, entry] of Object.entries(catalogue)) {
        const name = `${prefix}${key}`;
        checkFile(
          `schemas/${provider}/${name}.json`,
          jsonSchema(entry.schema, `${provider} ${name}`, `${entry.title} (${entry.phase}-callback)`),
        );
      }
    });
  }
});
