// The kafkalab console: one script for the live page (polling the console's API) and for a report
// (the same views over data embedded in the file). Charts are Chart.js; nothing else is loaded.
"use strict";
(function () {
  const REPORT = window.KAFKALAB_REPORT || null;
  const POLL_MS = 500;
  const charts = {};
  window.kafkalabCharts = charts;
  const state = { stage: 0, saga: null, search: null, snapshot: null };

  // ------------------------------------------------------------ where the data comes from
  async function getJSON(url, options) {
    const response = await fetch(url, options);
    const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }
  const post = (url, body) => getJSON(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                             body: JSON.stringify(body || {}) });
  const live = {
    snapshot: () => getJSON("/console/api/snapshot"),
    messages: (q) => getJSON("/console/api/messages?" + new URLSearchParams(q)),
    saga: (id) => getJSON("/console/api/saga/" + encodeURIComponent(id)),
    redrive: (where) => post("/console/api/redrive", where),
    check: () => post("/console/api/lab/check"),
    load: (orders, rate) => post("/console/api/load", { orders: orders, rate: rate }),
    scale: (service, instances) => post("/console/api/scale", { service: service, instances: instances }),
  };
  const stage = () => REPORT.stages[state.stage];
  const report = {
    snapshot: async () => stage().snapshot,
    messages: async (q) => {
      const topics = stage().snapshot.topics.map((t) => t.name);
      if (q.topic && !topics.includes(q.topic)) throw new Error(`no topic '${q.topic}': the topics are ${topics.join(", ")}`);
      const found = stage().messages.filter((m) => (!q.topic || m.topic === q.topic) &&
        (!q.value || (q.header ? m.headers[q.header] === q.value : Object.values(m.headers).includes(q.value))));
      return { total: found.length, messages: found.slice(-500) };
    },
    saga: async (id) => {
      const saga = stage().sagas[id];
      if (!saga) throw new Error(`no record carries correlation-id '${id}': pick one from the list`);
      return saga;
    },
  };
  const source = REPORT ? report : live;

  // ------------------------------------------------------------ small helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const $ = (id) => document.getElementById(id);
  const fill = (id, ...nodes) => { const el = $(id); el.replaceChildren(...nodes.flat()); return el; };
  function notice(text, ok, about) {
    const el = $("notice");
    el.textContent = text;
    el.dataset.about = about || "";
    el.className = text ? (ok ? "ok" : "error") : "";
  }
  const ms = (t) => (t >= 1000 ? `${(t / 1000).toFixed(1)} s` : `${t} ms`);
  // The simulator's clock is virtual (ms since its world began); the real one is the epoch.
  const stamp = (t) => state.snapshot && state.snapshot.mode === "sim" ? `t=${(t / 1000).toFixed(3)} s (virtual)`
    : new Date(t).toISOString().replace("T", " ").replace("Z", "");
  const pos = (t, p, o) => `${t}[${p}]@${o}`;
  function table(heads, rows, attrs) {
    return h("table", attrs || {}, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))),
             h("tbody", {}, rows));
  }
  const cidLink = (cid) => cid ? h("a", { class: "cid", onclick: () => showSaga(cid) }, cid) : "";

  // ------------------------------------------------------------ tabs
  function show(tab) {
    for (const s of document.querySelectorAll("main > section")) s.classList.toggle("on", s.id === tab);
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.tab === tab);
  }
  for (const a of document.querySelectorAll("nav a")) a.addEventListener("click", (e) => { e.preventDefault(); show(a.dataset.tab); });

  // ------------------------------------------------------------ topics and messages
  function renderTopics(snap) {
    const rows = snap.topics.map((t) => h("tr", { "data-topic": t.name },
      h("td", {}, h("a", { class: "cid", onclick: () => { $("q-topic").value = t.name; $("q-value").value = ""; search(); } }, t.name)),
      h("td", { class: "num" }, t.partitions.length),
      h("td", {}, t.partitions.map((p) => `p${p.partition}: ${p.begin}..${p.end}`).join("  ")),
      h("td", { class: "num" }, t.records)));
    fill("topics-table", table(["topic", "partitions", "begin..end offsets", "records read"], rows, { id: "topics" }));
    fill("topic-names", snap.topics.map((t) => h("option", { value: t.name })));
  }
  async function search(quiet) {
    const q = { topic: $("q-topic").value.trim(), header: $("q-header").value.trim(), value: $("q-value").value.trim() };
    state.search = q;
    try {
      const found = await source.messages(q);
      const rows = found.messages.map((m) => h("tr", { class: "message" },
        h("td", {}, pos(m.topic, m.partition, m.offset)),
        h("td", {}, stamp(m.timestamp)),
        h("td", {}, m.key),
        h("td", { class: "headers" }, Object.entries(m.headers).map(([k, v]) =>
          h("div", {}, `${k}: `, k === "correlation-id" ? cidLink(v) : v))),
        h("td", {}, h("pre", { class: "value" }, `${m.format}: ${JSON.stringify(m.value, null, 1)}`))));
      fill("messages", h("p", {}, `${found.total} message(s)` + (found.total > found.messages.length ? `, the newest ${found.messages.length} shown` : "")),
           table(["topic[partition]@offset", "timestamp", "key", "headers", "value (decoded)"], rows));
      if (!quiet) notice("");
    } catch (err) {
      if (!quiet) { notice(err.message); fill("messages", h("p", { class: "fail" }, err.message)); }
    }
  }
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });

  // ------------------------------------------------------------ the saga timeline
  function renderSagaList(snap) {
    const rows = snap.sagas.slice(0, 50).map((s) => h("tr", {},
      h("td", {}, cidLink(s.correlationId)), h("td", { class: "status" }, s.status),
      h("td", { class: "num" }, s.records), h("td", {}, s.dlq ? "dead-lettered" : "")));
    fill("saga-list", table(["correlation id", "outcome", "records", ""], rows));
  }
  async function showSaga(id, quiet) {
    if (!quiet) { show("saga"); $("saga-id").value = id; }
    state.saga = id;  // asked for: followed on every refresh, also before its first record arrives
    try {
      const saga = await source.saga(id);
      if (state.saga !== id) return;
      drawSaga(saga);
      if (!quiet || $("notice").dataset.about === "saga") notice("");
    } catch (err) {
      if (!quiet) { notice(err.message, false, "saga"); fill("timeline", h("p", { class: "fail" }, err.message)); }
    }
  }
  function drawSaga(saga) {
    const cols = ["90px", ...saga.lanes.map(() => "minmax(170px, 1fr)")].join(" ");
    const grid = h("div", { class: "timeline", style: `grid-template-columns: ${cols}` },
      h("div", { class: "lane-head" }, "time"), saga.lanes.map((l) => h("div", { class: "lane-head" }, l)));
    saga.steps.forEach((s, i) => {
      const row = i + 2;
      grid.append(h("div", { class: "arrow", style: `grid-row: ${row}; grid-column: 1` }, `+${ms(s.at_ms)}`));
      const lines = [h("div", { class: "ev" }, s.kind === "dlq" ? `dead-lettered: ${s.event}` :
                         s.kind === "compensation" ? `${s.event} (compensation)` :
                         s.kind === "redrive" ? `${s.event} (redriven ${s.redrives}x)` : s.event),
                     h("div", {}, `${s.producer} → ${pos(s.topic, s.partition, s.offset)}`)];
      if (s.kind === "dlq") {
        lines.push(h("div", {}, `from ${s.source}, attempts ${s.attempts}` + (s.redrives ? `, redriven ${s.redrives}x before` : "")),
                   h("div", { class: "fail" }, s.error));
      }
      if (s.consumedBy.length) lines.push(h("div", {}, "consumed by " + s.consumedBy.join(", ")));
      if (s.pendingFor.length) lines.push(h("div", { class: "muted" }, "not yet consumed by " + s.pendingFor.join(", ")));
      grid.append(h("div", { class: `step ${s.kind}`, "data-event": s.event, "data-kind": s.kind,
                             style: `grid-row: ${row}; grid-column: ${saga.lanes.indexOf(s.lane) + 2}` }, lines));
    });
    fill("timeline", h("p", {}, "correlation id ", h("b", {}, saga.correlationId), ": ",
                       h("span", { class: "status", id: "saga-status" }, saga.status), ` — ${saga.steps.length} step(s)`), grid);
  }
  $("saga-form").addEventListener("submit", (e) => { e.preventDefault(); showSaga($("saga-id").value.trim()); });

  // ------------------------------------------------------------ consumer groups and lag
  const rebalanceLines = {
    id: "rebalanceLines",
    afterDatasetsDraw(chart, _args, options) {
      const x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = "#b3261e"; ctx.fillStyle = "#b3261e"; ctx.setLineDash([4, 3]); ctx.font = "11px sans-serif";
      for (const m of options.marks || []) {
        const px = x.getPixelForValue(m.atMs / 1000);
        if (px < area.left || px > area.right) continue;
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        const width = ctx.measureText(m.text).width;
        ctx.fillText(m.text, px + 3 + width > area.right ? px - 3 - width : px + 3, area.top + 10);
      }
      ctx.restore();
    },
  };
  const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  function drawChart(canvas, g) {
    const datasets = Object.entries(g.series).map(([label, values], i) => ({
      label: label, data: values.map((v, j) => ({ x: g.timesMs[j] / 1000, y: v })), borderColor: COLOURS[i % 8],
      backgroundColor: COLOURS[i % 8], pointRadius: 0, borderWidth: 2, tension: 0 }));
    let chart = charts[g.group];
    if (chart && chart.canvas !== canvas) { chart.destroy(); chart = null; }
    if (!chart) {
      chart = new Chart(canvas, { type: "line", data: { datasets: datasets }, plugins: [rebalanceLines],
        options: { animation: false, maintainAspectRatio: false, parsing: false,
          scales: { x: { type: "linear", title: { display: true, text: "seconds" } },
                    y: { beginAtZero: true, title: { display: true, text: "lag (records)" } } },
          plugins: { rebalanceLines: { marks: g.rebalances }, title: { display: true, text: `${g.group}: lag per partition` } } } });
      charts[g.group] = chart;
    } else {
      chart.data.datasets = datasets;
      chart.options.plugins.rebalanceLines.marks = g.rebalances;
      chart.update("none");
    }
  }
  function renderGroups(snap) {
    const box = $("groups-list");
    const seen = new Set();
    for (const g of snap.groups) {
      seen.add(g.group);
      let card = box.querySelector(`[data-group="${CSS.escape(g.group)}"]`);
      if (!card) {
        card = h("div", { class: "card", "data-group": g.group }, h("h3", {}, g.group), h("div", { class: "facts" }),
                 h("div", { class: "chart" }, h("canvas", {})));
        box.append(card);
      }
      const total = g.partitions.reduce((a, p) => a + p.lag, 0);
      const worst = Math.max(0, ...g.partitions.map((p) => p.behindMs || 0));
      card.querySelector(".facts").replaceChildren(
        h("p", {}, `state ${g.state}`, g.protocol ? `, assignor ${g.protocol}` : "", ", total lag ",
          h("b", { class: "total-lag" }, total), worst ? ` — ${ms(worst)} behind` : ""),
        table(["member", "client", "assigned partitions"], g.members.map((m) => h("tr", {},
          h("td", {}, m.member), h("td", {}, m.client + (m.instance ? ` (static ${m.instance})` : "")),
          h("td", {}, m.assignment.join(" ") || "(none: idle)"))), { class: "members" }),
        table(["partition", "committed", "end", "lag", "behind"], g.partitions.map((p) => h("tr", {},
          h("td", {}, `${p.topic}[${p.partition}]`), h("td", { class: "num" }, p.committed ?? "-"),
          h("td", { class: "num" }, p.end), h("td", { class: "num lag" }, p.lag),
          h("td", {}, p.behindMs === null ? "?" : p.lag ? `${ms(p.behindMs)} behind` : "caught up")))),
        g.rebalances.length ? h("p", { class: "muted" }, "rebalances: " + g.rebalances.map((r) => `${ms(r.atMs)} ${r.text}`).join("; ")) : "");
      drawChart(card.querySelector("canvas"), g);
    }
    for (const card of [...box.children]) if (!seen.has(card.dataset.group)) card.remove();
    $("load-form").style.display = !REPORT && snap.canLoad ? "" : "none";
  }
  $("load-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await live.load(Number($("load-orders").value), Number($("load-rate").value));
      notice(`placing ${r.orders} orders at ${r.rate}/s`, true);
    } catch (err) { notice(err.message); }
  });

  $("scale").addEventListener("click", async () => {
    try {
      const r = await live.scale($("scale-service").value, Number($("scale-count").value));
      notice(`${r.service}: ${r.instances} instance(s); watch the rebalance on the chart`, true);
    } catch (err) { notice(err.message); }
  });

  // ------------------------------------------------------------ dead letters
  function renderDlq(snap) {
    const rows = snap.dlq.map((d) => h("tr", { class: "letter", "data-where": d.dlq },
      h("td", {}, d.dlq), h("td", {}, d.source), h("td", {}, d.group), h("td", { class: "fail" }, d.error),
      h("td", { class: "num" }, d.attempts), h("td", { class: "num" }, d.redrives), h("td", {}, cidLink(d.correlation_id)),
      h("td", {}, REPORT ? (d.refusal ? "loop guard: no" : "") :
        d.redriven ? "sent back" : h("button", { class: "redrive", title: d.refusal || "send it back to its source topic",
          onclick: () => redrive({ topic: d.topic, partition: d.partition, offset: d.offset }) },
          d.refusal ? "redrive (the loop guard will refuse)" : "redrive"))));
    fill("dlq-table", table(["dead letter", "source", "group", "reason", "attempts", "redrives", "correlation id", ""], rows),
         h("p", {}, `${snap.dlq.length} dead letter(s); the loop guard refuses a letter redriven ${snap.maxRedrives} times`));
    $("redrive-form").style.display = REPORT ? "none" : "";
  }
  async function redrive(where) {
    try {
      const r = await live.redrive(where);
      notice(`redriven ${r.sent}` + (r.refused.length ? `; refused: ${r.refused.join("; ")}` : ""), !r.refused.length);
      refresh();
    } catch (err) { notice(err.message); }
  }
  $("redrive-all").addEventListener("click", () => redrive({}));
  $("redrive-form").addEventListener("submit", (e) => {
    e.preventDefault();
    redrive({ topic: $("r-topic").value.trim(), partition: Number($("r-partition").value), offset: Number($("r-offset").value) });
  });

  // ------------------------------------------------------------ the lab
  function renderLab(snap) {
    const lab = snap.lab;
    if (!lab) { fill("lab-view", h("p", { class: "muted" }, "No lab: `kafkalab lab start NAME` starts one.")); return; }
    const checks = (lab.checks || []).map((c) => h("tr", { class: "check" },
      h("td", { class: c.passed ? "pass" : "fail" }, c.passed ? "pass" : "FAIL"), h("td", {}, c.name), h("td", {}, c.detail)));
    fill("lab-view", h("h3", {}, `${lab.name}: ${lab.title}`),
         h("p", {}, lab.checked ? `checks as of the last check (${lab.checked})` : "not checked yet",
           REPORT ? "" : h("button", { id: "lab-check", onclick: async () => {
             try { await live.check(); notice("checking your settings…", true); } catch (err) { notice(err.message); } } },
             lab.checking ? "checking…" : "check now")),
         checks.length ? table(["", "check", "what it saw"], checks) : "",
         lab.hint ? h("p", { id: "lab-hint" }, h("b", {}, "Next hint: "), lab.hint) : "",
         h("h4", {}, "The task"), h("div", { class: "task" }, lab.task),
         lab.knobs ? [h("h4", {}, "Your settings (.kafkalab/lab.toml)"), h("pre", { class: "value knobs" }, lab.knobs)] : "");
  }

  // ------------------------------------------------------------ the loop
  function renderAll(snap) {
    state.snapshot = snap;
    $("meta").textContent = `${snap.mode} world` + (snap.elapsedMs !== null ? ` — watching for ${ms(snap.elapsedMs)}` : " — a finished run")
      + (snap.error ? ` — ${snap.error}` : "");
    renderTopics(snap); renderSagaList(snap); renderGroups(snap); renderDlq(snap); renderLab(snap);
    document.body.dataset.ready = "1";
  }
  async function refresh() {
    try {
      const snap = await source.snapshot();
      if (!snap.ready) return;
      renderAll(snap);
      if (state.saga) await showSaga(state.saga, true);
      if (state.search) await search(true);
    } catch (err) { $("meta").textContent = `not reachable: ${err.message}`; }
  }
  if (REPORT) {
    const pick = $("stage");
    pick.replaceChildren(...REPORT.stages.map((s, i) => h("option", { value: i }, `${s.label} (${s.passed ? "passed" : "failed"})`)));
    pick.style.display = "";
    pick.addEventListener("change", () => { state.stage = Number(pick.value); state.search = null; refresh(); });
  }
  show((location.hash || "#topics").slice(1));
  refresh();
  if (!REPORT) setInterval(refresh, POLL_MS);
})();
