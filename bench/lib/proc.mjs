// OS-level process accounting for the benchmarks (Linux /proc): CPU time is read from the kernel, never from
// timers inside the isolate, so it includes everything workerd does for a request (HTTP, the isolate, the
// queue broker and KV simulators that live in the same process, GC).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { descendants } from "../../scripts/lib/dev-server.mjs";

export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** utime + stime of a process in seconds (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/**
 * The processes `wrangler dev` runs: the workerd that runs the Worker (it has the inspector), the workerd of
 * wrangler's dev proxy (it owns the public port and forwards every request), and wrangler itself (Node; it
 * prints the Worker's logs).
 */
export async function devProcesses(wranglerPid) {
  for (let i = 0; i < 50; i++) {
    const all = await descendants(wranglerPid);
    const workerds = all.filter((pid) => /(^|\/)workerd$/.test(cmdline(pid)[0] ?? ""));
    const runtime = workerds.find((pid) => cmdline(pid).some((a) => a.startsWith("--inspector-addr")));
    const proxy = workerds.find((pid) => pid !== runtime);
    // node_modules/.bin/wrangler re-executes Node on wrangler-dist/cli.js: that child is the dev server.
    const wrangler = all.find((pid) => cmdline(pid).some((a) => a.endsWith("wrangler-dist/cli.js")));
    if (runtime && proxy && wrangler) return { runtime, proxy, wrangler };
    await sleep(100);
  }
  throw new Error(`could not find the workerd processes of wrangler pid ${wranglerPid}`);
}

/**
 * `wrangler dev` servers on this machine that `pid` did not start: one left by a killed run keeps its workerd busy
 * (retrying deliveries, firing alarms) and skews every figure measured beside it.
 */
export async function strayDevServers(pid) {
  const ours = new Set(await descendants(pid));
  const stray = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || ours.has(Number(entry))) continue;
    const args = cmdline(entry);
    if (args.some((a) => a.endsWith("wrangler-dist/cli.js")) && args.includes("dev")) stray.push(Number(entry));
  }
  return stray;
}

/** A CPU snapshot of every process of a dev server; `since()` gives the CPU seconds each used since. */
export function cpuSnapshot(procs) {
  const at = Object.fromEntries(Object.entries(procs).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return {
    at,
    since: () => Object.fromEntries(Object.entries(procs).map(([name, pid]) => [name, cpuSeconds(pid) - at[name]])),
  };
}

/** Busy and total CPU seconds of the whole machine (/proc/stat), to tell a CPU-bound run from a latency-bound one. */
export function machineSnapshot() {
  const read = () => {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
  };
  const at = read();
  return {
    since: () => {
      const now = read();
      return { busy: now.busy - at.busy, total: now.total - at.total };
    },
  };
}
