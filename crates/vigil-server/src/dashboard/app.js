// Vigil's dashboard: a page per view, drawn from the REST API with the admin token.
// No framework and no build step: the server embeds this file as it is.
"use strict";

const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNKNOWN"];
const main = () => document.getElementById("main");

// The token: moved from the link's fragment (never sent to a server) into this tab's
// session storage, then sent as a bearer token.
function token() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("vigil-token", decodeURIComponent(m[1]));
    const rest = location.hash.replace(/[#?&]?token=[^&]+/, "").replace(/^#?/, "#");
    history.replaceState(null, "", location.pathname + (rest.length > 1 ? rest : "#/"));
  }
  return sessionStorage.getItem("vigil-token");
}

class Unauthorized extends Error {}

async function api(path) {
  const res = await fetch("/api/v1/" + path, {
    headers: { Authorization: "Bearer " + token() },
  });
  if (res.status === 401 || res.status === 403) throw new Unauthorized(path);
  if (!res.ok) {
    let message = res.statusText;
    try { message = (await res.json()).error; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return res.json();
}

// h("td", {class: "x"}, "text", child...): elements built with text nodes only, so
// nothing the API returns is ever parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const sev = (s) => h("span", { class: "sev " + s }, s);
const when = (t) => (t ? new Date(t).toLocaleString() : "—");
const go = (path) => () => { location.hash = "#/" + path; };

function table(headers, rows, onRow) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length
      ? rows.map((r) => h("tr", onRow ? { class: "link", onclick: onRow(r) } : {}, r.cells.map((c) => h("td", {}, c))))
      : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "Nothing here yet."))));
}

// Horizontal bars of counts by severity.
function severityChart(title, counts) {
  const keys = ["critical", "high", "medium", "low", "other"];
  const max = Math.max(1, ...keys.map((k) => counts[k] || 0));
  const rowH = 20, width = 300;
  return h("div", { class: "card" }, h("h2", {}, title),
    svg("svg", { width: "100%", viewBox: `0 0 ${width} ${keys.length * rowH}`, role: "img", "aria-label": title },
      keys.map((k, i) => {
        const n = counts[k] || 0;
        const w = Math.round((n / max) * (width - 110));
        return svg("g", {},
          svg("text", { x: 0, y: i * rowH + 13 }, k),
          svg("rect", { x: 60, y: i * rowH + 3, width: Math.max(w, n ? 2 : 0), height: 12, class: "bar-" + k }),
          svg("text", { x: 66 + w, y: i * rowH + 13 }, n));
      })));
}

// Vertical bars: alerts per hour.
function timeChart(buckets) {
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const bw = 12, height = 90;
  return h("div", { class: "card" }, h("h2", {}, "Alerts over the last 24 hours"),
    svg("svg", { width: "100%", viewBox: `0 0 ${buckets.length * bw + 30} ${height + 16}`, role: "img", "aria-label": "alerts per hour" },
      svg("text", { x: 0, y: 10 }, max),
      buckets.map((b, i) => {
        const bh = Math.round((b.count / max) * height);
        return svg("rect", { x: 24 + i * bw, y: height - bh, width: bw - 2, height: bh, class: "bar-alerts" },
          svg("title", {}, `${new Date(b.start).toLocaleString()}: ${b.count}`));
      }),
      svg("text", { x: 24, y: height + 14 }, new Date(buckets[0].start).getHours() + ":00"),
      svg("text", { x: 24 + (buckets.length - 3) * bw, y: height + 14 }, "now")));
}

// Filters kept in the URL (#/alerts?severity=high&q=web) so a view can be shared.
function params() {
  const q = location.hash.split("?")[1] || "";
  return new URLSearchParams(q);
}

function filters(page, p, { severity = true, kind = null } = {}) {
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) next.set(el.name, el.value);
    location.hash = "#/" + page + (next.toString() ? "?" + next : "");
  } },
    h("input", { type: "search", name: "q", placeholder: "Search", value: p.get("q") || "" }),
    severity && h("select", { name: "severity" },
      h("option", { value: "" }, "any severity"),
      SEVERITIES.slice(0, 4).map((s) => h("option", { value: s.toLowerCase(), selected: p.get("severity") === s.toLowerCase() }, s.toLowerCase() + " and above"))),
    h("input", { type: "text", name: "cluster", placeholder: "cluster", value: p.get("cluster") || "" }),
    kind && h("input", { type: "text", name: "kind", placeholder: kind, value: p.get("kind") || "" }),
    h("button", { type: "submit" }, "Filter"));
  return form;
}

function pager(page, p, total) {
  const offset = Number(p.get("offset") || 0), limit = 50;
  const move = (o) => () => { p.set("offset", String(o)); location.hash = "#/" + page + "?" + p; };
  return h("div", { class: "pager muted" },
    `${total ? offset + 1 : 0}–${Math.min(offset + limit, total)} of ${total}`,
    offset > 0 && h("button", { type: "button", onclick: move(Math.max(0, offset - limit)) }, "Previous"),
    offset + limit < total && h("button", { type: "button", onclick: move(offset + limit) }, "Next"));
}

const views = {
  async overview() {
    const [o, clusters, incidents] = await Promise.all([
      api("overview"), api("clusters"), api("incidents?limit=5"),
    ]);
    const total = (c) => c.critical + c.high + c.medium + c.low + c.other;
    return [
      h("h1", {}, "Overview"),
      h("div", { class: "grid" },
        h("div", { class: "card", id: "stat-clusters" }, h("div", { class: "muted" }, "Clusters"), h("div", { class: "stat" }, o.clusters)),
        h("div", { class: "card", id: "stat-alerts" }, h("div", { class: "muted" }, "Alerts"), h("div", { class: "stat" }, total(o.alerts))),
        h("div", { class: "card", id: "stat-incidents" }, h("div", { class: "muted" }, "Active incidents (24 h)"), h("div", { class: "stat" }, o.active_incidents)),
        h("div", { class: "card", id: "stat-images" }, h("div", { class: "muted" }, "Images scanned"), h("div", { class: "stat" }, o.images)),
        h("div", { class: "card", id: "stat-events" }, h("div", { class: "muted" }, "Events held"), h("div", { class: "stat" }, o.events))),
      h("div", { class: "grid" }, timeChart(o.alerts_over_time),
        severityChart("Alerts by severity", o.alerts),
        severityChart("Vulnerabilities by severity", o.vulnerabilities),
        severityChart("Posture findings by severity", o.findings)),
      h("h2", {}, "Latest incidents"),
      table(["Severity", "Incident", "Subject", "Alerts", "Last"],
        incidents.items.map((i) => ({ id: i.id, cells: [sev(i.severity), i.title, i.subject, i.alert_count, when(i.last_seen)] })),
        (r) => go("incidents/" + r.id)),
      h("h2", {}, "Clusters"),
      table(["Cluster", "Last seen", "Events", "Alerts", "Images", "Findings"],
        clusters.map((c) => ({ cells: [c.name, when(c.last_seen), c.events, c.alerts, c.images, c.findings] }))),
    ];
  },

  async alerts(p) {
    p.set("limit", "50");
    const page = await api("alerts?" + p);
    return [h("h1", {}, "Alerts"), filters("alerts", p, { kind: "rule id" }),
      table(["Severity", "Rule", "Where", "Count", "Last seen", "MITRE"],
        page.items.map((a) => ({ id: a.id, cells: [sev(a.severity), a.rule, place(a), a.count, when(a.last_seen), a.mitre_technique || ""] })),
        (r) => go("alerts/" + r.id)),
      pager("alerts", p, page.total)];
  },

  async alert(_, id) {
    const a = await api("alerts/" + encodeURIComponent(id));
    const ev = (a.alert.evidence || [])[0];
    return [h("h1", {}, sev(a.severity), " ", a.rule),
      h("div", { class: "grid" },
        h("div", { class: "card" }, h("h2", {}, "What happened"), h("p", {}, a.output),
          h("p", { class: "muted" }, a.alert.description || ""),
          a.alert.remediation && h("p", {}, h("strong", {}, "Respond: "), a.alert.remediation)),
        h("div", { class: "card" }, h("h2", {}, "Facts"), facts({
          Cluster: a.cluster, Node: a.node, Namespace: a.namespace, Pod: a.pod, Container: a.container,
          Image: a.image, User: a.user, "First seen": when(a.first_seen), "Last seen": when(a.last_seen),
          Count: a.count, MITRE: [a.mitre_tactic, a.mitre_technique].filter(Boolean).join(" / "),
          Incident: a.incident_id ? h("a", { href: "#/incidents/" + a.incident_id }, "#" + a.incident_id) : "",
        }))),
      ev && ev.process && h("div", { class: "card" }, h("h2", {}, "Process tree"), processTree(ev)),
      a.alert.audit && h("div", { class: "card" }, h("h2", {}, "Audit request"), facts({
        User: a.alert.audit.user, Verb: a.alert.audit.verb, Object: a.alert.audit.object,
        URI: a.alert.audit.uri, "Source IPs": (a.alert.audit.source_ips || []).join(", "),
        "User agent": a.alert.audit.user_agent, Response: a.alert.audit.response_code,
      })),
      h("div", { class: "card" }, h("h2", {}, "Evidence"), h("pre", {}, JSON.stringify(a.alert.evidence, null, 2)))];
  },

  async incidents(p) {
    p.set("limit", "50");
    const page = await api("incidents?" + p);
    return [h("h1", {}, "Incidents"), filters("incidents", p),
      table(["Severity", "Incident", "Subject", "Cluster", "Alerts", "First", "Last"],
        page.items.map((i) => ({ id: i.id, cells: [sev(i.severity), i.title, i.subject, i.cluster, i.alert_count, when(i.first_seen), when(i.last_seen)] })),
        (r) => go("incidents/" + r.id)),
      pager("incidents", p, page.total)];
  },

  async incident(_, id) {
    const i = await api("incidents/" + encodeURIComponent(id));
    return [h("h1", {}, sev(i.severity), " ", i.title),
      h("p", { class: "muted" }, `${i.subject} in ${i.cluster}: ${i.alert_count} alerts from ${when(i.first_seen)} to ${when(i.last_seen)}`),
      h("div", { class: "card" }, h("h2", {}, "Timeline"),
        h("ol", { class: "timeline" }, i.timeline.map((a) => h("li", {},
          h("div", { class: "muted" }, when(a.first_seen), a.count > 1 ? ` (×${a.count})` : ""),
          sev(a.severity), " ", h("a", { href: "#/alerts/" + a.id }, a.rule), h("div", {}, a.output)))))];
  },

  async images(p) {
    p.set("limit", "50");
    const page = await api("images?" + p);
    const c = (v) => [v.critical, v.high, v.medium, v.low].join(" / ");
    return [h("h1", {}, "Images"), filters("images", p, { severity: false }),
      table(["Image", "Digest", "OS", "Packages", "Critical / High / Medium / Low", "Scanned"],
        page.items.map((i) => ({ id: i.id, cells: [i.name, (i.digest || "").slice(0, 19), i.os || "", i.packages, c(i.vulnerabilities), when(i.scanned)] })),
        (r) => go("images/" + r.id)),
      pager("images", p, page.total)];
  },

  async image(_, id) {
    const i = await api("images/" + encodeURIComponent(id));
    return [h("h1", {}, i.name),
      h("div", { class: "grid" },
        h("div", { class: "card" }, facts({ Reference: i.reference, Digest: i.digest || "", OS: i.os || "", Packages: i.packages, Cluster: i.cluster, Scanned: when(i.scanned) })),
        severityChart("Vulnerabilities", i.vulnerabilities)),
      table(["Severity", "Vulnerability", "Package", "Installed", "Fixed in", "Status"],
        i.vulnerabilities_list.map((v) => ({ cells: [sev(v.severity), h("span", { title: v.title }, v.id), v.package, v.version, v.fixed, v.status] })))];
  },

  async posture(p) {
    p.set("limit", "50");
    const [page, scans] = await Promise.all([api("findings?" + p), api("posture")]);
    const paths = scans.flatMap((s) => (s.attack_paths || []).map((ap) => ({ ...ap, cluster: s.cluster })));
    return [h("h1", {}, "Posture"),
      h("h2", {}, "Attack paths"),
      paths.length ? paths.map((ap) => h("div", { class: "card" },
        h("div", {}, sev(ap.severity), " ", h("strong", {}, ap.title), h("span", { class: "muted" }, ` risk ${ap.risk} · ${ap.cluster}`)),
        (ap.steps || []).map((s) => h("div", { class: "path-step" },
          `${s.resource.kind} ${s.resource.namespace ? s.resource.namespace + "/" : ""}${s.resource.name}: `, s.description))))
        : h("p", { class: "muted" }, "No attack paths."),
      h("h2", {}, "Findings"), filters("posture", p, { kind: "check id" }),
      table(["Severity", "Check", "Finding", "Resource", "Cluster"],
        page.items.map((f) => ({ cells: [sev(f.severity), f.check_id, f.title, `${f.kind} ${f.namespace ? f.namespace + "/" : ""}${f.name}`, f.cluster] }))),
      pager("posture", p, page.total)];
  },

  async events(p) {
    p.set("limit", "50");
    const page = await api("events?" + p);
    return [h("h1", {}, "Events"), filters("events", p, { severity: false, kind: "type (exec, open...)" }),
      table(["Time", "Source", "Type", "Where", "Detail"],
        page.items.map((e) => ({ cells: [when(e.time), e.source, e.kind, place(e), summary(e.event)] }))),
      pager("events", p, page.total)];
  },
};

function place(x) {
  const pod = x.pod ? `${x.namespace}/${x.pod}` : "";
  return [x.cluster, x.node, pod || (x.container || "").slice(0, 12), x.user].filter(Boolean).join(" · ");
}

function summary(e) {
  if (!e || typeof e !== "object") return "";
  if (e.process) return [e.process.exe || e.process.name, ...(e.exec && e.exec.args ? e.exec.args.slice(1) : [])].join(" ")
    + (e.open ? " → " + e.open.path : "") + (e.connect ? ` → ${e.connect.address}:${e.connect.port}` : "");
  if (e.verb) return `${e.user && e.user.username} ${e.verb} ${e.requestURI || ""}`;
  return "";
}

function facts(obj) {
  return h("dl", { class: "facts" }, Object.entries(obj).filter(([, v]) => v !== "" && v !== undefined && v !== null)
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

// The process and its ancestors, outermost first, from what the evidence event carries.
function processTree(ev) {
  const chain = [];
  for (const a of (ev.ancestors || []).slice().reverse()) chain.push(a);
  if (ev.process.parent && !(ev.ancestors || []).length) chain.push(ev.process.parent);
  chain.push(ev.process);
  const label = (p) => `${p.name || "?"}${p.pid ? " (" + p.pid + ")" : ""}${p.exe ? " " + p.exe : ""}`;
  let node = null;
  for (const p of chain.reverse()) {
    node = h("li", {}, label(p), node ? h("ul", {}, node) : null);
  }
  return h("ul", { class: "tree" }, node);
}

function login(message) {
  const tpl = document.getElementById("login").content.cloneNode(true);
  main().replaceChildren(tpl);
  const err = document.getElementById("login-error");
  if (message) { err.textContent = message; err.hidden = false; }
  document.getElementById("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("vigil-token", document.getElementById("token").value.trim());
    route();
  });
}

async function route() {
  if (!token()) return login();
  document.getElementById("logout").hidden = false;
  const [path] = location.hash.replace(/^#\/?/, "").split("?");
  const [page, id] = path.split("/");
  const name = page || "overview";
  const view = id ? { alerts: "alert", incidents: "incident", images: "image" }[name] : name;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === name);
  if (!views[view]) { main().replaceChildren(h("p", {}, "No such page.")); return; }
  main().replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const content = await views[view](params(), id);
    main().replaceChildren(...[content].flat(Infinity).filter(Boolean));
    document.body.dataset.loaded = view;
  } catch (e) {
    if (e instanceof Unauthorized) { sessionStorage.removeItem("vigil-token"); return login("That token was refused."); }
    main().replaceChildren(h("p", { class: "error" }, "Could not load: " + e.message));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem("vigil-token");
    location.hash = "#/";
    login();
  });
  window.addEventListener("hashchange", route);
  route();
});
