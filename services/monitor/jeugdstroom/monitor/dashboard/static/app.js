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

  // The catalogue's target texts are English (they are data, docs/indicators.md); the page says them in Dutch.
  const TARGET_NL = {
    separaties: "per instelling: −50% ten opzichte van haar nulmeting (standaard haar eerste volledige kalenderjaar) in het jaar daarna, daarna naar 0",
    separaties_separeerruimte: "per instelling: 0 (stoppen met separeren)",
    afzonderingen_overig: "per instelling: −50% ten opzichte van haar nulmeting (standaard haar eerste volledige kalenderjaar), daarna zo laag mogelijk",
    wachtlijst_pleegzorg: "Rijk van Nijmegen (JZ32): minder dan 5",
  };
  // Period choice: the chart and table show `count` periods; a year earlier is fetched too, for year-on-year.
  const PERIODS = {
    month: { step: 1, count: 12, nl: "Maand", caption: "per maand, laatste 12 maanden" },
    half_year: { step: 6, count: 6, nl: "Halfjaar", caption: "per halfjaar, laatste 6 halfjaren" },
    year: { step: 12, count: 5, nl: "Jaar", caption: "per jaar, laatste 5 jaar" },
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
    filters: {
      jeugdregio: params.get("jeugdregio") || "",
      gemeente: params.get("gemeente") || "",
      periode: Object.prototype.hasOwnProperty.call(PERIODS, params.get("periode")) ? params.get("periode") : "month",
      vergelijk: params.get("vergelijk") || "",
    },
    paused: false,        // auto-refresh paused by the reader (WCAG 2.2.2)
    errorText: "",        // the error line's text; written (and so announced) only when it changes
    compare: null,        // {ind, level, rows, ...} of the comparison view
    boundaries: null,     // {gemeente: {code: rings}, jeugdregio: {...}} of JEUGDSTROOM_GEOJSON_FILE, if any
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

  // Replace a node's content only when what it shows changes (`sig`), so assistive technology is not told
  // about unchanged content on every refresh.
  function setContent(node, sig, build) {
    if (node.dataset.sig === sig) return;
    node.dataset.sig = sig;
    node.replaceChildren(...build());
  }

  // Update a table body in place: one <tr> per key (data-key), kept across refreshes and reordered only when the
  // order changes, its cells rewritten only when their content changes. rows: [{key, data, cells: [spec]}] where
  // the first spec is the row header; spec: {text, title, lang, suppressed, status}.
  function updateTable(tbody, rows) {
    const existing = new Map();
    for (const tr of Array.from(tbody.rows)) existing.set(tr.dataset.key, tr);
    rows.forEach((r, k) => {
      let tr = existing.get(r.key);
      if (!tr) {
        tr = el("tr", { dataset: { key: r.key } });
        r.cells.forEach((_, j) => tr.append(el(j === 0 ? "th" : "td", j === 0 ? { scope: "row" } : {})));
      }
      existing.delete(r.key);
      for (const [name, v] of Object.entries(r.data || {})) if (tr.dataset[name] !== v) tr.dataset[name] = v;
      r.cells.forEach((spec, j) => fillCell(tr.cells[j], spec));
      if (tbody.rows[k] !== tr) tbody.insertBefore(tr, tbody.rows[k] || null);
    });
    for (const tr of existing.values()) tr.remove();
  }

  function fillCell(cell, spec) {
    const sig = JSON.stringify(spec);
    if (cell.dataset.sig === sig) return;
    cell.dataset.sig = sig;
    if (spec.status !== undefined) cell.dataset.status = spec.status || "none";
    if (spec.colspan) cell.colSpan = spec.colspan;
    if (spec.status) { setStatus(cell, spec.status); return; }
    if (spec.suppressed) { cell.replaceChildren(suppressedNode()); return; }
    const node = spec.title || spec.lang ? el("span", { title: spec.title, lang: spec.lang, text: spec.text }) : document.createTextNode(spec.text);
    cell.replaceChildren(node);
  }

  function setError(text) {
    if (text === state.errorText) return;
    state.errorText = text;
    const line = document.getElementById("error");
    line.textContent = text;
    line.dataset.writes = String(Number(line.dataset.writes || "0") + 1);
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
    const text = scope ? `exact voor ${scope}` : (accessToken() ? "token ongeldig of verlopen: openbare cijfers" : "");
    node.dataset.scope = scope;
    if (node.textContent !== text) node.textContent = text;
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
    if (token && (url.pathname.startsWith("/v1/indicators/") || url.pathname === "/v1/completeness")) {
      headers.authorization = `Bearer ${token}`;
    }
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

  // The start ("YYYY-MM") of the period of `period` that contains month `ym`.
  function periodStart(ym, period) {
    const [y, m] = ym.split("-").map(Number);
    if (period === "year") return `${y}-01`;
    if (period === "half_year") return `${y}-${m <= 6 ? "01" : "07"}`;
    return ym;
  }

  function periodLabel(ym, period) {
    const [y, m] = ym.split("-").map(Number);
    if (period === "year") return String(y);
    if (period === "half_year") return `${m <= 6 ? "1e" : "2e"} halfjaar ${y}`;
    return monthLabel.format(utcDate(ym));
  }

  function periodShort(ym, period) {
    const [y, m] = ym.split("-").map(Number);
    if (period === "year") return String(y);
    if (period === "half_year") return `${m <= 6 ? "H1" : "H2"} ${String(y).slice(2)}`;
    return monthShort.format(utcDate(ym));
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
    // per 1,000 jeugdigen of the area (the rates' `per_1000`: null without a loaded population or when suppressed)
    const per1000 = typeof r.per_1000 === "number" && Number.isFinite(r.per_1000) ? r.per_1000 : null;
    return { start, dims, value, suppressed, status: targetStatus(r), target, baseline, baselineYear, change, per1000, names: r.names || null, raw: r };
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
  function suppressedNode() {
    return el("abbr", {
      class: "suppressed", text: suppressedText(), dataset: { suppressed: "true" },
      title: `Onderdrukt: minder dan ${state.config.suppression_threshold} (suppressed small count)`,
    });
  }

  // What a cell shows, as a spec for fillCell.
  function cellSpec(ind, row) {
    if (row && row.suppressed) return { suppressed: true };
    if (row) return { text: formatValue(ind, row.value) };
    return { text: emptyText(ind) };
  }

  function emptyText(ind) {
    return ind.kind === "count" || ind.kind === "stock" || ind.kind === "distinct" ? "0" : "–";
  }

  function signed(ind, v) {
    if (v === null || v === undefined) return "–";
    return `${v > 0 ? "+" : v < 0 ? "−" : "±"}${formatValue(ind, Math.abs(v))}`;
  }

  function targetText(ind) {
    if (!ind.target) return null;
    return TARGET_NL[ind.id] ? { text: TARGET_NL[ind.id], lang: "nl" } : { text: ind.target, lang: "en" };
  }

  // Name of a gemeente or jeugdregio code (from the row's `names`, else the indeling in config.json).
  function areaName(kind, code, row) {
    if (row && row.names && row.names[kind]) return row.names[kind];
    const list = kind === "gemeente" ? state.config.gemeenten : state.config.jeugdregios;
    const hit = (list || []).find((x) => x[kind] === code);
    return (hit && hit.naam) || code;
  }

  function cellContent(ind, row) {
    if (row && row.suppressed) return suppressedNode();
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
      ...regios.map((r) => el("option", { value: r.jeugdregio, text: r.naam, title: r.jeugdregio })));
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
    const periode = document.getElementById("filter-periode");
    periode.value = state.filters.periode;
    periode.addEventListener("change", () => {
      state.filters.periode = periode.value;
      filtersChanged();
    });
  }

  function fillGemeenten() {
    const select = document.getElementById("filter-gemeente");
    const all = state.config.gemeenten || [];
    const shown = all.filter((g) => !state.filters.jeugdregio || g.jeugdregio === state.filters.jeugdregio);
    const options = shown.map((g) => el("option", { value: g.gemeente, text: g.naam || g.gemeente, title: g.gemeente }));
    if (state.filters.gemeente && !shown.some((g) => g.gemeente === state.filters.gemeente)) {
      options.push(el("option", { value: state.filters.gemeente, text: state.filters.gemeente }));
    }
    select.replaceChildren(el("option", { value: "", text: "Alle gemeenten" }), ...options);
    select.value = state.filters.gemeente;
  }

  // Which area the page shows, by name, with its code as a tooltip.
  function showArea() {
    const node = document.getElementById("area");
    if (!node) return;
    const { gemeente, jeugdregio } = state.filters;
    let parts;
    if (gemeente) {
      const g = (state.config.gemeenten || []).find((x) => x.gemeente === gemeente);
      const regio = g ? g.jeugdregio : jeugdregio;
      parts = [["Gemeente ", areaName("gemeente", gemeente), gemeente]];
      if (regio) parts.push([", jeugdregio ", areaName("jeugdregio", regio), regio]);
    } else if (jeugdregio) {
      parts = [["Jeugdregio ", areaName("jeugdregio", jeugdregio), jeugdregio]];
    } else {
      parts = [["", "Heel Nederland", ""]];
    }
    node.replaceChildren("Getoond: ", ...parts.flatMap(([lead, naam, code]) => [lead,
      code ? el("abbr", { title: `code ${code}`, dataset: { code }, text: naam }) : naam]));
  }

  function filtersChanged() {
    const url = new URL(window.location.href);
    for (const k of ["jeugdregio", "gemeente", "periode", "vergelijk"]) {
      if (state.filters[k] && !(k === "periode" && state.filters[k] === "month")) url.searchParams.set(k, state.filters[k]);
      else url.searchParams.delete(k);
    }
    window.history.replaceState(null, "", url);
    showArea();
    state.generation += 1;
    schedule(0);
  }

  function buildIndicator(ind) {
    const titleId = `kop-${ind.id}`;
    const target = targetText(ind);
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
      "aria-label": `Verloop van ${ind.title_nl || ind.id}; de waarden staan in de tabel hieronder`,
    });
    const caption = el("caption", {});
    const monthTable = el("table", { class: "data", dataset: { role: "month-table" } },
      caption,
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: "Periode" }),
        el("th", { scope: "col", text: "Waarde" }),
        el("th", { scope: "col", text: "Een jaar eerder" }),
        el("th", { scope: "col", text: "Verschil" }),
        el("th", { scope: "col", text: "Doelstatus" }))),
      el("tbody"));
    const figcaption = el("figcaption", {});
    const legend = el("p", { class: "legend", dataset: { role: "legend" } });
    const csvButton = el("button", { type: "button", class: "csv", dataset: { role: "csv" } },
      "Download CSV ", el("span", { class: "visually-hidden", text: `van ${ind.title_nl || ind.id}` }));
    const section = el("section", { class: "indicator", id: `ind-${ind.id}`, dataset: { indicator: ind.id }, "aria-labelledby": titleId },
      el("h2", { id: titleId }, `${ind.title_nl || ind.id} `, ind.title_en ? el("span", { class: "en", lang: "en", text: ind.title_en }) : null),
      target ? el("p", { class: "target" }, "Doel: ", el("span", { lang: target.lang, text: target.text })) : null,
      el("figure", {}, chartEl, legend, figcaption),
      el("details", {}, el("summary", {}, "Tabel ", el("span", { lang: "en", class: "en", text: "(table)" })),
        el("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-label": `Tabel ${ind.title_nl || ind.id}` }, monthTable),
        csvButton));

    let instellingTable = null;
    if (ind.target && (ind.dimensions || []).includes("instelling")) {
      instellingTable = el("table", { class: "data", dataset: { role: "instelling-table" } },
        el("caption", { text: "Per instelling, dit jaar, tegen het doel" }),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", text: "Instelling" }),
          el("th", { scope: "col", text: "Waarde" }),
          el("th", { scope: "col", text: "Doelstatus" }))),
        el("tbody"));
      section.append(el("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-label": `Per instelling: ${ind.title_nl || ind.id}` }, instellingTable));
    }
    document.getElementById("headlines").append(card);
    document.getElementById("details").append(section);
    const view = { ind, card, section, chartEl, monthTable, caption, figcaption, legend, instellingTable, chart: null, trend: [] };
    csvButton.addEventListener("click", () => downloadCsv(`${ind.id}-${state.filters.periode}.csv`, ind, view.trend));
    state.views.set(ind.id, view);
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
    const p = PERIODS[state.filters.periode];
    const current = periodStart(nowMonth, state.filters.periode);
    const fromMonth = addMonths(current, -(p.step * (p.count - 1)) - 12); // a year more, for year-on-year
    const year = nowMonth.slice(0, 4);
    const base = filterQuery(ind);
    if (base === null) return { unavailable: true, trend: [], yearly: null, perInstelling: null };
    const path = `/v1/indicators/${encodeURIComponent(ind.id)}`;
    const trend = getJSON(path, { ...base, period: state.filters.periode, group_by: "", from: `${fromMonth}-01` });
    // The headline: stocks at the end of the running month; the other kinds over the running year.
    const headline = ind.kind === "stock"
      ? getJSON(path, { ...base, period: "month", group_by: "", from: `${nowMonth}-01` })
      : getJSON(path, { ...base, period: "year", group_by: "", from: `${year}-01-01` });
    const perInstelling = ind.target && (ind.dimensions || []).includes("instelling")
      ? getJSON(path, { ...base, period: "year", group_by: "instelling", from: `${year}-01-01` })
      : null;
    const [t, h, i] = await Promise.all([trend, headline, perInstelling]);
    return {
      trend: rowsOf(t).map(normaliseRow),
      headline: rowsOf(h).map(normaliseRow),
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
    const period = state.filters.periode;
    const p = PERIODS[period];
    view.section.hidden = false;
    delete view.card.dataset.failed;
    view.trend = data.trend;
    let last = periodStart(nowMonth, period);
    const byKey = new Map();
    for (const r of data.trend) {
      const m = monthOf(r.start);
      if (!m) continue;
      byKey.set(m, r);
      if (m > last) last = m; // never hide data that is newer than the browser's clock
    }
    const keys = [];
    for (let k = p.count - 1; k >= 0; k -= 1) keys.push(addMonths(last, -k * p.step));

    // Headline value.
    let headline;
    let when;
    if (ind.kind === "stock") {
      headline = data.headline.find((r) => monthOf(r.start) === nowMonth) || null;
      when = `Nu (${monthLabel.format(utcDate(nowMonth))})`;
    } else {
      const year = nowMonth.slice(0, 4);
      headline = data.headline.find((r) => r.start && r.start.slice(0, 4) === year) || null;
      when = ind.kind === "duration" || ind.kind === "waiting" ? `Mediaan dit jaar (${year})` : `Dit jaar (${year})`;
    }
    const valueNode = byRole(view.card, "headline-value");
    const spec = cellSpec(ind, headline);
    setContent(valueNode, JSON.stringify(spec), () => [headline && headline.suppressed ? suppressedNode() : spec.text]);
    valueNode.dataset.suppressed = headline && headline.suppressed ? "true" : "false";
    valueNode.dataset.value = headline && headline.value !== null ? String(headline.value) : "";
    const whenNode = byRole(view.card, "headline-period");
    if (whenNode.textContent !== when) whenNode.textContent = when;
    // Nulmeting (baseline) and target of the headline row, as the API gives them (docs/indicators.md).
    const base = byRole(view.card, "baseline");
    const baseText = headline ? baselineText(ind, headline) : "";
    if (base.textContent !== baseText) base.textContent = baseText;

    // Target status: the headline row's own status, else a summary of the per-instelling statuses.
    let status = headline ? headline.status : null;
    let detail = headline && headline.target !== null ? `doel ${formatValue(ind, headline.target)}` : null;
    if (!status && data.perInstelling) {
      const known = data.perInstelling.filter((r) => r.status);
      const off = known.filter((r) => r.status === "off_track").length;
      if (known.length) {
        status = off ? "off_track" : "on_track";
        detail = off ? `${off} van ${known.length} instellingen niet op koers` : `alle ${known.length} instellingen op koers`;
      }
    }
    if (!status && !detail) detail = ind.target ? "Doelstatus nog onbekend" : "Geen doel";
    const badge = byRole(view.card, "status");
    setContent(badge, `${status}|${detail}`, () => { const n = el("span"); setStatus(n, status, detail); return Array.from(n.childNodes); });
    badge.dataset.status = status || "none";
    view.card.dataset.status = status || "none";

    // The table of periods, newest first, with the same period a year earlier (updated in place).
    const caption = `${ind.title_nl || ind.id}, ${p.caption}`;
    if (view.caption.textContent !== caption) view.caption.textContent = caption;
    const fig = `${p.caption[0].toUpperCase()}${p.caption.slice(1)}. Onderdrukte perioden (${suppressedText()}) ontbreken in de grafiek en staan als ${suppressedText()} in de tabel.`;
    if (view.figcaption.textContent !== fig) view.figcaption.textContent = fig;
    updateTable(view.monthTable.tBodies[0], keys.slice().reverse().map((k) => {
      const r = byKey.get(k) || null;
      const prev = byKey.get(addMonths(k, -12)) || null;
      const value = r ? (r.suppressed ? null : r.value) : (emptyText(ind) === "0" ? 0 : null);
      const before = prev ? (prev.suppressed ? null : prev.value) : (emptyText(ind) === "0" ? 0 : null);
      const diff = value !== null && before !== null ? value - before : null;
      return {
        key: k,
        data: { month: k, period: period, suppressed: r && r.suppressed ? "true" : "false" },
        cells: [
          { text: periodLabel(k, period) },
          cellSpec(ind, r),
          cellSpec(ind, prev),
          { text: signed(ind, diff) },
          { status: (r && r.status) || null, text: "" },
        ],
      };
    }));

    // Per-instelling table.
    if (view.instellingTable && data.perInstelling) {
      const rows = data.perInstelling.slice().sort((a, b) => String(a.dims.instelling).localeCompare(String(b.dims.instelling)));
      updateTable(view.instellingTable.tBodies[0], rows.length ? rows.map((r) => ({
        key: String(r.dims.instelling || ""),
        data: { instelling: String(r.dims.instelling || ""), status: r.status || "none" },
        cells: [
          r.names && r.names.instelling
            ? { text: r.names.instelling, title: `Instellingscode ${r.dims.instelling}` } // the name `sender add` registered
            : { text: r.dims.instelling || "onbekend" },
          cellSpec(ind, r),
          r.status ? { status: r.status } : { status: null, text: "–" },
        ],
      })) : [{ key: "leeg", cells: [{ text: "Geen gegevens dit jaar" }, { text: "" }, { text: "" }] }]);
    }

    // Chart: suppressed periods are gaps; the nulmeting and the target as lines where the rows carry them.
    const xs = keys.map((k) => utcDate(k).getTime() / 1000);
    const ys = keys.map((k) => {
      const r = byKey.get(k);
      if (!r) return emptyText(ind) === "0" ? 0 : null;
      return r.suppressed ? null : r.value;
    });
    // The nulmeting as a level across the chart; the target from the year after the nulmeting year on.
    const withBaseRow = keys.map((k) => byKey.get(k)).filter((r) => r && r.baseline !== null && r.baselineYear !== null);
    const baseRow = withBaseRow.length ? withBaseRow[withBaseRow.length - 1] : null;
    const withTargetRow = keys.map((k) => byKey.get(k)).filter((r) => r && r.target !== null);
    const targetRow = withTargetRow.length ? withTargetRow[withTargetRow.length - 1] : null;
    const baseline = keys.map(() => (baseRow ? baseRow.baseline : null));
    const target = keys.map((k) => (targetRow && (!baseRow || Number(k.slice(0, 4)) > baseRow.baselineYear) ? targetRow.target : null));
    view.suppressedAt = keys.filter((k) => byKey.has(k) && byKey.get(k).suppressed).map((k) => utcDate(k).getTime() / 1000);
    view.period = period;
    drawChart(view, xs, [ys, baseline, target]);
    const withBase = keys.map((k) => byKey.get(k)).filter((r) => r && r.baselineYear !== null && r.baseline !== null);
    const withTarget = keys.map((k) => byKey.get(k)).filter((r) => r && r.target !== null);
    const parts = [];
    if (withBase.length) {
      const r = withBase[withBase.length - 1];
      parts.push(["base", `Nulmeting ${r.baselineYear}: ${formatValue(ind, r.baseline)}`]);
    }
    if (withTarget.length) parts.push(["target", `Doel: ${formatValue(ind, withTarget[withTarget.length - 1].target)}`]);
    if (!parts.length && ind.target) parts.push(["none", comparableNote(ind, period)]);
    setContent(view.legend, JSON.stringify(parts), () => parts.map(([k, t]) => el("span", { class: `key key-${k}`, text: t })));
  }

  function comparableNote(ind, period) {
    if ((ind.kind === "count" || ind.kind === "distinct") && period !== "year") {
      return "Nulmeting en doel gelden per jaar: kies periode Jaar om ze als lijn te zien.";
    }
    return "Geen nulmeting of doel voor deze selectie (bijv. per instelling: zie de tabel per instelling).";
  }

  function baselineText(ind, row) {
    if (row.baselineYear === null) return "";
    const value = row.baseline === null ? "onbekend" : formatValue(ind, row.baseline);
    const change = row.change === null ? "" : `, verschil ${signed(ind, row.change)}`;
    return `Nulmeting ${row.baselineYear}: ${value}${change}`;
  }

  function drawChart(view, xs, series) {
    if (typeof window.uPlot !== "function") {
      view.chartEl.textContent = "Grafiek niet beschikbaar; zie de tabel.";
      return;
    }
    const { ind } = view;
    view.xs = xs; // one tick per period, read by the x axis' splits
    if (view.chart) {
      view.chart.setData([xs, ...series]);
      return;
    }
    const colour = ind.direction === "up" ? "#1b6e3a" : "#1f4e9c";
    const asBars = (ind.kind === "count" || ind.kind === "distinct") && window.uPlot.paths && window.uPlot.paths.bars;
    // half a period of padding, so the first and last bar are whole
    const half = () => 15 * 86400 * PERIODS[view.period || "month"].step;
    const opts = {
      width: Math.max(200, view.chartEl.clientWidth || 600),
      height: 220,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: (u) => [view.xs[0] - half(), view.xs[view.xs.length - 1] + half()] },
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
        { label: "Nulmeting", stroke: "#4d5866", width: 2, points: { show: false }, spanGaps: true },
        { label: "Doel", stroke: "#a3261b", width: 2, dash: [8, 5], points: { show: false }, spanGaps: true },
      ],
      axes: [
        {
          splits: () => view.xs,
          values: (u, ticks) => ticks.map((t) => {
            const d = new Date(t * 1000);
            return periodShort(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`, view.period || "month");
          }),
        },
        {
          values: (u, ticks) => ticks.map((t) => (ind.kind === "ratio" ? pf.format(t) : nf.format(t))),
          incrs: ind.kind === "ratio" ? undefined : WHOLE_STEPS, // counts of children and days: whole ticks
          size: 56,
        },
      ],
    };
    view.chart = new window.uPlot(opts, [xs, ...series], view.chartEl);
  }

  // --- comparison view: all jeugdregio's, or all gemeenten of a region, for one indicator -----------------
  function buildComparison() {
    const section = document.getElementById("vergelijking");
    const candidates = state.indicators.filter((i) => (i.dimensions || []).includes("jeugdregio"));
    if (!candidates.length) { section.hidden = true; return; }
    const select = document.getElementById("compare-indicator");
    select.replaceChildren(...candidates.map((i) => el("option", { value: i.id, text: i.title_nl || i.id })));
    if (!candidates.some((i) => i.id === state.filters.vergelijk)) state.filters.vergelijk = candidates[0].id;
    select.value = state.filters.vergelijk;
    select.addEventListener("change", () => {
      state.filters.vergelijk = select.value;
      filtersChanged();
    });
    document.getElementById("map-national").addEventListener("click", () => {
      state.filters.jeugdregio = "";
      state.filters.gemeente = "";
      document.getElementById("filter-jeugdregio").value = "";
      fillGemeenten();
      filtersChanged();
    });
    document.getElementById("compare-csv").addEventListener("click", () => {
      const c = state.compare;
      if (c) downloadCsv(`vergelijking-${c.ind.id}-${c.level}-${c.start}.csv`, c.ind, c.rows);
    });
  }

  // Gemeenten of the selected region (the jeugdregio filter, or the selected gemeente's region), else every
  // jeugdregio nationally; an indicator without a gemeente dimension is compared by jeugdregio.
  function compareLevel(ind) {
    let regio = state.filters.jeugdregio;
    if (!regio && state.filters.gemeente) {
      const g = (state.config.gemeenten || []).find((x) => x.gemeente === state.filters.gemeente);
      regio = g ? g.jeugdregio : "";
    }
    if (regio && (ind.dimensions || []).includes("gemeente")) {
      return { level: "gemeente", regio, selected: state.filters.gemeente };
    }
    return { level: "jeugdregio", regio: "", selected: regio };
  }

  async function refreshComparison(generation, nowMonth) {
    const ind = state.indicators.find((i) => i.id === state.filters.vergelijk);
    if (!ind) return;
    const { level, regio, selected } = compareLevel(ind);
    const period = state.filters.periode;
    const start = periodStart(nowMonth, period);
    const path = `/v1/indicators/${encodeURIComponent(ind.id)}`;
    const q = { period, from: `${start}-01`, to: `${addMonths(start, PERIODS[period].step)}-01` };
    if (regio) q.jeugdregio = regio;
    let body;
    let total;
    try {
      [body, total] = await Promise.all([getJSON(path, { ...q, group_by: level }), getJSON(path, { ...q, group_by: "" })]);
    } catch (err) {
      throw new Error(`vergelijking: ${err.message}`);
    }
    if (generation !== state.generation) return;
    const rows = rowsOf(body).map(normaliseRow).filter((r) => monthOf(r.start) === start && r.dims[level] !== undefined);
    const totalRow = rowsOf(total).map(normaliseRow).find((r) => monthOf(r.start) === start) || null;
    const areas = level === "gemeente"
      ? (state.config.gemeenten || []).filter((g) => g.jeugdregio === regio).map((g) => ({ code: g.gemeente, naam: g.naam }))
      : (state.config.jeugdregios || []).map((r) => ({ code: r.jeugdregio, naam: r.naam }));
    const byCode = new Map(rows.map((r) => [String(r.dims[level]), r]));
    // Per 1,000 jeugdigen where the rows carry it (a population is loaded), else the values themselves.
    const rates = rows.some((r) => r.per1000 !== null);
    const shownValue = (r) => (rates ? r.per1000 : r.value);
    for (const code of byCode.keys()) if (!areas.some((a) => a.code === code)) areas.push({ code, naam: null });
    const items = areas.map((a) => {
      const row = byCode.get(a.code) || null;
      const naam = a.naam || areaName(level, a.code, row);
      let sortValue = row ? (row.suppressed ? (rates ? null : state.config.suppression_threshold - 0.5) : shownValue(row)) : (emptyText(ind) === "0" ? 0 : null);
      if (sortValue === null) sortValue = -Infinity;
      return { code: a.code, naam, row, sortValue, selected: a.code === selected };
    });
    items.sort((a, b) => (b.sortValue - a.sortValue) || a.naam.localeCompare(b.naam, "nl"));
    state.compare = { ind, level, regio, start, rows, items, rates };

    const where = level === "gemeente" ? `alle gemeenten van ${areaName("jeugdregio", regio)}` : "alle jeugdregio's van Nederland";
    const whole = level === "gemeente" ? areaName("jeugdregio", regio) : "Nederland";
    const additive = ind.kind === "count" || ind.kind === "stock";
    let reference = totalRow && !totalRow.suppressed && totalRow.value !== null
      ? (additive ? totalRow.value / Math.max(1, areas.length) : totalRow.value) : null;
    let refText = totalRow
      ? `${whole}: ${totalRow.suppressed ? suppressedText() : formatValue(ind, totalRow.value)}`
        + (additive && reference !== null ? ` (gemiddeld ${formatValue(ind, reference)} per ${level === "gemeente" ? "gemeente" : "jeugdregio"})` : "")
      : `${whole}: ${emptyText(ind)}`;
    if (rates) { // the whole area's own rate is the reference
      reference = totalRow && totalRow.per1000 !== null ? totalRow.per1000 : null;
      refText += reference !== null ? `; ${formatValue(ind, reference)} per 1.000 jeugdigen` : "";
    }
    const sel = items.find((i) => i.selected);
    const what = `${ind.title_nl || ind.id}${rates ? " per 1.000 jeugdigen" : ""}, ${periodLabel(start, period)}: ${where}, gesorteerd van hoog naar laag. ${refText}.`
      + (sel ? ` Geselecteerd: ${sel.naam}.` : "");
    const whatNode = document.getElementById("compare-what");
    if (whatNode.textContent !== what) whatNode.textContent = what;
    const caption = document.getElementById("compare-caption");
    const capText = `${ind.title_nl || ind.id} per ${level === "gemeente" ? "gemeente" : "jeugdregio"}, ${periodLabel(start, period)}`;
    if (caption.textContent !== capText) caption.textContent = capText;

    // Bars (a picture of the table below, hidden from assistive technology).
    const max = Math.max(1, reference || 0, ...items.map((i) => (Number.isFinite(i.sortValue) ? i.sortValue : 0)));
    const bars = document.getElementById("compare-bars");
    setContent(bars, JSON.stringify([items.map((i) => [i.code, i.sortValue, i.row && i.row.suppressed, i.selected]), reference, max]), () => {
      const out = items.map((i) => {
        const fill = el("span", { class: "bar-fill" });
        fill.style.width = `${Math.max(0, (Number.isFinite(i.sortValue) ? i.sortValue : 0) / max) * 100}%`;
        const track = el("span", { class: "bar-track" }, fill);
        if (reference !== null) {
          const mark = el("span", { class: "bar-ref" });
          mark.style.left = `${(reference / max) * 100}%`;
          track.append(mark);
        }
        const valueText = i.row && i.row.suppressed ? suppressedText() : i.row ? formatValue(ind, shownValue(i.row)) : emptyText(ind);
        return el("div", { class: "bar-row", dataset: { code: i.code, selected: String(i.selected), suppressed: String(Boolean(i.row && i.row.suppressed)) } },
          el("span", { class: "bar-name", title: i.code, text: i.naam }), track, el("span", { class: "bar-value", text: valueText }));
      });
      if (reference !== null) {
        out.push(el("p", { class: "bar-legend" }, el("span", { class: "bar-ref-key" }),
          additive && !rates ? ` gemiddelde per ${level === "gemeente" ? "gemeente" : "jeugdregio"}` : ` ${whole}`));
      }
      return out;
    });

    updateTable(document.getElementById("compare-table").tBodies[0], items.map((i) => ({
      key: i.code,
      data: { code: i.code, selected: String(i.selected), suppressed: String(Boolean(i.row && i.row.suppressed)) },
      cells: [
        { text: i.selected ? `${i.naam} (geselecteerd)` : i.naam, title: `${level === "gemeente" ? "Gemeentecode" : "Jeugdregiocode"} ${i.code}` },
        cellSpec(ind, i.row),
        { text: i.row && i.row.baselineYear !== null ? `${i.row.baseline === null ? "onbekend" : formatValue(ind, i.row.baseline)} (${i.row.baselineYear})` : "–" },
        { text: i.row ? signed(ind, i.row.change) : "–" },
        i.row && i.row.status ? { status: i.row.status } : { status: null, text: "–" },
        { text: i.row && i.row.per1000 !== null ? formatValue(ind, i.row.per1000) : "–" },
      ],
    })));
    drawMap(ind, level, regio, items, rates);
    document.getElementById("vergelijking").dataset.level = level;
    document.body.dataset.compare = `${ind.id}:${level}:${regio}`;
  }

  // --- map: a dot per jeugdregio (nationally) or per gemeente of the region, coloured by value ----------------
  // Positions are the approximate points of /dashboard/config.json (jeugdstroom.common data/coordinates.csv); an
  // equirectangular projection at 52°N. The comparison table is the map's text alternative.
  const SVG = "http://www.w3.org/2000/svg";
  const MAP_COLOURS = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]; // ColorBrewer Blues, light → dark
  const NL_BOUNDS = { minLat: 50.72, maxLat: 53.58, minLon: 3.3, maxLon: 7.25 };

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  // An SVG path of polygon rings ([[lon, lat], ...]); holes and islands by the even-odd rule.
  function pathOf(rings, x, y) {
    return rings.map((ring) => `M${ring.map(([lon, lat]) => `${x(lon)} ${y(lat)}`).join("L")}Z`).join("");
  }

  function mapClasses(values) {
    const max = Math.max(0, ...values);
    if (max <= 0) return { edges: [], classOf: () => 0 };
    const edges = MAP_COLOURS.map((_, k) => (max * (k + 1)) / MAP_COLOURS.length);
    return { edges, classOf: (v) => Math.min(MAP_COLOURS.length - 1, Math.max(0, Math.ceil((v / max) * MAP_COLOURS.length) - 1)) };
  }

  function selectArea(level, code) {
    if (level === "jeugdregio") {
      state.filters.jeugdregio = code;
      state.filters.gemeente = "";
    } else {
      state.filters.gemeente = code;
    }
    document.getElementById("filter-jeugdregio").value = state.filters.jeugdregio;
    fillGemeenten();
    filtersChanged();
  }

  function drawMap(ind, level, regio, items, rates) {
    const node = document.getElementById("compare-map");
    if (!node) return;
    const places = new Map((level === "gemeente" ? state.config.gemeenten : state.config.jeugdregios || [])
      .filter((p) => typeof p.lat === "number" && typeof p.lon === "number")
      .map((p) => [level === "gemeente" ? p.gemeente : p.jeugdregio, p]));
    const shapes = (state.boundaries && state.boundaries[level]) || {};
    const dots = items.filter((i) => places.has(i.code) || shapes[i.code]);
    const values = dots.filter((i) => i.row && !i.row.suppressed && Number.isFinite(i.sortValue)).map((i) => i.sortValue);
    const { edges, classOf } = mapClasses(values);
    const sig = JSON.stringify([level, regio, rates, Boolean(state.boundaries), dots.map((i) => [i.code, i.sortValue, i.row && i.row.suppressed, i.selected])]);
    const back = document.getElementById("map-national");
    if (back) back.hidden = !state.filters.jeugdregio && !state.filters.gemeente;
    if (node.dataset.sig === sig) return;
    node.dataset.sig = sig;
    const caption = document.getElementById("compare-map-caption");
    const what = `${ind.title_nl || ind.id}${rates ? " per 1.000 jeugdigen" : ""} per ${level === "gemeente" ? `gemeente van ${areaName("jeugdregio", regio)}` : "jeugdregio"}`;
    caption.textContent = `Kaart: ${what}. Een punt per ${level === "gemeente" ? "gemeente" : "jeugdregio"}, bij benadering`
      + ` op zijn middelpunt; kies een punt (klik, of pijltjestoetsen en Enter) om ${level === "gemeente" ? "die gemeente" : "die jeugdregio"} te filteren.`
      + " De tabel van de vergelijking bevat dezelfde waarden.";
    if (!dots.length) { node.replaceChildren(el("p", { text: "Geen posities voor deze gebieden." })); return; }
    // bounds: the Netherlands, or the region's points with a margin
    let b = NL_BOUNDS;
    if (level === "gemeente") {
      const pts = dots.flatMap((i) => (shapes[i.code] ? shapes[i.code].flat().map(([lon, lat]) => ({ lat, lon })) : [places.get(i.code)]));
      const lats = pts.map((p) => p.lat);
      const lons = pts.map((p) => p.lon);
      // a margin of a seventh of the region's extent (at least about 2 km), so the dots fill the map
      const pad = Math.max(0.02, (Math.max(...lats) - Math.min(...lats)) / 7, ((Math.max(...lons) - Math.min(...lons)) * 0.62) / 7);
      b = { minLat: Math.min(...lats) - pad, maxLat: Math.max(...lats) + pad, minLon: Math.min(...lons) - pad / 0.62, maxLon: Math.max(...lons) + pad / 0.62 };
    }
    const k = Math.cos((52.2 * Math.PI) / 180);
    const spanX = (b.maxLon - b.minLon) * k;
    const spanY = b.maxLat - b.minLat;
    const width = 420;
    const scale = width / Math.max(spanX, spanY * 0.8);
    const height = Math.round(spanY * scale);
    const x = (lon) => ((lon - b.minLon) * k * scale).toFixed(1);
    const y = (lat) => ((b.maxLat - lat) * scale).toFixed(1);
    const r = level === "gemeente" ? Math.max(7, Math.min(16, 160 / Math.sqrt(dots.length + 4))) : 10;
    const defs = svg("defs", {}, svg("pattern", { id: "map-hatch", width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      svg("rect", { width: 5, height: 5, fill: "#ffffff" }), svg("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#4d5866", "stroke-width": 2 })));
    // every gemeente of the indeling as a faint point: the country's (or the surroundings') shape, decoration only
    const inside = (g) => g.lat >= b.minLat && g.lat <= b.maxLat && g.lon >= b.minLon && g.lon <= b.maxLon;
    const backdrop = svg("g", { class: "map-backdrop", "aria-hidden": "true" },
      ...(state.boundaries && Object.keys(state.boundaries.gemeente || {}).length
        ? Object.values(state.boundaries.gemeente).map((rings) => svg("path", { d: pathOf(rings, x, y), fill: "#eef1f5", stroke: "#d5dbe3", "fill-rule": "evenodd" }))
        : (state.config.gemeenten || []).filter((g) => typeof g.lat === "number" && typeof g.lon === "number" && inside(g))
          .map((g) => svg("circle", { cx: x(g.lon), cy: y(g.lat), r: level === "gemeente" ? 4 : 2.5, fill: "#d5dbe3" }))));
    const order = [...dots].sort((a, c) => Number(a.selected) - Number(c.selected)); // the selected one on top
    const groups = order.map((i) => {
      const p = places.get(i.code);
      const suppressed = Boolean(i.row && i.row.suppressed);
      const has = i.row && !suppressed && Number.isFinite(i.sortValue);
      const fill = suppressed ? "url(#map-hatch)" : has && i.sortValue > 0 ? MAP_COLOURS[classOf(i.sortValue)] : "#ffffff";
      const valueText = suppressed ? `onderdrukt (${suppressedText()})` : i.row ? formatValue(ind, rates ? i.row.per1000 : i.row.value) : emptyText(ind);
      const label = `${i.naam}: ${valueText}${rates && i.row && !suppressed ? " per 1.000 jeugdigen" : ""}${i.selected ? " (geselecteerd)" : ""}`;
      const g = svg("g", { class: "map-area", role: "button", tabindex: "-1", "aria-label": label, "data-code": i.code,
        "data-selected": String(i.selected), "data-suppressed": String(suppressed), "data-class": has ? String(classOf(i.sortValue)) : suppressed ? "s" : "0" },
        svg("title", {}, `${label} · code ${i.code}`),
        shapes[i.code]
          ? svg("path", { d: pathOf(shapes[i.code], x, y), "fill-rule": "evenodd", fill, stroke: i.selected ? "#111" : "#4d5866", "stroke-width": i.selected ? 3 : 1 })
          : svg("circle", { cx: x(p.lon), cy: y(p.lat), r, fill, stroke: i.selected ? "#111" : "#4d5866", "stroke-width": i.selected ? 3 : 1 }));
      g.addEventListener("click", () => selectArea(level, i.code));
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); selectArea(level, i.code); return; }
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[ev.key];
        if (!step) return;
        ev.preventDefault(); // roving focus through the dots, in the table's order
        const all = Array.from(node.querySelectorAll(".map-area"));
        const codes = items.map((it) => it.code).filter((c) => all.some((a) => a.dataset.code === c));
        const next = codes[(codes.indexOf(i.code) + step + codes.length) % codes.length];
        const target = all.find((a) => a.dataset.code === next);
        all.forEach((a) => a.setAttribute("tabindex", a === target ? "0" : "-1"));
        target.focus();
      });
      return g;
    });
    const first = groups.find((g) => g.dataset.selected === "true") || groups.find((g) => g.dataset.code === dots[0].code);
    first.setAttribute("tabindex", "0"); // one tab stop; arrows move between the dots
    const map = svg("svg", { viewBox: `${-r - 2} ${-r - 2} ${width + 2 * r + 4} ${height + 2 * r + 4}`, role: "group",
      // (its name avoids the words of the filters' labels, so a label lookup of "Jeugdregio" finds the filter only)
      "aria-label": `Kaart van ${ind.title_nl || ind.id} per gebied (pijltjestoetsen: volgend gebied, Enter: filteren)`,
      class: "map-svg" }, defs, backdrop, ...groups);
    const fmt = (v) => formatValue(ind, Math.round(v * 10) / 10);
    const legend = el("ul", { class: "map-legend", "aria-label": "Legenda van de kaart" },
      ...edges.map((e, c) => el("li", {}, el("span", { class: "swatch", style: `background:${MAP_COLOURS[c]}` }),
        `${c === 0 ? "tot" : `${fmt(edges[c - 1])} –`} ${fmt(e)}`)),
      el("li", {}, el("span", { class: "swatch swatch-suppressed" }), `onderdrukt (${suppressedText()})`),
      el("li", {}, el("span", { class: "swatch swatch-empty" }), emptyText(ind) === "0" ? "0" : "geen gegevens"));
    node.replaceChildren(map, legend);
  }

  // --- CSV export: the rows the public API gave, for Excel -------------------------------------------------
  // `;` as separator and a decimal comma (what Excel with Dutch regional settings opens as columns and numbers),
  // UTF-8 with a byte-order mark (so Excel reads "Súdwest-Fryslân" right). Suppressed cells: an empty value and
  // onderdrukt=ja. Cells the API leaves out (value 0, no population) are not in the file either.
  function csvField(v) {
    if (v === null || v === undefined) return "";
    const s = typeof v === "number" ? String(v).replace(".", ",") : String(v);
    return /[;"\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  // The same columns as the API's format=csv (monitor/export.py): dimensions, a name column for gemeente and
  // jeugdregio (and any dimension whose rows carry a name), then n, p90, teller, noemer where any row has them.
  const CSV_EXTRA = [["n", "n"], ["p90", "p90"], ["teller", "numerator"], ["noemer", "denominator"]];

  function csvText(ind, rows) {
    const dims = [];
    for (const r of rows) for (const d of Object.keys(r.dims || {})) if (!dims.includes(d)) dims.push(d);
    const named = dims.filter((d) => d === "gemeente" || d === "jeugdregio" || rows.some((r) => r.names && r.names[d]));
    const extra = CSV_EXTRA.filter(([, key]) => rows.some((r) => r.raw && r.raw[key] !== null && r.raw[key] !== undefined));
    const header = ["indicator", "versie", "periode", "start", ...dims, ...named.map((d) => `${d}_naam`),
      "waarde", "onderdrukt", "nulmeting_jaar", "nulmeting", "verschil", "doel", "doelstatus", "per_1000",
      ...extra.map(([name]) => name)];
    const lines = [header.join(";")];
    for (const r of rows) {
      const raw = r.raw || {};
      lines.push([ind.id, raw.version === undefined ? "" : raw.version, raw.period || "", r.start,
        ...dims.map((d) => (r.dims || {})[d]), ...named.map((d) => ((r.names || {})[d] !== undefined ? r.names[d] : areaName(d, (r.dims || {})[d], r))),
        r.suppressed ? null : r.value, r.suppressed ? "ja" : "nee", r.baselineYear, r.baseline, r.change, r.target,
        r.status === "on_track" ? "op koers" : r.status === "off_track" ? "niet op koers" : "", r.per1000,
        ...extra.map(([, key]) => raw[key])].map(csvField).join(";"));
    }
    return `\ufeff${lines.join("\r\n")}\r\n`;
  }

  function downloadCsv(filename, ind, rows) {
    const blob = new Blob([csvText(ind, rows)], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // --- completeness: "data t/m <date>" and, for the operator or an instelling's own token, per instelling ---------
  const dayLabel = new Intl.DateTimeFormat("nl-NL", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const STATUS_NL = { op_schema: "binnen ritme", achter: "achter", onbekend: "nog geen ritme" };

  async function refreshCompleteness() {
    const line = document.getElementById("completeness");
    let doc;
    try {
      doc = await getJSON("/v1/completeness");
    } catch (err) {
      line.hidden = true; // an older monitor without the endpoint: say nothing rather than something wrong
      return;
    }
    line.hidden = false;
    const dated = doc.data_tm ? dayLabel.format(new Date(`${doc.data_tm}T00:00:00Z`)) : null;
    const parts = [];
    if (doc.op_schema) parts.push(`${doc.op_schema} binnen hun ritme`);
    if (doc.achter) parts.push(`${doc.achter} achter`);
    if (doc.onbekend) parts.push(`${doc.onbekend} nog zonder ritme`);
    const text = dated
      ? `Data t/m ${dated} · ${doc.instellingen} ${doc.instellingen === 1 ? "instelling" : "instellingen"}: ${parts.join(", ")}`
      : "Nog geen gegevens ontvangen";
    const summary = document.getElementById("completeness-text");
    if (summary.textContent !== text) summary.textContent = text;
    line.dataset.dataTm = doc.data_tm || "";
    line.dataset.achter = String(doc.achter || 0);
    const details = document.getElementById("completeness-details");
    const list = Array.isArray(doc.per_instelling) ? doc.per_instelling : null;
    details.hidden = !list;
    if (!list) return;
    updateTable(document.getElementById("completeness-table").tBodies[0], list.map((a) => ({
      key: a.instelling,
      data: { code: a.instelling, status: a.status },
      cells: [
        { text: a.naam || a.instelling, title: `Instellingscode ${a.instelling}` },
        { text: dayLabel.format(new Date(`${a.last_day}T00:00:00Z`)) },
        { text: a.rhythm_days === null ? "–" : `elke ${nf.format(a.rhythm_days)} dag(en), uiterlijk na ${a.allowance_days}` },
        { text: STATUS_NL[a.status] || a.status },
      ],
    })));
  }

  // --- the refresh loop ------------------------------------------------------------------------------
  function schedule(ms) {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(refresh, ms);
  }

  // Pause/resume of the automatic refresh (WCAG 2.2.2): while paused the page changes only when the reader
  // changes a filter.
  function setupPause() {
    const button = document.getElementById("refresh-toggle");
    button.addEventListener("click", () => {
      state.paused = !state.paused;
      button.textContent = state.paused ? "Hervat verversen" : "Pauzeer verversen";
      button.dataset.paused = String(state.paused);
      document.body.dataset.paused = String(state.paused);
      if (state.paused) window.clearTimeout(state.timer);
      else schedule(0);
      showRefreshStatus();
    });
  }

  function showRefreshStatus() {
    const text = state.paused
      ? `Verversen gepauzeerd${state.updatedAt ? ` · bijgewerkt om ${state.updatedAt}` : ""}`
      : `Bijgewerkt om ${state.updatedAt || "–"} · ververst elke ${POLL_MS / 1000} s`;
    document.getElementById("status").textContent = text;
  }

  async function refresh() {
    const generation = state.generation;
    const nowMonth = currentMonth();
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
      state.updatedAt = timeLabel.format(new Date());
      showRefreshStatus();
      try {
        await refreshComparison(generation, nowMonth);
      } catch (err) {
        failed.push(err.message);
      }
      await refreshCompleteness();
      setError(failed.length ? `Niet alle indicatoren konden worden opgehaald (some indicators failed): ${failed.join("; ")}` : "");
    } catch (err) {
      setError(`Gegevens konden niet worden opgehaald (could not load data): ${err.message}. Nieuwe poging volgt.`);
      document.body.dataset.state = state.refreshes ? "stale" : "error";
    } finally {
      if (generation === state.generation && !state.paused) schedule(document.hidden ? POLL_MS * 6 : POLL_MS);
    }
  }

  async function start() {
    try {
      const [config, catalogue] = await Promise.all([getJSON("/dashboard/config.json"), getJSON("/v1/indicators")]);
      state.config = { ...state.config, ...config };
      if (config.boundaries) { // operator-supplied shapes (optional); without them the map draws dots
        try { state.boundaries = await getJSON("/dashboard/boundaries.json"); } catch (err) { state.boundaries = null; }
      }
      state.indicators = chooseIndicators(Array.isArray(catalogue) ? catalogue : catalogue.indicators || []);
    } catch (err) {
      setError(`De catalogus kon niet worden geladen (could not load the catalogue): ${err.message}. Nieuwe poging volgt.`);
      document.body.dataset.state = "error";
      window.setTimeout(start, POLL_MS);
      return;
    }
    document.getElementById("suppression-note").replaceChildren(
      `Aantallen van 1 tot ${state.config.suppression_threshold} worden niet getoond (${suppressedText()}) om kinderen niet herkenbaar te maken `,
      el("span", { lang: "en", text: "(small counts are suppressed)" }), ".");
    buildFilters();
    showArea();
    setupAccess();
    setupPause();
    buildComparison();
    state.indicators.forEach(buildIndicator);
    window.addEventListener("resize", () => {
      for (const v of state.views.values()) {
        if (v.chart) v.chart.setSize({ width: Math.max(200, v.chartEl.clientWidth), height: 220 });
      }
    });
    document.addEventListener("visibilitychange", () => { if (!document.hidden && !state.paused) schedule(0); });
    schedule(0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
