/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import type { CatalogueEntry } from "../../src/providers/fields";
import { NETEASE_CALLBACK_EVENTS, NETEASE_CC_EVENTS, SessionMessage } from "../../src/providers/netease/schemas";

type Body = Record<string, unknown>;

// Every example body, keyed by file name: cc-<n>-<slug>.json and callback-<n>-<slug>.json.
const FIXTURES: ReadonlyArray<{ file: string; kind: "cc" | "callback"; eventType: string; body: Body }> =
  Object.entries(import.meta.glob<Body>("../fixtures/netease/*.json", { eager: true, import: "default" })).map(
    ([path, body]) => {
      const file = path.slice(path.lastIndexOf("/") + 1);
      const match = /^(cc|callback)-(\d+)-[a-z0-9-]+\.json$/.exec(file);
      if (!match?.[1] || !match[2])
        throw new Error(`fixture name does not follow <cc|callback>-<n>-<slug>.json: ${file}`);
      return { file, kind: match[1] as "cc" | "callback", eventType: match[2], body };
    },
  );

const CC_EVENT_TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 25, 30, 31, 36, 42, 83, 84, 89, 90, 91];
const CALLBACK_EVENT_TYPES = [
  1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 35, 36, 37, 40, 41, 72, 73, 74,
];

function catalogue(kind: "cc" | "callback"): Readonly<Record<string, CatalogueEntry>> {
  return kind === "cc" ? NETEASE_CC_EVENTS : NETEASE_CALLBACK_EVENTS;
}

function entry(kind: "cc" | "callback", eventType: string | number): CatalogueEntry {
  const found = catalogue(kind)[String(eventType)];
  if (!found) throw new Error(`no ${kind} entry for eventType ${eventType}`);
  return found;
}

function fixture(file: string): Body {
  const found = FIXTURES.find((f) => f.file === file);
  if (!found) throw new Error(`missing fixture ${file}`);
  return structuredClone(found.body);
}

function accepts(kind: "cc" | "callback", body: Body): boolean {
  return entry(kind, String(body.eventType)).schema.safeParse(body).success;
}

describe("NetEase catalogues", () => {
  it("hold exactly the documented CC eventTypes", () => {
    expect(
      Object.keys(NETEASE_CC_EVENTS)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(CC_EVENT_TYPES);
  });

  it("hold exactly the documented callback eventTypes", () => {
    expect(
      Object.keys(NETEASE_CALLBACK_EVENTS)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(CALLBACK_EVENT_TYPES);
  });

  it("mark every CC as after the fact and every callback as before the action", () => {
    expect(new Set(Object.values(NETEASE_CC_EVENTS).map((e) => e.phase))).toEqual(new Set(["after"]));
    expect(new Set(Object.values(NETEASE_CALLBACK_EVENTS).map((e) => e.phase))).toEqual(new Set(["before"]));
  });

  it("give every entry a short title", () => {
    for (const e of [...Object.values(NETEASE_CC_EVENTS), ...Object.values(NETEASE_CALLBACK_EVENTS)]) {
      expect(e.title).toMatch(/^[\w /()-]{3,40}$/);
    }
  });

  it.each(CC_EVENT_TYPES)("has at least one example body for CC eventType %i", (n) => {
    expect(FIXTURES.some((f) => f.kind === "cc" && f.eventType === String(n))).toBe(true);
  });

  it.each(CALLBACK_EVENT_TYPES)("has at least one example body for callback eventType %i", (n) => {
    expect(FIXTURES.some((f) => f.kind === "callback" && f.eventType === String(n))).toBe(true);
  });
});

describe("every example body", () => {
  it.each(FIXTURES.map((f) => [f.file, f] as const))("%s validates against its entry, unchanged", (_file, f) => {
    expect(String(f.body.eventType)).toBe(f.eventType);
    const result = entry(f.kind, f.eventType).schema.safeParse(f.body);
    expect(result.error).toBeUndefined();
    // Validation never transforms: the parse output is the body as received.
    expect(result.data).toEqual(f.body);
  });
});

describe("eventType", () => {
  it("accepts eventType sent as a number or as a string", () => {
    const cc = fixture("cc-7-p2p-recall.json");
    const cb = fixture("callback-8-team-dismiss.json");
    expect(accepts("cc", { ...cc, eventType: "7" })).toBe(true);
    expect(accepts("cc", { ...cc, eventType: 7 })).toBe(true);
    expect(accepts("callback", { ...cb, eventType: 8 })).toBe(true);
    expect(accepts("callback", { ...cb, eventType: "8" })).toBe(true);
  });

  it("rejects a body whose eventType is another number", () => {
    expect(entry("cc", 7).schema.safeParse({ ...fixture("cc-7-p2p-recall.json"), eventType: "8" }).success).toBe(false);
    expect(entry("cc", 7).schema.safeParse({ ...fixture("cc-7-p2p-recall.json"), eventType: 25 }).success).toBe(false);
    const dismiss = fixture("callback-8-team-dismiss.json");
    expect(entry("callback", 8).schema.safeParse({ ...dismiss, eventType: 10 }).success).toBe(false);
  });

  it("rejects a body without eventType", () => {
    const { eventType: _omit, ...rest } = fixture("cc-2-login.json");
    expect(entry("cc", 2).schema.safeParse(rest).success).toBe(false);
  });

  it("rejects eventType padded or written as a float string", () => {
    const body = fixture("cc-2-login.json");
    for (const eventType of [" 2", "02", "2.0", true]) {
      expect(entry("cc", 2).schema.safeParse({ ...body, eventType }).success).toBe(false);
    }
  });

  it("rejects a callback-7 body validated against CC 7, because the two eventType spaces collide", () => {
    const createTeam = fixture("callback-7-team-create.json");
    expect(entry("callback", 7).schema.safeParse(createTeam).success).toBe(true);
    expect(entry("cc", 7).schema.safeParse(createTeam).success).toBe(false);
  });
});

describe("lenient where NetEase is inconsistent", () => {
  it("accepts attach as a JSON-encoded string and as an object", () => {
    const asString = fixture("cc-1-team-dismiss-attach-string.json");
    expect(typeof asString.attach).toBe("string");
    expect(SessionMessage.safeParse(asString).success).toBe(true);
    const asObject = { ...asString, attach: JSON.parse(asString.attach as string) as unknown };
    expect(SessionMessage.safeParse(asObject).success).toBe(true);
  });

  it("accepts numeric fields sent as strings and as numbers", () => {
    const logout = fixture("cc-3-logout.json");
    expect(logout.code).toBe(200);
    expect(accepts("cc", logout)).toBe(true);
    expect(accepts("cc", { ...logout, code: "200", timestamp: "1608872658452", logOutReason: "2" })).toBe(true);
    const dismiss = fixture("callback-8-team-dismiss.json");
    expect(accepts("callback", { ...dismiss, tid: "2637250619", timestamp: 1564575855993 })).toBe(true);
  });

  it("rejects numeric fields that are not integers", () => {
    const dismiss = fixture("callback-8-team-dismiss.json");
    expect(accepts("callback", { ...dismiss, tid: "26372x" })).toBe(false);
    expect(accepts("cc", { ...fixture("cc-3-logout.json"), timestamp: "yesterday" })).toBe(false);
  });

  it("accepts 64-bit ids beyond 2^53 sent as bare JSON numbers", () => {
    expect(accepts("callback", fixture("callback-35-recall.json"))).toBe(true);
    expect(accepts("callback", { ...fixture("callback-35-recall.json"), msgId: "184409700039655569" })).toBe(true);
  });

  it("accepts booleans sent as JSON booleans or as strings", () => {
    const queue = fixture("cc-14-queue-add.json");
    expect(accepts("cc", { ...queue, fromWebApi: true, transient: "0" })).toBe(true);
    expect(accepts("cc", { ...queue, fromWebApi: "yes" })).toBe(false);
  });

  it("accepts clientType in any spelling (iOS / IOS)", () => {
    expect(accepts("cc", { ...fixture("cc-3-logout.json"), clientType: "iOS" })).toBe(true);
    expect(accepts("cc", { ...fixture("cc-3-logout.json"), clientType: "IOS" })).toBe(true);
  });

  it("accepts inviteList as an array or as a JSON-array string, and nothing else", () => {
    const invite = fixture("callback-23-superteam-invite.json");
    expect(accepts("callback", invite)).toBe(true);
    expect(accepts("callback", { ...invite, inviteList: '["wmtest230","wmtest231"]' })).toBe(true);
    expect(accepts("callback", { ...invite, inviteList: "wmtest230" })).toBe(false);
    expect(accepts("callback", { ...invite, inviteList: [1, 2] })).toBe(false);
  });

  it("accepts tMembers in the documented non-JSON form and as an array", () => {
    const leave = fixture("cc-1-team-leave.json");
    expect(SessionMessage.safeParse({ ...leave, tMembers: "[zhangsan, lisi]" }).success).toBe(true);
    expect(SessionMessage.safeParse({ ...leave, tMembers: ["zhangsan", "lisi"] }).success).toBe(true);
  });

  it("accepts a body that omits optional documented fields", () => {
    expect(accepts("cc", { eventType: "2" })).toBe(true);
    expect(accepts("callback", { eventType: 36 })).toBe(true);
  });
});

describe("unknown fields", () => {
  it("pass and are preserved in the parse output", () => {
    const cases: Array<["cc" | "callback", Body]> = [
      ["cc", { ...fixture("cc-1-p2p-text.json"), futureField: { nested: [1, "a"] } }],
      ["cc", { ...fixture("cc-84-login-failure.json"), futureField: "x" }],
      ["callback", { ...fixture("callback-8-team-dismiss.json"), futureField: 42 }],
    ];
    for (const [kind, body] of cases) {
      const result = entry(kind, String(body.eventType)).schema.safeParse(body);
      expect(result.success).toBe(true);
      expect(result.data).toEqual(body);
    }
  });

  it("are preserved inside nested objects too", () => {
    const body = fixture("cc-1-p2p-text.json");
    body.aiParams = { direction: 1, account: "ai1", unknownInner: true };
    expect(SessionMessage.parse(body)).toEqual(body);
  });
});

describe("strict where the relay relies on a value", () => {
  it("rejects CC 1 with an unknown convType", () => {
    expect(SessionMessage.safeParse({ ...fixture("cc-1-p2p-text.json"), convType: "CHATROOM" }).success).toBe(false);
    expect(SessionMessage.safeParse({ ...fixture("cc-1-p2p-text.json"), convType: "person" }).success).toBe(false);
  });

  it("rejects CC 1 without convType", () => {
    const { convType: _omit, ...rest } = fixture("cc-1-p2p-text.json");
    expect(SessionMessage.safeParse(rest).success).toBe(false);
  });

  it.each(["msgId", "from", "to"])("rejects a CC 7 recall without %s", (field) => {
    const body = fixture("cc-7-p2p-recall.json");
    delete body[field];
    expect(entry("cc", 7).schema.safeParse(body).success).toBe(false);
  });

  it.each(["msgType", "fromAccount", "to"])("rejects CC 1 without %s", (field) => {
    const body = fixture("cc-1-p2p-text.json");
    delete body[field];
    expect(SessionMessage.safeParse(body).success).toBe(false);
  });

  it("rejects CC 1 whose msgTimestamp is not an integer", () => {
    expect(SessionMessage.safeParse({ ...fixture("cc-1-p2p-text.json"), msgTimestamp: "1456888017.105" }).success).toBe(
      false,
    );
  });

  it("accepts every documented convType", () => {
    for (const convType of ["PERSON", "TEAM", "SUPER_TEAM", "CUSTOM_PERSON", "CUSTOM_TEAM"]) {
      expect(SessionMessage.safeParse({ ...fixture("cc-1-p2p-text.json"), convType }).success).toBe(true);
    }
  });

  it.each(["8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "23"])(
    "rejects team callback %s without tid",
    (n) => {
      const file = FIXTURES.find((f) => f.kind === "callback" && f.eventType === n)?.file ?? "";
      const body = fixture(file);
      delete body.tid;
      expect(entry("callback", n).schema.safeParse(body).success).toBe(false);
    },
  );

  it("is the schema registered for CC eventType 1", () => {
    expect(NETEASE_CC_EVENTS["1"]?.schema).toBe(SessionMessage);
  });

  it("exposes convType, msgType and attach on the inferred type", () => {
    const message: SessionMessage = SessionMessage.parse(fixture("cc-1-friend-add.json"));
    expect([message.convType, message.msgType, message.attach]).toEqual(["CUSTOM_PERSON", "FRIEND_ADD", '{"vt":1}']);
  });
});
