/**
 * `npm run receiver` (scripts/receiver.mjs), as a new user runs it: with the secret they were shown, or by
 * mistake the masked one the admin API lists, and with `--body` to see what arrives.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { secretProblem } from "../../scripts/receiver.mjs";

const RECEIVER = join(__dirname, "..", "..", "scripts", "receiver.mjs");
const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGTERM");
});

function start(args: string[]) {
  const child = spawn(process.execPath, [RECEIVER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("receiver secret check", () => {
  it("accepts a Standard Webhooks secret as the relay generates it", () => {
    expect(secretProblem(SECRET)).toBeUndefined();
  });

  it("names the masked secret the admin API shows, and where to get the real one", () => {
    expect(secretProblem("whsec_****Wk0=")).toMatch(/masked secret.*rotate-secret/);
  });

  it("explains a secret without the prefix, one that is not base64, and one of the wrong length", () => {
    expect(secretProblem(Buffer.alloc(32).toString("base64"))).toBe('a webhook secret starts with "whsec_"');
    expect(secretProblem("whsec_not base64!")).toBe('the part after "whsec_" is not base64');
    expect(secretProblem(`whsec_${Buffer.alloc(8).toString("base64")}`)).toBe(
      "the secret decodes to 8 bytes; expected 24–64",
    );
  });
});

describe("npm run receiver", () => {
  it("refuses to start with the masked secret, saying why, instead of calling every delivery forged", async () => {
    const receiver = start(["0", "whsec_****Wk0="]);
    expect(await receiver.exited).toBe(2);
    expect(receiver.err()).toContain("cannot verify signatures with this secret: that is the masked secret");
    expect(receiver.out()).not.toContain("listening");
  });

  it("prints each delivery's body exactly as received with --body, after its verified summary", async () => {
    const receiver = start(["0", SECRET, "--body"]);
    const url = await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(receiver.out())?.[1], "listening");
    const body =
      '{"type":"im.message.recalled","provider":"netease","providerevent":"callback.35","data":{"msgId":184409700039655569}}';
    const id = "evt_0123456789abcdef0123456789abcdef";
    const timestamp = String(Math.floor(Date.now() / 1000));
    const key = Buffer.from(SECRET.slice("whsec_".length), "base64");
    const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
    const res = await fetch(`${url}/webhook`, {
      method: "POST",
      headers: { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` },
      body,
    });
    expect(res.status).toBe(204);
    const printed = await until(() => (receiver.out().includes(body) ? receiver.out() : undefined), "the body");
    expect(printed).toMatch(/im\.message\.recalled \(netease callback\.35\) id=evt_0123\S+ signature verified ✓\n/);
    expect(printed.split("\n")).toContain(body);
  });
});
