// The operator console: plain ES module over the admin API, no framework and no build step. The session is an
// HttpOnly cookie the page never sees; the CSRF token lives in this module's memory only (never localStorage), and
// every state-changing request sends it back in `x-csrf-token`. Everything shown is built with textContent, never
// innerHTML: payloads are customer chat messages.

const view = document.getElementById("view");
const nav = document.getElementById("nav");
const signin = document.getElementById("signin");
let csrf = "";

/** An element with attributes (`on*` functions become listeners) and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false || value === null) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A refusal from the API, with its message as the relay wrote it. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One admin API call with the session cookie; the JSON answer, or the raw text with `{ text: true }`. */
async function api(method, path, body, opts = {}) {
  const headers = {};
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (res.status === 401) {
    showSignIn("Your session has ended; sign in again.");
    throw new ApiError(401, "UNAUTHORIZED", "not signed in");
  }
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    throw new ApiError(res.status, err.error?.code ?? "ERROR", err.error?.message ?? `HTTP ${res.status}`);
  }
  if (res.status === 204) return undefined;
  return opts.text ? res.text() : res.json();
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const state = (s) => h("span", { class: `state-${s}` }, s);

function table(headers, rows, caption) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption && h("caption", { class: "muted" }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "None."))),
    ),
  );
}

/** Shows `message` in the view's status line (role=status, so screen readers hear it). */
function say(message, kind = "notice") {
  const box = document.getElementById("status");
  if (!box) return;
  box.className = kind;
  box.textContent = message;
  box.hidden = !message;
}

/** Runs a button's action, reporting its error instead of losing it. */
function action(fn) {
  return async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try {
      await fn(ev);
    } catch (err) {
      if (err.status !== 401) say(err.message, "error");
    } finally {
      button.disabled = false;
    }
  };
}

/**
 * Pretty-prints JSON text without parsing it into numbers: provider ids are 64-bit and must keep every digit.
 */
function prettyJson(text) {
  let out = "";
  let depth = 0;
  let inString = false;
  const pad = () => `\n${"  ".repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === "\\") out += text[++i] ?? "";
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === "{" || ch === "[") {
      const close = ch === "{" ? "}" : "]";
      if (text[i + 1] === close) {
        out += ch + close;
        i++;
      } else {
        depth++;
        out += ch + pad();
      }
    } else if (ch === "}" || ch === "]") {
      depth--;
      out += pad() + ch;
    } else if (ch === ",") out += `,${pad()}`;
    else if (ch === ":") out += ": ";
    else if (!/\s/.test(ch)) out += ch;
  }
  return out;
}

// --- pages -------------------------------------------------------------------------------------------------

const HOUR = 3600_000;

/** Every target's delivery log since `sinceMs` (at most 1000 rows a target), tagged with its target. */
async function deliveriesSince(targets, sinceMs, query = "") {
  const since = new Date(sinceMs).toISOString();
  const pages = await Promise.all(
    targets.map((t) =>
      api("GET", `/admin/targets/${encodeURIComponent(t.id)}/deliveries?limit=1000&since=${since}${query}`)
        .then((page) => page.items.map((item) => ({ ...item, target: t.id })))
        .catch(() => []),
    ),
  );
  return pages.flat();
}

const sum = (counts) => Object.values(counts ?? {}).reduce((n, v) => n + v, 0);

/** Stacked bars per slice of a /admin/stats series: delivered (green), dead (red), refused (amber). */
function chart(series, label) {
  const keys = [
    ["delivered", "#1b7a3a"],
    ["dead", "#b3261e"],
    ["refused", "#c98a00"],
  ];
  const max = Math.max(1, ...series.map((b) => b.delivered + b.dead + b.refused));
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  // Bars stretch with the page's width; nothing in the chart has a shape that stretching would distort.
  const svg = el("svg", { viewBox: "0 0 480 120", class: "chart", preserveAspectRatio: "none", role: "img" });
  const totals = keys.map(([key]) => `${series.reduce((n, b) => n + b[key], 0)} ${key}`).join(", ");
  svg.setAttribute("aria-label", `${label}: ${totals}`);
  const width = 480 / series.length;
  series.forEach((b, i) => {
    let y = 110;
    for (const [key, fill] of keys) {
      const height = (b[key] / max) * 100;
      if (height === 0) continue;
      y -= height;
      const rect = el("rect", { x: i * width + width * 0.1, y, width: width * 0.8, height, fill });
      const title = el("title", {});
      title.textContent = `${new Date(b.at).toLocaleTimeString()}: ${b[key]} ${key}`;
      rect.append(title);
      svg.append(rect);
    }
  });
  svg.append(el("line", { x1: 0, y1: 110.5, x2: 480, y2: 110.5, stroke: "#b9c0ca" }));
  return svg;
}

function tiles(label, totals) {
  const figures = {
    accepted: sum(totals.accepted),
    delivered: sum(totals.delivered),
    retried: sum(totals.retried),
    dead: sum(totals.dead),
    refused: sum(totals.refused),
  };
  return h(
    "section",
    { "aria-label": label },
    h("h2", {}, label),
    h(
      "div",
      { class: "tiles" },
      Object.entries(figures).map(([k, v]) => h("div", { class: "tile" }, h("b", {}, v), k)),
    ),
  );
}

async function overviewPage() {
  const [hour, day, dead] = await Promise.all([
    api("GET", "/admin/stats?window=1h"),
    api("GET", "/admin/stats?window=1d"),
    api("GET", "/admin/dead-letters?limit=1000"),
  ]);
  const reasons = [...new Set([...Object.keys(hour.totals.refused), ...Object.keys(day.totals.refused)])].sort();
  return [
    h("h1", {}, "Overview"),
    tiles("Last hour", hour.totals),
    tiles("Last day", day.totals),
    h("h2", {}, "Per hour, last 24 h"),
    chart(day.series, "Per hour over the last 24 hours"),
    h("div", { class: "axis muted", "aria-hidden": "true" }, h("span", {}, "24 h ago"), h("span", {}, "now")),
    h(
      "p",
      { class: "muted" },
      "Green: delivered. Red: dead. Amber: refused. ",
      h("a", { href: "#/dead-letters" }, `${dead.items.length}${dead.cursor ? "+" : ""} dead letter(s)`),
      " wait for a replay.",
    ),
    h("h2", {}, "Refused by reason"),
    table(
      ["Reason", "Last hour", "Last day"],
      reasons.map((r) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, r),
          h("td", {}, hour.totals.refused[r] ?? 0),
          h("td", {}, day.totals.refused[r] ?? 0),
        ),
      ),
    ),
    h(
      "p",
      { class: "muted" },
      "Accepted: events taken from the queue. Retried: failed attempts that will be tried again. Counted by the " +
        "relay itself (the Stats Durable Object) since it runs this version.",
    ),
  ];
}

async function targetsPage(params) {
  const { items: targets, invalid } = await api("GET", "/admin/targets");
  const nowMs = Date.now();
  const details = await Promise.all(
    targets.map((t) => api("GET", `/admin/targets/${encodeURIComponent(t.id)}`).catch(() => t)),
  );
  const [recent, hourStats] = await Promise.all([
    deliveriesSince(targets, nowMs - 24 * HOUR),
    api("GET", "/admin/stats?window=1h"),
  ]);
  const rows = details.map((t) => {
    const mine = recent.filter((r) => r.target === t.id);
    const lastOk = mine.find((r) => r.state === "delivered")?.lastAttemptAt;
    const lastBad = mine.find((r) => r.state === "dead" || (r.lastStatus ?? 0) >= 300 || r.attempts > 1);
    // Attempts in the last hour: delivered, retried (failed, tried again) and dead (failed for the last time).
    const ok = hourStats.totals.delivered[t.id] ?? 0;
    const tried = ok + (hourStats.totals.retried[t.id] ?? 0) + (hourStats.totals.dead[t.id] ?? 0);
    const rate = tried ? `${Math.round((ok / tried) * 100)} % of ${tried}` : "—";
    const toggle = t.enabled ? "Disable" : "Enable";
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, t.id),
      h("td", {}, h("code", {}, t.url)),
      h(
        "td",
        {},
        t.enabled ? h("span", { class: "ok" }, "enabled") : h("span", { class: "bad" }, "disabled"),
        t.disabledReason && h("div", { class: "muted" }, t.disabledReason),
      ),
      h("td", {}, t.delivery?.circuit ?? "—"),
      h("td", {}, t.delivery?.pending ?? "—"),
      h("td", {}, time(lastOk)),
      h("td", {}, time(lastBad?.lastAttemptAt)),
      h("td", {}, rate),
      h(
        "td",
        { class: "actions" },
        h("a", { href: `#/targets?edit=${encodeURIComponent(t.id)}`, "aria-label": `Edit ${t.id}` }, "Edit"),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `${toggle} ${t.id}`,
            onclick: action(() => setEnabled(t, !t.enabled)),
          },
          toggle,
        ),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `Rotate secret of ${t.id}`,
            onclick: action(() => rotate(t.id)),
          },
          "Rotate secret",
        ),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-label": `Send test event to ${t.id}`,
            onclick: action(() => sendTest(t.id)),
          },
          "Send test event",
        ),
      ),
    );
  });
  const editing = params.get("edit");
  const current = editing ? details.find((t) => t.id === editing) : undefined;
  return [
    h("h1", {}, "Targets"),
    h("div", { id: "status", role: "status", hidden: true }),
    table(
      [
        "Target",
        "URL",
        "State",
        "Circuit breaker",
        "Backlog",
        "Last success",
        "Last failure",
        "Success rate (1 h)",
        "Actions",
      ],
      rows,
    ),
    invalid?.length ? h("p", { class: "error" }, `Stored but failing their schema: ${invalid.join(", ")}`) : null,
    targetForm(current),
  ];
}

/** The create/edit form; editing keeps every field the form does not show. */
function targetForm(current) {
  const form = h(
    "form",
    { class: "card inline", "aria-label": current ? `Edit target ${current.id}` : "New target" },
    h(
      "div",
      {},
      h("label", { for: "t-id" }, "Target id"),
      h("input", {
        id: "t-id",
        name: "id",
        required: true,
        pattern: "[a-z0-9][a-z0-9_\\-]{0,63}",
        value: current?.id,
        readonly: Boolean(current),
      }),
    ),
    h(
      "div",
      {},
      h("label", { for: "t-url" }, "URL"),
      h("input", { id: "t-url", name: "url", type: "url", required: true, size: 40, value: current?.url }),
    ),
    h(
      "div",
      {},
      h("label", { for: "t-events" }, "Event types (comma-separated, empty = all)"),
      h("input", { id: "t-events", name: "events", value: current?.events?.join(", ") }),
    ),
    h(
      "div",
      {},
      h("label", { for: "t-enabled" }, "Enabled"),
      h("input", { id: "t-enabled", name: "enabled", type: "checkbox", checked: current ? current.enabled : true }),
    ),
    h("button", { type: "submit" }, current ? "Save target" : "Create target"),
    current && h("a", { href: "#/targets" }, "Cancel"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const id = String(data.get("id"));
    const events = String(data.get("events") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const body = { ...editable(current), url: String(data.get("url")), enabled: data.get("enabled") === "on" };
    if (events.length) body.events = events;
    else delete body.events;
    try {
      const saved = await api("PUT", `/admin/targets/${encodeURIComponent(id)}`, body);
      await render();
      // A created target's answer carries its new secret in full; every other answer masks it.
      if (saved.secret && !saved.secret.startsWith("whsec_****")) showSecret(id, saved.secret, false);
      else say(`Saved ${id}.`);
    } catch (err) {
      if (err.status !== 401) say(err.message, "error");
    }
  });
  return form;
}

/** The fields of a stored target that a PUT takes back unchanged (never the masked secret or headers). */
function editable(t) {
  if (!t) return {};
  const out = {};
  for (const key of [
    "url",
    "events",
    "providers",
    "apps",
    "enabled",
    "timeoutMs",
    "maxInFlight",
    "ratePerSecond",
    "lanes",
  ]) {
    if (t[key] !== undefined) out[key] = t[key];
  }
  if (t.headers)
    throw new ApiError(
      400,
      "HEADERS",
      "this target has custom headers, which are write-only: edit it with the admin API",
    );
  return out;
}

async function setEnabled(t, enabled) {
  await api("PUT", `/admin/targets/${encodeURIComponent(t.id)}`, { ...editable(t), enabled });
  await render();
  say(`${t.id} ${enabled ? "enabled" : "disabled"}.`);
}

async function rotate(id) {
  const { secret } = await api("POST", `/admin/targets/${encodeURIComponent(id)}/rotate-secret`);
  showSecret(id, secret, true);
}

function showSecret(id, secret, rotated) {
  const box = document.getElementById("status");
  box.hidden = false;
  box.className = "notice";
  box.replaceChildren(
    `${rotated ? "New signing" : "Signing"} secret of ${id}, shown only now: `,
    h("code", {}, secret),
    rotated ? ". The previous secret keeps signing for 24 h." : ". Give it to the receiver to verify signatures.",
  );
}

async function sendTest(id) {
  const { eventId } = await api("POST", `/admin/targets/${encodeURIComponent(id)}/test`);
  say(`Test event ${eventId} queued for ${id}.`);
}

async function eventsPage(params) {
  const lookup = h(
    "form",
    { class: "card inline", role: "search", "aria-label": "Look up an event" },
    h(
      "div",
      {},
      h("label", { for: "event-id" }, "Event id"),
      h("input", {
        id: "event-id",
        name: "id",
        required: true,
        size: 40,
        placeholder: "evt_…",
        value: params.get("id"),
      }),
    ),
    h("button", { type: "submit" }, "Look up"),
  );
  lookup.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/events?id=${encodeURIComponent(String(new FormData(lookup).get("id")).trim())}`;
  });
  const out = [h("h1", {}, "Events"), h("div", { id: "status", role: "status", hidden: true }), lookup];
  const id = params.get("id");
  if (id) out.push(await eventDetail(id));
  out.push(await recentEvents(params));
  return out;
}

async function eventDetail(id) {
  let text;
  try {
    text = await api("GET", `/admin/events/${encodeURIComponent(id)}`, undefined, { text: true });
  } catch (err) {
    return h("p", { class: "error", role: "alert" }, err.message);
  }
  // Deliveries parse as plain JSON; the event keeps its exact text for display.
  const { deliveries } = JSON.parse(text);
  const eventText = text.slice('{"event":'.length, text.lastIndexOf(',"deliveries":'));
  return h(
    "section",
    { "aria-label": `Event ${id}` },
    h("h2", {}, `Event ${id}`),
    deliveries.map((d) =>
      h(
        "section",
        { class: "card", "aria-label": `Delivery to ${d.target}` },
        h("h3", {}, `Target ${d.target}: `, state(d.state)),
        d.nextAttemptAt && h("p", {}, `Next attempt ${time(d.nextAttemptAt)}`),
        table(
          ["#", "Status", "Time", "Duration", "Error or response"],
          d.attempts.map((a, i) =>
            h(
              "tr",
              {},
              h("td", {}, i + 1),
              h("td", {}, a.status ?? "—"),
              h("td", {}, time(a.at)),
              h("td", {}, `${a.durationMs} ms`),
              h("td", {}, a.error ?? "", a.response ? h("pre", {}, a.response.slice(0, 200)) : null),
            ),
          ),
          `Attempts to ${d.target}`,
        ),
      ),
    ),
    h("h3", {}, "Payload"),
    eventText === "null"
      ? h("p", { class: "muted" }, "No lane keeps this event's payload any more.")
      : h("pre", { tabindex: 0, "aria-label": "Event payload" }, prettyJson(eventText)),
  );
}

async function recentEvents(params) {
  const filters = h(
    "form",
    { class: "card inline", "aria-label": "Filter recent events" },
    h(
      "div",
      {},
      h("label", { for: "f-provider" }, "Provider"),
      h(
        "select",
        { id: "f-provider", name: "provider" },
        ["", "tencent", "netease"].map((p) =>
          h("option", { value: p, selected: params.get("provider") === p }, p || "any"),
        ),
      ),
    ),
    h(
      "div",
      {},
      h("label", { for: "f-type" }, "Type"),
      h("input", { id: "f-type", name: "type", value: params.get("type") }),
    ),
    h(
      "div",
      {},
      h("label", { for: "f-state" }, "State"),
      h(
        "select",
        { id: "f-state", name: "state" },
        ["", "pending", "delivered", "dead"].map((s) =>
          h("option", { value: s, selected: params.get("state") === s }, s || "any"),
        ),
      ),
    ),
    h("button", { type: "submit", class: "secondary" }, "Filter"),
  );
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(filters)) if (v) q.set(k, String(v));
    if (params.get("id")) q.set("id", params.get("id"));
    location.hash = `#/events?${q}`;
  });
  const { items: targets } = await api("GET", "/admin/targets");
  const stateFilter = params.get("state") ? `&state=${encodeURIComponent(params.get("state"))}` : "";
  const rows = (await deliveriesSince(targets, Date.now() - 24 * HOUR, stateFilter))
    .filter((r) => !params.get("provider") || r.provider === params.get("provider"))
    .filter((r) => !params.get("type") || r.type.includes(params.get("type")))
    .sort((a, b) => (b.lastAttemptAt ?? "").localeCompare(a.lastAttemptAt ?? ""))
    .slice(0, 100);
  return h(
    "section",
    { "aria-label": "Recent events" },
    h("h2", {}, "Recent events (last 24 h)"),
    filters,
    table(
      ["Event", "Type", "Provider", "Target", "State", "Attempts", "Last status", "Last attempt"],
      rows.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: `#/events?id=${r.event}` }, r.event)),
          h("td", {}, r.type),
          h("td", {}, r.provider ?? "—"),
          h("td", {}, r.target),
          h("td", {}, state(r.state)),
          h("td", {}, r.attempts),
          h("td", {}, r.lastStatus ?? "—"),
          h("td", {}, time(r.lastAttemptAt)),
        ),
      ),
    ),
  );
}

async function deadLettersPage(params) {
  const target = params.get("target") ?? "";
  const { items: targets } = await api("GET", "/admin/targets");
  const page = await api(
    "GET",
    `/admin/dead-letters?limit=200${target ? `&target=${encodeURIComponent(target)}` : ""}`,
  );
  const picker = h(
    "form",
    { class: "card inline", "aria-label": "Filter dead letters" },
    h(
      "div",
      {},
      h("label", { for: "dl-target" }, "Target"),
      h(
        "select",
        { id: "dl-target", name: "target" },
        h("option", { value: "" }, "all"),
        targets.map((t) => h("option", { value: t.id, selected: t.id === target }, t.id)),
      ),
    ),
    h("button", { type: "submit", class: "secondary" }, "Show"),
    h("button", { type: "button", onclick: action(bulkReplay) }, target ? `Replay all of ${target}` : "Replay all"),
    h("button", { type: "button", class: "danger", onclick: action(deleteSelected) }, "Delete selected"),
  );
  picker.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = String(new FormData(picker).get("target") ?? "");
    location.hash = t ? `#/dead-letters?target=${encodeURIComponent(t)}` : "#/dead-letters";
  });
  async function bulkReplay() {
    const res = await api("POST", "/admin/dead-letters/replay", target ? { target } : {});
    await render();
    say(`Replayed ${res.replayed.length}; skipped ${res.skipped.length}${res.more ? "; more are left" : ""}.`);
  }
  async function deleteSelected() {
    const ids = [...document.querySelectorAll("input[data-letter]:checked")].map((el) => el.dataset.letter);
    if (!ids.length) return say("Select the dead letters to delete first.", "error");
    if (!confirm(`Delete ${ids.length} dead letter(s)? They cannot be replayed afterwards.`)) return;
    for (const id of ids) await api("DELETE", `/admin/dead-letters/${encodeURIComponent(id)}`);
    await render();
    say(`Deleted ${ids.length}.`);
  }
  const rows = page.items.map((d) =>
    h(
      "tr",
      {},
      h("td", {}, h("input", { type: "checkbox", "data-letter": d.id, "aria-label": `Select ${d.id}` })),
      h("td", {}, d.eventId ? h("a", { href: `#/events?id=${d.eventId}` }, d.eventId) : d.kind),
      h("td", {}, d.target ?? "—"),
      h("td", {}, d.type ?? "—"),
      h("td", {}, d.lastError, d.lastStatus ? ` (HTTP ${d.lastStatus})` : ""),
      h("td", {}, d.attempts),
      h("td", {}, time(d.deadAt)),
      h(
        "td",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            "aria-label": `Replay ${d.eventId ?? d.id}`,
            onclick: action(async () => {
              await api("POST", `/admin/dead-letters/${encodeURIComponent(d.id)}/replay`);
              await render();
              say(`Replayed ${d.eventId ?? d.id}${d.target ? ` to ${d.target}` : ""}.`);
            }),
          },
          "Replay",
        ),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": `Delete ${d.eventId ?? d.id}`,
            onclick: action(async () => {
              if (!confirm("Delete this dead letter? It cannot be replayed afterwards.")) return;
              await api("DELETE", `/admin/dead-letters/${encodeURIComponent(d.id)}`);
              await render();
              say("Deleted.");
            }),
          },
          "Delete",
        ),
      ),
    ),
  );
  return [
    h("h1", {}, "Dead letters"),
    h("div", { id: "status", role: "status", hidden: true }),
    picker,
    table(["", "Event", "Target", "Type", "Last error", "Attempts", "Dead since", "Actions"], rows),
    page.cursor
      ? h("p", { class: "muted" }, "More dead letters exist than are shown; replay or delete these first.")
      : null,
  ];
}

async function decidersPage() {
  const [{ items, invalid }, hour] = await Promise.all([
    api("GET", "/admin/deciders"),
    api("GET", "/admin/stats?window=1h"),
  ]);
  const fallbacks =
    Object.entries(hour.totals.fallback)
      .map(([verdict, n]) => `${verdict} ${n}`)
      .join(", ") || "none";
  return [
    h("h1", {}, "Deciders"),
    table(
      ["Decider", "URL", "State", "Events", "Timeout", "Fallback"],
      items.map((d) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, d.id),
          h("td", {}, h("code", {}, d.url)),
          h("td", {}, d.enabled ? "enabled" : "disabled"),
          h("td", {}, d.events?.join(", ") ?? "all before-callbacks"),
          h("td", {}, `${d.timeoutMs ?? 1000} ms`),
          h("td", {}, d.fallback ?? "allow"),
        ),
      ),
    ),
    invalid?.length ? h("p", { class: "error" }, `Stored but failing their schema: ${invalid.join(", ")}`) : null,
    h("h2", {}, "Verdicts in the last hour"),
    table(
      ["Decider", "Verdict", "Callbacks"],
      Object.entries(hour.totals.verdict).map(([key, n]) => {
        const at = key.lastIndexOf(":");
        return h("tr", {}, h("td", {}, key.slice(0, at)), h("td", {}, key.slice(at + 1)), h("td", {}, n));
      }),
    ),
    h("p", {}, `Fallbacks in the last hour (a decider timed out, failed or answered no verdict): ${fallbacks}.`),
  ];
}

// --- shell -------------------------------------------------------------------------------------------------

const PAGES = {
  overview: overviewPage,
  targets: targetsPage,
  events: eventsPage,
  "dead-letters": deadLettersPage,
  deciders: decidersPage,
};

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: PAGES[path] ? path : "overview", params: new URLSearchParams(query ?? "") };
}

async function render() {
  const { name, params } = route();
  for (const a of nav.querySelectorAll("a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    const content = await PAGES[name](params);
    view.replaceChildren(...[content].flat().filter(Boolean));
  } catch (err) {
    if (err.status !== 401) view.replaceChildren(h("p", { class: "error", role: "alert" }, err.message));
  }
}

function showSignIn(message = "") {
  csrf = "";
  nav.hidden = true;
  view.replaceChildren();
  signin.hidden = false;
  document.getElementById("signin-error").textContent = message;
  document.getElementById("token").focus();
}

function signedIn(session) {
  csrf = session.csrf;
  signin.hidden = true;
  nav.hidden = false;
  return render();
}

document.getElementById("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = document.getElementById("token");
  // A form body, never the URL: the token must not reach history, logs or a Referer.
  const res = await fetch("/console/session", {
    method: "POST",
    body: new URLSearchParams({ token: input.value }),
    credentials: "same-origin",
  });
  input.value = "";
  if (res.ok) return signedIn(await res.json());
  const err = await res.json().catch(() => ({}));
  showSignIn(
    res.status === 401 ? "Wrong admin token." : (err.error?.message ?? `Sign-in failed (HTTP ${res.status}).`),
  );
});

document.getElementById("sign-out").addEventListener("click", async () => {
  await fetch("/console/session", { method: "DELETE", headers: { "x-csrf-token": csrf }, credentials: "same-origin" });
  location.hash = "";
  showSignIn("Signed out.");
});

window.addEventListener("hashchange", () => {
  if (!nav.hidden) render().then(() => document.getElementById("main").focus({ preventScroll: true }));
});

const res = await fetch("/console/session", { credentials: "same-origin" });
if (res.ok) await signedIn(await res.json());
else showSignIn();
