// The voters' page, phone first and without an account: raise a problem, opinion or suggestion at a
// station, get a tracking code, follow the issue with it, and rate the result once it is fed back.
// Only the public API (/api/v1/public) is used; nothing the voter types is kept on the device.
import { api, ApiError, clear, el, mountHeader, notify, t, when } from "./common.js";
import { addStrings, label, labels } from "./i18n.js";
import { fieldErrors, keyFor } from "./field-errors.js";
import { VOTER_STRINGS } from "./voter-strings.js";

addStrings(VOTER_STRINGS);

const PUBLIC = "/api/v1/public";
const KIND_ORDER = ["problem", "opinion", "suggestion"];
const SATISFACTION_ORDER = ["satisfied", "basically_satisfied", "dissatisfied"];
const PHONE = /^\+?[0-9][0-9 -]{4,19}$/; // as the platform checks it (gateway/schemas.py Phone)
const CODE = /^[0-9A-Za-z -]{12,20}$/;
const DISTRICT = "district"; // the town choice that lists the district's own deputies' home and workrooms
const POLL_MS = 2000;
const POLL_MAX = 20;
const SEARCH_MAX = 20;
const WAITING_STEPS = new Set(["received"]); // the platform triages within seconds: keep looking until then

const errors = fieldErrors({
  prefix: "voter",
  inputOf: (field) => field && document.querySelector(`#voter-form [name="${CSS.escape(field)}"]`),
  scroll: true,
});
const page = { stations: [], byCode: new Map(), attempt: null, code: null, polls: 0, timer: null, rated: false };
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- the public API

/** How many seconds a 429 asks us to wait (Retry-After, else RateLimit-Reset), at least one. */
function waitSeconds(headers) {
  const given = Number(headers.get("Retry-After") ?? headers.get("RateLimit-Reset"));
  return Number.isFinite(given) && given > 0 ? Math.ceil(given) : 60;
}

/** The field a 400 names: `extra[0].key`, or the field a missing-field message names ("data" is the body). */
function fieldOf(extra) {
  if (!extra) return null;
  const missing = /missing required field `([\w.]+)`/.exec(extra.message || "");
  return extra.key === "data" && missing ? missing[1] : extra.key;
}

/** A public call: the parsed body, or an ApiError with the field named and, for a 429, `retryAfter`. */
async function publicApi(path, options = {}) {
  const response = await api(`${PUBLIC}/${path}`, { ...options, raw: true });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text };
  }
  if (response.ok) return body;
  const extra = Array.isArray(body?.extra) ? body.extra[0] : null;
  const error = new ApiError(response.status, body?.detail || response.statusText, fieldOf(extra), body);
  if (response.status === 429) error.retryAfter = waitSeconds(response.headers);
  return Promise.reject(error);
}

// ---------------------------------------------------------------- tabs

function showTab(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.dataset.panel !== name;
}

// ---------------------------------------------------------------- choosing a station

function townsOf(stations) {
  const towns = new Map(); // town name → the code of its first station (its center), for the order
  for (const station of stations) {
    if (station.town && !towns.has(station.town)) towns.set(station.town, station.code);
  }
  return [...towns.entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([name]) => name);
}

function fillTowns() {
  const select = clear($("town"));
  select.append(el("option", { value: "" }, t("voter.station.pickTown")), el("option", { value: DISTRICT }, t("voter.station.district")));
  for (const town of townsOf(page.stations)) select.append(el("option", { value: town }, town));
}

function fillStations(town) {
  const select = clear($("station"));
  select.append(el("option", { value: "" }, t("voter.station.pickStation")));
  if (!town) return;
  for (const station of page.stations) {
    if ((town === DISTRICT && !station.town) || station.town === town) select.append(el("option", { value: station.code }, station.name));
  }
}

function choose(station) {
  $("town").value = station.town || DISTRICT;
  fillStations($("town").value);
  $("station").value = station.code;
  $("station-search").value = "";
  $("station-results").hidden = true;
  errors.clearField("station_code");
}

function search(query) {
  const list = clear($("station-results"));
  const words = query.trim();
  list.hidden = !words;
  if (!words) return;
  const found = page.stations.filter((s) => s.name.includes(words) || (s.town || "").includes(words)).slice(0, SEARCH_MAX);
  if (!found.length) list.append(el("li", { class: "muted" }, t("voter.station.none")));
  for (const station of found) {
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "result", "data-testid": "station-result", dataset: { code: station.code }, onclick: () => choose(station) },
          el("span", {}, station.name),
          station.town ? el("span", { class: "muted" }, station.town) : null,
        ),
      ),
    );
  }
}

async function loadStations() {
  const select = $("town");
  select.append(el("option", { value: "" }, t("voter.station.loading")));
  try {
    page.stations = await publicApi("stations");
  } catch (error) {
    errors.show("station_code", error.status === 429 ? t("voter.err.busy", { s: error.retryAfter }) : t("voter.station.failed"));
    return;
  }
  page.byCode = new Map(page.stations.map((s) => [s.code, s]));
  fillTowns();
  fillStations("");
}

// ---------------------------------------------------------------- the form

function chips(container, set, order, name) {
  const all = labels(set);
  for (const code of order) {
    container.append(
      el("label", { class: "chip" }, el("input", { type: "radio", name, value: code, "data-testid": `${name}-${code}` }), el("span", {}, all[code] || code)),
    );
  }
}

/** The body as the public API wants it, and the fields that are wrong by the platform's own rules. */
function readForm() {
  const form = $("voter-form");
  const value = (name) => form.elements[name].value.trim();
  const body = {
    station_code: value("station_code"),
    kind: form.querySelector("input[name=kind]:checked")?.value,
    text: value("text"),
    phone: value("phone"),
  };
  if (value("name")) body.name = value("name");
  if (value("address")) body.address = value("address");
  const problems = [];
  if (!page.byCode.has(body.station_code)) problems.push("station_code");
  if (!body.kind) problems.push("kind");
  if (!body.text || body.text.length > 5000) problems.push("text");
  if (!PHONE.test(body.phone)) problems.push("phone");
  if ((body.name || "").length > 50) problems.push("name");
  if ((body.address || "").length > 200) problems.push("address");
  return { body, problems };
}


function refusal(error) {
  if (!(error instanceof ApiError)) return ["form", t("voter.err.network")];
  if (error.status === 429) return ["form", t("voter.err.busy", { s: error.retryAfter })];
  if (error.status === 400 || error.status === 422) return [error.field, errors.message(error.field, error.detail)];
  return ["form", t("voter.err.server", { status: error.status })];
}

async function submit() {
  errors.clear();
  const { body, problems } = readForm();
  if (errors.showProblems(problems)) return;
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("voter.submitting");
  let wait = 0;
  try {
    const accepted = await publicApi("intakes", { method: "POST", body, headers: { "Idempotency-Key": keyFor(page, body) } });
    page.attempt = null;
    showDone(accepted.tracking_code);
  } catch (error) {
    const [field, message] = refusal(error);
    errors.show(field, message);
    wait = error.status === 429 ? error.retryAfter : 0;
  } finally {
    button.textContent = t("voter.submit");
    setTimeout(() => (button.disabled = false), wait * 1000);
  }
}

function showDone(code) {
  $("voter-form").reset();
  $("submit-section").hidden = true;
  $("done").hidden = false;
  $("done-code").textContent = code;
  $("done").dataset.code = code;
  $("done").scrollIntoView({ block: "start" });
}

async function copyCode() {
  const code = $("done").dataset.code;
  try {
    await navigator.clipboard.writeText(code);
    notify(t("voter.done.copied"), "ok");
  } catch {
    getSelection().selectAllChildren($("done-code")); // at least selected, for the phone's own copy
    notify(t("voter.done.copyFailed"));
  }
}

function another() {
  $("done").hidden = true;
  $("submit-section").hidden = false;
  $("voter-form").querySelector("input[name=kind][value=problem]").checked = true;
  $("text").focus();
}

// ---------------------------------------------------------------- following an issue

function openTrack(code) {
  const shown = code.trim().toUpperCase();
  showTab("track");
  $("track-code").value = shown;
  if (location.hash.slice(1) !== shown) history.replaceState(null, "", `#${shown}`);
  if (shown !== page.code) page.rated = false;
  page.polls = 0;
  track(shown);
}

function say(message, kind = "muted") {
  const node = $("track-message");
  node.textContent = message;
  node.className = kind;
  node.hidden = !message;
}

async function track(code) {
  clearTimeout(page.timer);
  page.code = code;
  if (!code) return say(t("voter.track.empty"), "error");
  if (!CODE.test(code)) {
    $("track-result").hidden = $("rating").hidden = true;
    return say(t("voter.track.notFound"), "error");
  }
  let issue;
  try {
    issue = await publicApi(`track/${encodeURIComponent(code)}`);
  } catch (error) {
    if (code !== page.code) return;
    if (error.status === 404) {
      $("track-result").hidden = $("rating").hidden = true;
      return say(t("voter.track.notFound"), "error");
    }
    const [, message] = refusal(error);
    say(message, "error");
    if (error.status === 429 || !(error instanceof ApiError)) later(code, (error.retryAfter || 5) * 1000);
    return;
  }
  if (code !== page.code) return; // another code was asked for meanwhile
  say("");
  showIssue(issue);
  if (stillMoving(issue)) later(code, POLL_MS);
}

/** Worth looking again soon: not numbered yet, not triaged yet, or a rating just sent and not in yet. */
function stillMoving(issue) {
  if (issue.status === "accepted") return true;
  const last = issue.steps?.at(-1)?.step;
  if (WAITING_STEPS.has(last)) return true;
  return page.rated && !issue.satisfaction && !["rated", "closed"].includes(issue.state) && last !== "reopened";
}

function later(code, ms) {
  if (page.polls >= POLL_MAX) return;
  page.polls += 1;
  page.timer = setTimeout(() => code === page.code && track(code), ms);
}

function fact(name, value, testid) {
  if (value === undefined || value === null || value === "") return [];
  return [el("dt", {}, t(name)), el("dd", { "data-testid": testid }, value)];
}

function showIssue(issue) {
  $("track-result").hidden = false;
  $("track-title").textContent = `${t("voter.track.code")} ${issue.tracking_code}`;
  const facts = clear($("track-facts"));
  const timeline = clear($("timeline"));
  if (issue.status === "accepted") {
    facts.append(el("dt", {}, t("voter.track.state")), el("dd", { "data-testid": "track-state" }, t("voter.track.accepted")));
    $("rating").hidden = true;
    return;
  }
  const kind = [label("kind", issue.kind), issue.category ? label("category", issue.category) : null].filter(Boolean).join(" · ");
  facts.append(
    ...fact("voter.track.number", issue.number, "track-number"),
    ...fact("voter.track.state", el("span", { class: `badge ${tone(issue.state)}` }, label("state", issue.state)), "track-state"),
    ...fact("voter.track.kind", kind, "track-kind"),
    ...fact("voter.track.text", issue.text, "track-text"),
    ...fact("voter.track.station", issue.station, "track-station"),
    ...fact("voter.track.receivedAt", when(issue.received_at), "track-received"),
    ...fact("voter.track.tier", issue.tier && t("voter.track.tierValue", { tier: label("tier", issue.tier) }), "track-tier"),
    ...fact("voter.track.handler", issue.handler, "track-handler"),
    ...fact("voter.track.deadline", issue.deadline, "track-deadline"),
    ...fact("voter.track.satisfaction", issue.satisfaction && label("satisfaction", issue.satisfaction), "track-satisfaction"),
  );
  for (const step of issue.steps || []) timeline.append(stepItem(step));
  showRating(issue);
}

function tone(state) {
  if (["closed", "rated", "fed_back", "resolved_on_spot", "completed"].includes(state)) return "ok";
  if (["assigned", "in_progress", "pending_review"].includes(state)) return "warn";
  return "";
}

function stepItem(step) {
  const name = t(`voter.step.${step.step}`);
  const known = name !== `voter.step.${step.step}`;
  return el(
    "li",
    { "data-testid": "step", dataset: { step: step.step } },
    el("div", { class: "step-head" }, el("strong", { "data-testid": "step-name" }, known ? name : step.step), el("span", { class: "muted" }, when(step.at))),
    known ? el("p", { class: "muted note" }, t(`voter.stepNote.${step.step}`)) : null,
    step.text ? el("p", { class: "said", "data-testid": "step-text" }, step.text) : null,
  );
}

function showRating(issue) {
  const note = $("rating-note");
  const form = $("rating-form");
  $("rating").hidden = false;
  form.hidden = !issue.can_rate;
  note.hidden = issue.can_rate;
  if (issue.can_rate) return;
  if (issue.satisfaction) note.textContent = `${t("voter.track.satisfaction")}：${label("satisfaction", issue.satisfaction)}`;
  else if (page.rated) note.textContent = t("voter.rate.updating");
  else note.textContent = t("voter.rate.later");
  note.dataset.state = issue.satisfaction ? "rated" : "later";
}

async function rate() {
  const error = $("rating-error");
  error.hidden = true;
  const form = $("rating-form");
  const satisfaction = form.querySelector("input[name=satisfaction]:checked")?.value;
  if (!satisfaction) {
    error.textContent = t("voter.rate.pick");
    error.hidden = false;
    return;
  }
  const body = { satisfaction };
  const comment = $("rating-comment").value.trim();
  if (comment) body.comment = comment;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await publicApi(`track/${encodeURIComponent(page.code)}/rating`, { method: "POST", body });
    page.rated = true;
    form.reset();
    notify(t("voter.rate.thanks"), "ok");
    page.polls = 0;
    await track(page.code);
  } catch (failure) {
    error.textContent = failure.status === 409 ? t("voter.rate.cannot") : refusal(failure)[1];
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- start

function codeInHash() {
  return decodeURIComponent(location.hash.slice(1)).trim();
}

function wire() {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  chips($("kinds"), "kind", KIND_ORDER, "kind");
  chips($("satisfactions"), "satisfaction", SATISFACTION_ORDER, "satisfaction");
  $("voter-form").querySelector("input[name=kind][value=problem]").checked = true;
  $("town").addEventListener("change", () => fillStations($("town").value));
  $("station").addEventListener("change", () => errors.clearField("station_code"));
  $("station-search").addEventListener("input", (event) => search(event.target.value));
  $("voter-form").addEventListener("input", (event) => event.target.name && errors.clearField(event.target.name));
  $("voter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  $("copy-code").addEventListener("click", copyCode);
  $("go-track").addEventListener("click", () => openTrack($("done").dataset.code));
  $("another").addEventListener("click", another);
  $("track-form").addEventListener("submit", (event) => {
    event.preventDefault();
    openTrack($("track-code").value);
  });
  $("track-refresh").addEventListener("click", () => openTrack(page.code || $("track-code").value));
  $("rating-form").addEventListener("submit", (event) => {
    event.preventDefault();
    rate();
  });
  window.addEventListener("hashchange", () => codeInHash() && openTrack(codeInHash()));
}

function start() {
  mountHeader("page.voter", null);
  wire();
  loadStations();
  if (codeInHash()) openTrack(codeInHash());
}

start();
