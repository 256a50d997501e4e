import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * The cost count of `npm run bench` (bench/cost.test.ts): the relay's own ingress and consumer, in workerd, with
 * counting proxies around its bindings. Run by bench/run.mjs; alone: `npx vitest run -c bench/vitest.cost.config.ts`.
 * Production defaults for every var except the retry schedule, which only needs to exist.
 */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

export const COST_BINDINGS = {
  TENCENT_APPS: JSON.stringify({ "1400000001": { allowUnsigned: true } }),
  NETEASE_APPS: JSON.stringify({ "bench-appkey": { secret: "bench-appsecret", channels: ["cc", "callback"] } }),
  ADMIN_TOKEN: "bench-admin-token-0123456789",
};

export default defineConfig({
  root: ROOT,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: `${ROOT}wrangler.toml` },
      miniflare: { bindings: COST_BINDINGS },
    }),
  ],
  test: {
    include: ["bench/cost.test.ts"],
    testTimeout: 30_000,
  },
});
