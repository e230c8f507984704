// 督查考核: ledgers, supervision, the monthly notice, assessment, rankings, accountability and the monthly
// report, all from GET /api/v1/oversight/{what}. Charts use ECharts when /ui/vendor/echarts is installed;
// without it every figure is still in the tables.
import { api, clear, day, download, el, mountHeader, notify, requireSignIn, showError, t } from "./common.js";
import { label, locale } from "./i18n.js";
import "./oversight-strings.js";

const FIGURES = [
  "collected", "resolved_on_spot", "resolved", "escalated", "assigned", "completed", "in_progress", "overdue",
  "unable", "closed", "reopened", "satisfied", "basically_satisfied", "dissatisfied",
];
const WIDE = new Set(["unable", "reopened", "satisfied", "basically_satisfied", "dissatisfied", "in_progress"]);
const INVERTED = new Set(["reopen_rate", "unable_share", "escalation_rate", "callback_mismatch"]);
const CHART_ROWS = 20;
const ECHARTS_SRC = "/ui/vendor/echarts/echarts.min.js";
const $ = (id) => document.getElementById(id);

const state = { month: "", loaded: new Set(), units: new Map() };

// -- small builders --------------------------------------------------------------------------------

/** A table: columns [{head, value(row), num, wide}], rows; an optional footer row (the totals). */
function table(testid, columns, rows, footer) {
  if (!rows.length) return el("p", { class: "muted", "data-testid": `${testid}-empty` }, t("common.none"));
  const cell = (tag, column, content) =>
    el(tag, { class: [column.num ? "num" : "", column.wide ? "wide" : ""].join(" ").trim() || null }, content);
  return el(
    "table",
    { "data-testid": testid },
    el("thead", {}, el("tr", {}, columns.map((c) => cell("th", c, c.head)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => cell("td", c, c.value(row)))))),
    footer ? el("tfoot", {}, el("tr", { class: "total" }, columns.map((c) => cell("td", c, c.value(footer))))) : null,
  );
}

function fill(id, node) {
  clear($(id)).append(node);
}

/** The name of a row's kind: a tier, a handler kind, category, channel, deputy or grid roles. */
function kindName(kind) {
  if (!kind) return "";
  if (["city", "district", "town", "village"].includes(kind)) return label("tier", kind);
  return kind.split("、").map((k) => t(`ov.kind.${k}`)).join("、");
}

function rowName(row) {
  if (row.kind === "category") return label("category", row.key);
  if (row.kind === "channel") return label("channel", row.key);
  return row.name;
}

function unitName(code) {
  return code ? state.units.get(code) || code : "";
}

function period() {
  const scope = $("period-scope").value;
  if (scope === "all") return "all";
  return scope === "year" ? state.month.slice(0, 4) : state.month;
}

function query(params) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  return search.toString() ? `?${search}` : "";
}

const ask = (what, params = {}) => api(`oversight/${what}${query(params)}`);

// -- charts ----------------------------------------------------------------------------------------

const charts = new Set();
let library;

/** ECharts (a classic script from /ui/vendor, loaded after the first table is up), or null without it. */
function loadECharts() {
  library ??= new Promise((resolve) => {
    if (window.echarts) return resolve(window.echarts);
    const script = el("script", { src: ECHARTS_SRC });
    script.addEventListener("load", () => resolve(window.echarts || null));
    script.addEventListener("error", () => resolve(null));
    document.head.append(script);
  }).then((echarts) => {
    $("chart-missing").hidden = Boolean(echarts);
    return echarts;
  });
  return library;
}

/** Draw a bar chart (categories × series) into the element, or leave it hidden without ECharts. */
async function barChart(id, names, series, { horizontal = false, stacked = false, max } = {}) {
  const node = $(id);
  const note = $(`${id}-note`);
  const echarts = names.length ? await loadECharts() : null;
  if (!echarts) {
    node.hidden = true;
    if (note) note.hidden = true;
    return;
  }
  node.hidden = false;
  const shown = names.slice(0, CHART_ROWS);
  if (note) {
    note.hidden = names.length <= CHART_ROWS;
    note.textContent = t("ov.chartTop", { n: CHART_ROWS });
  }
  const chart = echarts.getInstanceByDom(node) || echarts.init(node, null, { locale: locale() === "zh-CN" ? "ZH" : "EN" });
  charts.add(chart);
  const category = { type: "category", data: shown, axisLabel: { interval: 0, rotate: horizontal ? 0 : shown.length > 6 ? 30 : 0 } };
  const value = { type: "value", minInterval: 1, max };
  chart.setOption(
    {
      aria: { enabled: true },
      // richText: the tooltip is drawn on the canvas, not written as HTML with inline styles (strict CSP)
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? { ...category, inverse: true } : value,
      series: series.map((s) => ({
        type: "bar",
        name: s.name,
        data: s.data.slice(0, CHART_ROWS),
        stack: stacked ? "all" : undefined,
        barMaxWidth: 28,
        emphasis: { focus: "series" },
      })),
      textStyle: { fontFamily: getComputedStyle(document.documentElement).fontFamily },
    },
    true,
  );
  chart.resize();
}

function drawn(chart) {
  chart.catch(showError); // the table is up already; a chart comes when the library is there
}

function resizeCharts() {
  for (const chart of charts) if (!chart.isDisposed()) chart.resize();
}

// -- the tabs' contents ------------------------------------------------------------------------------

const figureColumn = (figure) => ({
  head: t(`ov.fig.${figure}`), num: true, wide: WIDE.has(figure), value: (row) => row[figure] ?? 0,
});

async function loadLedger() {
  const by = $("ledger-by").value;
  const under = ["category", "channel"].includes(by) ? "" : $("ledger-under").value;
  $("ledger-under").disabled = ["category", "channel"].includes(by);
  const rows = await ask("ledgers", { by, period: period(), under });
  const sums = Object.fromEntries(FIGURES.map((f) => [f, rows.reduce((n, r) => n + (r[f] || 0), 0)]));
  const columns = [
    { head: t("ov.col.name"), value: rowName },
    { head: t("ov.col.kind"), wide: true, value: (row) => kindName(row.kind) },
    ...FIGURES.map(figureColumn),
  ];
  fill("ledger-table", table("ledger-table", columns, rows, { ...sums, name: t("ov.col.total"), kind: "" }));
  const charted = [...rows].sort((a, b) => (b.collected || 0) - (a.collected || 0) || a.key.localeCompare(b.key));
  const of = (f) => charted.map((r) => (typeof f === "function" ? f(r) : r[f] || 0));
  drawn(barChart(
    "ledger-chart",
    charted.map(rowName),
    [
      { name: t("ov.fig.collected"), data: of("collected") },
      { name: t("ov.fig.resolvedAll"), data: of((r) => (r.resolved_on_spot || 0) + (r.resolved || 0)) },
      { name: t("ov.fig.escalated"), data: of("escalated") },
      { name: t("ov.fig.assigned"), data: of("assigned") },
      { name: t("ov.fig.completed"), data: of("completed") },
      { name: t("ov.fig.overdue"), data: of("overdue") },
    ],
    { horizontal: charted.length > 12 },
  ));
}

const issueColumn = { head: t("ov.col.issue"), value: (row) => el("code", {}, row.issue_id) };

async function loadSupervision() {
  const [overdue, unreviewed] = await Promise.all([ask("overdue"), ask("unreviewed"), unitsReady()]);
  fill(
    "overdue-table",
    table("overdue-table", [
      issueColumn,
      { head: t("ov.col.handler"), value: (r) => r.handler_name || r.handler_code },
      { head: t("ov.col.assignedBy"), wide: true, value: (r) => unitName(r.unit) },
      { head: t("ov.col.town"), wide: true, value: (r) => unitName(r.town) },
      { head: t("ov.col.deadline"), value: (r) => day(`${r.deadline}T12:00:00+08:00`) },
      { head: t("ov.col.daysOverdue"), num: true, value: (r) => el("span", { class: "badge overdue" }, t("ov.days", { n: r.days_overdue })) },
    ], overdue),
  );
  fill(
    "unreviewed-table",
    table("unreviewed-table", [
      issueColumn,
      { head: t("ov.col.tier"), value: (r) => label("tier", r.tier) },
      { head: t("ov.col.unit"), value: (r) => r.unit_name || r.unit },
      { head: t("ov.col.town"), wide: true, value: (r) => unitName(r.town) },
      { head: t("ov.col.reviewMonth"), value: (r) => r.month },
    ], unreviewed),
  );
}

function noticeTable(testid, groups, nameOf) {
  const rows = Object.entries(groups).map(([key, items]) => ({
    name: nameOf(key), count: items.length, longest: Math.max(...items.map((i) => i.days_overdue)),
    issues: items.map((i) => i.issue_id).join("、"),
  }));
  rows.sort((a, b) => b.count - a.count || b.longest - a.longest);
  return table(testid, [
    { head: t("ov.col.name"), value: (r) => r.name },
    { head: t("ov.col.count"), num: true, value: (r) => r.count },
    { head: t("ov.col.longest"), num: true, value: (r) => r.longest },
    { head: t("ov.col.issues"), wide: true, value: (r) => r.issues },
  ], rows);
}

async function loadNotice() {
  const [notice] = await Promise.all([ask("notice", { period: period() }), unitsReady()]);
  $("notice-title").textContent = t("ov.notice.titleOf", { period: notice.period });
  fill("notice-department", noticeTable("notice-department-table", notice.by_department, (name) => name));
  fill("notice-town", noticeTable("notice-town-table", notice.by_town, unitName));
}

const percent = (value) => `${(value * 100).toFixed(1)}%`;

function scoreLines(score) {
  return el(
    "details",
    { class: "lines" },
    el("summary", {}, t("ov.col.lines")),
    table(`lines-${score.key}`, [
      { head: t("ov.col.indicator"), value: (l) => t(`ov.ind.${l.indicator}`) + (INVERTED.has(l.indicator) ? t("ov.ind.inverted") : "") },
      // the rate itself (an inverted indicator scores 1 − rate, so its value is not shown)
      { head: t("ov.col.value"), num: true, value: (l) => (l.denominator ? percent(Math.min(l.numerator / l.denominator, 1)) : t("ov.ind.na")) },
      { head: t("ov.col.weight"), num: true, value: (l) => percent(l.weight) },
      { head: t("ov.col.points"), num: true, value: (l) => l.points.toFixed(1) },
      { head: t("ov.col.counted"), num: true, value: (l) => `${l.numerator}/${l.denominator}` },
    ], score.lines),
  );
}

async function loadAssessment() {
  const scores = await ask("assessment", { kind: $("assessment-kind").value, period: period() });
  fill("assessment-table", table("assessment-table", [
    { head: t("ov.col.rank"), num: true, value: (s) => s.rank },
    { head: t("ov.col.name"), value: (s) => s.name },
    { head: t("ov.col.score"), num: true, value: (s) => s.score.toFixed(1) },
    { head: t("ov.col.lines"), value: scoreLines },
  ], scores));
  drawn(barChart("assessment-chart", scores.map((s) => s.name), [
    { name: t("ov.col.score"), data: scores.map((s) => Number(s.score.toFixed(1))) },
  ], { horizontal: true, max: 100 }));
}

async function loadRankings() {
  const kind = $("rankings-kind").value;
  const rows = await ask("rankings", { kind, period: period() });
  const people = kind === "deputy" || kind === "grid_staff";
  const content = (r) => (r.satisfied || 0) + (r.basically_satisfied || 0);
  const columns = [
    { head: t("ov.col.rank"), num: true, value: (r) => rows.indexOf(r) + 1 },
    { head: t("ov.col.name"), value: (r) => r.name },
    ...(kind === "grid_staff" ? [{ head: t("ov.col.kind"), value: (r) => kindName(r.kind) }] : []),
    ...["collected", "resolved_on_spot", "resolved", "closed"].map(figureColumn),
    { head: t("ov.col.content"), num: true, value: content },
    figureColumn("dissatisfied"),
  ];
  fill("rankings-table", table("rankings-table", columns, rows));
  const of = (f) => rows.map((r) => r[f] || 0);
  const series = people
    ? [{ name: t("ov.fig.collected"), data: of("collected") }, { name: t("ov.fig.closed"), data: of("closed") }]
    : ["resolved_on_spot", "resolved", "closed"].map((f) => ({ name: t(`ov.fig.${f}`), data: of(f) }));
  drawn(barChart("rankings-chart", rows.map((r) => r.name), series, { horizontal: true, stacked: !people }));
}

async function loadAccountability() {
  const entries = await ask("accountability", { period: period() });
  fill("accountability-table", table("accountability-table", [
    { head: t("ov.col.name"), value: (e) => e.name },
    { head: t("ov.col.kind"), value: (e) => kindName(e.kind) },
    { head: t("ov.fig.overdue"), num: true, value: (e) => e.overdue },
    { head: t("ov.fig.reopened"), num: true, value: (e) => e.reopened },
    { head: t("ov.col.flagged"), num: true, value: (e) => e.flagged },
    { head: t("ov.col.issues"), wide: true, value: (e) => e.issues.join("、") },
  ], entries));
}

/** Fetch a file with the session and hand it to the browser as a download. */
async function saveReport(path, filename) {
  await download(path, filename);
  notify(t("ov.reports.done", { file: filename }), "ok");
}

function reportButton(id, suffix) {
  $(id).addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await saveReport(`oversight/monthly-report.${suffix}?month=${state.month}`, `monthly-report-${state.month}.${suffix}`);
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
}

// -- tabs and the period -------------------------------------------------------------------------------

const LOADERS = {
  ledger: loadLedger, supervision: loadSupervision, notice: loadNotice, assessment: loadAssessment,
  rankings: loadRankings, accountability: loadAccountability, reports: async () => {},
};

function currentTab() {
  const wanted = location.hash.slice(1);
  return wanted in LOADERS ? wanted : "ledger";
}

async function show(tab, { reload = false } = {}) {
  for (const button of document.querySelectorAll("#tabs [data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== tab;
  $("period-bar").hidden = tab === "supervision";
  if (reload || !state.loaded.has(tab)) {
    notify(t("common.loading"));
    try {
      await LOADERS[tab]();
      state.loaded.add(tab);
      notify("");
    } catch (error) {
      showError(error);
    }
  }
  resizeCharts();
}

function reloadAll() {
  state.loaded.clear();
  return show(currentTab(), { reload: true });
}

let unitsLoaded;
const unitsReady = () => (unitsLoaded ??= loadUnits());

async function loadUnits() {
  // Names for the unit codes in supervision lists, and the towns to narrow the ledger to.
  try {
    const page = await api("registry/units?limit=5000");
    for (const unit of page.items) state.units.set(unit.code, unit.name);
    const towns = page.items.filter((u) => u.tier === "town");
    $("ledger-under").append(...towns.map((u) => el("option", { value: u.code }, u.name)));
  } catch {
    $("ledger-under").closest("label").hidden = true; // codes stand in for names
  }
}

async function start() {
  const account = await requireSignIn();
  mountHeader("page.oversight", account);
  const clock = await api("clock/").catch(() => null);
  state.month = clock?.month || new Date().toISOString().slice(0, 7);
  $("period-month").value = state.month;
  unitsReady();

  for (const button of document.querySelectorAll("#tabs [data-tab]")) {
    button.addEventListener("click", () => {
      history.replaceState(null, "", `#${button.dataset.tab}`);
      show(button.dataset.tab);
    });
  }
  window.addEventListener("hashchange", () => show(currentTab()));
  $("period-month").addEventListener("change", (event) => {
    if (!/^\d{4}-\d{2}$/.test(event.target.value)) return;
    state.month = event.target.value;
    reloadAll();
  });
  $("period-scope").addEventListener("change", reloadAll);
  $("refresh").addEventListener("click", reloadAll);
  for (const [id, tab] of [["ledger-by", "ledger"], ["ledger-under", "ledger"], ["assessment-kind", "assessment"], ["rankings-kind", "rankings"]]) {
    $(id).addEventListener("change", () => show(tab, { reload: true }));
  }
  reportButton("download-xlsx", "xlsx");
  reportButton("download-pdf", "pdf");
  window.addEventListener("resize", resizeCharts);
  await show(currentTab());
}

start().catch(showError);
