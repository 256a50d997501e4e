import { describe, expect, it, vi } from "vitest";
import { attemptDelivery } from "../../src/delivery/attempt";
import { classify } from "../../src/delivery/classify";
import { networkErrorReason } from "../../src/delivery/lost-connection";
import { makeTarget } from "../helpers/consumer-harness";

// Port 1 (tcpmux) listens nowhere in practice: a connection to it on loopback is refused at once.
const CLOSED = "http://127.0.0.1:1/hook";

describe("networkErrorReason", () => {
  it("reports a refused connection to a loopback target as connection refused, naming the address", async () => {
    expect(await networkErrorReason(CLOSED, "Network connection lost.")).toBe(
      "connection refused (nothing listens on 127.0.0.1:1)",
    );
    expect(await networkErrorReason("http://localhost:1/x", "Network connection lost.")).toBe(
      "connection refused (nothing listens on localhost:1)",
    );
  });

  it("says what a lost connection to any other host may be, without probing it", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    expect(await networkErrorReason("https://api.example.com/hook", "Network connection lost.")).toBe(
      "connection lost (refused, reset or closed before an answer)",
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  });

  it("passes any other error message through", async () => {
    expect(await networkErrorReason(CLOSED, "DNS lookup failed")).toBe("DNS lookup failed");
  });
});

describe("a delivery to a loopback port nothing listens on", () => {
  it("is retried with the reason network: connection refused, not Network connection lost", async () => {
    const target = { ...makeTarget(CLOSED), id: "refused" };
    const result = await attemptDelivery(target, `evt_${"0".repeat(32)}`, "{}", 5_000);
    expect(result).toEqual({ kind: "network", message: "connection refused (nothing listens on 127.0.0.1:1)" });
    expect(classify(result)).toEqual({
      outcome: "retry",
      reason: "network: connection refused (nothing listens on 127.0.0.1:1)",
    });
  });
});
