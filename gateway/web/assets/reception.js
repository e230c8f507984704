// 公开接访日: the town's central liaison station (镇人大代表中心联络站) on its public reception day. Whether
// today is a reception day by the registry's schedules (and the next one if not), the deputies on duty and
// how many voters each received today, a fast intake form for the voter in front of a deputy (each intake
// with its own Idempotency-Key), today's reception intakes at the station, and at the end of the day one
// oversight record per deputy who received voters, with the count.
import { api, ApiError, clear, el, mountHeader, notify, PAGES_BY_ROLE, requireSignIn, showError, t, when } from "./common.js";
import { addStrings, label, labels, locale } from "./i18n.js";
import { fieldErrors, keyFor } from "./field-errors.js";
import { RECEPTION_STRINGS } from "./reception-strings.js";
import { addDays, nameNode } from "./work.js";

addStrings(RECEPTION_STRINGS);

const ROLES = ["town_staff", "station_head", "admin"]; // who works the central station's desk
const KIND_ORDER = ["problem", "opinion", "suggestion"];
const PHONE = /^\+?[0-9][0-9 -]{4,19}$/; // as the platform checks it (gateway/schemas.py Phone)
const TEXT_MAX = 5000;
const NAME_MAX = 50;
const LIST_PAGE = 100; // the station's received list, newest first, read until yesterday
const LIST_PAGES_MAX = 20;
const FOLLOW_EVERY_MS = 1000;
const FOLLOW_TRIES = 60;
const REFRESH_EVERY_MS = 30_000; // another desk at the same station may be recording too
const LOOK_AHEAD_DAYS = 400; // for the next reception day
const INPUT_OF_FIELD = { deputy_code: "deputy", text: "text", "voter.name": "voter-name", "voter.phone": "voter-phone" };
const errors = fieldErrors({
  root: () => document.getElementById("intake-form"),
  prefix: "reception",
  inputOf: (field) => INPUT_OF_FIELD[field] && document.getElementById(INPUT_OF_FIELD[field]),
});
const RECORD_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/; // as the oversight records route takes it

const ctx = {
  account: null,
  station: null,
  today: "", // the platform's day: schedules, deadlines, the records' day
  stampDay: "", // the wall clock's day, on which intakes are stamped (see readClock)
  grouped: [], // deputies grouped at the station (registry)
  onDuty: [], // deputies scheduled today (registry lookup)
  schedules: [],
  issues: [], // today's reception intakes at the station (the platform's list), newest first
  pending: [], // intakes recorded here and not yet in that list
  present: new Map(), // deputy code -> ticked "received voters here" by hand
  failed: new Map(), // deputy code -> why its oversight record was refused
  attempt: null,
};
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- days

/** "YYYY-MM-DD" in China time of a platform timestamp. */
function chinaDay(value) {
  return new Date(value).toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });
}

/** A calendar day for people: 2026年12月15日星期二 / Tuesday, December 15, 2026. */
function longDay(isoDay) {
  return new Date(`${isoDay}T12:00:00+08:00`).toLocaleDateString(locale(), {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "long",
    day: "numeric",
    weekday: "long",
  });
}

/** The platform's day, and the wall clock's: an intake is stamped by the wall clock (the gateway's Date header
 *  says when that is), the schedules and records go by the platform clock. The two are one day except where
 *  the platform clock was moved forward (tests, demos); there today's intakes are those stamped today. */
async function readClock() {
  const response = await api("clock/", { raw: true });
  const clock = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, clock.detail || response.statusText);
  const wall = Date.parse(response.headers.get("Date") || "") || Date.now();
  return { today: chinaDay(clock.now), stampDay: chinaDay(wall) };
}

function scheduledOn(schedule, isoDay) {
  const dayOfMonth = Number(isoDay.slice(8, 10));
  const weekday = new Date(`${isoDay}T00:00:00Z`).getUTCDay() || 7; // ISO: 1 Monday .. 7 Sunday
  return (schedule.days_of_month || []).includes(dayOfMonth) || (schedule.weekdays || []).includes(weekday);
}

function isReceptionDay(isoDay) {
  return ctx.schedules.some((schedule) => scheduledOn(schedule, isoDay));
}

function nextReceptionDay() {
  for (let n = 1; n <= LOOK_AHEAD_DAYS; n += 1) {
    const candidate = addDays(ctx.today, n);
    if (isReceptionDay(candidate)) return candidate;
  }
  return null;
}

function showDay() {
  $("station-name").textContent = ctx.station.name;
  $("today").textContent = t("reception.day.today", { date: longDay(ctx.today) });
  const state = $("day-state");
  const next = $("next-day");
  if (!ctx.schedules.length) {
    state.textContent = t("reception.day.noSchedule");
    state.dataset.state = "no-schedule";
    next.hidden = true;
    return;
  }
  const yes = isReceptionDay(ctx.today);
  state.textContent = t(yes ? "reception.day.yes" : "reception.day.no");
  state.dataset.state = yes ? "reception-day" : "not-reception-day";
  const coming = yes ? null : nextReceptionDay();
  next.hidden = !coming;
  if (coming) {
    next.textContent = t("reception.day.next", { date: longDay(coming) });
    next.dataset.day = coming;
  }
}

// ---------------------------------------------------------------- deputies and counts

function deputyName(code) {
  return [...ctx.onDuty, ...ctx.grouped].find((d) => d.code === code)?.name;
}

function deputyLabel(deputy) {
  return `${deputy.name}（${t(`reception.level.${deputy.congress_level}`)}）`;
}

/** Today's intakes: the platform's list, and those recorded here that it does not show yet. One recorded here
 *  and not yet known by its number is taken to be a listed issue of the same deputy and text that no other
 *  intake recorded here claims (the list may show an issue a moment before its submission says its number). */
function todaysRows() {
  const numbered = new Set(ctx.pending.map((item) => item.number).filter(Boolean));
  const unclaimed = ctx.issues.filter((issue) => !numbered.has(issue.number));
  const listed = new Set(ctx.issues.map((issue) => issue.number));
  const waiting = ctx.pending.filter((item) => {
    if (item.number) return !listed.has(item.number);
    const same = unclaimed.findIndex((issue) => issue.deputy_code === item.deputy_code && issue.text.slice(0, 80) === item.text);
    if (same < 0) return true;
    unclaimed.splice(same, 1);
    return false;
  });
  return { waiting, listed: ctx.issues };
}

function countOf(code) {
  const { waiting, listed } = todaysRows();
  return listed.filter((issue) => issue.deputy_code === code).length + waiting.filter((item) => item.deputy_code === code).length;
}

/** The deputies to show for today: those on duty, then any other who received voters here today. */
function dutyDeputies() {
  const shown = [...ctx.onDuty];
  const codes = new Set(shown.map((d) => d.code));
  const { waiting, listed } = todaysRows();
  for (const code of [...listed.map((i) => i.deputy_code), ...waiting.map((i) => i.deputy_code)]) {
    if (!code || codes.has(code)) continue;
    codes.add(code);
    shown.push(ctx.grouped.find((d) => d.code === code) || { code, name: code, congress_level: "" });
  }
  return shown;
}

function recordedKey() {
  return `reception.recorded.${ctx.station.code}.${ctx.today}`; // deputies' codes and counts only, no voter's data
}

function recorded() {
  try {
    return JSON.parse(localStorage.getItem(recordedKey()) || "{}");
  } catch {
    return {};
  }
}

function keepRecorded(done) {
  localStorage.setItem(recordedKey(), JSON.stringify(done));
}

function isPresent(code) {
  return ctx.present.has(code) ? ctx.present.get(code) : countOf(code) > 0;
}

function renderDuty() {
  const deputies = dutyDeputies();
  const done = recorded();
  $("duty-title").textContent = t("reception.duty.title");
  const list = clear($("duty-list"));
  for (const deputy of deputies) {
    const n = countOf(deputy.code);
    const item = el(
      "li",
      { "data-testid": "duty-item", dataset: { deputy: deputy.code } },
      el(
        "div",
        { class: "duty-head" },
        el("strong", { "data-testid": "duty-name" }, deputy.name),
        deputy.congress_level ? el("span", { class: "level" }, t(`reception.level.${deputy.congress_level}`)) : null,
        el("span", { class: "count", "data-testid": "duty-count", dataset: { n } }, t("reception.duty.count", { n })),
      ),
    );
    if (deputy.code in done) {
      item.append(el("p", { class: "muted", "data-testid": "duty-recorded" }, t("reception.duty.recorded", { n: done[deputy.code] })));
    } else {
      const box = el("input", {
        type: "checkbox",
        "data-testid": "duty-present",
        checked: isPresent(deputy.code),
        onchange: (event) => ctx.present.set(deputy.code, event.target.checked),
      });
      item.append(el("label", { class: "inline" }, box, el("span", {}, t("reception.duty.present"))));
      if (ctx.failed.has(deputy.code)) {
        item.append(el("p", { class: "error", "data-testid": "duty-failed" }, t("reception.duty.failed", { reason: ctx.failed.get(deputy.code) })));
      }
    }
    list.append(item);
  }
  if (!deputies.length) list.append(el("li", { class: "muted", "data-testid": "duty-none" }, t("reception.duty.none")));
  $("close-day").hidden = !deputies.some((deputy) => !(deputy.code in done));
}

// ---------------------------------------------------------------- today's intakes

async function loadToday() {
  const found = [];
  for (let page = 0; page < LIST_PAGES_MAX; page += 1) {
    const query = { unit: ctx.station.unit_code, scope: "received", order: "desc", limit: LIST_PAGE, offset: page * LIST_PAGE };
    const answer = await api(`issues/?${new URLSearchParams(query)}`);
    let older = false;
    for (const issue of answer.items) {
      const received = chinaDay(issue.received_at);
      if (received < ctx.stampDay) {
        older = true;
        break;
      }
      if (received === ctx.stampDay && issue.channel === "reception" && issue.station_code === ctx.station.code) found.push(issue);
    }
    if (older || !answer.items.length || (page + 1) * LIST_PAGE >= answer.total) break;
  }
  ctx.issues = found;
  await numberPending();
  renderToday();
}

/** The numbers of intakes recorded here that the list may already show. */
async function numberPending() {
  const waiting = ctx.pending.filter((item) => !item.number);
  const statuses = await Promise.all(waiting.map((item) => api(item.status_url).catch(() => null)));
  waiting.forEach((item, n) => {
    if (statuses[n]?.issue_number) item.number = statuses[n].issue_number;
  });
  const listed = new Set(ctx.issues.map((issue) => issue.number));
  ctx.pending = ctx.pending.filter((item) => !item.number || !listed.has(item.number)); // the list shows it now
}

function refresh() {
  return loadToday().catch(showError);
}

function deputyCell(code) {
  if (!code) return "";
  const known = deputyName(code);
  return known || nameNode("deputies", code);
}

const TONE = { completed: "ok", fed_back: "ok", rated: "ok", closed: "ok", resolved_on_spot: "ok", pending_review: "warn" };

function pendingRow(item) {
  const state = item.number ? label("state", "received") : t(item.slow ? "reception.list.slow" : "reception.list.numbering");
  return el(
    "tr",
    { "data-testid": "today-item", dataset: { pending: "true", deputy: item.deputy_code, number: item.number || "" } },
    el("td", { class: "number", "data-testid": "today-number" }, item.number || "…"),
    el("td", { "data-testid": "today-deputy" }, deputyCell(item.deputy_code)),
    el("td", {}, el("span", { class: "clip", "data-testid": "today-text" }, item.text)),
    el("td", {}, el("span", { class: "badge warn", "data-testid": "today-state", dataset: { state: item.number ? "received" : "numbering" } }, state)),
    el("td", { class: "wide muted" }, when(item.at)),
  );
}

function issueRow(issue) {
  return el(
    "tr",
    { "data-testid": "today-item", dataset: { deputy: issue.deputy_code || "", number: issue.number } },
    el("td", { class: "number", "data-testid": "today-number" }, issue.number),
    el("td", { "data-testid": "today-deputy" }, deputyCell(issue.deputy_code)),
    el("td", {}, el("span", { class: "clip", "data-testid": "today-text" }, issue.text.slice(0, 80))),
    el("td", {}, el("span", { class: `badge ${TONE[issue.state] || ""}`, "data-testid": "today-state", dataset: { state: issue.state } }, label("state", issue.state))),
    el("td", { class: "wide muted" }, when(issue.received_at)),
  );
}

function renderToday() {
  const { waiting, listed } = todaysRows();
  const body = clear($("today-list"));
  body.append(...waiting.map(pendingRow), ...listed.map(issueRow));
  const n = waiting.length + listed.length;
  $("today-total").textContent = t("reception.list.total", { n });
  $("today-empty").hidden = n > 0;
  $("today-table").hidden = n === 0;
  renderDuty();
}

// ---------------------------------------------------------------- the intake form

function readForm() {
  const form = $("intake-form");
  const problems = [];
  const deputy = $("deputy").value;
  const kind = form.querySelector("input[name=kind]:checked")?.value;
  const text = $("text").value.trim();
  const name = $("voter-name").value.trim();
  const phone = $("voter-phone").value.trim();
  if (!deputy) problems.push("deputy_code");
  if (!kind) problems.push("kind");
  if (!text || text.length > TEXT_MAX) problems.push("text");
  if (name.length > NAME_MAX) problems.push("voter.name");
  if (phone && !PHONE.test(phone)) problems.push("voter.phone");
  const body = { channel: "reception", station_code: ctx.station.code, kind, text, deputy_code: deputy };
  if (name || phone) body.voter = { ...(name ? { name } : {}), ...(phone ? { phone } : {}) };
  return { body, problems };
}

/** Ready for the next voter: everything cleared, the deputy to be chosen again. */
function resetForm() {
  const form = $("intake-form");
  form.reset();
  form.querySelector("input[name=kind][value=problem]").checked = true;
  errors.clear();
  $("deputy").focus();
}

async function record() {
  errors.clear();
  const { body, problems } = readForm();
  if (errors.showProblems(problems)) return;
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("reception.form.sending");
  try {
    const accepted = await api("intakes", { method: "POST", body, headers: { "Idempotency-Key": keyFor(ctx, body) } });
    ctx.attempt = null;
    const item = { submission_id: accepted.submission_id, status_url: accepted.status_url, deputy_code: body.deputy_code, text: body.text.slice(0, 80), at: Date.now(), number: null };
    ctx.pending.unshift(item);
    const tracking = $("last-tracking");
    clear(tracking).append(t("reception.tracking"), " ", el("strong", { "data-testid": "tracking-code" }, accepted.tracking_code));
    tracking.hidden = false;
    resetForm();
    notify(t("reception.form.sent"), "ok");
    renderToday();
    follow(item);
  } catch (error) {
    errors.showRefusal(error);
  } finally {
    button.disabled = false;
    button.textContent = t("reception.form.submit");
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ask what became of a submission until it has its issue number, then bring the list up to date. */
async function follow(item) {
  for (let n = 0; n < FOLLOW_TRIES; n += 1) {
    await sleep(FOLLOW_EVERY_MS);
    const status = await api(item.status_url).catch(() => null);
    if (status?.issue_number) {
      item.number = status.issue_number;
      await refresh();
      return;
    }
  }
  item.slow = true;
  renderToday();
}

function buildForm() {
  const kinds = labels("kind");
  for (const code of KIND_ORDER) {
    $("kinds").append(
      el("label", { class: "chip" }, el("input", { type: "radio", name: "kind", value: code, "data-testid": `kind-${code}` }), el("span", {}, kinds[code] || code)),
    );
  }
  const select = $("deputy");
  select.append(el("option", { value: "" }, t("reception.form.pickDeputy")));
  const onDuty = new Set(ctx.onDuty.map((d) => d.code));
  if (ctx.onDuty.length) select.append(el("optgroup", { label: t("reception.form.onDuty") }, ...ctx.onDuty.map((d) => el("option", { value: d.code }, deputyLabel(d)))));
  const others = ctx.grouped.filter((d) => !onDuty.has(d.code));
  if (others.length) select.append(el("optgroup", { label: t("reception.form.others") }, ...others.map((d) => el("option", { value: d.code }, deputyLabel(d)))));
  const form = $("intake-form");
  form.querySelector("input[name=kind][value=problem]").checked = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    record();
  });
  form.addEventListener("input", (event) => errors.clearField(event.target.name));
  form.addEventListener("change", (event) => errors.clearField(event.target.name));
}

// ---------------------------------------------------------------- the day's oversight records

/** The same id for a deputy's reception at this station on this day, from any desk, on any retry: one record. */
function recordId(code) {
  const plain = `RC-${ctx.station.code}-${ctx.today}-${code}`;
  if (RECORD_ID.test(plain)) return plain;
  let hash = 0x811c9dc5; // FNV-1a of the long form
  for (const ch of plain) hash = Math.imul(hash ^ ch.codePointAt(0), 0x01000193) >>> 0;
  return `RC-${ctx.today}-${hash.toString(16)}`;
}

async function recordReceptions() {
  const error = $("close-error");
  error.hidden = true;
  const done = recorded();
  const chosen = dutyDeputies().filter((deputy) => !(deputy.code in done) && isPresent(deputy.code));
  if (!chosen.length) {
    error.textContent = t("reception.close.nothing");
    error.hidden = false;
    return;
  }
  const button = $("record-receptions");
  button.disabled = true;
  let logged = 0;
  try {
    for (const deputy of chosen) {
      const voters = countOf(deputy.code);
      const body = { record_id: recordId(deputy.code), deputy_code: deputy.code, station_code: ctx.station.code, kind: "reception", held_on: ctx.today, voters_met: voters };
      if (isReceptionDay(ctx.today)) body.note = RECEPTION_STRINGS["zh-CN"]["reception.close.note"]; // a record's note is data: in the source's words
      try {
        await api("oversight/records/contacts", { method: "POST", body });
        done[deputy.code] = voters;
        ctx.failed.delete(deputy.code);
        keepRecorded(done);
        logged += 1;
      } catch (failure) {
        if (!(failure instanceof ApiError)) throw failure;
        ctx.failed.set(deputy.code, failure.detail || String(failure.status));
      }
    }
    if (logged) notify(t("reception.close.done", { n: logged }), "ok");
  } catch (failure) {
    error.textContent = failure instanceof ApiError ? failure.detail : t("reception.err.network");
    error.hidden = false;
  } finally {
    button.disabled = false;
    renderDuty();
  }
}

// ---------------------------------------------------------------- start

async function findStation(unitCode) {
  if (!unitCode) return null;
  const found = await api(`registry/stations?${new URLSearchParams({ unit_code: unitCode, kind: "town_center" })}`);
  return found.items[0] || null;
}

function stop(message) {
  $("loading").hidden = true;
  $("not-allowed").textContent = message;
  $("not-allowed").hidden = false;
}

async function start() {
  const account = await requireSignIn();
  ctx.account = account;
  mountHeader("page.reception", account);
  if (!ROLES.includes(account.role)) return stop(t("reception.notAllowed"));
  const [station, clock] = await Promise.all([findStation(account.unit_code), readClock()]);
  if (!station) return stop(t("reception.noStation"));
  ctx.station = station;
  ctx.today = clock.today;
  ctx.stampDay = clock.stampDay;
  const code = encodeURIComponent(station.code);
  const [grouped, onDuty, schedules] = await Promise.all([
    api(`registry/deputies?station_code=${code}&limit=500`),
    api(`registry/lookups/on-duty/${code}?date=${ctx.today}`),
    api(`registry/receptions?station_code=${code}&limit=500`),
  ]);
  ctx.grouped = grouped.items;
  ctx.onDuty = onDuty;
  ctx.schedules = schedules.items;
  $("loading").hidden = true;
  for (const id of ["day", "desk", "today-intakes"]) $(id).hidden = false;
  $("review-link").hidden = !(PAGES_BY_ROLE[account.role] || []).includes("review");
  showDay();
  buildForm();
  $("record-receptions").addEventListener("click", recordReceptions);
  $("today-refresh").addEventListener("click", refresh);
  renderToday();
  await refresh();
  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_EVERY_MS);
  document.body.dataset.ready = "true";
  $("deputy").focus();
}

start().catch((error) => {
  $("loading").hidden = true;
  showError(error);
});
