// What a fetch costs from a Durable Object against the same fetch from a stateless Worker (bench/do-fetch/run.mjs).
// A Durable Object's outgoing fetch first waits on its output gate, one more trip through the isolate: the
// relay's lanes pay it on every delivery.
import { DurableObject } from "cloudflare:workers";

/** `n` POSTs of a 1.5 KB body to `url`, 6 in flight, each answer drained. */
async function post(url, n) {
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      const res = await fetch(url, { method: "POST", body: "x".repeat(1500) });
      await res.body?.cancel();
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

export class Poster extends DurableObject {
  async post(url, n) {
    await post(url, n);
  }
}

export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const url = params.get("url");
    const n = Number(params.get("n") ?? 40);
    if (!url) return new Response("ok"); // GET /healthz for startDevServer
    if (params.get("from") === "object") await env.POSTER.get(env.POSTER.idFromName("one")).post(url, n);
    else await post(url, n);
    return new Response("done");
  },
};
