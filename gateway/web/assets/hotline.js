// The deputies' hotline (代表热线) at the district deputies' home: take a call, see what the caller's number
// raised before, tell the caller where an earlier issue stands instead of recording it twice, record a new
// issue at a station of the operator's area, and record a fed-back issue's rating on the caller's behalf.
import { api, ApiError, clear, day, el, mountHeader, notify, PAGES_BY_ROLE, requireSignIn, showError, t, when } from "./common.js";
import { addStrings, label, labels } from "./i18n.js";
import { fieldErrors, keyFor } from "./field-errors.js";
import { HOTLINE_STRINGS } from "./hotline-strings.js";
import { describeEvent } from "./village-history.js";
import { VILLAGE_STRINGS } from "./village-strings.js";

addStrings(VILLAGE_STRINGS); // the names of an issue's events, shared with the station desk's history
addStrings(HOTLINE_STRINGS);

const KIND_ORDER = ["problem", "opinion", "suggestion"];
const SATISFACTION_ORDER = ["satisfied", "basically_satisfied", "dissatisfied"];
const PHONE = /^\+?[0-9][0-9 -]{4,19}$/; // as the platform checks it (gateway/schemas.py Phone)
const LOOKUP_AFTER_MS = 600; // typing pauses this long with a whole number: look the caller up
const LOOKUP_MIN_DIGITS = 7;
const FOLLOW_EVERY_MS = 1000;
const FOLLOW_TRIES = 60;
const OPEN_STATES = ["assigned", "in_progress"]; // a deadline is worth telling only while it runs
const INPUT_OF_FIELD = {
  "voter.phone": "caller-phone",
  "voter.name": "voter-name",
  "voter.address": "voter-address",
  station_code: "station",
  text: "text",
};

const errors = fieldErrors({
  prefix: "hotline",
  inputOf: (field) => INPUT_OF_FIELD[field] && document.getElementById(INPUT_OF_FIELD[field]),
});
const page = { account: null, stations: [], towns: new Map(), attempt: null, detail: null, callerDigits: null, lookupTimer: null };
const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- registry names

const names = new Map();
function nameOf(kind, code) {
  const key = `${kind}:${code}`;
  if (!names.has(key)) names.set(key, api(`registry/${kind}/${encodeURIComponent(code)}`).then((found) => found?.name || code, () => code));
  return names.get(key);
}

/** A span showing a code at once and the registry's name for it when it arrives. */
function named(kind, code) {
  const span = el("span", { class: "named" }, code);
  if (code) nameOf(kind, code).then((name) => (span.textContent = name));
  return span;
}

// ---------------------------------------------------------------- stations of the operator's area

function inArea(station) {
  const unit = page.account.unit_code;
  return !unit || station.unit_code.startsWith(unit);
}

async function loadStations() {
  const unit = page.account.unit_code;
  const [found, towns] = await Promise.all([
    api("registry/stations?limit=5000"),
    unit ? api(`registry/lookups/subtree/${encodeURIComponent(unit)}?tier=town`) : Promise.resolve([]),
  ]);
  page.stations = found.items.filter(inArea).sort((a, b) => a.code.localeCompare(b.code));
  page.towns = new Map(towns.map((town) => [town.code, town.name]));
  const home = page.stations.find((s) => s.kind === "deputies_home" && s.unit_code === unit) || page.stations[0];
  fillStations("", home?.code);
}

function groupOf(station) {
  const town = station.unit_code.slice(0, 9);
  return station.unit_code.length >= 9 ? page.towns.get(town) || town : t("hotline.record.district");
}

function fillStations(filter, wanted) {
  const select = $("station");
  const keep = wanted || select.value;
  clear(select);
  const words = filter.trim();
  const shown = page.stations.filter((s) => !words || s.name.includes(words) || groupOf(s).includes(words));
  const groups = new Map();
  for (const station of shown) {
    const name = groupOf(station);
    if (!groups.has(name)) groups.set(name, el("optgroup", { label: name }));
    groups.get(name).append(el("option", { value: station.code }, station.name));
  }
  select.append(...groups.values());
  if (shown.some((s) => s.code === keep)) select.value = keep;
}

// ---------------------------------------------------------------- field errors

// ---------------------------------------------------------------- the caller's earlier issues

function callerPhone() {
  return $("caller-phone").value.trim();
}

async function lookUpCaller() {
  clearTimeout(page.lookupTimer);
  const phone = callerPhone();
  errors.clear($("call"));
  if (!PHONE.test(phone)) return errors.show("voter.phone", errors.message("voter.phone"));
  const digits = phone.replace(/\D/g, "");
  page.callerDigits = digits;
  $("caller").hidden = false;
  $("caller-summary").textContent = t("hotline.caller.loading");
  clear($("caller-issues"));
  let items = null;
  try {
    items = (await api(`callers?phone=${encodeURIComponent(digits)}`)).items || [];
  } catch (error) {
    if (page.callerDigits !== digits) return;
    const noRoute = error instanceof ApiError && (error.status === 405 || (error.status === 404 && error.detail === "Not Found"));
    if (noRoute || !(error instanceof ApiError) || error.status >= 500) {
      $("caller-summary").textContent = t("hotline.caller.unavailable");
      $("caller").dataset.state = "unavailable";
      return;
    }
    if (error.status !== 404) return showError(error);
    items = [];
  }
  if (page.callerDigits !== digits) return; // another number was typed meanwhile
  $("caller").dataset.state = items.length ? "found" : "none";
  $("caller-summary").textContent = items.length ? t("hotline.caller.count", { n: items.length }) : t("hotline.caller.none");
  $("caller-issues").append(...items.map(callerCard));
}

function whereNow(issue) {
  if (!issue.tier) return null;
  return el("span", {}, `${t("hotline.detail.now")} ${label("tier", issue.tier)}`, issue.unit ? " · " : "", issue.unit ? named("units", issue.unit) : null);
}

function callerCard(issue) {
  const meta = [
    issue.category ? label("category", issue.category) : null,
    whereNow(issue),
    issue.handler_code ? el("span", {}, `${t("hotline.detail.handler")} `, named("handlers", issue.handler_code)) : null,
    issue.deadline ? `${t("hotline.detail.deadline")} ${issue.deadline}` : null,
  ].filter(Boolean);
  return el(
    "li",
    { "data-testid": "caller-issue", dataset: { number: issue.number, state: issue.state } },
    el(
      "div",
      { class: "card-head" },
      el("strong", { class: "number", "data-testid": "caller-issue-number" }, issue.number),
      el("span", { class: `badge ${tone(issue.state)}`, "data-testid": "caller-issue-state" }, label("state", issue.state)),
      el("span", { class: "muted" }, day(issue.received_at)),
      issue.voter ? el("span", { class: "muted", "data-testid": "caller-voter" }, issue.voter) : null,
    ),
    el("p", { class: "clip" }, issue.text),
    el("p", { class: "muted" }, ...meta.flatMap((part, n) => (n ? [" · ", part] : [part]))),
    el("button", { type: "button", "data-testid": "caller-issue-open", onclick: () => openIssue(issue.number) }, t("hotline.caller.open")),
  );
}

function tone(state) {
  if (["closed", "rated", "fed_back", "resolved_on_spot", "completed"].includes(state)) return "ok";
  if (["assigned", "in_progress", "pending_review"].includes(state)) return "warn";
  return "";
}

// ---------------------------------------------------------------- one issue: where it stands

async function openIssue(number) {
  $("open-error").hidden = true;
  let issue;
  try {
    issue = await api(`issues/${encodeURIComponent(number)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      $("open-error").textContent = t("hotline.open.notFound", { number });
      $("open-error").hidden = false;
      return;
    }
    return showError(error);
  }
  page.detail = issue;
  renderDetail(issue);
  $("detail").scrollIntoView({ block: "start" });
}

function fact(name, value, testid) {
  if (value === undefined || value === null || value === "") return [];
  return [el("dt", {}, t(name)), el("dd", { "data-testid": testid }, value)];
}

function renderDetail(issue) {
  $("detail").hidden = false;
  $("detail").dataset.number = issue.number;
  $("detail-title").textContent = issue.number;
  const kinds = [label("channel", issue.channel), label("kind", issue.kind), issue.category && label("category", issue.category)];
  clear($("detail-facts")).append(
    ...fact("hotline.detail.state", el("span", { class: `badge ${tone(issue.state)}` }, label("state", issue.state)), "detail-state"),
    ...fact("hotline.detail.kind", kinds.filter(Boolean).join(" · ")),
    ...fact("hotline.detail.text", issue.text, "detail-text"),
    ...fact("hotline.detail.station", named("stations", issue.station_code)),
    ...fact("hotline.detail.received", when(issue.received_at)),
    ...fact("hotline.detail.voter", issue.voter, "detail-voter"),
    ...fact("hotline.detail.now", issue.tier && el("span", {}, label("tier", issue.tier), issue.unit ? " · " : "", issue.unit ? named("units", issue.unit) : null)),
    ...fact("hotline.detail.handler", issue.handler_code && named("handlers", issue.handler_code)),
    ...fact("hotline.detail.deadline", issue.deadline),
    ...fact("hotline.detail.satisfaction", issue.satisfaction && label("satisfaction", issue.satisfaction), "detail-satisfaction"),
  );
  $("same-actions").hidden = false;
  $("script").hidden = true;
  $("rate-form").hidden = issue.state !== "fed_back";
  $("rate-error").hidden = true;
  const history = clear($("detail-history"));
  for (const entry of issue.history || []) {
    const { title, lines } = describeEvent(entry, { t, label, named, day });
    history.append(
      el(
        "li",
        { dataset: { type: entry.type } },
        el("div", { class: "step-head" }, el("strong", {}, title), el("span", { class: "muted" }, when(entry.occurred_at))),
        ...lines.map((line) => el("p", { class: "line" }, ...[line].flat())),
      ),
    );
  }
}

/** What to tell the caller, in one sentence: the state, where it sits, who handles it by when, the result. */
async function progressWords(issue) {
  const parts = [t("hotline.say.lead", { number: issue.number, state: label("state", issue.state) })];
  if (issue.unit && !["closed", "rated", "fed_back"].includes(issue.state)) {
    parts.push(t("hotline.say.at", { tier: label("tier", issue.tier), unit: await nameOf("units", issue.unit) }));
  }
  if (issue.handler_code) parts.push(t("hotline.say.handler", { handler: await nameOf("handlers", issue.handler_code) }));
  if (issue.deadline && OPEN_STATES.includes(issue.state)) parts.push(t("hotline.say.deadline", { deadline: issue.deadline }));
  const said = [...(issue.history || [])].reverse().map((e) => e.details?.message || e.details?.result || e.details?.resolution).find(Boolean);
  if (said) parts.push(t("hotline.say.result", { result: said }));
  return parts.join("") + t("hotline.say.end");
}

async function sameMatter() {
  const issue = page.detail;
  if (!issue) return;
  $("script-text").textContent = await progressWords(issue);
  $("script").hidden = false;
  for (const id of ["text", "voter-name", "voter-address"]) $(id).value = ""; // nothing is recorded twice
  addRecorded({ id: `told:${issue.number}:${Date.now()}`, state: "told", number: issue.number, kind: issue.kind, text: issue.text });
  notify(t("hotline.same.told"), "ok");
}

function recordAnyway() {
  $("record").scrollIntoView({ block: "start" });
  $("text").focus();
}

async function rate() {
  const issue = page.detail;
  const form = $("rate-form");
  const error = $("rate-error");
  error.hidden = true;
  const satisfaction = form.querySelector("input[name=satisfaction]:checked")?.value;
  if (!satisfaction) {
    error.textContent = t("hotline.rate.pick");
    error.hidden = false;
    return;
  }
  const body = { satisfaction };
  const comment = $("rate-comment").value.trim();
  if (comment) body.comment = comment;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`issues/${encodeURIComponent(issue.number)}/rating`, { method: "POST", body });
    form.reset();
    form.hidden = true;
    notify(t("hotline.rate.done"), "ok");
    await followRating(issue.number);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409) {
      error.textContent = t("hotline.rate.cannot", { reason: failure.detail });
      error.hidden = false;
    } else showError(failure);
  } finally {
    button.disabled = false;
  }
}

async function followRating(number) {
  for (let n = 0; n < 15; n += 1) {
    await sleep(FOLLOW_EVERY_MS);
    if (page.detail?.number !== number) return;
    const issue = await api(`issues/${encodeURIComponent(number)}`).catch(() => null);
    if (issue && issue.state !== "fed_back") {
      page.detail = issue;
      renderDetail(issue);
      return;
    }
  }
}

// ---------------------------------------------------------------- recording a new issue

function readForm() {
  const form = $("intake-form");
  const value = (id) => $(id).value.trim();
  const body = { channel: "hotline", station_code: value("station"), kind: form.querySelector("input[name=kind]:checked")?.value, text: value("text") };
  const voter = {};
  if (callerPhone()) voter.phone = callerPhone();
  if (value("voter-name")) voter.name = value("voter-name");
  if (value("voter-address")) voter.address = value("voter-address");
  if (Object.keys(voter).length) body.voter = voter;
  const problems = [];
  if (!page.stations.some((s) => s.code === body.station_code)) problems.push("station_code");
  if (!body.kind) problems.push("kind");
  if (!body.text || body.text.length > 5000) problems.push("text");
  if (voter.phone && !PHONE.test(voter.phone)) problems.push("voter.phone");
  if ((voter.name || "").length > 50) problems.push("voter.name");
  if ((voter.address || "").length > 200) problems.push("voter.address");
  return { body, problems };
}

async function record() {
  errors.clear();
  const { body, problems } = readForm();
  if (errors.showProblems(problems)) return;
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("hotline.record.sending");
  try {
    const accepted = await api("intakes", { method: "POST", body, headers: { "Idempotency-Key": keyFor(page, body) } });
    page.attempt = null;
    const item = {
      id: accepted.submission_id,
      status_url: accepted.status_url,
      tracking_code: accepted.tracking_code,
      state: "waiting",
      kind: body.kind,
      text: body.text,
    };
    addRecorded(item);
    notify(t("hotline.record.sent"), "ok");
    nextCall();
    follow(item);
  } catch (error) {
    errors.showRefusal(error);
  } finally {
    button.disabled = false;
    button.textContent = t("hotline.record.submit");
  }
}

/** Ask what became of a submission until it has its issue number. */
async function follow(item) {
  for (let n = 0; n < FOLLOW_TRIES; n += 1) {
    await sleep(FOLLOW_EVERY_MS);
    const status = await api(item.status_url).catch(() => null);
    if (status?.issue_number) {
      Object.assign(item, { state: "numbered", number: status.issue_number });
      renderRecorded();
      return;
    }
  }
  item.state = "slow";
  renderRecorded();
}

const recorded = [];

function addRecorded(item) {
  Object.assign(item, { at: Date.now(), text: item.text.slice(0, 80) }); // the same object follow() updates
  recorded.unshift(item);
  renderRecorded();
}

const RECORDED_TONE = { waiting: "warn", numbered: "ok", told: "", slow: "warn" };

function renderRecorded() {
  $("recorded-empty").hidden = recorded.length > 0;
  clear($("recorded")).append(
    ...recorded.map((item) =>
      el(
        "li",
        { "data-testid": "recorded-item", dataset: { state: item.state } },
        el(
          "div",
          { class: "card-head" },
          el("span", { class: `badge ${RECORDED_TONE[item.state]}`, "data-testid": "recorded-state" }, t(`hotline.recorded.${item.state === "slow" ? "waiting" : item.state}`)),
          item.number ? el("strong", { class: "number", "data-testid": "recorded-number" }, item.number) : null,
          el("span", { class: "muted" }, when(item.at)),
        ),
        el("p", { class: "clip" }, `${label("kind", item.kind)} · ${item.text}`),
        item.tracking_code
          ? el("p", { class: "muted" }, t("hotline.tracking"), " ", el("strong", { "data-testid": "recorded-tracking" }, item.tracking_code))
          : null,
        item.state === "slow" ? el("p", { class: "muted" }, t("hotline.recorded.slow")) : null,
        item.number ? el("button", { type: "button", class: "link", "data-testid": "recorded-open", onclick: () => openIssue(item.number) }, t("hotline.open.go")) : null,
      ),
    ),
  );
}

/** Ready for the next caller: the number, the caller's issues and the form cleared; the station kept. */
function nextCall() {
  const station = $("station").value;
  $("intake-form").reset();
  $("caller-form").reset();
  $("intake-form").querySelector("input[name=kind][value=problem]").checked = true;
  fillStations("", station);
  page.callerDigits = null;
  $("caller").hidden = true;
  clear($("caller-issues"));
  errors.clear();
  $("caller-phone").focus();
}

// ---------------------------------------------------------------- start

function chips(container, set, order, name) {
  const all = labels(set);
  for (const code of order) {
    container.append(
      el("label", { class: "chip" }, el("input", { type: "radio", name, value: code, "data-testid": `${name}-${code}` }), el("span", {}, all[code] || code)),
    );
  }
}

function submitting(form, run) {
  $(form).addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
}

function wire() {
  chips($("kinds"), "kind", KIND_ORDER, "kind");
  chips($("satisfactions"), "satisfaction", SATISFACTION_ORDER, "satisfaction");
  $("intake-form").querySelector("input[name=kind][value=problem]").checked = true;
  submitting("caller-form", lookUpCaller);
  submitting("intake-form", record);
  submitting("rate-form", rate);
  submitting("open-form", () => $("open-number").value.trim() && openIssue($("open-number").value.trim()));
  $("caller-phone").addEventListener("input", () => {
    clearTimeout(page.lookupTimer);
    const phone = callerPhone();
    if (phone.replace(/\D/g, "").length >= LOOKUP_MIN_DIGITS && PHONE.test(phone)) page.lookupTimer = setTimeout(lookUpCaller, LOOKUP_AFTER_MS);
  });
  $("station-filter").addEventListener("input", (event) => fillStations(event.target.value));
  $("next-call").addEventListener("click", nextCall);
  $("same-matter").addEventListener("click", sameMatter);
  $("record-anyway").addEventListener("click", recordAnyway);
  $("detail-close").addEventListener("click", () => {
    $("detail").hidden = true;
    page.detail = null;
  });
  $("intake-form").addEventListener("input", (event) => errors.clearField(event.target.name));
  $("intake-form").addEventListener("change", (event) => errors.clearField(event.target.name));
}

async function start() {
  page.account = await requireSignIn();
  mountHeader("page.hotline", page.account);
  if (!(PAGES_BY_ROLE[page.account.role] || []).includes("hotline")) {
    $("not-allowed").textContent = t("hotline.notAllowed");
    $("not-allowed").hidden = false;
    return;
  }
  $("desk").hidden = false;
  wire();
  renderRecorded();
  try {
    await loadStations();
  } catch (error) {
    showError(error);
  }
  $("caller-phone").focus();
}

start();
