import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatch, matchesFilter } from "../../src/delivery/filter";

const matches = globMatch;

/**
 * The regex the relay used to compile globs to, kept here only as the reference the matcher must agree with: it
 * states the semantics plainly, but backtracks catastrophically on patterns like `*a*a*…*ab`.
 */
function compileGlob(pattern: string): RegExp {
  let source = "";
  for (const char of pattern) {
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else source += char.replace(/[\\^$.|+?*()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "u");
}

describe("globMatch", () => {
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

describe("globMatch on hostile patterns", () => {
  it("answers *a*a*a*a*a*a*a*a*a*a*a*a*a*ab against a 68-character type at once (56 s with the regex)", () => {
    const pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*ab";
    const type = "a".repeat(68);
    expect(type).toHaveLength(68);
    expect(globMatch(pattern, type)).toBe(false);
    expect(globMatch(pattern, `${type}b`)).toBe(true);
    expect(matchesFilter([pattern], [type, "tencent.aaaa"])).toBe(false);
  });

  it("answers the longest and most star-heavy patterns the schema allows against long names", () => {
    const stars = "*".repeat(128);
    const alternating = `${"*a".repeat(63)}?b`;
    const name = "a".repeat(4_000);
    expect(globMatch(stars, name)).toBe(true);
    expect(globMatch(alternating, name)).toBe(false);
    expect(globMatch(alternating, `${name}xb`)).toBe(true);
    expect(matchesFilter(Array(100).fill(alternating), [name, name])).toBe(false);
  });

  it("lets ? take one code point, never half of a surrogate pair", () => {
    expect(globMatch("?", "😀")).toBe(true);
    expect(globMatch("??", "😀")).toBe(false);
    expect(globMatch("a?c", "a😀c")).toBe(true);
    expect(globMatch("*😀", "x😀")).toBe(true);
    expect(globMatch("*?", "😀")).toBe(true);
    expect(globMatch("?\uDE00", "\uD83D\uDE00")).toBe(false);
  });
});

/** Small alphabets make matches likely, so both outcomes are exercised; astral and lone-surrogate units too. */
const unit = fc.constantFrom("a", "b", ".", "*", "?", "😀", "\uD83D", "\uDE00", "\\", "[", "$");
const pattern = fc.array(unit, { maxLength: 10 }).map((units) => units.join(""));
const candidate = fc
  .array(fc.constantFrom("a", "b", ".", "*", "?", "😀", "\uD83D", "\uDE00", "\\"), { maxLength: 12 })
  .map((units) => units.join(""));

describe("globMatch agrees with the regex it replaces", () => {
  it("on random small patterns and names (property)", () => {
    fc.assert(
      fc.property(pattern, candidate, (p, c) => {
        expect(globMatch(p, c)).toBe(compileGlob(p).test(c));
      }),
      { numRuns: 5_000 },
    );
  });

  it("on names built to match the pattern: both say they match (property)", () => {
    // Each * filled with a short run and each ? with one code point: random pairs alone rarely match long patterns.
    // Without lone surrogates, which the join could pair up into a code point the pattern does not have.
    const whole = fc
      .array(fc.constantFrom("a", "b", ".", "*", "?", "😀", "\\", "[", "$"), { maxLength: 10 })
      .map((units) => units.join(""));
    const fill = fc.array(fc.constantFrom("a", "b", "😀"), { maxLength: 3 }).map((u) => u.join(""));
    const built = whole.chain((p) =>
      fc
        .tuple(
          ...Array.from(p, (ch) => (ch === "*" ? fill : ch === "?" ? fc.constantFrom("a", "😀") : fc.constant(ch))),
        )
        .map((parts) => ({ p, c: parts.join("") })),
    );
    fc.assert(
      fc.property(built, ({ p, c }) => {
        expect(compileGlob(p).test(c)).toBe(true);
        expect(globMatch(p, c)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("on arbitrary strings of any code points (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 8 }), fc.string({ unit: "binary", maxLength: 10 }), (p, c) => {
        expect(globMatch(p, c)).toBe(compileGlob(p).test(c));
      }),
      { numRuns: 2_000 },
    );
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
