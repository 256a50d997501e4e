/**
 * GET /healthz checks the whole configuration before the first callback: every problem at once, where it is,
 * what was expected, and never a secret value.
 */
import { describe, expect, it } from "vitest";
import type { HealthReport } from "../../src/health";
import { relayWithFakeQueue } from "../helpers/app";
import {
  ADMIN_TOKEN,
  NETEASE_APP,
  NETEASE_SECRET,
  TENCENT_APP,
  TENCENT_TOKEN,
  TENCENT_TOKEN_APP,
} from "../helpers/bindings";
import { expectNoSecrets, guardConsole } from "../helpers/hostile-harness";

/** A token and a secret that only the broken configurations below carry: none may be shown. */
const OTHER_TOKEN = "other-tencent-token-value";
const OTHER_SECRET = "other-netease-secret-value";

async function health(overrides: Partial<Env> = {}): Promise<{ res: Response; report: HealthReport }> {
  const res = await relayWithFakeQueue(overrides).fetch(new Request("http://relay.test/healthz"));
  const text = await res.text();
  expectNoSecrets(res, text, [OTHER_TOKEN, OTHER_SECRET]);
  return { res, report: JSON.parse(text) as HealthReport };
}

/** The configuration must be refused (503) with exactly these problems, by `at` and `problem`. */
async function expectProblems(overrides: Partial<Env>, expected: { at: string; problem: string | RegExp }[]) {
  const { res, report } = await health(overrides);
  expect(res.status).toBe(503);
  expect(report.ok).toBe(false);
  expect(report.status).toBe("misconfigured");
  expect(report.problems.map(({ at, problem }) => ({ at, problem }))).toEqual(
    expected.map(({ at, problem }) => ({
      at,
      problem: typeof problem === "string" ? problem : expect.stringMatching(problem),
    })),
  );
  for (const p of report.problems) expect(p.expected.length).toBeGreaterThan(10);
  return report;
}

const tencentApps = (apps: unknown) => ({ TENCENT_APPS: typeof apps === "string" ? apps : JSON.stringify(apps) });
const neteaseApps = (apps: unknown) => ({ NETEASE_APPS: typeof apps === "string" ? apps : JSON.stringify(apps) });

describe("GET /healthz: a healthy configuration", () => {
  guardConsole();

  it("answers 200 with every app id per provider and the unsigned Tencent apps, and no secret", async () => {
    const { res, report } = await health();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(report).toEqual({
      ok: true,
      status: "ok",
      configured: { tencent: true, netease: true, admin: true },
      apps: { tencent: [TENCENT_APP, TENCENT_TOKEN_APP], netease: [NETEASE_APP] },
      unsignedTencentApps: [TENCENT_APP],
      problems: [],
      warnings: [],
    });
  });

  it("stays ok with a warning when one provider is not set, or ADMIN_TOKEN is not set (the admin API is closed)", async () => {
    const { res, report } = await health({ NETEASE_APPS: undefined, ADMIN_TOKEN: "" });
    expect(res.status).toBe(200);
    expect(report).toMatchObject({ ok: true, configured: { tencent: true, netease: false, admin: false } });
    expect(report.apps.netease).toEqual([]);
    expect(report.warnings.map((w) => w.at)).toEqual(["NETEASE_APPS", "ADMIN_TOKEN"]);
    expect(report.warnings[0]?.problem).toBe("is not set: /netease/* refuses every callback");
    expect(report.warnings[1]?.problem).toBe("is not set: the admin API is closed");
  });

  it("warns about a provider secret that lists no app, and an unknown LOG_LEVEL", async () => {
    const { res, report } = await health({ ...tencentApps({}), LOG_LEVEL: "debug" });
    expect(res.status).toBe(200);
    expect(report.warnings.map(({ at, problem }) => ({ at, problem }))).toEqual([
      { at: "TENCENT_APPS", problem: "lists no app: /tencent refuses every callback" },
      { at: "LOG_LEVEL", problem: "is not a known level, so info is used" },
    ]);
  });

  it("accepts allowIps in every form the README documents", async () => {
    const apps = {
      [TENCENT_APP]: {
        allowUnsigned: true,
        allowIps: ["203.0.113.0/24", "203.0.113.7", "2001:db8::/32", "::ffff:198.51.100.0/120", " 192.0.2.1 "],
      },
    };
    const { res } = await health(tencentApps(apps));
    expect(res.status).toBe(200);
  });
});

describe("GET /healthz: TENCENT_APPS", () => {
  guardConsole();

  it("refuses malformed JSON, naming the secret and the expected shape", async () => {
    const report = await expectProblems(tencentApps(`{"${TENCENT_APP}": {"token": "${OTHER_TOKEN}"`), [
      { at: "TENCENT_APPS", problem: "is not valid JSON" },
    ]);
    expect(report.problems[0]?.expected).toContain('{"<SdkAppid>": {"token": "<callback token>"}}');
    expect(report.problems[0]?.expected).toContain('"allowUnsigned": true');
    // The other provider is still read and shown.
    expect(report.configured).toMatchObject({ tencent: false, netease: true });
    expect(report.apps).toEqual({ tencent: [], netease: [NETEASE_APP] });
  });

  it.each([
    ["a list", "[]", "must be a JSON object"],
    ["a string", '"1400000001"', "must be a JSON object"],
    ["null", "null", "must be a JSON object"],
  ])("refuses a secret that is %s instead of an object of apps", async (_, raw, problem) => {
    await expectProblems(tencentApps(raw), [{ at: "TENCENT_APPS", problem }]);
  });

  it("refuses an app that has neither a token nor allowUnsigned: true, naming the app", async () => {
    const report = await expectProblems(tencentApps({ [TENCENT_APP]: { allowUnsigned: true }, "1400000003": {} }), [
      {
        at: 'TENCENT_APPS["1400000003"]',
        problem: /^has no token: set "token" .*or opt out with "allowUnsigned": true$/,
      },
    ]);
    expect(report.problems[0]).toMatchObject({ name: "TENCENT_APPS", app: "1400000003" });
    expect(report.problems[0]?.expected).toContain('{"<SdkAppid>": {"allowUnsigned": true}}');
  });

  it("refuses an app with both a token and allowUnsigned: true", async () => {
    await expectProblems(tencentApps({ "1400000003": { token: OTHER_TOKEN, allowUnsigned: true } }), [
      { at: 'TENCENT_APPS["1400000003"]', problem: /^has both a token and "allowUnsigned": true/ },
    ]);
  });

  it("refuses wrong field types and unknown fields, repeating neither values nor unknown names", async () => {
    await expectProblems(
      tencentApps({
        "1400000003": { token: 42 },
        "1400000004": { token: "   " },
        "1400000005": { allowUnsigned: "yes" },
        "1400000006": "token",
        "1400000007": { token: OTHER_TOKEN, [OTHER_SECRET]: true },
        // A token pasted as the key: the key is not repeated either.
        [OTHER_TOKEN]: { allowUnsigned: true },
      }),
      [
        { at: 'TENCENT_APPS["1400000003"].token', problem: "must be a string" },
        { at: 'TENCENT_APPS["1400000004"].token', problem: "is blank" },
        { at: 'TENCENT_APPS["1400000005"].allowUnsigned', problem: "must be true or false" },
        { at: 'TENCENT_APPS["1400000005"]', problem: /^has no token/ },
        { at: 'TENCENT_APPS["1400000006"]', problem: "must be a JSON object" },
        { at: 'TENCENT_APPS["1400000007"]', problem: "has an unknown field (allowed: token, allowUnsigned, allowIps)" },
        { at: "TENCENT_APPS", problem: "a key is not a SdkAppid (digits only)" },
      ],
    );
  });

  it("names every bad allowIps entry by index, and never repeats the entry", async () => {
    const report = await expectProblems(
      tencentApps({
        "1400000003": {
          token: OTHER_TOKEN,
          allowIps: [
            "203.0.113.0/24",
            "203.0.113.7/24",
            "10.0.0.0/33",
            "example.com",
            7,
            "fe80::1%eth0",
            "2001:db8::/129",
          ],
        },
        "1400000004": { allowUnsigned: true, allowIps: [] },
        "1400000005": { allowUnsigned: true, allowIps: "203.0.113.0/24" },
      }),
      [
        { at: 'TENCENT_APPS["1400000003"].allowIps[4]', problem: "must be a string" },
        { at: 'TENCENT_APPS["1400000004"].allowIps', problem: /^is empty, which would refuse every callback/ },
        { at: 'TENCENT_APPS["1400000005"].allowIps', problem: /^must be a list/ },
      ],
    );
    // Entry checks run once every entry is a string; fixed, the same secret shows them all.
    const fixed = await expectProblems(
      tencentApps({
        "1400000003": {
          token: OTHER_TOKEN,
          allowIps: [
            "203.0.113.0/24",
            "203.0.113.7/24",
            "10.0.0.0/33",
            "example.com",
            "fe80::1%eth0",
            "2001:db8::/129",
          ],
        },
      }),
      [
        { at: 'TENCENT_APPS["1400000003"].allowIps[1]', problem: /^has host bits set beyond its \/24 prefix/ },
        {
          at: 'TENCENT_APPS["1400000003"].allowIps[2]',
          problem: /^has a prefix length that is not a whole number in \[0, 32\]/,
        },
        { at: 'TENCENT_APPS["1400000003"].allowIps[3]', problem: "is not an IPv4 or IPv6 address or CIDR range" },
        { at: 'TENCENT_APPS["1400000003"].allowIps[4]', problem: "is not an IPv4 or IPv6 address or CIDR range" },
        {
          at: 'TENCENT_APPS["1400000003"].allowIps[5]',
          problem: /^has a prefix length that is not a whole number in \[0, 128\]/,
        },
      ],
    );
    const shown = JSON.stringify([report, fixed]);
    for (const entry of ["203.0.113.7/24", "10.0.0.0/33", "example.com", "fe80::1%eth0"])
      expect(shown).not.toContain(entry);
    expect(fixed.problems[0]?.expected).toContain("CIDR");
  });
});

describe("GET /healthz: NETEASE_APPS", () => {
  guardConsole();

  it("refuses malformed JSON", async () => {
    await expectProblems(neteaseApps("{"), [{ at: "NETEASE_APPS", problem: "is not valid JSON" }]);
  });

  it("refuses an app without channels, naming the app and the channels it may list", async () => {
    const report = await expectProblems(neteaseApps({ [NETEASE_APP]: { secret: OTHER_SECRET } }), [
      { at: `NETEASE_APPS["${NETEASE_APP}"].channels`, problem: "is missing" },
    ]);
    expect(report.problems[0]?.expected).toBe(
      `"channels": ["cc"], ["callback"] or ["cc", "callback"], the channels the app's callbacks are set up for`,
    );
  });

  it("refuses every bad field of every app at once", async () => {
    await expectProblems(
      neteaseApps({
        a: { channels: ["cc"] },
        b: { secret: "", channels: ["callback"] },
        c: { secret: OTHER_SECRET, channels: ["cc", "im"] },
        d: { secret: OTHER_SECRET, channels: ["cc"], allowIps: ["203.0.113.0/24", "not-an-ip"] },
        " ": { secret: OTHER_SECRET, channels: ["cc"] },
      }),
      [
        { at: 'NETEASE_APPS["a"].secret', problem: "is missing" },
        { at: 'NETEASE_APPS["b"].secret', problem: "is blank" },
        { at: 'NETEASE_APPS["c"].channels[1]', problem: 'must be "cc" or "callback"' },
        { at: 'NETEASE_APPS["d"].allowIps[1]', problem: "is not an IPv4 or IPv6 address or CIDR range" },
        { at: "NETEASE_APPS", problem: "a key is blank" },
      ],
    );
  });
});

describe("GET /healthz: ADMIN_TOKEN, the vars, and nothing set", () => {
  guardConsole();

  it("refuses an ADMIN_TOKEN shorter than 16 characters, without showing it", async () => {
    const short = "short-token-15c";
    const report = await expectProblems({ ADMIN_TOKEN: short }, [
      { at: "ADMIN_TOKEN", problem: "is shorter than 16 characters" },
    ]);
    expect(JSON.stringify(report)).not.toContain(short);
    expect(report.configured.admin).toBe(false);
  });

  it("accepts an ADMIN_TOKEN of exactly 16 characters, surrounding whitespace not counted", async () => {
    expect((await health({ ADMIN_TOKEN: "0123456789abcdef" })).res.status).toBe(200);
    expect((await health({ ADMIN_TOKEN: "  0123456789abcde  " })).res.status).toBe(503);
  });

  it("names every var out of range at once, with its range and default", async () => {
    const report = await expectProblems(
      {
        NETEASE_CURTIME_WINDOW_SECONDS: "0",
        TENCENT_REQUESTTIME_WINDOW_SECONDS: "86401",
        DELIVERY_TIMEOUT_MS: "fast",
        TARGETS_CACHE_TTL_SECONDS: "1.5",
        SUBREQUEST_BUDGET: "9",
        DEDUPE_WINDOW_SECONDS: "-60",
        DELIVERY_LOG_RETENTION_SECONDS: "1e9",
        CIRCUIT_BREAKER_FAILURES: "1001",
        CIRCUIT_PROBE_SECONDS: "0x10",
        RETRY_SCHEDULE_SECONDS: "5,300,forever",
      },
      [
        { at: "RETRY_SCHEDULE_SECONDS", problem: 'retry schedule entry 3 "forever" is not a non-negative integer' },
        ...[
          "NETEASE_CURTIME_WINDOW_SECONDS",
          "TENCENT_REQUESTTIME_WINDOW_SECONDS",
          "DELIVERY_TIMEOUT_MS",
          "TARGETS_CACHE_TTL_SECONDS",
          "SUBREQUEST_BUDGET",
          "DEDUPE_WINDOW_SECONDS",
          "DELIVERY_LOG_RETENTION_SECONDS",
          "CIRCUIT_BREAKER_FAILURES",
          "CIRCUIT_PROBE_SECONDS",
        ].map((at) => ({ at, problem: "is not an integer in range" })),
      ],
    );
    expect(report.problems.find((p) => p.at === "DELIVERY_TIMEOUT_MS")?.expected).toBe(
      "an integer in [100, 120000] (default 15000)",
    );
  });

  it("accepts every var at the ends of its range", async () => {
    const { res } = await health({
      NETEASE_CURTIME_WINDOW_SECONDS: "86400",
      TENCENT_REQUESTTIME_WINDOW_SECONDS: "1",
      DELIVERY_TIMEOUT_MS: "120000",
      TARGETS_CACHE_TTL_SECONDS: "0",
      SUBREQUEST_BUDGET: "10",
      DEDUPE_WINDOW_SECONDS: "2592000",
      DELIVERY_LOG_RETENTION_SECONDS: "60",
      CIRCUIT_BREAKER_FAILURES: "1000",
      CIRCUIT_PROBE_SECONDS: "600",
      RETRY_SCHEDULE_SECONDS: "0,86400",
    });
    expect(res.status).toBe(200);
  });

  it("refuses a relay with neither provider set: it would refuse every callback", async () => {
    const report = await expectProblems({ TENCENT_APPS: undefined, NETEASE_APPS: "" }, [
      { at: "TENCENT_APPS, NETEASE_APPS", problem: "neither is set: the relay refuses every callback" },
    ]);
    expect(report.warnings.map((w) => w.at)).toEqual(["TENCENT_APPS", "NETEASE_APPS"]);
  });

  it("lists problems of both secrets, ADMIN_TOKEN and a var together", async () => {
    const { report } = await health({
      ...tencentApps({ "1400000003": {} }),
      ...neteaseApps({ [NETEASE_APP]: { secret: NETEASE_SECRET } }),
      ADMIN_TOKEN: "short",
      SUBREQUEST_BUDGET: "1",
    });
    expect(report.problems.map((p) => p.name)).toEqual([
      "TENCENT_APPS",
      "NETEASE_APPS",
      "ADMIN_TOKEN",
      "SUBREQUEST_BUDGET",
    ]);
    expect(JSON.stringify(report)).not.toContain(NETEASE_SECRET);
    expect(JSON.stringify(report)).not.toContain(TENCENT_TOKEN);
    expect(JSON.stringify(report)).not.toContain(ADMIN_TOKEN);
  });
});
