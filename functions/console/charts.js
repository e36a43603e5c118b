// Charts drawn as SVG by hand: horizontal bars of counts, and one flow's events on a timeline.

import { formatTime, shorten, svg } from "./dom.js";

/** Horizontal bars, one per {key, count}, largest first. */
export function barChart(rows, { title, width = 720, testid } = {}) {
  const data = [...rows].sort((a, b) => b.count - a.count || String(a.key).localeCompare(String(b.key)));
  const labelWidth = 230;
  const countWidth = 70;
  const barHeight = 22;
  const gap = 6;
  const top = 8;
  const height = top + Math.max(data.length, 1) * (barHeight + gap) + 4;
  const plot = width - labelWidth - countWidth;
  const max = Math.max(1, ...data.map((row) => row.count));
  const chart = svg("svg", {
    class: "chart bars",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": title || "bar chart",
    "data-testid": testid,
  });
  if (data.length === 0) {
    chart.append(svg("text", { x: 8, y: top + 16, class: "muted" }, "No events in this range"));
    return chart;
  }
  data.forEach((row, index) => {
    const y = top + index * (barHeight + gap);
    const length = Math.max(2, Math.round((row.count / max) * plot));
    const group = svg("g", { class: "bar", "data-key": row.key, "data-count": row.count });
    group.append(
      svg("title", {}, `${row.key}: ${row.count}`),
      svg("text", { x: labelWidth - 8, y: y + barHeight / 2, class: "label", "text-anchor": "end" }, shorten(row.key, 32)),
      svg("rect", { x: labelWidth, y, width: length, height: barHeight, rx: 3 }),
      svg("text", { x: labelWidth + length + 6, y: y + barHeight / 2, class: "count" }, String(row.count)),
    );
    chart.append(group);
  });
  return chart;
}

/** A tick's time: the clock alone within a day, the date too beyond (UTC). */
function tickLabel(time, span) {
  const iso = new Date(time).toISOString();
  if (span < 86400e3) return `${iso.slice(11, 19)}Z`;
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}Z`;
}

/** From a cause down its own column to the effect's row, then across to the effect. */
function elbow(from, to) {
  const across = to.x - from.x;
  if (Math.abs(across) < 14) return `M ${from.x} ${from.y + 7} L ${to.x} ${to.y - 8}`;
  const dir = Math.sign(across);
  const r = Math.min(8, Math.abs(to.y - from.y) / 2);
  return `M ${from.x} ${from.y + 7} V ${to.y - r} Q ${from.x} ${to.y} ${from.x + dir * r} ${to.y} H ${to.x - dir * 8}`;
}

function niceTicks(start, end, count = 5) {
  if (end <= start) return [start];
  const ticks = [];
  for (let i = 0; i <= count; i += 1) ticks.push(start + ((end - start) * i) / count);
  return ticks;
}

/**
 * One flow's events on a timeline: a row per event, its time along x, and an arrow from each
 * event's cause (causationId) to it when the cause is part of the flow.
 */
export function timeline(events, { width = 960, onSelect } = {}) {
  const sorted = [...events].sort(
    (a, b) => String(a.occurredAt).localeCompare(String(b.occurredAt)) || String(a.id).localeCompare(String(b.id)),
  );
  const labelWidth = 260;
  const right = 40;
  const rowHeight = 30;
  const top = 40;
  const height = top + Math.max(sorted.length, 1) * rowHeight + 16;
  const times = sorted.map((event) => Date.parse(event.occurredAt)).filter((t) => !Number.isNaN(t));
  const start = times.length ? Math.min(...times) : 0;
  const end = times.length ? Math.max(...times) : 0;
  const plot = width - labelWidth - right;
  const xOf = (event) => {
    const t = Date.parse(event.occurredAt);
    if (Number.isNaN(t) || end === start) return labelWidth + plot / 2;
    return labelWidth + ((t - start) / (end - start)) * plot;
  };
  const chart = svg("svg", {
    class: "chart timeline",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": "events of this flow on a timeline",
    "data-testid": "timeline",
  });
  chart.append(
    svg(
      "defs",
      {},
      svg(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }),
      ),
    ),
  );
  // zebra stripes behind everything, one per row
  const stripes = svg("g", { class: "stripes" });
  sorted.forEach((_, index) => {
    if (index % 2 === 0) stripes.append(svg("rect", { x: 0, y: top + index * rowHeight, width, height: rowHeight }));
  });
  chart.append(stripes);
  // time axis
  const axis = svg("g", { class: "axis" });
  axis.append(svg("line", { x1: labelWidth, y1: top - 12, x2: labelWidth + plot, y2: top - 12 }));
  const ticks = niceTicks(start, end, end === start ? 0 : 4);
  ticks.forEach((tick, index) => {
    const x = end === start ? labelWidth + plot / 2 : labelWidth + ((tick - start) / (end - start)) * plot;
    const anchor = ticks.length > 1 && index === 0 ? "start" : ticks.length > 1 && index === ticks.length - 1 ? "end" : "middle";
    axis.append(
      svg("line", { x1: x, y1: top - 16, x2: x, y2: height - 8, class: "grid" }),
      svg("text", { x, y: top - 22, "text-anchor": anchor }, times.length ? tickLabel(tick, end - start) : ""),
    );
  });
  chart.append(axis);

  const position = new Map();
  sorted.forEach((event, index) => {
    position.set(event.id, { x: xOf(event), y: top + index * rowHeight + rowHeight / 2 });
  });
  // causation links under the points
  const links = svg("g", { class: "links" });
  for (const event of sorted) {
    const cause = event.causationId && position.get(event.causationId);
    if (!cause || event.causationId === event.id) continue;
    const to = position.get(event.id);
    links.append(
      svg(
        "path",
        {
          d: elbow(cause, to),
          class: "link",
          "marker-end": "url(#arrow)",
          "data-from": event.causationId,
          "data-to": event.id,
        },
        svg("title", {}, `${event.causationId} caused ${event.id}`),
      ),
    );
  }
  chart.append(links);

  const rows = svg("g", { class: "rows" });
  sorted.forEach((event, index) => {
    const { x, y } = position.get(event.id);
    const row = svg("g", { class: "event", "data-event-id": event.id, tabindex: 0, role: "link" });
    row.append(
      svg("title", {}, `${event.eventType} at ${formatTime(event.occurredAt)}\n${event.id}`),
      svg("text", { x: 8, y, class: "label" }, shorten(event.eventType, 34)),
      svg("circle", { cx: x, cy: y, r: 6, class: event.causationId && !position.has(event.causationId) ? "point orphan" : "point" }),
    );
    if (onSelect) {
      row.addEventListener("click", () => onSelect(event));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter") onSelect(event);
      });
    }
    rows.append(row);
  });
  chart.append(rows);
  return chart;
}
