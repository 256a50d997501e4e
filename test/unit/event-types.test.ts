/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { neteaseEventType } from "../../src/providers/netease/event-types";
import { tencentEventType } from "../../src/providers/tencent/event-types";

type Body = Record<string, unknown>;

const NETEASE = import.meta.glob<Body>("../fixtures/netease/*.json", { eager: true, import: "default" });
const TENCENT = import.meta.glob<Body>("../fixtures/tencent/*.json", { eager: true, import: "default" });

function netease(file: string): string {
  const body = NETEASE[`../fixtures/netease/${file}`];
  if (!body) throw new Error(`missing fixture ${file}`);
  const channel = file.startsWith("cc-") ? "cc" : "callback";
  return neteaseEventType(channel, String(Number(body.eventType)), body);
}

function tencent(file: string, patch: Body = {}): string {
  const body = TENCENT[`../fixtures/tencent/${file}`];
  if (!body) throw new Error(`missing fixture ${file}`);
  return tencentEventType(String(body.CallbackCommand), { ...body, ...patch });
}

describe("NetEase event types", () => {
  it("maps the 抄送 of a super team's creation (a SUPER_TEAM NOTIFICATION whose attach is the team, no id) to im.group.created", () => {
    expect(netease("cc-1-superteam-create.json")).toBe("im.group.created");
  });

  it("maps the team's fields under attach.tinfo the same way", () => {
    const body = { ...NETEASE["../fixtures/netease/cc-1-superteam-create.json"] };
    body.attach = JSON.stringify({ tinfo: body.attach });
    expect(neteaseEventType("cc", "1", body)).toBe("im.group.created");
  });

  it("does not read an id-less TEAM notification as a creation: advanced teams have no creation 抄送", () => {
    const body = { ...NETEASE["../fixtures/netease/cc-1-superteam-create.json"], convType: "TEAM" };
    expect(neteaseEventType("cc", "1", body)).toBe("netease.cc.session_message");
  });

  it("maps manager added and removed notifications (7/8, super team 407/408) to im.group.admin.added / .removed", () => {
    expect(netease("cc-1-team-add-manager.json")).toBe("im.group.admin.added");
    expect(netease("cc-1-superteam-add-manager.json")).toBe("im.group.admin.added");
    expect(netease("cc-1-team-remove-manager.json")).toBe("im.group.admin.removed");
    for (const [id, type] of [
      [407, "im.group.admin.added"],
      [408, "im.group.admin.removed"],
    ] as const) {
      const body = { eventType: "1", convType: "SUPER_TEAM", msgType: "NOTIFICATION", attach: { id, data: {} } };
      expect(neteaseEventType("cc", "1", body)).toBe(type);
    }
  });

  it("maps the 第三方回调 asking to add or remove a manager (11, 12) to *.requested", () => {
    expect(netease("callback-11-team-add-manager.json")).toBe("im.group.admin.add.requested");
    expect(netease("callback-12-team-remove-manager.json")).toBe("im.group.admin.remove.requested");
  });

  it("keeps the types it had: a super team's dismissal and a message", () => {
    expect(netease("cc-1-superteam-dismiss.json")).toBe("im.group.dismissed");
    expect(netease("cc-1-superteam-text.json")).toBe("im.message.sent");
  });
});

describe("Tencent event types", () => {
  it("maps a member's role set to Admin to im.group.admin.added, and set back to Member to im.group.admin.removed", () => {
    expect(tencent("Group.CallbackAfterMemberFieldChanged.json")).toBe("im.group.admin.added");
    expect(tencent("Group.CallbackAfterMemberFieldChanged.2.json", { Role: "Member" })).toBe("im.group.admin.removed");
  });

  it("keeps a member field change without a role change provider-scoped", () => {
    const { Role: _role, ...rest } = TENCENT["../fixtures/tencent/Group.CallbackAfterMemberFieldChanged.json"] as Body;
    expect(tencentEventType("Group.CallbackAfterMemberFieldChanged", rest)).toBe(
      "tencent.Group.CallbackAfterMemberFieldChanged",
    );
  });
});
