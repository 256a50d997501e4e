// Reference Worker for `npm run bench`: no auth, no validation, no envelope, no signing, no logs.
// Ingress: read the body, enqueue it, answer the provider's OK. Consumer: POST each body to every URL of
// TARGET_URLS (at most 6 in flight, the Workers connection limit the relay also keeps), then ack the batch.
// (Named index.js because scripts/lib/dev-server.mjs runs the dry-run bundle as bundle/index.js.)
const OK = {
  "/tencent": () => Response.json({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" }),
  "/netease/callback": () => Response.json({ errCode: 0 }),
  "/netease/cc": () => new Response(null, { status: 200 }),
};

export default {
  async fetch(request, env) {
    const ok = OK[new URL(request.url).pathname];
    if (request.method !== "POST" || !ok) return new Response("ok"); // GET /healthz for startDevServer
    const body = await request.text();
    await env.EVENTS.send(body);
    return ok();
  },
  async queue(batch, env) {
    const urls = env.TARGET_URLS.split(",").filter(Boolean);
    const jobs = batch.messages.flatMap((msg) =>
      urls.map((url) => () => fetch(url, { method: "POST", body: msg.body })),
    );
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await (await job()).body?.cancel();
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    batch.ackAll();
  },
};
