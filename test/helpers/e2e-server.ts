import process from "node:process";
import { startDevServer } from "../../scripts/lib/dev-server.mjs";
import { ADMIN_TOKEN, TEST_BINDINGS } from "./bindings";

/**
 * Vitest globalSetup for the end-to-end suite: starts the real Worker under `wrangler dev` (a non-reloading
 * snapshot, local KV and Queues persisted to a fresh temp dir; see scripts/lib/dev-server.mjs), checks that the
 * `--var`s reached the Worker, provides its base URL as `inject("relayUrl")`, and stops it on teardown.
 *
 * Set IMRELAY_E2E_VERBOSE=1 to stream the dev server's output to stderr, IMRELAY_E2E_PORT to pin its port.
 */

declare module "vitest" {
  export interface ProvidedContext {
    relayUrl: string;
  }
}

/** The bindings the dev server runs with: the test secrets plus short retry/timeout settings. */
export const E2E_VARS: Record<string, string> = {
  ...TEST_BINDINGS,
  RETRY_SCHEDULE_SECONDS: "1,1,1",
  DELIVERY_TIMEOUT_MS: "1500",
  TARGETS_CACHE_TTL_SECONDS: "0",
};

type Provide = { provide(key: "relayUrl", value: string): void };

export default async function setup(project: Provide): Promise<() => Promise<void>> {
  // IMRELAY_E2E_PORT pins the dev server's port (on a shared machine, one from your own range); else a free one.
  const port = process.env.IMRELAY_E2E_PORT ? Number(process.env.IMRELAY_E2E_PORT) : undefined;
  const server = await startDevServer({ vars: E2E_VARS, port, verbose: process.env.IMRELAY_E2E_VERBOSE === "1" });
  try {
    await checkVars(server.url);
  } catch (err) {
    await server.stop();
    throw new Error(`${(err as Error).message}\n--- wrangler output ---\n${server.output()}`);
  }
  project.provide("relayUrl", server.url);
  return server.stop;
}

/** The secrets must have reached the Worker, or every test would fail for a confusing reason. */
async function checkVars(baseUrl: string): Promise<void> {
  const health = (await (await fetch(`${baseUrl}/healthz`)).json()) as {
    configured?: { tencent?: boolean; netease?: boolean };
  };
  const admin = await fetch(`${baseUrl}/admin/targets`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  await admin.body?.cancel();
  if (health.configured?.tencent !== true || health.configured?.netease !== true || admin.status !== 200) {
    throw new Error(
      `the dev server did not receive the test secrets (healthz: ${JSON.stringify(health)}, admin: ${admin.status})`,
    );
  }
}
