/**
 * `npm run types` must write exactly what CI checks (.ci/run: `wrangler types --check …` on a clean clone), also
 * on a developer's machine, where `npm run dev` has created a .dev.vars whose secrets plain `wrangler types`
 * would add to the generated Env (and then CI's check fails).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const TYPES = "worker-configuration.d.ts";
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

/** A scratch copy of the project's configuration, with the real sources and dependencies linked in. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "imrelay-types-"));
  for (const file of ["wrangler.toml", "package.json", "types.env"]) copyFileSync(join(ROOT, file), join(dir, file));
  symlinkSync(join(ROOT, "src"), join(dir, "src"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

const dir = scratch();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run types", () => {
  it("writes the committed worker-configuration.d.ts byte for byte, even with a .dev.vars full of secrets", () => {
    copyFileSync(join(ROOT, ".dev.vars.example"), join(dir, ".dev.vars"));
    const run = spawnSync("npm", ["run", "types"], { cwd: dir, env: ENV, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, TYPES), "utf8")).toBe(readFileSync(join(ROOT, TYPES), "utf8"));
  }, 60_000);

  it("writes what CI's own check (the command in .ci/run) accepts on a clean clone", () => {
    rmSync(join(dir, ".dev.vars"), { force: true });
    const command = /npx (wrangler types --check[^\n]*)/.exec(readFileSync(join(ROOT, ".ci", "run"), "utf8"))?.[1];
    expect(command, ".ci/run checks the binding types").toBeDefined();
    const args = (command as string).split(" ");
    const run = spawnSync(join(ROOT, "node_modules", ".bin", args[0] as string), args.slice(1), {
      cwd: dir,
      env: ENV,
      encoding: "utf8",
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  }, 60_000);
});
