#!/usr/bin/env node
// Where the ack path's CPU goes: the relay's `app.fetch` run n times inside ONE request, in copies of the project
// in a temp dir where one step is switched off each (src/ itself is never touched). CPU per iteration = workerd's
// utime+stime delta / n (/proc): no HTTP, no dev proxy, so a step costing 10 µs shows. Also runs the reference
// Worker's fetch (bench/reference) and an empty loop (the harness's own cost) in the same way.
//
//   node bench/ack-variants.mjs                       # every variant below, 3 × 3000 iterations each
//   node bench/ack-variants.mjs "no logging,no zod payload check" --iterations 2000 --reps 5
//
// A variant whose patch no longer applies (src/ changed) is skipped with a note. Switching a step off is for
// measurement only: e.g. "no NetEase digests" accepts any CheckSum.
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { descendants, ROOT, startDevServer } from "../scripts/lib/dev-server.mjs";
import { configCopy } from "./lib/config.mjs";
import { loadFixtures, RELAY_VARS, signPool } from "./lib/pool.mjs";
import { cpuSeconds, devProcesses } from "./lib/proc.mjs";

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    iterations: { type: "string", default: "3000" },
    reps: { type: "string", default: "3" },
    "max-seconds": { type: "string", default: "400" },
  },
});
const N = Number(flags.iterations);
const REPS = Number(flags.reps);
const out = (line = "") => process.stdout.write(`${line}\n`);

const edit = (file, from, to) => ({ file, from, to });
const NO_LOGGING = edit(
  "src/log.ts",
  "const write = (level: string, msg: string, fields?: LogFields) => {",
  "const write = (level: string, msg: string, fields?: LogFields) => { return;",
);
const STEPS = {
  "no logging": [NO_LOGGING],
  "no console (JSON line still built)": [
    edit(
      "src/log.ts",
      `    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);`,
      "    void line;",
    ),
  ],
  "no zod payload check": [
    edit(
      "src/ingress/handler.ts",
      "const result = entry?.schema.safeParse(payload);",
      "const result = undefined as { success: boolean; error: { issues: [] } } | undefined;",
    ),
  ],
  "no NetEase digests": [
    edit(
      "src/providers/netease/auth.ts",
      `const expected = await hexDigest("SHA-1", app.secret + md5 + curTime);`,
      "const expected = checkSum.toLowerCase();",
    ),
    edit(
      "src/providers/netease/auth.ts",
      `if (!safeEqual(await hexDigest("MD5", body), md5.toLowerCase())) {`,
      "if (body === undefined) {",
    ),
  ],
  "no event id hash": [
    edit(
      "src/event.ts",
      "id: await eventId(input.provider, input.appId, input.channel, input.body),",
      `id: "evt_00000000000000000000000000000000",`,
    ),
  ],
  "no message size check": [
    edit("src/queue/producer.ts", "if (sizeOf(message) > MAX_MESSAGE_BYTES) {", "if (message === undefined) {"),
  ],
};
const VARIANTS = {
  base: [],
  ...STEPS,
  "no logging, no zod, no digests, no id hash, no size check": Object.entries(STEPS)
    .filter(([name]) => !name.startsWith("no console"))
    .flatMap(([, edits]) => edits),
};

const HARNESS = `import { createApp } from "../src/app";
import reference from "./reference.js";

const app = createApp();

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== "/loop") return new Response("ok");
    const n = Number(url.searchParams.get("n"));
    const target = url.searchParams.get("target");
    const pool = (await req.json()) as { path: string; headers: Record<string, string>; body: string }[];
    const statuses: Record<number, number> = {};
    for (let i = 0; i < n; i++) {
      const r = pool[i % pool.length];
      const request = new Request("http://127.0.0.1" + r.path, { method: "POST", headers: r.headers, body: r.body });
      let res: Response;
      if (target === "relay") res = await app.fetch(request, env, ctx);
      else if (target === "reference") res = await reference.fetch(request, env);
      else {
        await request.text();
        res = new Response(null);
      }
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
    return Response.json({ statuses });
  },
};
`;

const servers = [];
let work;
let cleaning;
const cleanup = () => {
  cleaning ??= (async () => {
    for (const s of servers) await s.stop().catch(() => {});
    for (const pid of await descendants(process.pid).catch(() => [])) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    if (work) await rm(work, { recursive: true, force: true });
  })();
  return cleaning;
};
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => cleanup().finally(() => process.exit(130)));
const guard = setTimeout(() => {
  out(`exceeded --max-seconds ${flags["max-seconds"]}; stopping`);
  cleanup().finally(() => process.exit(1));
}, Number(flags["max-seconds"]) * 1000);

/** A copy of the project with `edits` applied and the loop harness as its entry point: { config } or { skipped }. */
async function variantCopy(name, edits) {
  const dir = join(work, name.replace(/\W+/g, "-"));
  await mkdir(join(dir, "harness"), { recursive: true });
  for (const x of ["src", "schemas", "wrangler.toml", "package.json", "tsconfig.json"]) {
    await cp(join(ROOT, x), join(dir, x), { recursive: true });
  }
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const { file, from, to } of edits) {
    const text = await readFile(join(dir, file), "utf8");
    if (!text.includes(from)) return { skipped: `patch no longer applies to ${file}` };
    await writeFile(join(dir, file), text.replace(from, to));
  }
  await writeFile(join(dir, "harness", "index.ts"), HARNESS);
  await cp(join(ROOT, "bench", "reference", "index.js"), join(dir, "harness", "reference.js"));
  const toml = await readFile(join(dir, "wrangler.toml"), "utf8");
  await writeFile(join(dir, "wrangler.toml"), toml.replace(/^main\s*=.*$/m, 'main = "harness/index.ts"'));
  return {
    config: await configCopy(join(dir, "wrangler.toml"), work, name.replace(/\W+/g, "-"), { consumers: false }),
  };
}

try {
  work = await mkdtemp(join(tmpdir(), "imrelay-variants-"));
  const names = positionals.length > 0 ? positionals.join(",").split(",") : Object.keys(VARIANTS);
  if (!names.includes("base")) names.unshift("base");
  for (const name of names) {
    if (!VARIANTS[name]) throw new Error(`unknown variant "${name}"; known: ${Object.keys(VARIANTS).join(", ")}`);
    const { config, skipped } = await variantCopy(name, VARIANTS[name]);
    if (skipped) {
      out(`skipped "${name}": ${skipped}`);
      continue;
    }
    const server = await startDevServer({ config, vars: RELAY_VARS });
    servers.push({ name, ...server, procs: await devProcesses(server.pid) });
  }
  const fixtures = await loadFixtures(ROOT);
  const loop = async (server, target, n) => {
    const pool = signPool(fixtures).map((r) => ({ path: r.path, headers: r.headers, body: r.body.toString("utf8") }));
    const before = cpuSeconds(server.procs.runtime);
    const res = await fetch(`${server.url}/loop?n=${n}&target=${target}`, {
      method: "POST",
      body: JSON.stringify(pool),
      signal: AbortSignal.timeout(120_000),
    });
    const { statuses } = await res.json();
    const cpu = cpuSeconds(server.procs.runtime) - before;
    if (statuses[200] !== n) throw new Error(`${server.name} / ${target}: ${JSON.stringify(statuses)}`);
    return (cpu / n) * 1e6;
  };
  const jobs = [...servers.map((s) => [s, "relay", s.name]), [servers[0], "reference", "reference Worker"]];
  jobs.push([servers[0], "empty", "empty loop (harness)"]);
  for (const [server, target] of jobs) await loop(server, target, 500);
  const runs = new Map(jobs.map(([, , label]) => [label, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const [server, target, label] of rep % 2 ? [...jobs].reverse() : jobs) {
      runs.get(label).push(await loop(server, target, N));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const empty = median(runs.get("empty loop (harness)"));
  const base = median(runs.get("base")) - empty;
  const ref = median(runs.get("reference Worker")) - empty;
  out(
    `workerd CPU per callback inside one request (medians of ${REPS} × ${N}, harness loop of ${empty.toFixed(0)} µs subtracted)`,
  );
  out(`${"variant".padEnd(58)}  µs/callback  vs base  vs reference   runs (µs, incl. harness)`);
  for (const [label, xs] of runs) {
    if (label.startsWith("empty")) continue;
    const net = median(xs) - empty;
    const delta =
      label === "base" || label === "reference Worker" ? "" : `${net - base >= 0 ? "+" : ""}${(net - base).toFixed(0)}`;
    out(
      `${label.padEnd(58)}  ${net.toFixed(0).padStart(11)}  ${delta.padStart(7)}  ${`${(net / ref).toFixed(2)}×`.padStart(12)}   ${xs.map((x) => x.toFixed(0)).join(" ")}`,
    );
  }
  out(
    "Each callback is one of the 140 signed fixtures (68 Tencent, 72 NetEase), enqueued on the local queue (no consumer).",
  );
} catch (err) {
  process.exitCode = 1;
  out(`failed: ${err?.stack ?? err}`);
} finally {
  clearTimeout(guard);
  await cleanup();
}
