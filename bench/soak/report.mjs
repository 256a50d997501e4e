// Loss accounting for the soak: every acked (event, target) pair must be delivered (the receiver answered 2xx
// to its webhook-id at least once), dead-lettered for that target, or still owned by the target's delivery lane
// (pending there, or dead there with its dead letter not yet in KV) when the soak stops. Anything else is lost.

const none = new Set();

/**
 * @param {{ acked: Map<string, object>, receivers: object[], deadLetters: Map<string, Set<string>>, eventDeadLetters: Set<string>, lanePending?: Map<string, Set<string>>, laneDead?: Map<string, Set<string>> }} input
 */
export function account({ acked, receivers, deadLetters, eventDeadLetters, lanePending, laneDead, endMs }) {
  const rows = [];
  const lost = [];
  for (const r of receivers) {
    const dl = deadLetters.get(r.name) ?? new Set();
    const pending = lanePending?.get(r.name) ?? none;
    const owed = laneDead?.get(r.name) ?? none;
    const row = {
      target: r.name,
      acked: acked.size,
      delivered: 0,
      deadLettered: 0,
      deliveredAndDeadLettered: 0,
      eventDeadLettered: 0,
      /** Dead in the lane, its dead letter not yet written to KV. */
      deadOwed: 0,
      pendingInLane: 0,
      lost: 0,
      duplicates: 0,
      requests: r.stats.requests,
      injected: r.stats.injected,
      downtime: r.stats.downtime.map(([from, to]) => [from, to, to === undefined ? endMs : undefined]),
      unacked: 0,
      badSignature: r.stats.badSignature,
      /** ms from the ack to the first 2xx answer, of every delivered pair. */
      latencies: [],
    };
    for (const [id, { at }] of acked) {
      const entry = r.stats.byId.get(id);
      const ok = (entry?.ok ?? 0) > 0;
      if (ok) row.latencies.push(Math.max(0, entry.firstOkAt - at));
      const dead = dl.has(id);
      if (ok) row.delivered++;
      if (ok && dead) row.deliveredAndDeadLettered++;
      if (!ok && dead) row.deadLettered++;
      if (ok || dead) continue;
      if (eventDeadLetters.has(id)) row.eventDeadLettered++;
      else if (pending.has(id)) row.pendingInLane++;
      else if (owed.has(id)) row.deadOwed++;
      else {
        row.lost++;
        lost.push({ target: r.name, id });
      }
    }
    for (const [id, entry] of r.stats.byId) {
      if (entry.ok > 1) row.duplicates += entry.ok - 1;
      if (!acked.has(id)) row.unacked++;
    }
    rows.push(row);
  }
  return { rows, lost };
}

/**
 * Pairs still open: neither delivered nor dead-lettered (used to detect quiescence). A pair pending in the lane of
 * a target that never answers (`lanePending`) is not open: it stays pending until its retries run out, which the
 * soak does not wait for.
 */
export function openPairs({ acked, receivers, deadLetters, eventDeadLetters, lanePending }) {
  let open = 0;
  for (const r of receivers) {
    const dl = deadLetters.get(r.name) ?? new Set();
    const pending = (r.hangs && lanePending?.get(r.name)) || none;
    for (const id of acked.keys()) {
      if ((r.stats.byId.get(id)?.ok ?? 0) > 0 || dl.has(id) || eventDeadLetters.has(id) || pending.has(id)) continue;
      open++;
    }
  }
  return open;
}

const injectedTotal = (i) => i["5xx"] + i.hang + i.drop + i.never;

function injectedText(row) {
  const { injected, downtime } = row;
  const parts = [];
  if (injected["5xx"]) parts.push(`${injected["5xx"]} 5xx`);
  if (injected.hang) parts.push(`${injected.hang} hang`);
  if (injected.drop) parts.push(`${injected.drop} drop`);
  if (injected.never) parts.push(`${injected.never} never answered`);
  for (const [from, to, end] of downtime) {
    parts.push(
      to === undefined ? `down all ${((end - from) / 1000).toFixed(1)} s` : `down ${((to - from) / 1000).toFixed(1)} s`,
    );
  }
  const total = injectedTotal(injected);
  return parts.length === 0 ? "0" : total > 0 && parts.length > 1 ? `${total} (${parts.join(", ")})` : parts.join(", ");
}

function dlText(n, wholeEvent, owed) {
  return `${n}${wholeEvent ? ` (+${wholeEvent} whole-event)` : ""}${owed ? ` (+${owed} dead in lane, KV write owed)` : ""}`;
}

/** The accounting table, as plain text. */
export function table(rows) {
  const header = [
    "target",
    "acked",
    "delivered",
    "dead-lettered",
    "pending in lane",
    "lost",
    "duplicates",
    "requests",
    "failures injected",
  ];
  const body = rows.map((r) => [
    r.target,
    r.acked,
    r.delivered,
    dlText(r.deadLettered, r.eventDeadLettered, r.deadOwed),
    r.pendingInLane,
    r.lost,
    r.duplicates,
    r.requests,
    injectedText(r),
  ]);
  const sum = (key) => rows.reduce((n, r) => n + r[key], 0);
  body.push([
    "TOTAL",
    sum("acked"),
    sum("delivered"),
    dlText(sum("deadLettered"), sum("eventDeadLettered"), sum("deadOwed")),
    sum("pendingInLane"),
    sum("lost"),
    sum("duplicates"),
    sum("requests"),
    String(rows.reduce((n, r) => n + injectedTotal(r.injected), 0)),
  ]);
  const cells = [header, ...body].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) =>
    row
      .map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(cells[0]), rule, ...cells.slice(1, -1).map(line), rule, line(cells.at(-1))].join("\n");
}

/** "p50 1.2 s, p95 …, max …" of a list of milliseconds. */
export function latencyText(ms) {
  if (ms.length === 0) return "-";
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const s = (v) => `${(v / 1000).toFixed(1)} s`;
  return `p50 ${s(q(0.5))}, p95 ${s(q(0.95))}, max ${s(sorted.at(-1))}`;
}
