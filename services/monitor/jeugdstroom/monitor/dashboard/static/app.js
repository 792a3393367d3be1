/* jeugdstroom dashboard page.
 *
 * Reads the monitor's public JSON API (no operator token, so every value is suppressed like any public
 * output) and renders headline indicators with a monthly trend chart each, filtered by jeugdregio and
 * gemeente. Polls every few seconds (`?poll=<seconds>` overrides the default of 5).
 *
 * The row parser accepts both the current API rows ({period, period_start, dimensions, value, suppressed})
 * and the format of docs/indicators.md ({period, start, dims, value, suppressed, target_status}).
 * No build step: plain ES2019, uPlot (vendored) for the charts.
 */
(function () {
  "use strict";

  // The catalogue marks its headline indicators (`headline: true`); without such marks, these are shown in this
  // order when present. Other catalogue entries are left to the API and Grafana.
  const HEADLINE_ORDER = [
    "separaties", "gesepareerde_jeugdigen", "separatie_duur", "gesloten_actief", "verblijf_actief",
    "aandeel_gezinsgericht", "verlengde_pleegzorg", "continuering_18", "wachtlijst_pleegzorg",
    "wachttijd_plaatsing", "jeugdbescherming_actief", "voortijdig_aandeel",
  ];
  const MAX_FALLBACK = 8; // when the catalogue holds none of the above
  const MONTHS = 12;
  const WHOLE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];
  const TZ = "Europe/Amsterdam";
  const UNITS_NL = {
    episodes: "episodes", children: "jeugdigen", placements: "plaatsingen", measures: "maatregelen",
    minutes: "minuten", days: "dagen", aanmeldingen: "aanmeldingen", referrals: "aanmeldingen",
    "young adults": "jongvolwassenen", share: "", ratio: "",
  };
  const DIRECTION_NL = { down: "Gewenst: omlaag ↓", up: "Gewenst: omhoog ↑" };
  const STATUS_TEXT = {
    on_track: ["Op koers", "on track"],
    off_track: ["Niet op koers", "off track"],
  };

  const params = new URLSearchParams(window.location.search);
  const POLL_MS = Math.max(1, Number(params.get("poll")) || 5) * 1000;
  const nf = new Intl.NumberFormat("nl-NL", { maximumFractionDigits: 1 });
  const pf = new Intl.NumberFormat("nl-NL", { style: "percent", maximumFractionDigits: 1 });
  const monthLabel = new Intl.DateTimeFormat("nl-NL", { month: "long", year: "numeric", timeZone: "UTC" });
  const monthShort = new Intl.DateTimeFormat("nl-NL", { month: "short", timeZone: "UTC" });
  const timeLabel = new Intl.DateTimeFormat("nl-NL", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  const state = {
    config: { suppression_threshold: 10, gemeenten: [], jeugdregios: [] },
    indicators: [],       // catalogue entries shown, in order
    views: new Map(),     // id -> {card, section, chart, chartEl, ...}
    filters: { jeugdregio: params.get("jeugdregio") || "", gemeente: params.get("gemeente") || "" },
    generation: 0,        // bumped on every filter change; stale responses are dropped
    refreshes: 0,
    timer: null,
  };

  // --- small helpers ---------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function byRole(root, role) {
    return root.querySelector(`[data-role="${role}"]`);
  }

  // --- access token: kept in this tab's sessionStorage, sent as a header, never put in a URL ------------
  const TOKEN_KEY = "jeugdstroom.token";

  function accessToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  // What the API says about the token: "exact voor <scope>", or that it gives only public figures.
  function showScope(body) {
    const node = document.getElementById("access-scope");
    if (!node || !body || typeof body !== "object" || !("scope" in body)) return;
    const scope = body.scope || "";
    node.dataset.scope = scope;
    node.textContent = scope ? `exact voor ${scope}` : (accessToken() ? "token ongeldig of verlopen: openbare cijfers" : "");
  }

  function setupAccess() {
    const form = document.getElementById("access");
    if (!form) return;
    const input = document.getElementById("access-token");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const token = input.value.trim();
      input.value = "";
      try { if (token) window.sessionStorage.setItem(TOKEN_KEY, token); } catch (err) { /* storage disabled */ }
      state.generation += 1;
      schedule(0);
    });
    document.getElementById("access-clear").addEventListener("click", () => {
      try { window.sessionStorage.removeItem(TOKEN_KEY); } catch (err) { /* storage disabled */ }
      showScope({ scope: null });
      state.generation += 1;
      schedule(0);
    });
  }

  async function getJSON(path, query) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null) url.searchParams.set(k, v);
    }
    const headers = { accept: "application/json" };
    const token = accessToken();
    if (token && url.pathname.startsWith("/v1/indicators/")) headers.authorization = `Bearer ${token}`;
    const resp = await fetch(url, { headers, cache: "no-store", credentials: "omit" });
    if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText} (${url.pathname})`);
    const body = await resp.json();
    if (url.pathname.startsWith("/v1/indicators/")) showScope(body);
    return body;
  }

  // "YYYY-MM" of today in Europe/Amsterdam (the monitor's calendar).
  function currentMonth() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit" })
      .formatToParts(new Date());
    const get = (t) => parts.find((p) => p.type === t).value;
    return `${get("year")}-${get("month")}`;
  }

  function addMonths(ym, n) {
    const [y, m] = ym.split("-").map(Number);
    const d = new Date(Date.UTC(y, m - 1 + n, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  }

  function monthOf(startIso) {
    return startIso ? startIso.slice(0, 7) : null;
  }

  function utcDate(ym) {
    const [y, m] = ym.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, 1));
  }

  // --- the row format --------------------------------------------------------------------------------
  function rowsOf(body) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body.rows)) return body.rows;
    return [];
  }

  function targetStatus(r) {
    let t = r.target_status;
    if (t === undefined) t = r.status;
    if (t === undefined && r.target && typeof r.target === "object") t = r.target.status;
    if (t && typeof t === "object") t = t.status;
    if (t === "on_track" || t === "off_track") return t;
    if (r.on_track === true) return "on_track";
    if (r.on_track === false) return "off_track";
    return null;
  }

  function normaliseRow(r) {
    const dims = r.dims || r.dimensions || {};
    let start = r.start || r.period_start || null;
    if (!start && typeof r.period === "string" && /^\d{4}-\d{2}(-\d{2})?$/.test(r.period)) {
      start = r.period.length === 7 ? `${r.period}-01` : r.period;
    }
    const value = typeof r.value === "number" && Number.isFinite(r.value) ? r.value : null;
    const suppressed = r.suppressed === true || (value === null && r.suppressed !== false);
    const target = typeof r.target === "number" ? r.target : typeof r.target_value === "number" ? r.target_value : null;
    const baseline = typeof r.baseline === "number" ? r.baseline : null;
    const baselineYear = typeof r.baseline_year === "number" ? r.baseline_year : null;
    const change = typeof r.change === "number" ? r.change : null;
    return { start, dims, value, suppressed, status: targetStatus(r), target, baseline, baselineYear, change };
  }

  // --- formatting ------------------------------------------------------------------------------------
  function suppressedText() {
    return `<${state.config.suppression_threshold}`;
  }

  function formatValue(ind, value) {
    if (value === null || value === undefined) return "–";
    if (ind.kind === "ratio") return pf.format(value);
    return nf.format(value);
  }

  // A cell: value, suppressed marker, or the empty value of the kind (rows with value 0 are omitted).
  function cellContent(ind, row) {
    if (row && row.suppressed) {
      return el("abbr", {
        class: "suppressed", text: suppressedText(), dataset: { suppressed: "true" },
        title: `Onderdrukt: minder dan ${state.config.suppression_threshold} (suppressed small count)`,
      });
    }
    if (row) return document.createTextNode(formatValue(ind, row.value));
    const zero = ind.kind === "count" || ind.kind === "stock" || ind.kind === "distinct";
    return document.createTextNode(zero ? "0" : "–");
  }

  function unitText(ind) {
    if (ind.kind === "ratio") return "";
    const unit = ind.unit || "";
    return Object.prototype.hasOwnProperty.call(UNITS_NL, unit) ? UNITS_NL[unit] : unit;
  }

  function setStatus(node, status, detail) {
    node.dataset.status = status || "none";
    node.replaceChildren();
    if (status) {
      const [nl, en] = STATUS_TEXT[status];
      node.append(el("span", { class: "dot", "aria-hidden": "true" }), `${nl} `, el("span", { lang: "en", class: "en", text: `(${en})` }));
      if (detail) node.append(el("span", { class: "detail", text: ` · ${detail}` }));
    } else {
      node.append(detail || "Geen doelstatus");
    }
  }

  // --- building the page -----------------------------------------------------------------------------
  function chooseIndicators(catalogue) {
    const marked = catalogue.filter((i) => i.headline === true);
    if (marked.length) return marked;
    const byId = new Map(catalogue.map((i) => [i.id, i]));
    const chosen = HEADLINE_ORDER.filter((id) => byId.has(id)).map((id) => byId.get(id));
    return chosen.length ? chosen : catalogue.slice(0, MAX_FALLBACK);
  }

  function buildFilters() {
    const regio = document.getElementById("filter-jeugdregio");
    const gemeente = document.getElementById("filter-gemeente");
    // Every jeugdregio of the indeling by name ({jeugdregio, naam}, sorted by name in config.json); a code in the
    // URL that the indeling does not know is kept as an extra option.
    const regios = (state.config.jeugdregios || []).map((r) => (typeof r === "string" ? { jeugdregio: r, naam: r } : r));
    if (state.filters.jeugdregio && !regios.some((r) => r.jeugdregio === state.filters.jeugdregio)) {
      regios.push({ jeugdregio: state.filters.jeugdregio, naam: state.filters.jeugdregio });
    }
    regio.replaceChildren(el("option", { value: "", text: "Alle jeugdregio's" }),
      ...regios.map((r) => el("option", { value: r.jeugdregio, text: r.naam })));
    regio.value = state.filters.jeugdregio;
    fillGemeenten();
    regio.addEventListener("change", () => {
      state.filters.jeugdregio = regio.value;
      const g = (state.config.gemeenten || []).find((x) => x.gemeente === state.filters.gemeente);
      if (g && regio.value && g.jeugdregio !== regio.value) state.filters.gemeente = "";
      fillGemeenten();
      filtersChanged();
    });
    gemeente.addEventListener("change", () => {
      state.filters.gemeente = gemeente.value;
      filtersChanged();
    });
  }

  function fillGemeenten() {
    const select = document.getElementById("filter-gemeente");
    const all = state.config.gemeenten || [];
    const shown = all.filter((g) => !state.filters.jeugdregio || g.jeugdregio === state.filters.jeugdregio);
    const options = shown.map((g) => el("option", { value: g.gemeente, text: g.naam || g.gemeente }));
    if (state.filters.gemeente && !shown.some((g) => g.gemeente === state.filters.gemeente)) {
      options.push(el("option", { value: state.filters.gemeente, text: state.filters.gemeente }));
    }
    select.replaceChildren(el("option", { value: "", text: "Alle gemeenten" }), ...options);
    select.value = state.filters.gemeente;
  }

  function filtersChanged() {
    const url = new URL(window.location.href);
    for (const k of ["jeugdregio", "gemeente"]) {
      if (state.filters[k]) url.searchParams.set(k, state.filters[k]);
      else url.searchParams.delete(k);
    }
    window.history.replaceState(null, "", url);
    state.generation += 1;
    schedule(0);
  }

  function buildIndicator(ind) {
    const titleId = `kop-${ind.id}`;
    const card = el("li", { class: "card", id: `card-${ind.id}`, dataset: { indicator: ind.id } },
      el("h3", {}, el("a", { href: `#ind-${ind.id}`, text: ind.title_nl || ind.id })),
      ind.title_en ? el("p", { class: "en", lang: "en", text: ind.title_en }) : null,
      el("p", { class: "value" },
        el("span", { class: "num", dataset: { role: "headline-value" }, text: "…" }),
        " ",
        el("span", { class: "unit", text: unitText(ind) })),
      el("p", { class: "when", dataset: { role: "headline-period" } }),
      el("p", { class: "baseline", dataset: { role: "baseline" } }),
      el("p", { class: "badge", dataset: { role: "status", status: "none" } }),
      DIRECTION_NL[ind.direction] ? el("p", { class: "direction", text: DIRECTION_NL[ind.direction] }) : null);

    const chartEl = el("div", {
      class: "chart", role: "img", dataset: { role: "chart" },
      "aria-label": `Verloop per maand van ${ind.title_nl || ind.id}; de waarden staan in de tabel hieronder`,
    });
    const monthTable = el("table", { class: "data", dataset: { role: "month-table" } },
      el("caption", { text: `${ind.title_nl || ind.id} per maand` }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: "Maand" }),
        el("th", { scope: "col", text: "Waarde" }),
        el("th", { scope: "col", text: "Doelstatus" }))),
      el("tbody"));
    const section = el("section", { class: "indicator", id: `ind-${ind.id}`, dataset: { indicator: ind.id }, "aria-labelledby": titleId },
      el("h2", { id: titleId }, `${ind.title_nl || ind.id} `, ind.title_en ? el("span", { class: "en", lang: "en", text: ind.title_en }) : null),
      ind.target ? el("p", { class: "target" }, "Doel ", el("span", { lang: "en", text: `(target): ${ind.target}` })) : null,
      el("figure", {}, chartEl, el("figcaption", { text: `Per maand, laatste ${MONTHS} maanden. Onderdrukte maanden (${suppressedText()}) ontbreken in de grafiek en staan als ${suppressedText()} in de tabel.` })),
      el("details", {}, el("summary", {}, "Tabel per maand ", el("span", { lang: "en", text: "(table)" })), monthTable));

    let instellingTable = null;
    if (ind.target && (ind.dimensions || []).includes("instelling")) {
      instellingTable = el("table", { class: "data", dataset: { role: "instelling-table" } },
        el("caption", { text: "Per instelling, dit jaar, tegen het doel" }),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", text: "Instelling" }),
          el("th", { scope: "col", text: "Waarde" }),
          el("th", { scope: "col", text: "Doelstatus" }))),
        el("tbody"));
      section.append(instellingTable);
    }
    document.getElementById("headlines").append(card);
    document.getElementById("details").append(section);
    state.views.set(ind.id, { ind, card, section, chartEl, monthTable, instellingTable, chart: null });
  }

  // --- data ------------------------------------------------------------------------------------------
  // The filters as query parameters, or null when the indicator lacks a filtered dimension (the API
  // refuses those, and a regional value shown under a gemeente filter would mislead).
  function filterQuery(ind) {
    const q = {};
    const dims = ind.dimensions || [];
    for (const k of ["jeugdregio", "gemeente"]) {
      if (!state.filters[k]) continue;
      if (!dims.includes(k)) return null;
      q[k] = state.filters[k];
    }
    return q;
  }

  async function loadIndicator(ind, nowMonth) {
    const fromMonth = addMonths(nowMonth, -(MONTHS - 1));
    const year = nowMonth.slice(0, 4);
    const base = filterQuery(ind);
    if (base === null) return { unavailable: true, monthly: [], yearly: null, perInstelling: null };
    const monthly = getJSON(`/v1/indicators/${encodeURIComponent(ind.id)}`,
      { ...base, period: "month", group_by: "", from: `${fromMonth}-01` });
    // Stocks are read at the end of the running month; the other kinds over the running year.
    const yearly = ind.kind === "stock" ? null
      : getJSON(`/v1/indicators/${encodeURIComponent(ind.id)}`, { ...base, period: "year", group_by: "", from: `${year}-01-01` });
    const perInstelling = ind.target && (ind.dimensions || []).includes("instelling")
      ? getJSON(`/v1/indicators/${encodeURIComponent(ind.id)}`, { ...base, period: "year", group_by: "instelling", from: `${year}-01-01` })
      : null;
    const [m, y, i] = await Promise.all([monthly, yearly, perInstelling]);
    return {
      monthly: rowsOf(m).map(normaliseRow),
      yearly: y ? rowsOf(y).map(normaliseRow) : null,
      perInstelling: i ? rowsOf(i).map(normaliseRow) : null,
    };
  }

  function renderUnavailable(view) {
    const valueNode = byRole(view.card, "headline-value");
    valueNode.textContent = "n.v.t.";
    valueNode.dataset.suppressed = "false";
    valueNode.dataset.value = "";
    const which = state.filters.gemeente && !(view.ind.dimensions || []).includes("gemeente") ? "gemeente" : "jeugdregio";
    byRole(view.card, "headline-period").textContent = `Niet beschikbaar per ${which} (not available per ${which})`;
    setStatus(byRole(view.card, "status"), null, "–");
    view.card.dataset.status = "none";
    view.section.hidden = true;
  }

  function renderFailed(view, err) {
    byRole(view.card, "headline-period").textContent = `Niet bijgewerkt (not updated): ${err.message}`;
    view.card.dataset.failed = "true";
  }

  function render(view, data, nowMonth) {
    const { ind } = view;
    view.section.hidden = false;
    delete view.card.dataset.failed;
    let lastMonth = nowMonth;
    for (const r of data.monthly) {
      const m = monthOf(r.start);
      if (m && m > lastMonth) lastMonth = m; // never hide data that is newer than the browser's clock
    }
    const months = [];
    for (let k = MONTHS - 1; k >= 0; k -= 1) months.push(addMonths(lastMonth, -k));
    const byMonth = new Map();
    for (const r of data.monthly) {
      const m = monthOf(r.start);
      if (m) byMonth.set(m, r);
    }

    // Headline value.
    let headline;
    let when;
    if (ind.kind === "stock") {
      headline = byMonth.get(nowMonth) || null;
      when = `Nu (${monthLabel.format(utcDate(nowMonth))})`;
    } else {
      const year = nowMonth.slice(0, 4);
      headline = (data.yearly || []).find((r) => r.start && r.start.slice(0, 4) === year) || null;
      when = ind.kind === "duration" || ind.kind === "waiting" ? `Mediaan dit jaar (${year})` : `Dit jaar (${year})`;
    }
    const valueNode = byRole(view.card, "headline-value");
    valueNode.replaceChildren(cellContent(ind, headline));
    valueNode.dataset.suppressed = headline && headline.suppressed ? "true" : "false";
    valueNode.dataset.value = headline && headline.value !== null ? String(headline.value) : "";
    byRole(view.card, "headline-period").textContent = when;
    // Nulmeting (baseline) of the headline row, as the API gives it (docs/indicators.md, Nulmeting).
    const base = byRole(view.card, "baseline");
    if (base) {
      base.textContent = headline && headline.baselineYear !== null
        ? `Nulmeting ${headline.baselineYear} (baseline): ${headline.baseline === null ? "onbekend" : headline.baseline}` +
          (headline.change === null ? "" : `, verschil ${headline.change > 0 ? "+" : ""}${headline.change}`)
        : "";
    }

    // Target status: the headline row's own status, else a summary of the per-instelling statuses.
    let status = headline ? headline.status : null;
    let detail = null;
    if (!status && data.perInstelling) {
      const known = data.perInstelling.filter((r) => r.status);
      const off = known.filter((r) => r.status === "off_track").length;
      if (known.length) {
        status = off ? "off_track" : "on_track";
        detail = off ? `${off} van ${known.length} instellingen niet op koers` : `alle ${known.length} instellingen op koers`;
      }
    }
    if (!status && !detail) detail = ind.target ? "Doelstatus nog onbekend" : "Geen doel";
    setStatus(byRole(view.card, "status"), status, detail);
    view.card.dataset.status = status || "none";

    // Month table.
    const tbody = view.monthTable.tBodies[0];
    tbody.replaceChildren(...months.slice().reverse().map((m) => {
      const r = byMonth.get(m) || null;
      const statusCell = el("td", { dataset: { status: (r && r.status) || "none" } });
      if (r && r.status) setStatus(statusCell, r.status);
      return el("tr", { dataset: { month: m, suppressed: r && r.suppressed ? "true" : "false" } },
        el("th", { scope: "row", text: monthLabel.format(utcDate(m)) }),
        el("td", {}, cellContent(ind, r)),
        statusCell);
    }));

    // Per-instelling table.
    if (view.instellingTable && data.perInstelling) {
      const rows = data.perInstelling.slice().sort((a, b) => String(a.dims.instelling).localeCompare(String(b.dims.instelling)));
      const body = view.instellingTable.tBodies[0];
      body.replaceChildren(...(rows.length ? rows.map((r) => {
        const statusCell = el("td", { dataset: { status: r.status || "none" } });
        setStatus(statusCell, r.status, r.status ? null : "–");
        return el("tr", { dataset: { instelling: r.dims.instelling || "", status: r.status || "none" } },
          el("th", { scope: "row", text: r.dims.instelling || "onbekend" }),
          el("td", {}, cellContent(ind, r)),
          statusCell);
      }) : [el("tr", {}, el("td", { colspan: "3", text: "Geen gegevens dit jaar" }))]));
    }

    // Chart: suppressed months are gaps.
    const xs = months.map((m) => utcDate(m).getTime() / 1000);
    const ys = months.map((m) => {
      const r = byMonth.get(m);
      if (!r) return ind.kind === "count" || ind.kind === "stock" || ind.kind === "distinct" ? 0 : null;
      return r.suppressed ? null : r.value;
    });
    view.suppressedAt = months.filter((m) => byMonth.has(m) && byMonth.get(m).suppressed).map((m) => utcDate(m).getTime() / 1000);
    drawChart(view, xs, ys);
  }

  function drawChart(view, xs, ys) {
    if (typeof window.uPlot !== "function") {
      view.chartEl.textContent = "Grafiek niet beschikbaar; zie de tabel.";
      return;
    }
    const { ind } = view;
    view.xs = xs; // one tick per month, read by the x axis' splits
    if (view.chart) {
      view.chart.setData([xs, ys]);
      return;
    }
    const colour = ind.direction === "up" ? "#1b6e3a" : "#1f4e9c";
    const asBars = (ind.kind === "count" || ind.kind === "distinct") && window.uPlot.paths && window.uPlot.paths.bars;
    const half = 15 * 86400; // half a month of padding, so the first and last bar are whole
    const opts = {
      width: Math.max(280, view.chartEl.clientWidth || 600),
      height: 220,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: (u) => [view.xs[0] - half, view.xs[view.xs.length - 1] + half] },
        y: { range: (u, min, max) => [0, Math.max(1, max === null ? 1 : max * 1.15)] },
      },
      legend: { show: false },
      hooks: {
        // Suppressed months are gaps: write the marker (e.g. "<10") where their bar or point would be.
        draw: [(u) => {
          const ratio = window.devicePixelRatio || 1;
          const ctx = u.ctx;
          ctx.save();
          ctx.fillStyle = "#4d5866";
          ctx.font = `${Math.round(12 * ratio)}px system-ui, sans-serif`;
          ctx.textAlign = "center";
          const y = u.valToPos(0, "y", true) - 6 * ratio;
          for (const ts of view.suppressedAt || []) ctx.fillText(suppressedText(), u.valToPos(ts, "x", true), y);
          ctx.restore();
        }],
      },
      cursor: { points: { size: 8 } },
      series: [
        {},
        {
          label: ind.title_nl || ind.id,
          stroke: colour,
          width: asBars ? 1 : 2,
          fill: asBars ? `${colour}cc` : `${colour}1f`,
          paths: asBars ? window.uPlot.paths.bars({ size: [0.6, 48] }) : undefined,
          points: { show: !asBars, size: 7, fill: colour },
          spanGaps: false,
        },
      ],
      axes: [
        {
          splits: () => view.xs,
          values: (u, ticks) => ticks.map((t) => monthShort.format(new Date(t * 1000))),
        },
        {
          values: (u, ticks) => ticks.map((t) => (ind.kind === "ratio" ? pf.format(t) : nf.format(t))),
          incrs: ind.kind === "ratio" ? undefined : WHOLE_STEPS, // counts of children and days: whole ticks
          size: 56,
        },
      ],
    };
    view.chart = new window.uPlot(opts, [xs, ys], view.chartEl);
  }

  // --- the refresh loop ------------------------------------------------------------------------------
  function schedule(ms) {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(refresh, ms);
  }

  async function refresh() {
    const generation = state.generation;
    const nowMonth = currentMonth();
    const errorLine = document.getElementById("error");
    try {
      const results = await Promise.allSettled(state.indicators.map((ind) => loadIndicator(ind, nowMonth)));
      if (generation !== state.generation) return; // filters changed meanwhile: a new refresh is under way
      const failed = [];
      state.indicators.forEach((ind, k) => {
        const view = state.views.get(ind.id);
        const result = results[k];
        if (result.status === "rejected") {
          failed.push(`${ind.id}: ${result.reason.message}`);
          renderFailed(view, result.reason);
        } else if (result.value.unavailable) {
          renderUnavailable(view);
        } else {
          render(view, result.value, nowMonth);
        }
      });
      if (failed.length === state.indicators.length && failed.length) throw new Error(failed.join("; "));
      state.refreshes += 1;
      document.body.dataset.state = "ready";
      document.body.dataset.refreshes = String(state.refreshes);
      document.getElementById("status").textContent = `Bijgewerkt om ${timeLabel.format(new Date())}`
        + ` · ververst elke ${POLL_MS / 1000} s`;
      errorLine.hidden = !failed.length;
      if (failed.length) errorLine.textContent = `Niet alle indicatoren konden worden opgehaald (some indicators failed): ${failed.join("; ")}`;
    } catch (err) {
      errorLine.hidden = false;
      errorLine.textContent = `Gegevens konden niet worden opgehaald (could not load data): ${err.message}. Nieuwe poging volgt.`;
      document.body.dataset.state = state.refreshes ? "stale" : "error";
    } finally {
      if (generation === state.generation) schedule(document.hidden ? POLL_MS * 6 : POLL_MS);
    }
  }

  async function start() {
    try {
      const [config, catalogue] = await Promise.all([getJSON("/dashboard/config.json"), getJSON("/v1/indicators")]);
      state.config = { ...state.config, ...config };
      state.indicators = chooseIndicators(Array.isArray(catalogue) ? catalogue : catalogue.indicators || []);
    } catch (err) {
      const errorLine = document.getElementById("error");
      errorLine.hidden = false;
      errorLine.textContent = `De catalogus kon niet worden geladen (could not load the catalogue): ${err.message}. Nieuwe poging volgt.`;
      document.body.dataset.state = "error";
      window.setTimeout(start, POLL_MS);
      return;
    }
    document.getElementById("suppression-note").replaceChildren(
      `Aantallen van 1 tot ${state.config.suppression_threshold} worden niet getoond (${suppressedText()}) om kinderen niet herkenbaar te maken `,
      el("span", { lang: "en", text: "(small counts are suppressed)" }), ".");
    buildFilters();
    setupAccess();
    state.indicators.forEach(buildIndicator);
    window.addEventListener("resize", () => {
      for (const v of state.views.values()) {
        if (v.chart) v.chart.setSize({ width: Math.max(280, v.chartEl.clientWidth), height: 220 });
      }
    });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) schedule(0); });
    schedule(0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
