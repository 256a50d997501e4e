import { defineConfig } from "vitest/config";

/**
 * End-to-end tests: plain Node (not the workers pool) against a real `wrangler dev` started once for the run by
 * test/helpers/e2e-server.ts, with real HTTP receivers on 127.0.0.1. Files run one after another because they
 * share the dev server, its KV and its queue.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/helpers/e2e-server.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    // Log lines of passing tests are noise; a failing test keeps them.
    silent: "passed-only",
    reporters: ["default", ["json", { outputFile: ".test-results/e2e.json" }]],
  },
});
