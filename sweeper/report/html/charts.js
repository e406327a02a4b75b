// golf's report page: SVG charts drawn from the JSON embedded in the page, sortable tables.
// Why not plotly or bokeh: their offline bundles are 1-4.6 MB of script before any data, and a
// page here must also open a 5,000-run sweep in under 3 s. The charts need lines, bands, steps,
// points, a drag-to-zoom and a linked window: ~300 lines, drawn once per change, no dependencies.
// One path per variant and kind (mean, band, single runs) keeps the DOM small for any run count.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("golf-data").textContent);
  [D.time, D.step, D.diff].forEach(function (fig) {  // grids come as their ends: x0, x1 and len(y) points
    fig.series.forEach(function (s) {
      if (s.x) return;
      var n = s.y.length, step = n > 1 ? (s.x1 - s.x0) / (n - 1) : 0;
      s.x = s.y.map(function (_, i) { return s.x0 + i * step; });
    });
  });
  var NS = "http://www.w3.org/2000/svg";
  var state = { hide: [], runs: false, sort: null, win: null };

  // ---- STATE IN THE URL ----
  // The live page reloads every 30 s: what the reader chose (hidden variants, single runs, sort,
  // window) survives the reload, and a link to the page can carry it.
  try { Object.assign(state, JSON.parse(decodeURIComponent(location.hash.slice(1)) || "{}")); } catch (e) {}
  function saveState() { history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state))); }
  function hidden(v) { return state.hide.indexOf(v) >= 0; }

  function el(tag, attrs, parent) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }
  function styleOf(v) { return D.styles[v] || { color: "#777", dash: "", width: 1.5 }; }

  // ---- AXES ----
  function ticks(a, b, n) {  // "nice" ticks: steps of 1, 2 or 5 x 10^k
    var span = b - a;
    if (!(span > 0)) return [a];
    var step = Math.pow(10, Math.floor(Math.log10(span / n))), err = span / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var i = Math.ceil(a / step); i * step <= b + step * 1e-9; i++) out.push(+(i * step).toPrecision(12));
    return out;
  }
  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1e4) return Math.round(v).toLocaleString("en-US");
    return String(+v.toPrecision(a >= 100 ? 5 : 4));
  }

  // ---- DATA EXTENT ----
  function visibleSeries(spec) {
    return spec.series.filter(function (s) { return !hidden(s.variant); });
  }
  function xExtent(spec) {
    var lo = Infinity, hi = -Infinity;
    spec.series.forEach(function (s) { s.x.forEach(function (x) { if (x < lo) lo = x; if (x > hi) hi = x; }); });
    if (spec.runs && state.runs) spec.runs.forEach(function (g) {
      g.x.forEach(function (xs) { if (xs[0] < lo) lo = xs[0]; if (xs[xs.length - 1] > hi) hi = xs[xs.length - 1]; });
    });
    return lo < hi ? [lo, hi] : lo === hi && isFinite(lo) ? [lo - 1, hi + 1] : [0, 1];
  }
  function yExtent(spec, x0, x1) {  // over what is visible in [x0, x1], bands and single runs included
    var lo = Infinity, hi = -Infinity;
    function take(xs, ys) {
      if (!ys) return;
      for (var i = 0; i < xs.length; i++) if (xs[i] >= x0 && xs[i] <= x1 && ys[i] !== null) {
        if (ys[i] < lo) lo = ys[i]; if (ys[i] > hi) hi = ys[i];
      }
    }
    visibleSeries(spec).forEach(function (s) { take(s.x, s.y); take(s.x, s.lo); take(s.x, s.hi); });
    if (spec.runs && state.runs) spec.runs.forEach(function (g) {
      if (!hidden(g.variant)) g.x.forEach(function (xs, i) { take(xs, g.y[i]); });
    });
    if (!(lo <= hi)) return [0, 1];
    if (spec.hline !== null && spec.hline !== undefined) {  // the threshold, when it is near the data
      var span = Math.max(hi - lo, 1e-9);
      if (spec.hline > lo - span && spec.hline < hi + span) { lo = Math.min(lo, spec.hline); hi = Math.max(hi, spec.hline); }
    }
    var pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.01 || 1;
    return [lo - pad, hi + pad];
  }

  // ---- ONE CHART ----
  // spec: series [{variant, x, y, lo?, hi?}], runs [{variant, x, y}], points [{variant, x, y, reached, run, seed}],
  // hline, hlabel, xlabel, ylabel, step (KM), yFixed, skip (share of x left out of the first y scale),
  // window (initial x window, as shares of the extent), brush (the chart whose window a drag here sets).
  function Chart(id, spec) {
    this.box = document.getElementById(id);
    this.spec = spec;
    this.name = id.replace("chart-", "");
    this.reset();
  }
  Chart.prototype.reset = function () {
    var ext = xExtent(this.spec), s = this.spec, span = ext[1] - ext[0];
    this.xd = s.window ? [ext[0] + s.window[0] * span, ext[0] + s.window[1] * span] : ext;
    if (s.xFrom !== undefined && s.xFrom !== null && s.xFrom > ext[0] && s.xFrom < ext[1]) {
      this.xd = [s.xFrom, ext[1] + 0.02 * (ext[1] - s.xFrom)];  // room for the last step to show
    }
    this.yd = s.yFixed || yExtent(s, this.xd[0] + (s.skip || 0) * (this.xd[1] - this.xd[0]), this.xd[1]);
  };
  Chart.prototype.setWindow = function (a, b) {
    this.xd = [a, b];
    this.yd = this.spec.yFixed || yExtent(this.spec, a, b);
  };
  Chart.prototype.draw = function () {
    var box = this.box, spec = this.spec, self = this;
    box.textContent = "";
    if (!spec.series.length) { box.innerHTML = '<p class="empty">' + (spec.empty || "No data yet.") + "</p>"; return; }
    var W = Math.max(box.clientWidth, 260), H = Math.round(Math.min(Math.max(W * 0.55, 220), 360));
    var m = { l: 58, r: 10, t: 10, b: 38 }, pw = W - m.l - m.r, ph = H - m.t - m.b;
    var x0 = this.xd[0], x1 = this.xd[1], y0 = this.yd[0], y1 = this.yd[1];
    function X(v) { return m.l + (v - x0) / (x1 - x0) * pw; }
    function Y(v) { return m.t + (1 - (v - y0) / (y1 - y0)) * ph; }
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "plot", "data-chart": this.name }, box);
    var clip = "clip-" + this.name;
    el("rect", { x: m.l, y: m.t, width: pw, height: ph }, el("clipPath", { id: clip }, el("defs", {}, svg)));
    var axes = el("g", { "class": "axes" }, svg);
    ticks(x0, x1, Math.max(2, Math.floor(pw / 90))).forEach(function (t) {
      el("line", { x1: X(t), x2: X(t), y1: m.t, y2: m.t + ph, "class": "grid" }, axes);
      el("text", { x: X(t), y: m.t + ph + 15, "text-anchor": "middle" }, axes).textContent = fmt(t);
    });
    ticks(y0, y1, Math.max(2, Math.floor(ph / 45))).forEach(function (t) {
      el("line", { x1: m.l, x2: m.l + pw, y1: Y(t), y2: Y(t), "class": "grid" }, axes);
      el("text", { x: m.l - 5, y: Y(t) + 4, "text-anchor": "end" }, axes).textContent = fmt(t);
    });
    el("text", { x: m.l + pw / 2, y: H - 4, "text-anchor": "middle", "class": "label" }, axes).textContent = spec.xlabel;
    el("text", { x: 12, y: m.t + ph / 2, "text-anchor": "middle", "class": "label",
                 transform: "rotate(-90 12 " + (m.t + ph / 2) + ")" }, axes).textContent = spec.ylabel;
    var plot = el("g", { "clip-path": "url(#" + clip + ")" }, svg);
    function line(xs, ys) {  // a polyline with gaps where y is null; steps for KM
      var d = "", pen = false;
      for (var i = 0; i < xs.length; i++) {
        if (ys[i] === null) { pen = false; continue; }
        var px = X(xs[i]).toFixed(1), py = Y(ys[i]).toFixed(1);
        if (!pen) d += "M" + px + " " + py;
        else if (spec.step) d += "H" + px + "V" + py;
        else d += "L" + px + " " + py;
        pen = true;
      }
      return d;
    }
    if (spec.runs && state.runs) {
      spec.runs.forEach(function (g) {  // one path per variant holds all its runs
        if (hidden(g.variant)) return;
        var d = g.x.map(function (xs, i) { return line(xs, g.y[i]); }).join("");
        el("path", { d: d, stroke: styleOf(g.variant).color, "class": "run", "data-variant": g.variant }, plot);
      });
    }
    var shown = visibleSeries(spec);
    shown.forEach(function (s) {
      if (!s.lo) return;
      var d = "";
      for (var i = 0; i < s.x.length; i++) d += (i ? "L" : "M") + X(s.x[i]).toFixed(1) + " " + Y(s.hi[i]).toFixed(1);
      for (var j = s.x.length - 1; j >= 0; j--) d += "L" + X(s.x[j]).toFixed(1) + " " + Y(s.lo[j]).toFixed(1);
      el("path", { d: d + "Z", fill: styleOf(s.variant).color, "class": "band", "data-variant": s.variant }, plot);
    });
    if (spec.hline !== null && spec.hline !== undefined && spec.hline >= y0 && spec.hline <= y1) {
      el("line", { x1: m.l, x2: m.l + pw, y1: Y(spec.hline), y2: Y(spec.hline), "class": "hline" }, plot);
      el("text", { x: m.l + 6, y: Y(spec.hline) - 4, "class": "hlabel" }, plot).textContent = spec.hlabel;
    }
    shown.forEach(function (s) {
      var st = styleOf(s.variant);
      el("path", { d: line(s.x, s.y), stroke: st.color, "stroke-dasharray": st.dash || null, "stroke-width": st.width,
                   "class": "mean", "data-variant": s.variant }, plot);
    });
    (spec.points || []).forEach(function (p) {
      if (hidden(p.variant)) return;
      var st = styleOf(p.variant), px = X(p.x), py = Y(p.y), g;
      if (p.reached) g = el("circle", { cx: px, cy: py, r: 3.5, fill: st.color, "class": "pt" }, plot);
      else g = el("path", { d: "M" + (px - 4) + " " + (py - 4) + "l8 8m0 -8l-8 8", stroke: st.color, "class": "pt cens" }, plot);
      g.setAttribute("data-variant", p.variant);
      el("title", {}, g).textContent = p.variant + " seed " + p.seed + " (" + p.run + "): " +
        (p.reached ? "reached at " : "censored at ") + fmt(p.x) + " s";
    });
    if (this.linked) {  // the window the linked chart shows, on this one
      var a = Math.max(this.linked.xd[0], x0), b = Math.min(this.linked.xd[1], x1);
      if (b > a) el("rect", { x: X(a), y: m.t, width: X(b) - X(a), height: ph, "class": "window" }, svg);
    }
    svg.setAttribute("data-traces", shown.length);
    this.interact(svg, m, pw, ph, X, Y);
  };

  // ---- ZOOM, LINKED WINDOW, HOVER ----
  Chart.prototype.interact = function (svg, m, pw, ph, X, Y) {
    var self = this, spec = this.spec, start = null, sel = null, tip = null, rule = null;
    function dataX(px) { return self.xd[0] + (px - m.l) / pw * (self.xd[1] - self.xd[0]); }
    function local(e) { var r = svg.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
    svg.addEventListener("pointerdown", function (e) {
      if (e.pointerType !== "mouse") return hover(e);  // touch scrolls the page; a tap shows values
      start = local(e)[0];
      sel = el("rect", { x: start, y: m.t, width: 0, height: ph, "class": "sel" }, svg);
      svg.setPointerCapture(e.pointerId);
    });
    svg.addEventListener("pointermove", function (e) {
      if (start === null) return hover(e);
      var p = Math.min(Math.max(local(e)[0], m.l), m.l + pw);
      sel.setAttribute("x", Math.min(p, start)); sel.setAttribute("width", Math.abs(p - start));
    });
    svg.addEventListener("pointerup", function (e) {
      if (start === null) return;
      var p = Math.min(Math.max(local(e)[0], m.l), m.l + pw), a = dataX(Math.min(p, start)), b = dataX(Math.max(p, start));
      start = null;
      if (Math.abs(X(b) - X(a)) < 6) { self.draw(); return; }
      var target = self.brush || self;
      target.setWindow(a, b);
      if (self.brush) state.win = [a, b];
      saveState();
      redraw();
    });
    svg.addEventListener("dblclick", function () {
      var target = self.brush || self;
      target.reset();
      if (self.brush) state.win = null;
      saveState();
      redraw();
    });
    svg.addEventListener("pointerleave", function () { if (tip) tip.remove(); if (rule) rule.remove(); tip = rule = null; });
    function hover(e) {
      var p = local(e), x = dataX(p[0]);
      if (p[0] < m.l || p[0] > m.l + pw) return;
      var rows = [];
      visibleSeries(spec).forEach(function (s) {
        var i = nearest(s.x, x);
        if (i < 0 || (spec.step ? false : Math.abs(X(s.x[i]) - p[0]) > 40)) return;
        if (spec.step) while (i > 0 && s.x[i] > x) i--;
        if (s.y[i] !== null) rows.push([s.y[i], s.variant]);
      });
      rows.sort(function (a, b) { return a[0] - b[0]; });
      if (rule) rule.remove();
      rule = el("line", { x1: p[0], x2: p[0], y1: m.t, y2: m.t + ph, "class": "rule" }, svg);
      if (!tip) { tip = document.createElement("div"); tip.className = "tip"; self.box.appendChild(tip); }
      tip.innerHTML = "<b>" + spec.xlabel + " " + fmt(x) + "</b>" + rows.slice(0, 14).map(function (r) {
        var st = styleOf(r[1]);
        return '<div><i style="background:' + st.color + '"></i>' + esc(r[1]) + " <span>" + fmt(r[0]) + "</span></div>";
      }).join("") + (rows.length > 14 ? "<div>… " + (rows.length - 14) + " more</div>" : "");
      var left = p[0] + 14, w = tip.offsetWidth;
      tip.style.left = (left + w > self.box.clientWidth ? Math.max(0, p[0] - w - 14) : left) + "px";
      tip.style.top = (m.t + 4) + "px";
    }
  };
  function nearest(xs, x) {  // index of the grid point closest to x (xs ascending)
    if (!xs.length) return -1;
    var lo = 0, hi = xs.length - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid; else hi = mid; }
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }

  // ---- THE PAGE'S CHARTS ----
  var thr = D.threshold, hl = thr === null ? null : "threshold " + fmt(thr);
  var timeLabel = "training time (s)";
  var charts = [];
  function add(id, spec) { var c = new Chart(id, spec); charts.push(c); return c; }
  var overview = add("chart-time", { series: D.time.series, runs: D.time.runs, hline: thr, hlabel: hl,
    xlabel: timeLabel, ylabel: D.metric, skip: 0.1 });
  var detail = add("chart-detail", { series: D.time.series, runs: D.time.runs, hline: thr, hlabel: hl,
    xlabel: timeLabel + ": last part", ylabel: D.metric, window: [0.7, 1] });
  overview.brush = detail;
  overview.linked = detail;
  if (state.win) detail.setWindow(state.win[0], state.win[1]);
  add("chart-diff", { series: D.diff.series, hline: 0, hlabel: D.baseline === "baseline" ? "baseline" : "baseline (" + D.baseline + ")", xlabel: timeLabel,
    ylabel: "Δ " + D.metric + " vs baseline", skip: 0.1,
    empty: D.baseline ? "No variant overlaps the baseline in time yet." : "No baseline yet (no finished run)." });
  add("chart-step", { series: D.step.series, runs: D.step.runs, hline: thr, hlabel: hl, xlabel: "step",
    ylabel: D.metric, skip: 0.1 });
  var km = D.km || { series: [], points: [] }, firstHit = Infinity;
  km.points.forEach(function (p) { if (p.reached && p.x < firstHit) firstHit = p.x; });
  add("chart-km", { series: km.series, points: km.points, step: true, yFixed: [0, 1.04], xlabel: timeLabel,
    ylabel: "not yet at threshold", xFrom: isFinite(firstHit) ? firstHit * 0.97 : null,
    empty: thr === null ? "No threshold: pass golf report --threshold V." : "No finished run yet." });

  function redraw() { charts.forEach(function (c) { c.draw(); }); }

  // ---- LEGEND ----
  var legend = document.getElementById("legend");
  D.variants.forEach(function (v) {
    var st = styleOf(v), b = document.createElement("button");
    b.type = "button"; b.className = "item"; b.setAttribute("data-variant", v);
    b.innerHTML = '<svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="' + st.color +
      '" stroke-width="' + st.width + '" stroke-dasharray="' + (st.dash || "") + '"/></svg>' + esc(v) +
      ' <small>(' + (D.counts[v] || 0) + ")</small>";
    b.addEventListener("click", function () {
      var i = state.hide.indexOf(v);
      if (i >= 0) state.hide.splice(i, 1); else state.hide.push(v);
      syncLegend(); saveState(); redraw();
    });
    legend.appendChild(b);
  });
  // Pointing at a variant (legend, ranking row) brings it forward in every chart: with 25 variants
  // within 0.01 nats of each other, that is how one is followed through the bundle.
  function focus(v) {
    document.body.classList.toggle("focus", v !== null);
    document.querySelectorAll("svg.plot [data-variant]").forEach(function (n) {
      n.classList.toggle("hl", n.getAttribute("data-variant") === v);
    });
  }
  document.querySelectorAll("#legend .item, #ranking tbody tr").forEach(function (n) {
    n.addEventListener("mouseenter", function () { focus(n.getAttribute("data-variant")); });
    n.addEventListener("mouseleave", function () { focus(null); });
  });
  function syncLegend() {
    legend.querySelectorAll(".item").forEach(function (b) { b.classList.toggle("off", hidden(b.getAttribute("data-variant"))); });
  }
  document.getElementById("legend-all").addEventListener("click", function () { state.hide = []; syncLegend(); saveState(); redraw(); });
  document.getElementById("legend-none").addEventListener("click", function () {
    state.hide = D.variants.filter(function (v) { return v !== D.baseline; }); syncLegend(); saveState(); redraw();
  });
  var runsBox = document.getElementById("show-runs");
  runsBox.checked = !!state.runs;
  runsBox.addEventListener("change", function () { state.runs = runsBox.checked; saveState(); redraw(); });
  function paintSwatches(root) {  // the tables' swatches
    root.querySelectorAll(".sw").forEach(function (s) {
      var st = styleOf(s.getAttribute("data-variant"));
      s.innerHTML = '<svg width="18" height="8"><line x1="1" y1="4" x2="17" y2="4" stroke="' + st.color +
        '" stroke-width="' + Math.min(st.width + 0.6, 3) + '" stroke-dasharray="' + (st.dash ? "4 2" : "") + '"/></svg>';
    });
  }
  paintSwatches(document);

  // ---- THE RUNS TABLE ----
  // Drawn from data: the first FIRST_ROWS rows in the chosen order, all of them on demand.
  var FIRST_ROWS = 200, RT = D.runs_table, showAll = false;
  function cell(v, kind) {
    if (v === null) return "";
    if (kind === "variant") return '<span class="sw" data-variant="' + esc(v) + '"></span>' + esc(v);
    if (kind === "status") return '<span class="st st-' + esc(v) + '">' + esc(v) + "</span>";
    if (kind === "int") return Math.round(v).toLocaleString("en-US");
    if (kind === "f4") return v.toFixed(4);
    if (kind === "f1") return v.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    if (kind === "err") return '<span class="err">' + esc(v) + "</span>";
    return "<code>" + esc(v) + "</code>";
  }
  function drawRuns() {
    var box = document.getElementById("runs-table"), rows = RT.rows.slice();
    if (state.sort && state.sort[0] === "runs") {
      var idx = RT.columns.map(function (c) { return c[0]; }).indexOf(state.sort[1]), dir = state.sort[2];
      if (idx >= 0) rows.sort(function (a, b) { return compare(a[idx], b[idx], dir); });
    }
    var shown = showAll ? rows : rows.slice(0, FIRST_ROWS);
    var num = { "int": 1, f4: 1, f1: 1 };
    var html = '<div class="scroll"><table class="sortable" id="runs"><thead><tr>' + RT.columns.map(function (c) {
      var sorted = state.sort && state.sort[0] === "runs" && state.sort[1] === c[0];
      return '<th data-col="' + c[0] + '" class="' + (num[c[2]] ? "num" : "") + '"' +
        (sorted ? ' aria-sort="' + (state.sort[2] > 0 ? "ascending" : "descending") + '"' : "") +
        '><button type="button">' + esc(c[1]) + "</button></th>";
    }).join("") + "</tr></thead><tbody>" + shown.map(function (r) {
      return "<tr>" + r.map(function (v, i) {
        return '<td class="' + (num[RT.columns[i][2]] ? "num" : "") + '">' + cell(v, RT.columns[i][2]) + "</td>";
      }).join("") + "</tr>";
    }).join("") + "</tbody></table></div>";
    if (rows.length > shown.length) html += '<button type="button" class="more-toggle" id="all-runs">show all ' + rows.length + " runs</button>";
    box.innerHTML = html;
    paintSwatches(box);
    box.querySelector("thead").addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) return;
      var col = th.getAttribute("data-col");
      state.sort = ["runs", col, th.getAttribute("aria-sort") === "ascending" ? -1 : 1];
      saveState(); drawRuns();
    });
    var more = document.getElementById("all-runs");
    if (more) more.addEventListener("click", function () { showAll = true; drawRuns(); });
  }
  function compare(u, w, dir) {  // empty cells last in either direction
    if (u === null || w === null) return u === w ? 0 : u === null ? 1 : -1;
    return (u < w ? -1 : u > w ? 1 : 0) * dir;
  }

  // ---- SORTABLE TABLES ----
  function sortTable(table, col, dir) {
    var ths = table.tHead.rows[0].cells, idx = -1;
    for (var i = 0; i < ths.length; i++) { ths[i].removeAttribute("aria-sort"); if (ths[i].getAttribute("data-col") === col) idx = i; }
    if (idx < 0) return;
    ths[idx].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      return compare(JSON.parse(a.cells[idx].getAttribute("data-v")), JSON.parse(b.cells[idx].getAttribute("data-v")), dir);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (table.id === "runs") return;
    table.tHead.addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) return;
      var col = th.getAttribute("data-col"), dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      sortTable(table, col, dir);
      state.sort = [table.id, col, dir];
      saveState();
    });
  });
  drawRuns();
  if (state.sort && state.sort[0] !== "runs") { var t = document.getElementById(state.sort[0]); if (t) sortTable(t, state.sort[1], state.sort[2]); }
  document.querySelectorAll(".more-toggle").forEach(function (b) {
    b.addEventListener("click", function () { document.getElementById("ranking").classList.toggle("show-more"); });
  });

  syncLegend();
  redraw();
  var resizing;
  window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(redraw, 150); });
  document.body.setAttribute("data-drawn-ms", Math.round(performance.now()));
})();
