import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import neteaseCcText from "../fixtures/netease/cc-1-p2p-text.json";
import { ADMIN_TOKEN } from "../helpers/bindings";
import { admin, relayUrl, sendNetease, uniqueId, waitFor } from "../helpers/e2e-client";
import { Receiver } from "../helpers/e2e-receiver";
import { newWebhookSecret } from "../helpers/e2e-sign";

/**
 * The operator console in a real browser: Debian's Chromium driven by playwright-core against the suite's
 * `wrangler dev` (RETRY_SCHEDULE_SECONDS=1,1,1, so a failing target's delivery is dead within seconds). The tests
 * run in order on one browser profile: they sign in, use the pages, and sign out.
 *
 * IMRELAY_SCREENSHOT=1 also saves docs/console.png (the README's screenshot) from the event page.
 */

// Without the background-networking flags Chromium calls Google's services, which the closed network refuses.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let profile: string;
let context: BrowserContext;
let page: Page;
const targets: string[] = [];
let good: Receiver;
let bad: Receiver;
let goodId: string;
let badId: string;
let eventId: string;

async function createTarget(id: string, url: string): Promise<void> {
  const res = await admin("PUT", `/targets/${id}`, { url, secret: newWebhookSecret() });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  targets.push(id);
}

/** The console's cookies as the browser holds them. */
async function sessionCookie() {
  return (await context.cookies(relayUrl())).find((c) => c.name === "imrelay_session");
}

beforeAll(async () => {
  profile = await mkdtemp(join(tmpdir(), "imrelay-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  good = await Receiver.start();
  bad = await Receiver.start({ fallback: { status: 500, body: "upstream exploded" } });
  goodId = uniqueId("console-ok");
  badId = uniqueId("console-bad");
  await createTarget(goodId, good.url());
  await createTarget(badId, bad.url());
});

afterAll(async () => {
  await context?.close();
  await Receiver.closeAll();
  for (const id of targets) await admin("DELETE", `/targets/${id}`);
  if (profile) await rm(profile, { recursive: true, force: true });
});

describe("e2e: the operator console in Chromium", () => {
  it("refuses a wrong admin token with a clear error, then signs in with the right one", async () => {
    await page.goto(`${relayUrl()}/console`);
    await page.getByLabel("Admin token").fill("not-the-admin-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").first().textContent()).toBe("Wrong admin token.");
    expect(await sessionCookie()).toBeUndefined();

    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByLabel("Admin token").press("Enter");
    await page.getByRole("link", { name: "Targets" }).waitFor();
    for (const name of ["Events", "Dead letters", "Deciders"]) {
      expect(await page.getByRole("link", { name }).isVisible()).toBe(true);
    }

    const cookie = await waitFor("the session cookie", sessionCookie);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false, path: "/" });
    expect(cookie?.value).not.toContain(ADMIN_TOKEN);
    const hoursLeft = ((cookie?.expires ?? 0) * 1000 - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(11.9);
    expect(hoursLeft).toBeLessThanOrEqual(12);
    // The token is nowhere the page keeps things.
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    expect(stored).not.toContain(ADMIN_TOKEN);
  });

  it("lists the targets with their state", async () => {
    await page.getByRole("link", { name: "Targets" }).click();
    const row = page.getByRole("row").filter({ hasText: goodId });
    await row.waitFor();
    expect(await row.textContent()).toContain("enabled");
    expect(await row.textContent()).toContain(good.url());
    expect(await page.getByRole("row").filter({ hasText: badId }).count()).toBe(1);
    expect(await page.getByRole("button", { name: `Rotate secret of ${goodId}` }).isVisible()).toBe(true);
  });

  it("looks up an event and shows one delivery delivered and one dead, with attempts and the payload", async () => {
    const msgidClient = uniqueId("console-msg");
    const sent = await sendNetease(JSON.stringify({ ...neteaseCcText, msgidClient }));
    expect(sent.status).toBe(200);
    eventId = sent.headers.get("x-imrelay-event-id") ?? "";
    // Four attempts one second apart, then the lane writes the dead letter to KV.
    await waitFor(
      "the dead letter of the failing target",
      async () => {
        const res = await admin("GET", `/dead-letters?target=${badId}`);
        return (res.json as { items: { eventId?: string }[] }).items.some((d) => d.eventId === eventId);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    await page.getByRole("link", { name: "Events" }).click();
    await page.getByLabel("Event id").fill(eventId);
    await page.getByLabel("Event id").press("Enter");
    const delivered = page.getByRole("region", { name: `Delivery to ${goodId}` });
    const dead = page.getByRole("region", { name: `Delivery to ${badId}` });
    await dead.waitFor();
    expect(await delivered.getByRole("heading").textContent()).toBe(`Target ${goodId}: delivered`);
    expect(await dead.getByRole("heading").textContent()).toBe(`Target ${badId}: dead`);
    // Every attempt at the failing target: its status and the start of its answer.
    expect(await dead.getByRole("row").filter({ hasText: "500" }).count()).toBe(4);
    expect(await dead.textContent()).toContain("upstream exploded");
    const payload = await page.getByLabel("Event payload").textContent();
    expect(payload).toContain(`"msgidClient": "${msgidClient}"`);
    expect(payload).toContain(`"id": "${eventId}"`);

    if (process.env.IMRELAY_SCREENSHOT === "1") {
      await page.setViewportSize({ width: 1100, height: 760 });
      await page.screenshot({ path: "docs/console.png" });
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("replays a dead letter with one click, and the local receiver gets it", async () => {
    bad.fallback = { status: 200 };
    const before = bad.withId(eventId).length;
    await page.getByRole("link", { name: "Dead letters" }).click();
    await page.getByRole("button", { name: `Replay ${eventId}` }).click();
    await waitFor("the replayed delivery at the receiver", () => bad.withId(eventId).length > before, {
      timeoutMs: 20_000,
    });
    await expect.poll(() => page.getByRole("status").textContent()).toBe(`Replayed ${eventId} to ${badId}.`);
    expect(await page.getByRole("button", { name: `Replay ${eventId}` }).count()).toBe(0);
  });

  it("refuses a state change that lacks the CSRF token or comes from another origin", async () => {
    const id = uniqueId("console-csrf");
    // The page's own origin and cookie, but no x-csrf-token: what a forged form or script could send.
    const status = await page.evaluate(async (path) => {
      const res = await fetch(path, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
      });
      return res.status;
    }, `/admin/targets/${id}`);
    expect(status).toBe(403);

    // The right cookie and CSRF token, from another origin.
    const cookie = await sessionCookie();
    const { csrf } = (await page.evaluate(() => fetch("/console/session").then((r) => r.json()))) as { csrf: string };
    const res = await fetch(`${relayUrl()}/admin/targets/${id}`, {
      method: "PUT",
      headers: {
        cookie: `imrelay_session=${cookie?.value}`,
        "x-csrf-token": csrf,
        origin: "http://evil.example",
        "content-type": "application/json",
      },
      body: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("CSRF_REFUSED");
    expect((await admin("GET", `/targets/${id}`)).status).toBe(404);
  });

  it("signs out: the cookie is gone and the admin API refuses the page", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin token").waitFor();
    expect(await sessionCookie()).toBeUndefined();
    const status = await page.evaluate(() => fetch("/admin/targets").then((r) => r.status));
    expect(status).toBe(401);
  });
});
