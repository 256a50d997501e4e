import { describe, expect, it } from "vitest";
import { compileGlob, matchesFilter } from "../../src/delivery/filter";

function matches(pattern: string, candidate: string): boolean {
  return compileGlob(pattern).test(candidate);
}

describe("compileGlob", () => {
  it("matches im.group.* against group events only", () => {
    expect(matches("im.group.*", "im.group.dismissed")).toBe(true);
    expect(matches("im.group.*", "im.group.member.joined")).toBe(true);
    expect(matches("im.group.*", "im.friend.added")).toBe(false);
  });

  it("lets * span dots and match an empty run", () => {
    expect(matches("im.*.added", "im.group.member.added")).toBe(true);
    expect(matches("im.group.*", "im.group.")).toBe(true);
    expect(matches("*", "")).toBe(true);
  });

  it("matches a Tencent command prefix", () => {
    expect(matches("Group.CallbackAfter*", "Group.CallbackAfterGroupDestroyed")).toBe(true);
    expect(matches("Group.CallbackAfter*", "Group.CallbackBeforeCreateGroup")).toBe(false);
  });

  it("anchors literal patterns at both ends", () => {
    expect(matches("cc.1", "cc.1")).toBe(true);
    expect(matches("cc.1", "cc.10")).toBe(false);
    expect(matches("cc.1", "xcc.1")).toBe(false);
  });

  it("treats the dot as a literal dot", () => {
    expect(matches("cc.1", "ccx1")).toBe(false);
  });

  it("matches exactly one character with ?", () => {
    expect(matches("callback.?", "callback.1")).toBe(true);
    expect(matches("callback.?", "callback.")).toBe(false);
    expect(matches("callback.?", "callback.12")).toBe(false);
    expect(matches("?", "群")).toBe(true);
  });

  it("treats regex metacharacters in patterns literally", () => {
    expect(matches("a+b", "a+b")).toBe(true);
    expect(matches("a+b", "aab")).toBe(false);
    expect(matches("(x)", "(x)")).toBe(true);
    expect(matches("(x)", "x")).toBe(false);
    expect(matches("[ab]|^$\\{1}", "[ab]|^$\\{1}")).toBe(true);
    expect(matches("[ab]", "a")).toBe(false);
  });

  it("is case-sensitive", () => {
    expect(matches("im.group.*", "IM.group.dismissed")).toBe(false);
  });
});

describe("matchesFilter", () => {
  it("matches every event when patterns are omitted or empty", () => {
    expect(matchesFilter(undefined, ["im.friend.added"])).toBe(true);
    expect(matchesFilter([], ["im.friend.added"])).toBe(true);
  });

  it("matches when any pattern matches any candidate", () => {
    const patterns = ["im.friend.*", "Group.CallbackAfter*"];
    expect(matchesFilter(patterns, ["im.group.dismissed", "Group.CallbackAfterGroupDestroyed"])).toBe(true);
    expect(matchesFilter(patterns, ["im.friend.added"])).toBe(true);
  });

  it("rejects when no pattern matches any candidate", () => {
    expect(matchesFilter(["im.friend.*"], ["im.group.dismissed", "Group.CallbackAfterGroupDestroyed"])).toBe(false);
    expect(matchesFilter(["im.friend.*"], [])).toBe(false);
  });

  it("gives the same answer on repeated calls with cached patterns", () => {
    for (let i = 0; i < 3; i++) {
      expect(matchesFilter(["cc.1"], ["cc.1"])).toBe(true);
      expect(matchesFilter(["cc.1"], ["cc.10"])).toBe(false);
    }
  });
});
