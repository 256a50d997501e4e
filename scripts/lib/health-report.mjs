// The relay's configuration check (GET /healthz) for scripts in Node: wait for it, and print it for a person.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `${base}/healthz` until the relay answers with its report (200 when the configuration is healthy, 503
 * with `ok: false` when it has problems). Anything else (connection refused, wrangler's own "not ready" page)
 * means "not yet".
 *
 * @param {string} base
 * @param {{ timeoutMs?: number, intervalMs?: number, stillRunning?: () => boolean }} [opts]
 * @returns {Promise<{ status: number, report: Record<string, any> } | undefined>} undefined on timeout or exit
 */
export async function waitForHealth(base, opts = {}) {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline && (opts.stillRunning?.() ?? true)) {
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const report = await res.json().catch(() => undefined);
      if ((res.status === 200 || res.status === 503) && typeof report?.ok === "boolean") {
        return { status: res.status, report };
      }
    } catch {}
    await sleep(opts.intervalMs ?? 500);
  }
  return undefined;
}

/** One problem as the relay describes it: where, what, what was expected. */
function problemLine(p) {
  return [`${p.at ?? p.name}: ${p.problem}`, `    expected ${p.expected}`];
}

/**
 * The report as lines for a terminal: the verdict, the apps per provider (unsigned Tencent apps marked), then
 * every problem and warning with the shape the relay expects.
 *
 * @param {{ status: number, report: Record<string, any> }} health
 * @returns {string[]}
 */
export function formatHealth({ status, report }) {
  const problems = report.problems ?? [];
  const warnings = report.warnings ?? [];
  const unsigned = new Set(report.unsignedTencentApps ?? []);
  const verdict = report.ok
    ? "ok"
    : `${problems.length} problem${problems.length === 1 ? "" : "s"}: callbacks that need them are refused (503)`;
  const lines = [`config check (GET /healthz → ${status}): ${verdict}`];
  const tencent = (report.apps?.tencent ?? []).map((id) => (unsigned.has(id) ? `${id} (unsigned)` : id));
  const netease = report.apps?.netease ?? [];
  lines.push(`  Tencent apps: ${tencent.join(", ") || "none"}`, `  NetEase apps: ${netease.join(", ") || "none"}`);
  for (const p of problems) lines.push(...problemLine(p).map((l, i) => (i === 0 ? `  ✗ ${l}` : `  ${l}`)));
  for (const p of warnings) lines.push(...problemLine(p).map((l, i) => (i === 0 ? `  ! ${l}` : `  ${l}`)));
  if (unsigned.size > 0) {
    lines.push(`  ! unsigned Tencent apps accept a callback from anyone who knows the SdkAppid (see README, allowIps)`);
  }
  return lines;
}
