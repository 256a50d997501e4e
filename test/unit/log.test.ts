import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, logSettings, prettyLine } from "../../src/log";

afterEach(() => {
  vi.restoreAllMocks();
});

const AT = new Date("2026-12-01T11:02:03.456Z");

describe("log settings", () => {
  it("writes JSON unless LOG_FORMAT is pretty, so a deployment without the var keeps machine-readable logs", () => {
    expect(logSettings({})).toEqual({ min: "info", format: "json" });
    expect(logSettings({ LOG_FORMAT: "text" }).format).toBe("json");
    expect(logSettings({ LOG_LEVEL: "warn", LOG_FORMAT: "pretty" })).toEqual({ min: "warn", format: "pretty" });
  });

  it("keeps JSON under the test bindings, which the tests that parse log lines rely on", () => {
    expect(logSettings(env).format).toBe("json");
  });
});

describe("pretty log lines", () => {
  it("reads time, level, message, then the line's fields before the logger's own", () => {
    const line = prettyLine(
      AT,
      "warn",
      "callback refused",
      { requestId: "3f2a", provider: "netease" },
      { code: "BAD_SIGNATURE", appId: "demo-appkey" },
    );
    expect(line).toBe(
      "11:02:03 WARN callback refused code=BAD_SIGNATURE appId=demo-appkey requestId=3f2a provider=netease",
    );
  });

  it("quotes values that are not plain words and renders objects as JSON, so a line never breaks", () => {
    const line = prettyLine(
      AT,
      "error",
      "x",
      {},
      { reason: 'line one\nline "two"', n: 3, list: ["a"], gone: undefined },
    );
    expect(line).toBe('11:02:03 ERROR x reason="line one\\nline \\"two\\"" n=3 list=["a"]');
    expect(line).not.toContain("\n");
  });

  it("lets a line's field win over the logger's field of the same name", () => {
    expect(prettyLine(AT, "info", "m", { target: "a" }, { target: "b" })).toBe("11:02:03 INFO m target=b");
  });

  it("writes one pretty line through the console method of its level", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    createLogger({ requestId: "r1" }, { min: "info", format: "pretty" }).warn("delivery failed; will retry", {
      status: 503,
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(
      /^\d\d:\d\d:\d\d WARN delivery failed; will retry status=503 requestId=r1$/,
    );
  });

  it("writes JSON by default, with the fields as keys", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    createLogger({ requestId: "r1" }).info("callback accepted", { appId: "a" });
    expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({
      level: "info",
      msg: "callback accepted",
      requestId: "r1",
      appId: "a",
    });
  });
});
