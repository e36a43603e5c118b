// The events console: recent events with filters, an event found by its provider's id, an event's
// detail, one flow on a timeline, and counts per type. Views are chosen by the location hash;
// every value shown is a text node.

import * as api from "./api.js";
import { barChart, timeline } from "./charts.js";
import { clear, formatBytes, formatTime, h, shorten } from "./dom.js";

const view = document.getElementById("view");
const FILTERS = ["event_type", "resource_type", "resource_id", "source", "from", "to"];
// Suggestions for the source fields (a connection's provider); any other value may be typed.
const SOURCES = ["klavi", "exa", "extend", "standard-webhooks", "vai"];
const PAGE_SIZES = [20, 50, 100];
const RANGES = [
  ["1h", "Last hour", 3600e3],
  ["24h", "Last 24 hours", 86400e3],
  ["7d", "Last 7 days", 7 * 86400e3],
  ["30d", "Last 30 days", 30 * 86400e3],
];

// -- routing -------------------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "events", arg: parts[1], params: new URLSearchParams(query) };
}

export function go(name, arg, params) {
  let hash = `#/${name}`;
  if (arg) hash += `/${encodeURIComponent(arg)}`;
  const query = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)) : null;
  if (query && [...query].length) hash += `?${query}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

const eventLink = (id, text) => h("a", { href: `#/event/${encodeURIComponent(id)}`, class: "mono" }, text ?? shorten(id, 13));
const flowLink = (id) => (id ? h("a", { href: `#/correlation/${encodeURIComponent(id)}`, title: id }, shorten(id, 28)) : "");

let renderToken = 0;

async function render() {
  const token = ++renderToken;
  const route = parseHash();
  for (const tab of document.querySelectorAll(".tabs a")) {
    const active = tab.dataset.view === route.name || (tab.dataset.view === "events" && ["event", "find", "correlation"].includes(route.name));
    tab.classList.toggle("active", active);
  }
  if (!api.apiKey()) {
    showKeyPanel();
    return;
  }
  showSession();
  const views = { events: eventsView, event: eventView, find: findView, correlation: correlationView, charts: chartsView };
  const draw = views[route.name] || eventsView;
  clear(view).append(h("p", { class: "muted loading" }, "Loading…"));
  try {
    const content = await draw(route);
    if (token === renderToken) clear(view).append(content);
  } catch (error) {
    if (token !== renderToken) return;
    if (error.status === 401) {
      api.forgetApiKey();
      showKeyPanel("The API key was refused. Enter a valid key.");
      return;
    }
    clear(view).append(errorBox(error));
  }
}

function errorBox(error) {
  const title = error.status === 404 ? "Not found" : error.status === 422 ? "Invalid request" : "Something went wrong";
  return h("div", { class: "panel error-box", role: "alert", "data-testid": "error" },
    h("h2", {}, title),
    h("p", {}, error.message),
    h("p", {}, h("a", { href: "#/events" }, "← Recent events")));
}

// -- the API key -------------------------------------------------------------------------------

function showKeyPanel(message) {
  clear(view);
  document.getElementById("session").hidden = true;
  document.getElementById("key-panel").hidden = false;
  const problem = document.getElementById("key-error");
  problem.hidden = !message;
  problem.textContent = message || "";
  document.getElementById("api-key").focus();
}

function showSession() {
  document.getElementById("key-panel").hidden = true;
  document.getElementById("session").hidden = false;
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("api-key");
  const key = input.value.trim();
  if (!key) return;
  api.setApiKey(key);
  input.value = "";
  render();
});

document.getElementById("sign-out").addEventListener("click", () => {
  api.forgetApiKey();
  showKeyPanel();
});

// -- recent events ---------------------------------------------------------------------------------

/** A datetime-local value (read as UTC) to ISO 8601, and back. */
const toIso = (local) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : "");
const toLocal = (iso) => (iso ? iso.replace(/(\.\d+)?Z$/, "").slice(0, 19) : "");

async function eventsView({ params }) {
  const limit = Number(params.get("limit")) || PAGE_SIZES[0];
  const offset = Number(params.get("offset")) || 0;
  const query = { limit, offset };
  for (const name of FILTERS) query[name] = params.get(name) || "";
  const [page, known] = await Promise.all([api.listEvents(query), knownValues()]);

  const form = h("form", { class: "filters", "data-testid": "filters" });
  const field = (name, label, input) => h("label", { for: `f-${name}` }, h("span", {}, label), input);
  const text = (name, placeholder, list) =>
    h("input", { id: `f-${name}`, name, value: query[name], placeholder, list, spellcheck: "false", autocomplete: "off" });
  const time = (name) => h("input", { id: `f-${name}`, name, type: "datetime-local", step: 1, value: toLocal(query[name]) });
  const sizes = h("select", { id: "f-limit", name: "limit" }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === limit }, String(n))));
  form.append(
    field("event_type", "Event type", text("event_type", "any", "known-event-types")),
    field("resource_type", "Resource type", text("resource_type", "any", "known-resource-types")),
    field("resource_id", "Resource id", text("resource_id", "any")),
    field("source", "Source", text("source", "any", "known-sources")),
    field("from", "From (UTC)", time("from")),
    field("to", "To (UTC)", time("to")),
    field("limit", "Per page", sizes),
    h("div", { class: "actions" },
      h("button", { type: "submit", "data-testid": "apply-filters" }, "Apply"),
      h("button", { type: "button", class: "secondary", onclick: () => go("events") }, "Reset"),
      h("button", { type: "button", class: "secondary", onclick: () => render() }, "Refresh")),
    h("datalist", { id: "known-event-types" }, known.eventTypes.map((k) => h("option", { value: k }))),
    h("datalist", { id: "known-resource-types" }, known.resourceTypes.map((k) => h("option", { value: k }))),
    h("datalist", { id: "known-sources" }, SOURCES.map((k) => h("option", { value: k }))),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = { limit: data.get("limit") };
    for (const name of FILTERS) {
      const value = String(data.get(name) || "").trim();
      next[name] = name === "from" || name === "to" ? toIso(value) : value;
    }
    go("events", null, next);
  });

  const rows = page.events.map((event) =>
    h("tr", { "data-event-id": event.id },
      h("td", { class: "mono nowrap" }, formatTime(event.occurredAt)),
      h("td", { class: "type" }, event.eventType),
      h("td", {}, event.source),
      h("td", {}, [event.resourceType, event.resourceId].filter(Boolean).join(" / ")),
      h("td", {}, flowLink(event.correlationId)),
      h("td", {}, [event.actorType, event.actorId].filter(Boolean).join(" / ")),
      h("td", {}, eventLink(event.id))));
  const table = h("table", { class: "events", "data-testid": "events-table" },
    h("thead", {}, h("tr", {}, ["Occurred (UTC)", "Type", "Source", "Resource", "Correlation", "Actor", "Id"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));

  const first = page.total === 0 ? 0 : offset + 1;
  const last = offset + page.events.length;
  const keep = Object.fromEntries(FILTERS.map((n) => [n, query[n]]));
  const pager = h("div", { class: "pager" },
    h("span", { "data-testid": "events-count" }, `${first}–${last} of ${page.total} events`),
    h("button", { type: "button", class: "secondary", disabled: offset === 0,
      onclick: () => go("events", null, { ...keep, limit, offset: Math.max(0, offset - limit) }) }, "Newer"),
    h("button", { type: "button", class: "secondary", disabled: !page.hasNext,
      onclick: () => go("events", null, { ...keep, limit, offset: offset + limit }) }, "Older"));

  return h("section", {},
    h("h1", {}, "Recent events"),
    findForm(),
    form,
    page.events.length ? table : h("p", { class: "empty", "data-testid": "no-events" }, "No events match these filters."),
    pager);
}

/** Look an event up by the id its provider gave it: #/find?source=…&source_event_id=…. */
function findForm(source = "", sourceEventId = "") {
  const form = h("form", { class: "filters", "data-testid": "find-form" },
    h("label", { for: "find-source" }, h("span", {}, "Source"),
      h("input", { id: "find-source", name: "source", value: source, placeholder: "klavi", list: "find-sources", required: true, spellcheck: "false", autocomplete: "off" })),
    h("label", { for: "find-id" }, h("span", {}, "Provider event id"),
      h("input", { id: "find-id", name: "source_event_id", value: sourceEventId, required: true, spellcheck: "false", autocomplete: "off" })),
    h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "find" }, "Find")),
    h("datalist", { id: "find-sources" }, SOURCES.map((k) => h("option", { value: k }))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    go("find", null, { source: String(data.get("source") || "").trim(), source_event_id: String(data.get("source_event_id") || "").trim() });
  });
  return form;
}

async function findView({ params }) {
  const source = params.get("source") || "";
  const sourceEventId = params.get("source_event_id") || "";
  const found = source && sourceEventId ? await api.findEvent(source, sourceEventId) : null;
  if (found) return eventView({ arg: found.id, event: found });
  return h("section", {},
    h("p", {}, h("a", { href: "#/events" }, "← Recent events")),
    h("h1", {}, "Find an event by its provider's id"),
    findForm(source, sourceEventId),
    source && sourceEventId
      ? h("p", { class: "empty", "data-testid": "not-found" }, `No ${source} event with id ${sourceEventId}.`)
      : "");
}

let knownCache = null;

/** Event and resource types seen in the last 30 days (for the filters' suggestions). */
async function knownValues() {
  if (knownCache) return knownCache;
  try {
    const from = new Date(Date.now() - 30 * 86400e3).toISOString();
    const counts = await api.aggregate({ from });
    knownCache = {
      eventTypes: (counts.byEventType || []).map((row) => row.key),
      resourceTypes: (counts.byResourceType || []).map((row) => row.key),
    };
  } catch {
    knownCache = { eventTypes: [], resourceTypes: [] };
  }
  return knownCache;
}

// -- one event -------------------------------------------------------------------------------

async function eventView({ arg, event: given }) {
  const [event, files] = await Promise.all([given || api.getEvent(arg), api.artifacts(arg).catch(() => null)]);
  const fields = [
    ["Id", h("span", { class: "mono" }, event.id)],
    ["Type", event.eventType],
    ["Occurred", formatTime(event.occurredAt)],
    ["Tenant", event.tenantId],
    ["Resource", [event.resourceType, event.resourceId].filter(Boolean).join(" / ")],
    ["Correlation", event.correlationId ? flowLink(event.correlationId) : ""],
    ["Caused by", event.causationId ? eventLink(event.causationId, event.causationId) : ""],
    ["Actor", [event.actorType, event.actorId].filter(Boolean).join(" / ")],
    ["Source", event.source],
    ["Provider id", event.sourceEventId ? h("span", { class: "mono" }, event.sourceEventId) : ""],
    ["Channel", event.channel],
    ["Received", formatTime(event.receivedAt)],
  ];
  const list = h("dl", { class: "fields", "data-testid": "event-fields" },
    fields.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value || "—")]));
  const payload = h("pre", { class: "payload", "data-testid": "payload" }, JSON.stringify(event.payload, null, 2));
  return h("section", { "data-testid": "event-detail" },
    h("p", {}, h("a", { href: "#/events" }, "← Recent events")),
    h("h1", {}, event.eventType),
    list,
    h("h2", {}, "Artifacts"),
    artifactsTable(files),
    h("h2", {}, "Payload"),
    payload);
}

function artifactsTable(files) {
  if (!files || files.length === 0) return h("p", { class: "muted", "data-testid": "no-artifacts" }, "This event has no artifacts.");
  const rows = files.map((file, index) =>
    h("tr", {},
      h("td", {}, file.name || `#${index}`),
      h("td", {}, h("span", { class: `status ${file.status || ""}` }, file.status || "")),
      h("td", { class: "num" }, formatBytes(file.size)),
      h("td", {}, file.contentType || ""),
      h("td", { class: "mono", title: file.sha256 || "" }, shorten(file.sha256, 16)),
      h("td", {}, downloadControl(file))));
  return h("table", { class: "artifacts", "data-testid": "artifacts" },
    h("thead", {}, h("tr", {}, ["Name", "Status", "Size", "Type", "SHA-256", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));
}

function downloadControl(file) {
  if (!file.downloadPath) return h("span", { class: "muted" }, file.status === "copied" ? "" : "no copy");
  return h(
    "button",
    { type: "button", class: "secondary", "data-testid": "download", onclick: () => api.downloadArtifact(file.downloadPath, file.name) },
    "Download",
  );
}

// -- one flow ----------------------------------------------------------------------------------

async function correlationView({ arg }) {
  const { events, total } = await api.correlation(arg);
  const ids = new Set(events.map((e) => e.id));
  const sorted = [...events].sort((a, b) => String(a.occurredAt).localeCompare(String(b.occurredAt)));
  const width = Math.max(640, Math.min(1200, view.clientWidth || 960));
  const drawing = events.length
    ? timeline(events, { width, onSelect: (event) => go("event", event.id) })
    : h("p", { class: "empty" }, "No events carry this correlation id.");
  const rows = sorted.map((event) =>
    h("tr", { "data-event-id": event.id },
      h("td", { class: "mono nowrap" }, formatTime(event.occurredAt)),
      h("td", { class: "type" }, event.eventType),
      h("td", {}, [event.resourceType, event.resourceId].filter(Boolean).join(" / ")),
      h("td", {}, event.causationId ? (ids.has(event.causationId) ? eventLink(event.causationId) : h("span", { class: "muted", title: event.causationId }, `${shorten(event.causationId, 13)} (outside)`)) : "—"),
      h("td", {}, eventLink(event.id))));
  return h("section", { "data-testid": "correlation" },
    h("p", {}, h("a", { href: "#/events" }, "← Recent events")),
    h("h1", {}, "Flow ", h("span", { class: "mono" }, arg)),
    h("p", { class: "muted", "data-testid": "flow-count" }, `${events.length} of ${total} events, oldest first; arrows run from cause to effect.`),
    h("div", { class: "scroll" }, drawing),
    h("table", { class: "events", "data-testid": "flow-table" },
      h("thead", {}, h("tr", {}, ["Occurred (UTC)", "Type", "Resource", "Caused by", "Id"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

// -- counts per type -------------------------------------------------------------------------------

async function chartsView({ params }) {
  const range = params.get("range") || (params.get("from") || params.get("to") ? "custom" : "24h");
  const preset = RANGES.find(([id]) => id === range);
  const to = preset ? new Date().toISOString() : params.get("to") || "";
  const from = preset ? new Date(Date.now() - preset[2]).toISOString() : params.get("from") || "";
  const counts = await api.aggregate({ from, to });

  const form = h("form", { class: "filters", "data-testid": "range-form" });
  const select = h("select", { id: "c-range", name: "range" },
    [...RANGES.map(([id, label]) => h("option", { value: id, selected: id === range }, label)),
      h("option", { value: "custom", selected: range === "custom" }, "Custom range")]);
  form.append(
    h("label", { for: "c-range" }, h("span", {}, "Range"), select),
    h("label", { for: "c-from" }, h("span", {}, "From (UTC)"), h("input", { id: "c-from", name: "from", type: "datetime-local", step: 1, value: toLocal(from) })),
    h("label", { for: "c-to" }, h("span", {}, "To (UTC)"), h("input", { id: "c-to", name: "to", type: "datetime-local", step: 1, value: toLocal(to) })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
  select.addEventListener("change", () => {
    if (select.value !== "custom") go("charts", null, { range: select.value });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (data.get("range") !== "custom") go("charts", null, { range: data.get("range") });
    else go("charts", null, { range: "custom", from: toIso(String(data.get("from") || "")), to: toIso(String(data.get("to") || "")) });
  });

  const width = Math.max(480, Math.min(960, view.clientWidth || 720));
  return h("section", { "data-testid": "charts" },
    h("h1", {}, "Events per type"),
    form,
    h("p", { class: "muted", "data-testid": "charts-total" },
      `${counts.total} events from ${formatTime(from) || "the beginning"} to ${formatTime(to) || "now"}`),
    h("div", { class: "scroll" }, barChart(counts.byEventType || [], { title: "events per type", width, testid: "chart-event-types" })),
    h("div", { class: "columns" },
      h("div", {}, h("h2", {}, "Per resource type"), barChart(counts.byResourceType || [], { title: "events per resource type", width: Math.min(width, 560) })),
      h("div", {}, h("h2", {}, "Per actor type"), barChart(counts.byActorType || [], { title: "events per actor type", width: Math.min(width, 560) }))));
}

window.addEventListener("hashchange", render);
render();
