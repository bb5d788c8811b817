// A ticket's SLA clocks as an inline SVG: one row per clock, its spans shaded by why they counted
// or not (business hours, outside hours, weekend, holiday, paused), with at-risk, due, now and
// breach marks. Drawn from the ticket JSON of GET /api/tickets/{ref} alone.
"use strict";

const TicketTimeline = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const FILL = { open: "#cfe8cf", outside: "#e3e5e8", weekend: "#d5d8dd", holiday: "#ddd0ee",
    paused: "#ffd8a8" };
  const WIDTH = 960, LEFT = 170, RIGHT = 20, TOP = 28, ROW = 34, BAR = 18;

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillOf(reason) {
    if (reason === "open") return FILL.open;
    if (reason === "paused") return FILL.paused;
    if (reason === "weekend") return FILL.weekend;
    if (reason.startsWith("holiday")) return FILL.holiday;
    return FILL.outside;
  }

  function ms(text) { return text ? Date.parse(text) : null; }

  function range(ticket, now) {
    const times = [now];
    for (const c of ticket.sla) {
      for (const t of [c.start, c.due, c.at_risk_at, c.stopped_at]) if (t) times.push(ms(t));
      for (const i of c.outlook || []) times.push(ms(i.end));
    }
    let lo = Math.min(...times), hi = Math.max(...times);
    if (hi - lo < 3600e3) hi = lo + 3600e3;
    return [lo, hi + (hi - lo) * 0.03];
  }

  function ticks(lo, hi) {
    const steps = [15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map(m => m * 60e3);
    const step = steps.find(s => (hi - lo) / s <= 8) || steps[steps.length - 1];
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(t);
    return [out, step];
  }

  function label(t, step) {
    const d = new Date(t);
    const hm = d.toISOString().slice(11, 16);
    return step >= 1440 * 60e3 || hm === "00:00" ? d.toISOString().slice(5, 10) + " " + hm : hm;
  }

  function draw(ticket, nowText) {
    const now = ms(nowText);
    const clocks = ticket.sla || [];
    const height = TOP + Math.max(1, clocks.length) * ROW + 12;
    const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
      "aria-label": `SLA timeline of ${ticket.number}`, id: "timeline-svg" });
    const [lo, hi] = range(ticket, now);
    const x = t => LEFT + (WIDTH - LEFT - RIGHT) * (t - lo) / (hi - lo);
    const [marks, step] = ticks(lo, hi);
    for (const t of marks) {
      svg.append(el("line", { x1: x(t), x2: x(t), y1: TOP - 6, y2: height - 8, stroke: "#eceef1" }));
      svg.append(el("text", { x: x(t), y: TOP - 10, "font-size": 10, "text-anchor": "middle",
        fill: "#6b7280" }, label(t, step)));
    }
    if (!clocks.length) {
      svg.append(el("text", { x: LEFT, y: TOP + 20, "font-size": 12, fill: "#6b7280" },
        "no SLA targets for this severity"));
    }
    clocks.forEach((c, row) => {
      const y = TOP + row * ROW + (ROW - BAR) / 2;
      svg.append(el("text", { x: 6, y: y + 13, "font-size": 12, fill: "#1d2330" },
        `${c.kind.replace(/_/g, " ")} · ${c.state.replace("_", " ")}`));
      svg.append(el("rect", { x: LEFT, y, width: WIDTH - LEFT - RIGHT, height: BAR, fill: "#fafafa",
        stroke: "#e5e7eb" }));
      for (const [spans, opacity] of [[c.timeline || [], 1], [c.outlook || [], 0.6]]) {
        for (const s of spans) {
          const a = x(ms(s.start)), b = x(ms(s.end));
          if (b <= a) continue;
          const r = el("rect", { x: a, y, width: b - a, height: BAR, fill: fillOf(s.reason), opacity,
            class: "span" });
          r.append(el("title", {}, `${s.reason}: ${s.start} → ${s.end}`));
          svg.append(r);
        }
      }
      for (const [s, e] of c.pauses || []) {
        const a = x(ms(s)), b = x(e ? ms(e) : now);
        if (b > a) svg.append(el("rect", { x: a, y: y + BAR - 4, width: b - a, height: 4,
          fill: "#e08a00", class: "pause" }));
      }
      if (c.at_risk_at) {
        const a = x(ms(c.at_risk_at));
        svg.append(el("line", { x1: a, x2: a, y1: y - 3, y2: y + BAR + 3, stroke: "#e08a00",
          "stroke-width": 2, "stroke-dasharray": "3 2" }));
      }
      if (c.due) {
        const a = x(ms(c.due));
        svg.append(el("line", { x1: a, x2: a, y1: y - 4, y2: y + BAR + 4, stroke: "#1d2330",
          "stroke-width": 2 }));
        svg.append(el("text", { x: a + 3, y: y - 1, "font-size": 9, fill: "#1d2330" }, "due"));
      }
      if (c.state === "breached") {
        const at = c.due ? ms(c.due) : ms(c.stopped_at) || now;
        const a = x(at), m = y + BAR / 2;
        const mark = el("path", { d: `M${a} ${m - 8} L${a + 8} ${m} L${a} ${m + 8} L${a - 8} ${m} Z`,
          fill: "#c62828", stroke: "#fff", class: "breach-marker" });
        mark.append(el("title", {}, `${c.kind} breached`));
        svg.append(mark);
      }
      if (c.stopped_at) {
        const a = x(ms(c.stopped_at));
        svg.append(el("circle", { cx: a, cy: y + BAR / 2, r: 4, fill: c.state === "met" ? "#2e7d32" : "#555" }));
      }
    });
    const n = x(now);
    svg.append(el("line", { x1: n, x2: n, y1: TOP - 6, y2: height - 6, stroke: "#1e66d0",
      "stroke-width": 2 }));
    svg.append(el("text", { x: n + 3, y: height - 2, "font-size": 10, fill: "#1e66d0" }, "now"));
    return svg;
  }

  return { draw };
})();
