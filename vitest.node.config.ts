import { defineConfig } from "vitest/config";

/** Node-side checks: generated artifacts (README tables, JSON Schemas) must match their zod / code sources. */
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    // Log lines of passing tests are noise; a failing test keeps them.
    silent: "passed-only",
    reporters: ["default", ["json", { outputFile: ".test-results/node.json" }]],
  },
});
