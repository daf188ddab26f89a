// The dashboard page: it draws the app's topology once, then every second
// reads /api/stats and turns its totals into rates.
"use strict";

const W = 180, H = 44, GAPX = 90, GAPY = 24;
let topology = null;
let previous = null; // the last stats and when they were read, for rates
let selected = null; // the trace id whose waterfall is shown
let methods = null; // the explorer's methods, once the services serve
let called = null; // the trace id of the explorer's last call

function el(name, attrs, text) {
  const ns = name === "svg" || ["rect", "text", "line", "marker", "path", "defs", "g"].includes(name)
    ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml";
  const e = document.createElementNS(ns, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// layout puts each guest in a column: programs first, then each service one
// column right of the furthest guest that requires it.
function layout(nodes) {
  const col = {};
  for (const n of nodes) col[n.name] = 0;
  for (let i = 0; i < nodes.length; i++) {
    for (const n of nodes) {
      for (const r of n.requires || []) {
        if (r in col && col[r] < col[n.name] + 1) col[r] = col[n.name] + 1;
      }
    }
  }
  const rows = {}, pos = {};
  for (const n of nodes) {
    const c = col[n.name];
    rows[c] = (rows[c] || 0) + 1;
    pos[n.name] = { x: 10 + c * (W + GAPX), y: 10 + (rows[c] - 1) * (H + GAPY) };
  }
  return pos;
}

function drawTopology(edgeRates) {
  const svg = document.getElementById("topology");
  svg.replaceChildren();
  const defs = el("defs");
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8a93a6" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  const pos = layout(topology.nodes);
  let maxX = 0, maxY = 0;
  for (const n of topology.nodes) {
    for (const r of n.requires || []) {
      if (!pos[r]) continue;
      const a = pos[n.name], b = pos[r];
      const edge = el("g", { class: "edge", "data-from": n.name, "data-to": r });
      edge.appendChild(el("line", { x1: a.x + W, y1: a.y + H / 2, x2: b.x, y2: b.y + H / 2 }));
      const rate = edgeRates[n.name + "\u0000" + r] || 0;
      edge.appendChild(el("text", { class: "rate", x: (a.x + W + b.x) / 2 - 20, y: (a.y + b.y) / 2 + H / 2 - 6 }, rate.toFixed(1) + "/s"));
      svg.appendChild(edge);
    }
  }
  for (const n of topology.nodes) {
    const p = pos[n.name];
    const g = el("g", { class: "node", "data-guest": n.name });
    g.appendChild(el("rect", { x: p.x, y: p.y, width: W, height: H, class: n.kind }));
    g.appendChild(el("text", { x: p.x + 10, y: p.y + 18 }, n.name));
    g.appendChild(el("text", { x: p.x + 10, y: p.y + 35, fill: "#5b6577" }, n.kind));
    svg.appendChild(g);
    maxX = Math.max(maxX, p.x + W + 10);
    maxY = Math.max(maxY, p.y + H + 10);
  }
  svg.setAttribute("viewBox", `0 0 ${maxX} ${maxY}`);
  svg.style.maxWidth = maxX + "px";
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
  if (s < 1) return (s * 1e3).toFixed(1) + " ms";
  return s.toFixed(2) + " s";
}

function fill(tbody, rows) {
  const body = document.querySelector(tbody);
  body.replaceChildren();
  for (const cells of rows) {
    const tr = el("tr");
    for (const c of cells) {
      const td = el("td", c.cls ? { class: c.cls } : {}, c.text !== undefined ? c.text : c);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

async function refresh() {
  const now = performance.now();
  const stats = await (await fetch("/api/stats")).json();
  const dt = previous ? (now - previous.at) / 1000 : 0;
  const before = (list, key) => {
    const m = {};
    for (const x of (previous && previous.stats[list]) || []) m[key(x)] = x.calls;
    return m;
  };
  const rate = (was, x, k) => dt > 0 ? Math.max(0, (x.calls - (was[k] || 0)) / dt) : 0;
  const edgeKey = e => e.caller + "\u0000" + e.guest;
  const edgesBefore = before("edges", edgeKey);
  const edgeRates = {};
  for (const e of stats.edges) edgeRates[edgeKey(e)] = rate(edgesBefore, e, edgeKey(e));
  drawTopology(edgeRates);
  const methodKey = m => m.guest + "\u0000" + m.method;
  const methodsBefore = before("methods", methodKey);
  fill("#methods tbody", stats.methods.map(m => [
    m.guest, m.method, String(m.calls), rate(methodsBefore, m, methodKey(m)).toFixed(1),
    { text: String(m.errors), cls: m.errors > 0 ? "err" : "" }, seconds(m.p50), seconds(m.p99),
  ]));
  fill("#guests tbody", stats.guests.map(g => [
    g.guest, String(g.inbox), (g.memory / (1 << 20)).toFixed(1) + " MiB", String(g.restarts),
  ]));
  previous = { at: now, stats };
  const traces = await searchTraces();
  drawTraces(traces);
  let explored = traces.find(t => t.traceId === called);
  if (called && !explored && traceQuery()) { // the search leaves out the explorer's call
    explored = (await (await fetch("/api/traces")).json()).find(t => t.traceId === called);
  }
  drawWaterfall(explored, "explorer-waterfall");
  if (!methods) await loadMethods();
  const all = await (await fetch("/api/logs")).json();
  document.getElementById("logs").textContent = all.slice(-50).map(logLine).join("\n");
  const mine = selected ? await (await fetch("/api/logs?trace=" + encodeURIComponent(selected))).json() : [];
  document.getElementById("trace-logs").textContent = mine.length ? mine.map(logLine).join("\n") : "(none)";
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

// logLine is one record of the guests' output as a line of text.
function logLine(r) {
  const rest = Object.entries(r)
    .filter(([k]) => !["time", "guest", "stream", "msg", "trace_id", "span_id"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return `${(r.time || "").slice(11, 23)} ${r.guest} | ${r.msg || ""}${rest.length ? "  " + rest.join(" ") : ""}`;
}

// traceQuery is the query of /api/traces that the search form asks for:
// min, method and sort (see docs/OBSERVABILITY.md).
function traceQuery() {
  const q = new URLSearchParams();
  const min = document.getElementById("trace-min").value.trim();
  const method = document.getElementById("trace-method").value.trim();
  const sort = document.getElementById("trace-sort").value;
  if (min) q.set("min", min);
  if (method) q.set("method", method);
  if (sort !== "start") q.set("sort", sort);
  return q.toString();
}

// searchTraces reads the traces the search form asks for; a search
// /api/traces refuses (min=slow) is said beside the form, and shows none.
async function searchTraces() {
  const q = traceQuery();
  const r = await fetch("/api/traces" + (q ? "?" + q : ""));
  const status = document.getElementById("trace-search-status");
  if (!r.ok) {
    status.textContent = (await r.text()).trim();
    return [];
  }
  status.textContent = "";
  return r.json();
}

function drawTraces(traces) {
  const body = document.querySelector("#traces tbody");
  body.replaceChildren();
  if (!selected && traces.length > 0) selected = traces[0].traceId;
  let shown = null;
  for (const t of traces) {
    const tr = el("tr", { "data-trace": t.traceId, class: t.traceId === selected ? "selected" : "" });
    const slowest = `${t.slowest.name} (${t.slowest.guest}) ${seconds(t.slowest.duration / 1e9)}`;
    for (const c of [t.traceId.slice(0, 12) + "…", t.root, String(t.spans.length), seconds(t.duration / 1e9), slowest, String(t.errors)]) {
      tr.appendChild(el("td", {}, c));
    }
    tr.addEventListener("click", () => { selected = t.traceId; drawTraces(traces); });
    body.appendChild(tr);
    if (t.traceId === selected) shown = t;
  }
  drawWaterfall(shown, "waterfall");
}

// drawWaterfall draws a trace's spans, each under its parent, as bars on
// the trace's time line.
function drawWaterfall(t, id) {
  const box = document.getElementById(id);
  box.replaceChildren();
  if (!t) return;
  const depth = {};
  const byId = {};
  for (const s of t.spans) byId[s.spanId] = s;
  const depthOf = s => {
    if (depth[s.spanId] !== undefined) return depth[s.spanId];
    const p = s.parentId && byId[s.parentId];
    return (depth[s.spanId] = p ? depthOf(p) + 1 : 0);
  };
  const total = Math.max(t.duration, 1);
  for (const s of t.spans) {
    const row = el("div", { class: "span", "data-span": s.spanId, "data-parent": s.parentId || "" });
    const label = el("div", { class: "label", title: s.name }, "\u00a0\u00a0".repeat(depthOf(s)) + s.guest + " · " + s.name.split("/").pop());
    const track = el("div", { class: "track" });
    const left = 100 * s.offset / total, width = 100 * s.duration / total;
    track.appendChild(el("div", { class: "bar" + (s.error ? " error" : ""), style: `left:${left}%;width:${width}%`, title: spanTitle(s) }));
    if (s.wait > 0) {
      track.appendChild(el("div", { class: "wait", style: `left:${left}%;width:${100 * s.wait / total}%` }));
    }
    row.append(label, track, el("div", { class: "took" }, seconds(s.duration / 1e9)));
    box.appendChild(row);
  }
}

// loadMethods fills the explorer's list of methods, once the app's
// services serve (until then it says why it cannot call them).
async function loadMethods() {
  const r = await fetch("/api/explorer/methods");
  const status = document.getElementById("explorer-status");
  if (!r.ok) {
    status.textContent = (await r.json().catch(() => ({}))).message || r.statusText;
    return;
  }
  methods = await r.json();
  const select = document.getElementById("explorer-method");
  select.replaceChildren(...methods.map((m, i) => el("option", { value: i }, `${m.service}/${m.method} (${m.guest})${delivery(m)}`)));
  const template = () => {
    const m = methods[select.value];
    if (m) document.getElementById("explorer-body").value = JSON.stringify(m.template, null, 2);
    status.className = "note";
    status.textContent = !m ? "The app's services have no methods to call." : m.topics ?
      `A call simulates a delivery of topic ${m.topics.map(t => JSON.stringify(t)).join(", ")}: a gateway does not serve this method to its clients, and a delivery carries no request headers.` :
      "Edit the request, then call.";
  };
  select.addEventListener("change", template);
  template();
  document.getElementById("explorer-call").disabled = methods.length === 0;
}

// delivery is what the list of methods says of a method that a topic's
// subscription delivers to.
function delivery(m) {
  return m.topics ? ` · simulates a delivery of ${m.topics.map(t => "topic " + JSON.stringify(t)).join(", ")}` : "";
}

// givenHeaders turns the explorer's header lines ("name: value", one a
// line) into the headers of its call: each as Parigot-Header-<name>,
// which the explorer passes on to the method as a gateway passes on the
// headers its block lists. A line that is not a header throws, saying
// which.
function givenHeaders(text) {
  const h = new Headers({ "Content-Type": "application/json" });
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    try {
      if (!name) throw new Error();
      h.append("Parigot-Header-" + name, line.slice(colon + 1).trim());
    } catch (e) {
      throw new Error(`header line ${i + 1} is not "name: value" with an HTTP header name: ${JSON.stringify(line)}`);
    }
  });
  return h;
}

// callMethod calls the chosen method with the body as it is, and shows the
// reply, or the error's code and message, and the call's trace.
async function callMethod() {
  const m = methods[document.getElementById("explorer-method").value];
  const status = document.getElementById("explorer-status");
  const reply = document.getElementById("explorer-reply");
  let headers;
  try {
    headers = givenHeaders(document.getElementById("explorer-headers").value);
  } catch (e) {
    status.className = "err";
    status.textContent = e.message;
    reply.textContent = "";
    document.body.dataset.called = String(Number(document.body.dataset.called || 0) + 1);
    return;
  }
  try {
    const r = await fetch(`/api/explorer/call/${m.service}/${m.method}`, {
      method: "POST", headers,
      body: document.getElementById("explorer-body").value,
    });
    const text = await r.text();
    let body = null;
    try { body = JSON.parse(text); } catch (e) { /* not JSON: shown as it is */ }
    reply.textContent = body !== null ? JSON.stringify(body, null, 2) : text;
    if (r.ok) {
      status.className = "ok";
      status.textContent = `ok · ${m.service}/${m.method}`;
    } else {
      status.className = "err";
      status.textContent = body && body.code ? `${body.code}: ${body.message || ""}` : `HTTP ${r.status}`;
    }
    called = r.headers.get("Parigot-Trace");
    if (called) selected = called;
  } catch (e) {
    status.className = "err";
    status.textContent = "the dashboard did not answer: " + e;
  }
  document.body.dataset.called = String(Number(document.body.dataset.called || 0) + 1);
  refresh().catch(console.error);
}

async function main() {
  document.getElementById("explorer-call").addEventListener("click", callMethod);
  for (const id of ["trace-min", "trace-method", "trace-sort"]) {
    document.getElementById(id).addEventListener("change", () => { selected = null; refresh().catch(console.error); });
  }
  topology = await (await fetch("/api/topology")).json();
  document.getElementById("app").textContent = topology.app;
  drawTopology({});
  for (;;) {
    try { await refresh(); } catch (e) { console.error(e); }
    await new Promise(r => setTimeout(r, 1000));
  }
}

// spanTitle is what a span's bar says under the pointer: its code, and for a
// failed call its error's message and typed error.
function spanTitle(s) {
  let t = s.code;
  if (s.message) t += ": " + s.message;
  if (s.errorType) t += " (" + s.errorType + ")";
  return t;
}

main();
