// Starts the relay (or another Worker) under `wrangler dev` for scripts and tests that run in Node: the demo,
// the benchmarks, the soak and the end-to-end suite. Everything binds to 127.0.0.1.
import { spawn } from "node:child_process";
import { copyFile, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port that was free a moment ago: bind 127.0.0.1:0, read the port, close. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function run(args, opts, record, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, { stdio: ["ignore", "pipe", "pipe"], env: ENV, ...opts });
    child.stdout.on("data", record);
    child.stderr.on("data", record);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      code === 0 ? resolve() : reject(new Error(`wrangler ${args[0]} failed (code ${code}, signal ${signal})`));
    });
  });
}

/** Pids of `pid`'s descendants (Linux /proc), to find the workerd process wrangler started. */
export async function descendants(pid) {
  const { readdir, readFile } = await import("node:fs/promises");
  const parents = new Map();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {}
  }
  const out = [];
  const walk = (p) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/**
 * Starts `wrangler dev` on a snapshot of the Worker: the bundle `wrangler deploy` would upload and a copy of its
 * config, in a temp dir. A snapshot never hot-reloads (a reload would drop the local queue's delayed messages when
 * someone edits src/ during a run). Returns its base URL, the wrangler pid and `stop()`.
 *
 * `before` runs other Workers in the same session (sharing its local queues, KV and Durable Objects), the first of
 * them on the port; `editConfig` changes the copied config (e.g. to bind one of them). The vars then go into the
 * copy's `[vars]`, since `--var` reaches only the Worker on the port.
 *
 * @param {{ config?: string, vars?: Record<string, string>, port?: number, inspectorPort?: number, verbose?: boolean,
 *   readyTimeoutMs?: number, before?: string[], editConfig?: (toml: string) => string }} opts
 */
export async function startDevServer(opts = {}) {
  const config = opts.config ?? join(ROOT, "wrangler.toml");
  const port = opts.port ?? (await freePort());
  const inspectorPort = opts.inspectorPort ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), "imrelay-dev-"));
  let output = "";
  const record = (chunk) => {
    if (opts.verbose) process.stderr.write(chunk);
    output = (output + String(chunk)).slice(-20_000);
  };
  const fail = async (message) => {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${message}\n--- wrangler output ---\n${output}`);
  };

  try {
    await run(
      ["deploy", "--dry-run", "--config", config, "--outdir", join(dir, "bundle")],
      { cwd: ROOT },
      record,
      120_000,
    );
    if (opts.before || opts.editConfig) {
      let toml = (opts.editConfig ?? ((t) => t))(await readFile(config, "utf8"));
      if (opts.before) {
        // Several Workers cannot share the positional script: the copy names its bundle itself.
        toml = toml.replace(
          /^main = .*$/m,
          `main = ${JSON.stringify(join(dir, "bundle", "index.js"))}\nno_bundle = true`,
        );
        const vars = Object.entries(opts.vars ?? {});
        for (const [key] of vars) toml = toml.replace(new RegExp(`^${key} = .*\n`, "m"), "");
        const lines = vars.map(([key, value]) => `${key} = ${JSON.stringify(value)}`);
        toml = toml.replace(/^\[vars\]$/m, ["[vars]", ...lines].join("\n"));
      }
      await writeFile(join(dir, "wrangler.toml"), toml);
    } else {
      await copyFile(config, join(dir, "wrangler.toml"));
    }
    // The config's [assets] directory (the console) is relative to it, so the copy needs its own.
    await cp(join(ROOT, "public"), join(dir, "public"), { recursive: true });
  } catch (err) {
    await fail(err.message);
  }

  const workers = opts.before
    ? [...opts.before.flatMap((c) => ["--config", c]), "--config", join(dir, "wrangler.toml")]
    : [join(dir, "bundle", "index.js"), "--no-bundle", "--config", join(dir, "wrangler.toml")];
  const args = [
    "dev",
    ...workers,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    join(dir, "state"),
    "--show-interactive-dev-session=false",
    "--log-level",
    "log",
  ];
  if (!opts.before) for (const [key, value] of Object.entries(opts.vars ?? {})) args.push("--var", `${key}:${value}`);
  // Its own process group, so stop() ends wrangler and workerd together.
  const child = spawn(WRANGLER, args, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: ENV });
  child.stdout.on("data", record);
  child.stderr.on("data", record);
  const exited = () => child.exitCode !== null || child.signalCode !== null;

  const stop = async () => {
    const signal = (s) => {
      try {
        process.kill(-child.pid, s);
      } catch {}
    };
    signal("SIGTERM");
    for (let i = 0; i < 50 && !exited(); i++) await sleep(100);
    signal("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited()) {
      await stop();
      return fail(`wrangler dev exited (code ${child.exitCode}) before /healthz answered`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      // 503 with the relay's report is an answer too: a relay with configuration problems is up, and says so.
      const report = await res.json().catch(() => undefined);
      if (res.status === 200 || (res.status === 503 && report?.ok === false)) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      return fail("wrangler dev did not answer /healthz in time");
    }
    await sleep(200);
  }
  return { url, pid: child.pid, stop, output: () => output };
}
