import { defineConfig } from "vitest/config";

/** Node-side checks: generated artifacts (README tables, JSON Schemas) must match their zod / code sources. */
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: ".test-results/node.json" }]],
  },
});
