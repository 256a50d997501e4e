import { describe, expect, it } from "vitest";
import { classify } from "../../src/delivery/classify";

function status(code: number, retryAfter: string | null = null) {
  return classify({ kind: "response", status: code, retryAfter });
}

describe("classify", () => {
  it.each([200, 201, 204, 299])("treats HTTP %i as delivered", (code) => {
    expect(status(code)).toEqual({ outcome: "delivered" });
  });

  it("treats 410 Gone as the target asking to be disabled", () => {
    expect(status(410)).toEqual({ outcome: "gone" });
  });

  it.each([300, 301, 302, 307, 308])("retries HTTP %i because redirects are not followed", (code) => {
    expect(status(code)).toEqual({ outcome: "retry", reason: `HTTP ${code}` });
  });

  it.each([400, 401, 403, 404, 409, 413])("retries client error HTTP %i", (code) => {
    expect(status(code)).toEqual({ outcome: "retry", reason: `HTTP ${code}` });
  });

  it("retries 429 Too Many Requests, with or without Retry-After", () => {
    expect(status(429)).toEqual({ outcome: "retry", reason: "HTTP 429" });
    expect(status(429, "120")).toEqual({ outcome: "retry", reason: "HTTP 429" });
  });

  it.each([500, 502, 503, 504])("retries server error HTTP %i", (code) => {
    expect(status(code)).toEqual({ outcome: "retry", reason: `HTTP ${code}` });
  });

  it("retries informational statuses just outside the 2xx range", () => {
    expect(status(199)).toEqual({ outcome: "retry", reason: "HTTP 199" });
  });

  it("retries a timeout", () => {
    expect(classify({ kind: "timeout" })).toEqual({ outcome: "retry", reason: "timeout" });
  });

  it("retries a network error and keeps its message in the reason", () => {
    expect(classify({ kind: "network", message: "connection refused" })).toEqual({
      outcome: "retry",
      reason: "network: connection refused",
    });
  });
});
