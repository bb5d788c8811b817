// The SLA board: reads the API with the token kept in localStorage, refetches when the server's
// change stream says a read model moved (or the minute turned), and draws a ticket's timeline.
"use strict";

const KEY = "tickets.token";
const cache = new Map(); // url -> {etag, data}
let token = null;
let shown = null; // the ticket number whose detail is open
let refreshing = null;
let again = false;

const $ = id => document.getElementById(id);

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function say(text) { $("message").textContent = text; $("message").hidden = !text; }

function takeToken() {
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    localStorage.setItem(KEY, params.get("token"));
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
  return localStorage.getItem(KEY);
}

async function api(url) {
  const seen = cache.get(url);
  const headers = { Authorization: "Bearer " + token };
  if (seen) headers["If-None-Match"] = seen.etag;
  const res = await fetch(url, { headers });
  if (res.status === 304 && seen) return seen.data;
  if (res.status === 401) { signOut("The token was refused; enter a valid one."); throw new Error("401"); }
  const data = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${data.message || ""}`);
  const etag = res.headers.get("ETag");
  if (etag) cache.set(url, { etag, data });
  return data;
}

function when(text) {
  if (!text) return "";
  const d = new Date(text);
  return d.toISOString().slice(5, 16).replace("T", " ") + "Z";
}

function card(t) {
  const due = t.sla_state === "breached" ? (t.due ? "breached " + when(t.due) : "breached")
    : t.due ? "due " + when(t.due) : "";
  return h("li", { class: "card", "data-number": t.number, onclick: () => openTicket(t.number) },
    h("span", { class: "num" }, t.number), " ",
    h("span", { class: "meta" }, `${t.desk} · ${t.severity} · ${t.status.replace("_", " ")}`),
    h("span", { class: "title" }, t.title || ""),
    h("span", { class: "meta" }, due));
}

function column(state, page) {
  const list = $("col-" + state);
  list.replaceChildren(...page.tickets.map(card));
  if (page.next) list.append(h("li", { class: "more" }, "and more…"));
  $("count-" + state).textContent = page.tickets.length + (page.next ? "+" : "");
}

function queuesView(data) {
  const blocks = Object.entries(data.levels).map(([level, entries]) => h("div", { class: "queue" },
    h("h3", {}, `${level.replace(/_/g, " ")} (${entries.length})`),
    entries.length ? h("ul", {}, ...entries.map(e => h("li", { class: e.state, "data-number": e.number,
      onclick: () => openTicket(e.number) }, `${e.number} ${e.desk} ${e.severity} — ${e.reason}`)))
      : h("span", { class: "meta" }, "empty")));
  $("queues").replaceChildren(...blocks);
}

function countsView(data) {
  const groups = new Map();
  const group = (d, s) => {
    const k = d + "|" + s;
    if (!groups.has(k)) groups.set(k, { desk: d, severity: s, open: 0, breached: 0, at_risk: 0,
      running: 0, met: 0, p50: null });
    return groups.get(k);
  };
  for (const o of data.open) group(o.desk, o.severity).open += o.tickets;
  for (const s of data.sla) Object.assign(group(s.desk, s.severity),
    { breached: s.breached, at_risk: s.at_risk, running: s.running, met: s.met });
  for (const f of data.first_response) group(f.desk, f.severity).p50 = f.p50;
  const rows = [...groups.values()].sort((a, b) => (a.desk + a.severity).localeCompare(b.desk + b.severity));
  $("counts").tBodies[0].replaceChildren(...rows.map(r => h("tr", {},
    h("td", {}, r.desk), h("td", {}, r.severity), h("td", {}, String(r.open)),
    h("td", { class: r.breached ? "bad" : "" }, String(r.breached)), h("td", {}, String(r.at_risk)),
    h("td", {}, String(r.running)), h("td", {}, String(r.met)),
    h("td", {}, r.p50 === null ? "–" : minutes(r.p50)))));
}

function minutes(seconds) {
  const m = Math.round(seconds / 60);
  return m < 120 ? m + " min" : (m / 60).toFixed(1) + " h";
}

async function openTicket(number) {
  shown = number;
  await drawDetail();
  $("detail").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

async function drawDetail() {
  if (shown) detailView(await api("/api/tickets/" + encodeURIComponent(shown)));
}

function detailView(t) {
  $("detail").hidden = false;
  $("detail-title").textContent = `${t.number} — ${t.title}`;
  $("detail-meta").textContent = `${t.desk} (${t.plan}) · severity ${t.severity} · ${t.status.replace("_", " ")}`
    + ` · level ${t.level.replace(/_/g, " ")} · opened ${when(t.opened_at)} · as of ${when(t.computed_at)}`;
  $("detail-fields").replaceChildren(...Object.entries(t.fields).flatMap(([k, v]) =>
    [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, v)]));
  $("timeline").replaceChildren(TicketTimeline.draw(t, t.computed_at));
}

async function refresh() {
  if (refreshing) { again = true; return refreshing; }
  refreshing = (async () => {
    try {
      const [breached, risk, running, queues, figures, ticket] = await Promise.all([
        api("/api/tickets?sla_state=breached&limit=100"), api("/api/tickets?sla_state=at_risk&limit=100"),
        api("/api/tickets?sla_state=running&limit=100"), api("/api/queues"), api("/api/dashboard"),
        shown ? api("/api/tickets/" + encodeURIComponent(shown)) : null]);
      column("breached", breached); column("at_risk", risk); column("running", running);
      queuesView(queues); countsView(figures);
      if (ticket && ticket.number === shown) detailView(ticket);
      $("as-of").textContent = "as of " + when(breached.as_of) + " · position " + breached.position;
      say("");
    } catch (e) {
      if (String(e.message) !== "401") say("Could not load the board: " + e.message);
    }
  })();
  await refreshing;
  refreshing = null;
  if (again) { again = false; refresh(); }
}

async function listen() {
  // fetch, not EventSource: EventSource cannot send the Authorization header, and a token in a
  // URL ends up in logs and history.
  while (token) {
    try {
      const res = await fetch("/api/stream", { headers: { Authorization: "Bearer " + token } });
      if (!res.ok) throw new Error(String(res.status));
      setLive(true);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (/^event: (position|clock)$/m.test(block)) refresh();
        }
      }
    } catch (e) { /* reconnect below */ }
    setLive(false);
    await new Promise(r => setTimeout(r, 2000));
  }
}

function setLive(on) {
  $("live").textContent = on ? "live" : "offline";
  $("live").className = "live " + (on ? "on" : "off");
}

function signOut(why) {
  localStorage.removeItem(KEY);
  token = null;
  cache.clear();
  $("board").hidden = true; $("sign-out").hidden = true; $("token-form").hidden = false;
  say(why || "");
}

function start() {
  token = takeToken();
  $("token-form").onsubmit = e => {
    e.preventDefault();
    localStorage.setItem(KEY, $("token-input").value.trim());
    $("token-input").value = "";
    start();
  };
  $("sign-out").onclick = () => signOut("");
  $("close-detail").onclick = () => { shown = null; $("detail").hidden = true; };
  if (!token) { signOut(""); return; }
  $("token-form").hidden = true; $("board").hidden = false; $("sign-out").hidden = false;
  refresh();
  listen();
  setInterval(refresh, 60000); // a fallback if the stream is down
}

start();
