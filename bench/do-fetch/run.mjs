#!/usr/bin/env node
// `node bench/do-fetch/run.mjs`: workerd CPU per outgoing fetch made by a Durable Object against the same fetch
// made by a stateless Worker, under `wrangler dev`, to one receiver on 127.0.0.1. Alternating rounds of 50 calls ×
// 40 POSTs each side after a warm-up; CPU read from /proc. Prints µs per fetch for each round and the medians.
import { fileURLToPath } from "node:url";
import { startDevServer } from "../../scripts/lib/dev-server.mjs";
import { cpuSeconds, devProcesses } from "../lib/proc.mjs";
import { startReceivers } from "../lib/receivers.mjs";

const CALLS = 50;
const POSTS = 40;
const ROUNDS = 6;
const receivers = await startReceivers(1);
const server = await startDevServer({ config: fileURLToPath(new URL("wrangler.toml", import.meta.url)) });
try {
  const { runtime } = await devProcesses(server.pid);
  const url = encodeURIComponent(receivers.urls[0]);
  const round = async (from, calls) => {
    const before = cpuSeconds(runtime);
    for (let i = 0; i < calls; i++) {
      const res = await fetch(`${server.url}/?from=${from}&n=${POSTS}&url=${url}`);
      if ((await res.text()) !== "done") throw new Error(`${from}: ${res.status}`);
    }
    return ((cpuSeconds(runtime) - before) * 1e6) / (calls * POSTS);
  };
  await round("worker", 5);
  await round("object", 5);
  const us = { worker: [], object: [] };
  for (let i = 0; i < ROUNDS; i++) for (const from of ["worker", "object"]) us[from].push(await round(from, CALLS));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [from, xs] of Object.entries(us)) {
    console.log(
      `${from.padEnd(6)} µs/fetch: ${xs.map((x) => x.toFixed(0)).join(" ")} (median ${median(xs).toFixed(0)})`,
    );
  }
  console.log(`object / worker: ${(median(us.object) / median(us.worker)).toFixed(2)}×`);
} finally {
  await server.stop();
  await receivers.close();
}
