// The village station's desk, made for a phone: record an intake in under a minute (with or without a
// signal), follow it to its issue number, and see what became of every issue the station took in.
import { api, ApiError, clear, day, el, me, mountHeader, notify, PAGES_BY_ROLE, requireSignIn, showError, t, when } from "./common.js";
import { addStrings, label, labels } from "./i18n.js";
import { Outbox, tally, waitingPhotos } from "./outbox.js";
import { VILLAGE_STRINGS } from "./village-strings.js";
import { describeEvent } from "./village-history.js";

addStrings(VILLAGE_STRINGS);

const CHANNEL_ORDER = ["reception", "visit", "hotline", "online", "window", "program"]; // the village mostly receives and visits
const KIND_ORDER = ["problem", "opinion", "suggestion"];
const PHONE = /^\+?[0-9][0-9 -]{4,19}$/; // as the platform checks it (gateway/schemas.py Phone)
const PAGE_SIZE = 20;
const KEEP = "village."; // localStorage prefix: only the account, the station and its deputies' names, never voters' data
const PHOTO_MAX = 5; // as the platform allows (gateway/photos.py)
const PHOTO_SIDE = 1600; // px: a larger photo is drawn smaller before it is queued ...
const PHOTO_QUALITY = 0.85; // ... as a JPEG of this quality: ~300 KB instead of a camera's 5 MB
const PHOTO_KEEP_BYTES = 1024 * 1024; // a photo no larger than PHOTO_SIDE and this goes as it is

const page = { account: null, station: null, deputies: [], outbox: null, editing: null, issuesPage: 0, issuesTotal: 0, photos: [] };
const $ = (id) => document.getElementById(id);

/** A passing message: shown in the shared status line, gone after a few seconds unless replaced. */
function say(message, kind = "info") {
  notify(message, kind);
  setTimeout(() => {
    const bar = document.getElementById("status");
    if (bar && bar.textContent === message) notify("");
  }, 5000);
}

function kept(name) {
  try {
    return JSON.parse(localStorage.getItem(KEEP + name) || "null");
  } catch {
    return null;
  }
}

function keep(name, value) {
  localStorage.setItem(KEEP + name, JSON.stringify(value));
}

/** Is this failure the network's (no signal, gateway restarting) rather than the platform's answer? */
function offlineFailure(error) {
  return !(error instanceof ApiError);
}

// ---------------------------------------------------------------- account, station, deputies

async function loadAccount() {
  try {
    const account = await requireSignIn();
    keep("account", { login: account.login, name: account.name, role: account.role, unit_code: account.unit_code });
    return account;
  } catch (error) {
    const last = kept("account");
    if (offlineFailure(error)) reached(false);
    if (offlineFailure(error) && last) return { ...last, offline: true }; // opened with no signal
    throw error;
  }
}

async function loadStation(unitCode) {
  try {
    const found = await call(`registry/stations?unit_code=${encodeURIComponent(unitCode)}`);
    const station = found.items.find((s) => s.code === unitCode) || found.items[0] || null;
    const slim = station && { code: station.code, name: station.name, kind: station.kind };
    keep(`station.${unitCode}`, slim);
    return slim;
  } catch (error) {
    if (offlineFailure(error)) return kept(`station.${unitCode}`);
    throw error;
  }
}

async function loadDeputies(stationCode) {
  try {
    const found = await call(`registry/deputies?station_code=${encodeURIComponent(stationCode)}&limit=500`);
    const slim = found.items.map((d) => ({ code: d.code, name: d.name, congress_level: d.congress_level }));
    keep(`deputies.${stationCode}`, slim);
    return slim;
  } catch (error) {
    if (offlineFailure(error)) return kept(`deputies.${stationCode}`) || [];
    throw error;
  }
}

// Names of units and handlers, asked once each (they are public registry facts, not personal data).
const names = new Map();
function nameOf(kind, code) {
  const key = `${kind}:${code}`;
  if (!names.has(key)) {
    names.set(
      key,
      api(`registry/${kind}/${encodeURIComponent(code)}`).then(
        (found) => found?.name || code,
        () => {
          names.delete(key); // ask again next time: the signal may be back
          return code;
        },
      ),
    );
  }
  return names.get(key);
}

/** A span showing a code at once and the registry's name for it when it arrives. */
function named(kind, code) {
  const span = el("span", { class: "named" }, code);
  if (code) nameOf(kind, code).then((name) => (span.textContent = name));
  return span;
}

// ---------------------------------------------------------------- online / offline

// navigator.onLine only knows whether there is a network at all; a phone on a weak signal, or a page
// opened with none, can say "online" and still reach nothing. So every request reports whether it
// reached the platform, and while it does not, a light probe asks again.
const net = { reached: true, probe: null };
const PROBE_MS = 5000;

function online() {
  return navigator.onLine !== false && net.reached;
}

function showNet() {
  const on = online();
  const badge = $("net");
  badge.textContent = on ? t("village.net.online") : t("village.net.offline");
  badge.className = `net ${on ? "on" : "off"}`;
  badge.dataset.state = on ? "online" : "offline";
}

/** A request reached the platform (any HTTP answer) or did not (the network failed). */
function reached(yes) {
  const was = online();
  net.reached = yes;
  showNet();
  if (!yes && !net.probe) net.probe = setInterval(probe, PROBE_MS);
  if (yes && net.probe) {
    clearInterval(net.probe);
    net.probe = null;
  }
  if (yes && !was && online()) back();
}

async function probe() {
  if (navigator.onLine === false) return; // the "online" event will say when to try
  try {
    await fetch("/health", { cache: "no-store", credentials: "omit" });
    reached(true);
  } catch {
    // still nothing
  }
}

/** The signal is back: send what waits, and bring the lists up to date. */
async function back() {
  if (page.account?.offline && !(await confirmAccount())) return;
  page.outbox?.flush({ now: true });
  refreshLists();
}

/** Opened with no signal, the page trusted the account this phone last saw. Now that the platform answers,
 * check the session is still that account's before anything is sent with it. */
async function confirmAccount() {
  let who;
  try {
    who = await me();
  } catch {
    return false; // not reachable after all: the probe keeps asking
  }
  if (who === null) return requireSignIn().then(() => false); // the session ended: sign in, the queue waits
  if (who.login !== page.account.login) {
    location.reload(); // someone else signed in on this phone meanwhile: their desk, their queue
    return false;
  }
  page.account.offline = false;
  page.outbox?.start();
  return true;
}

/** api(), noting whether the platform was reached. */
async function call(path, options) {
  try {
    const answer = await api(path, options);
    reached(true);
    return answer;
  } catch (error) {
    reached(!offlineFailure(error));
    throw error;
  }
}

function watchNet() {
  showNet();
  window.addEventListener("online", () => {
    showNet();
    say(t("common.online"), "ok");
    probe();
    if (online()) refreshLists(); // the outbox flushes itself on this event
  });
  window.addEventListener("offline", () => {
    showNet();
    say(t("village.net.offlineNote"));
  });
}

// ---------------------------------------------------------------- tabs

function showTab(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.dataset.panel !== name;
  if (name !== "record") refreshLists();
}

// ---------------------------------------------------------------- the form

function chips(container, set, order, name, testid) {
  const all = labels(set);
  for (const code of order) {
    container.append(
      el(
        "label",
        { class: "chip" },
        el("input", { type: "radio", name, value: code, "data-testid": `${testid}-${code}` }),
        el("span", {}, all[code] || code),
      ),
    );
  }
}

function buildForm() {
  chips($("channels"), "channel", CHANNEL_ORDER, "channel", "channel");
  chips($("kinds"), "kind", KIND_ORDER, "kind", "kind");
  const select = $("deputy");
  select.append(el("option", { value: "" }, t("village.form.noDeputy")));
  for (const deputy of page.deputies) {
    select.append(el("option", { value: deputy.code }, `${deputy.name}（${t(`village.level.${deputy.congress_level}`)}）`));
  }
  resetForm();
  const form = $("intake-form");
  $("submit").disabled = false; // the page can take an intake from here on (until now a tap would do nothing)
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  form.addEventListener("input", (event) => clearFieldError(event.target));
  form.addEventListener("change", (event) => {
    if (event.target.name === "channel") localStorage.setItem(`${KEEP}channel`, event.target.value);
    clearFieldError(event.target);
  });
  $("on-spot").addEventListener("change", () => {
    $("on-spot-how-label").hidden = !$("on-spot").checked;
    if ($("on-spot").checked) $("on-spot-how").focus();
  });
  $("cancel-edit").addEventListener("click", () => resetForm());
  $("photo-input").addEventListener("change", (event) => {
    const files = [...event.target.files];
    event.target.value = ""; // the same photo can be chosen again after it was removed
    addPhotos(files);
  });
}

// ---------------------------------------------------------------- photos

/** A photo as it will be sent: a large one drawn at most PHOTO_SIDE px on its longest side, as a JPEG. */
async function downscaled(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file); // turned upright by its EXIF orientation
  } catch {
    return file; // not something this browser can draw: it goes as it is, and the platform decides
  }
  try {
    const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size <= PHOTO_KEEP_BYTES) return file;
    const canvas = el("canvas", { width: Math.max(1, Math.round(bitmap.width * scale)), height: Math.max(1, Math.round(bitmap.height * scale)) });
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // a transparent PNG turns white, not black, as a JPEG
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", PHOTO_QUALITY));
    return blob || file;
  } finally {
    bitmap.close();
  }
}

async function addPhotos(files) {
  const room = PHOTO_MAX - page.photos.length;
  if (files.length > room) showFieldError("photos", t("village.err.photos", { max: PHOTO_MAX }));
  for (const file of files.slice(0, Math.max(0, room))) {
    const blob = await downscaled(file);
    const name = blob === file ? file.name || "photo" : `${(file.name || "photo").replace(/\.[^.]*$/, "")}.jpg`;
    if (page.photos.length < PHOTO_MAX) page.photos.push({ blob, name, url: URL.createObjectURL(blob) });
  }
  renderPhotos();
}

function removePhoto(photo) {
  URL.revokeObjectURL(photo.url);
  page.photos = page.photos.filter((p) => p !== photo);
  renderPhotos();
}

function setPhotos(photos) {
  for (const photo of page.photos) URL.revokeObjectURL(photo.url);
  page.photos = photos.map(({ blob, name }) => ({ blob, name, url: URL.createObjectURL(blob) }));
  renderPhotos();
}

function renderPhotos() {
  const list = clear($("photo-list"));
  page.photos.forEach((photo, n) => {
    list.append(
      el(
        "li",
        { class: "thumb", "data-testid": "photo-thumb" },
        el("img", { src: photo.url, alt: t("village.form.photoAlt", { n: n + 1 }) }),
        el(
          "button",
          { type: "button", class: "remove", "aria-label": t("village.form.removePhoto"), "data-testid": "photo-remove", onclick: () => removePhoto(photo) },
          "×",
        ),
      ),
    );
  });
  $("photo-count").textContent = page.photos.length ? t("village.form.photoCount", { n: page.photos.length, max: PHOTO_MAX }) : "";
  $("photo-pick").hidden = page.photos.length >= PHOTO_MAX;
}

function resetForm() {
  const form = $("intake-form");
  form.reset();
  const channel = localStorage.getItem(`${KEEP}channel`) || "reception";
  form.querySelector(`input[name=channel][value="${CSS.escape(channel)}"]`)?.click();
  form.querySelector("input[name=kind][value=problem]").checked = true;
  $("on-spot-how-label").hidden = true;
  setPhotos([]);
  page.editing = null;
  $("cancel-edit").hidden = true;
  $("form-title").textContent = t("village.form.title");
  clearErrors();
}

const FIELD_OF_INPUT = {
  text: "text",
  "voter-name": "voter.name",
  "voter-phone": "voter.phone",
  "voter-address": "voter.address",
  "on-spot-how": "on_spot_resolution",
  deputy: "deputy_code",
  channel: "channel",
  kind: "kind",
};
const INPUT_OF_FIELD = Object.fromEntries(Object.entries(FIELD_OF_INPUT).map(([input, field]) => [field, input]));

function clearErrors() {
  for (const node of document.querySelectorAll(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function clearFieldError(input) {
  const field = FIELD_OF_INPUT[input?.name];
  const slot = field && document.querySelector(`.field-error[data-for="${field}"]`);
  if (slot) {
    slot.hidden = true;
    input.removeAttribute("aria-invalid");
  }
}

/** Show a message at the field the platform (or the page) named; unknown fields at the form's foot. */
function showFieldError(field, message) {
  const slot = document.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`) || document.querySelector('.field-error[data-for="form"]');
  slot.textContent = message;
  slot.hidden = false;
  const input = INPUT_OF_FIELD[field] && document.querySelector(`[name="${INPUT_OF_FIELD[field]}"]`);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  slot.scrollIntoView({ block: "center" });
}

/** The message for a field: ours where we have one (in the reader's language), else the platform's. */
function fieldMessage(field, detail) {
  const key = `village.err.${field}`;
  const ours = t(key);
  return ours === key ? detail || t("village.err.generic") : ours;
}

/** The body as IntakeRequest wants it, or the first problem found (the same rules the platform applies). */
function readForm() {
  const form = $("intake-form");
  const value = (name) => form.elements[name].value.trim();
  const body = {
    channel: form.querySelector("input[name=channel]:checked")?.value,
    station_code: page.station.code,
    kind: form.querySelector("input[name=kind]:checked")?.value,
    text: value("text"),
  };
  const voter = {};
  if (value("voter-name")) voter.name = value("voter-name");
  if (value("voter-phone")) voter.phone = value("voter-phone");
  if (value("voter-address")) voter.address = value("voter-address");
  if (Object.keys(voter).length) body.voter = voter;
  if (value("deputy")) body.deputy_code = value("deputy");
  if ($("on-spot").checked) body.on_spot_resolution = value("on-spot-how");
  const problems = [];
  if (!body.channel) problems.push("channel");
  if (!body.kind) problems.push("kind");
  if (!body.text || body.text.length > 5000) problems.push("text");
  if (voter.name && voter.name.length > 50) problems.push("voter.name");
  if (voter.phone && !PHONE.test(voter.phone)) problems.push("voter.phone");
  if (voter.address && voter.address.length > 200) problems.push("voter.address");
  if ($("on-spot").checked && !body.on_spot_resolution) problems.push("on_spot_resolution");
  return { body, problems };
}

function fillForm(body) {
  const form = $("intake-form");
  form.querySelector(`input[name=channel][value="${CSS.escape(body.channel)}"]`).checked = true;
  form.querySelector(`input[name=kind][value="${CSS.escape(body.kind)}"]`).checked = true;
  form.elements.text.value = body.text || "";
  form.elements["voter-name"].value = body.voter?.name || "";
  form.elements["voter-phone"].value = body.voter?.phone || "";
  form.elements["voter-address"].value = body.voter?.address || "";
  form.elements.deputy.value = body.deputy_code || "";
  $("on-spot").checked = Boolean(body.on_spot_resolution);
  $("on-spot-how-label").hidden = !body.on_spot_resolution;
  form.elements["on-spot-how"].value = body.on_spot_resolution || "";
}

function summaryOf(body) {
  return { channel: body.channel, kind: body.kind, text: body.text.slice(0, 80), on_spot: Boolean(body.on_spot_resolution) };
}

async function submit() {
  clearErrors();
  const { body, problems } = readForm();
  if (problems.length) {
    for (const field of problems.reverse()) showFieldError(field, fieldMessage(field));
    return;
  }
  const button = $("submit");
  button.disabled = true;
  try {
    const photos = page.photos.map(({ blob, name }) => ({ blob, name }));
    const amended = page.editing && (await page.outbox.amend(page.editing, body, summaryOf(body), photos));
    if (!amended) await page.outbox.add(body, summaryOf(body), photos); // a new one, or the refused one was discarded meanwhile
    resetForm();
    say(online() ? t("village.sent.sending") : t("village.sent.queued"), "ok");
  } catch (error) {
    showError(error); // the device could not store it (no IndexedDB, disk full): the form keeps what was typed
  } finally {
    button.disabled = false;
  }
}

/** Load a refused item back into the form, with the platform's complaint at its field. */
async function edit(item) {
  fillForm(item.body);
  setPhotos(waitingPhotos(item));
  page.editing = item.id;
  $("cancel-edit").hidden = false;
  $("form-title").textContent = t("village.form.fixTitle");
  showTab("record");
  const field = item.error?.field || "form";
  showFieldError(field, fieldMessage(field, item.error?.detail));
}

// ---------------------------------------------------------------- the device's queue

const OUTBOX_STATE = { queued: "warn", sending: "warn", accepted: "", numbered: "ok", refused: "bad" };

function outboxCard(item) {
  const s = item.summary || {};
  const card = el(
    "li",
    { "data-testid": "outbox-item", dataset: { state: item.state, key: item.key } },
    el(
      "div",
      { class: "card-head" },
      el("span", { class: `badge ${OUTBOX_STATE[item.state]}`, "data-testid": "outbox-state" }, t(`village.outbox.${item.state}`)),
      item.issue_number ? el("strong", { class: "number", "data-testid": "outbox-number" }, item.issue_number) : null,
      el("span", { class: "muted" }, when(item.created_at)),
    ),
    el("p", { class: "muted" }, `${label("channel", s.channel)} · ${label("kind", s.kind)}${s.on_spot ? ` · ${label("state", "resolved_on_spot")}` : ""}`),
    el("p", { class: "clip" }, s.text || ""),
    item.tracking_code
      ? el("p", { class: "muted" }, t("village.tracking"), " ", el("strong", { "data-testid": "outbox-tracking" }, item.tracking_code))
      : null,
  );
  if (item.photos?.length) card.append(...photoLines(item));
  if (item.state === "queued" && item.error) {
    card.append(el("p", { class: "muted" }, item.error.status === 401 ? t("village.outbox.signIn") : t("village.outbox.retry")));
  }
  if (item.state === "refused") {
    const field = item.error?.field;
    card.append(
      el("p", { class: "error", "data-testid": "outbox-reason" }, t("village.outbox.reason", { reason: fieldMessage(field || "form", item.error?.detail) })),
      el(
        "div",
        { class: "row" },
        el("button", { type: "button", "data-testid": "outbox-fix", onclick: () => edit(item) }, t("village.outbox.fix")),
        el("button", { type: "button", "data-testid": "outbox-discard", onclick: () => discard(item) }, t("village.outbox.discard")),
      ),
    );
  }
  if (item.state === "numbered") {
    const more = el("div", { class: "history", hidden: true });
    card.append(
      el("button", { type: "button", class: "link", "data-testid": "outbox-history", onclick: () => toggleHistory(item.issue_number, more) }, t("village.issue.history")),
      more,
    );
  }
  return card;
}

/** Why the platform refused a photo, in the reader's language where we know the reason. */
function photoRefusal(error) {
  if (error?.status === 413) return t("village.err.photoTooLarge");
  if (error?.status === 400 && error.field === "data") return t(/at most \d+ photos/.test(error.detail || "") ? "village.err.photoTooMany" : "village.err.photoNotImage");
  if (error?.status === 404) return t("village.err.photoNoIntake");
  return error?.detail || t("village.err.generic");
}

/** How many of an item's photos were sent, and why any was refused. */
function photoLines(item) {
  const sent = item.photos.filter((photo) => photo.state === "stored").length;
  const refused = item.photos.filter((photo) => photo.state === "refused");
  const lines = [
    el("p", { class: "muted", "data-testid": "outbox-photos", dataset: { sent, total: item.photos.length } }, t("village.outbox.photos", { sent, n: item.photos.length })),
  ];
  if (refused.length) {
    const reason = photoRefusal(refused[0].error);
    lines.push(el("p", { class: "error", "data-testid": "outbox-photos-refused" }, t("village.outbox.photosRefused", { n: refused.length, reason })));
  }
  return lines;
}

async function discard(item) {
  if (!confirm(t("village.outbox.discardAsk"))) return;
  await page.outbox.discard(item.id);
  if (page.editing === item.id) resetForm();
}

function renderOutbox(items) {
  const counts = tally(items);
  const queue = $("queue-count");
  const parts = [];
  if (counts.waiting) parts.push(t("village.queue.waiting", { n: counts.waiting }));
  if (counts.refused) parts.push(t("village.queue.refused", { n: counts.refused }));
  if (counts.photos) parts.push(t("village.queue.photos", { n: counts.photos }));
  queue.textContent = parts.join(" · ");
  queue.hidden = !parts.length;
  queue.classList.toggle("bad", counts.refused > 0);
  const said = ["waiting", "accepted", "numbered", "refused"].filter((state) => counts[state]).map((state) => t(`village.count.${state}`, { n: counts[state] }));
  $("outbox-summary").textContent = said.length ? said.join(t("village.comma")) : t("village.outbox.empty");
  const list = clear($("outbox-list"));
  // keep an open history open across re-renders of the same item
  for (const item of items) list.append(outboxCard(item));
}

// ---------------------------------------------------------------- issues

function whereNow(issue) {
  if (!issue.unit) return el("span", {}, label("tier", issue.tier));
  return el("span", {}, `${label("tier", issue.tier)} · `, named("units", issue.unit));
}

function issueCard(issue, testid) {
  const more = el("div", { class: "history", hidden: true, "data-testid": "issue-history" });
  const head = el(
    "button",
    { type: "button", class: "issue-head", "aria-expanded": "false", "data-testid": "issue-open", onclick: () => toggleHistory(issue.number, more, head) },
    el(
      "span",
      { class: "card-head" },
      el("strong", { class: "number", "data-testid": "issue-number" }, issue.number),
      el("span", { class: `badge ${stateTone(issue.state)}`, "data-testid": "issue-state" }, label("state", issue.state)),
    ),
    el("span", { class: "clip" }, issue.text),
    el(
      "span",
      { class: "muted meta" },
      [issue.category ? label("category", issue.category) : t("village.issue.uncategorised"), `${t("village.issue.received")} ${day(issue.received_at)}`].join(" · "),
    ),
    el("span", { class: "muted meta" }, `${t("village.issue.now")} `, whereNow(issue), issue.deadline ? ` · ${t("village.issue.deadline")} ${issue.deadline}` : ""),
  );
  return el("li", { "data-testid": testid, dataset: { number: issue.number } }, head, more);
}

function stateTone(state) {
  if (["closed", "rated", "resolved_on_spot", "completed", "fed_back"].includes(state)) return "ok";
  if (state === "pending_review") return "warn";
  return "";
}

async function toggleHistory(number, box, head) {
  if (!box.hidden) {
    box.hidden = true;
    head?.setAttribute("aria-expanded", "false");
    return;
  }
  box.hidden = false;
  head?.setAttribute("aria-expanded", "true");
  clear(box).append(el("p", { class: "muted" }, t("common.loading")));
  try {
    const issue = await call(`issues/${encodeURIComponent(number)}`);
    clear(box).append(...historyOf(issue));
  } catch (error) {
    clear(box).append(el("p", { class: "error" }, offlineFailure(error) ? t("village.net.needed") : t("common.error", { detail: error.detail })));
  }
}

function historyOf(issue) {
  const facts = el(
    "dl",
    { class: "facts" },
    el("dt", {}, t("village.issue.text")),
    el("dd", {}, issue.text),
    el("dt", {}, t("village.issue.kind")),
    el("dd", {}, `${label("channel", issue.channel)} · ${label("kind", issue.kind)}`),
    issue.voter ? [el("dt", {}, t("village.issue.voter")), el("dd", {}, issue.voter)] : null,
    issue.handler_code ? [el("dt", {}, t("village.issue.handler")), el("dd", {}, named("handlers", issue.handler_code))] : null,
    issue.satisfaction ? [el("dt", {}, t("village.issue.satisfaction")), el("dd", {}, label("satisfaction", issue.satisfaction))] : null,
  );
  const steps = el("ol", { class: "timeline", "data-testid": "history-list" });
  for (const entry of issue.history || []) {
    const { title, lines } = describeEvent(entry, { t, label, named, day });
    steps.append(
      el("li", { "data-testid": "history-entry" }, el("span", { class: "muted" }, when(entry.occurred_at)), " ", el("strong", {}, title), ...lines.map((line) => el("div", { class: "line" }, line))),
    );
  }
  if (!steps.children.length) steps.append(el("li", { class: "muted" }, t("common.none")));
  return [facts, steps];
}

/** The station's received issues, newest first (the work list is oldest first, so read it from the end). */
async function loadIssues() {
  const unit = page.account.unit_code;
  const base = `issues/?unit=${encodeURIComponent(unit)}&scope=received`;
  let found = await call(`${base}&limit=${PAGE_SIZE}&offset=0`);
  const total = found.total;
  const end = Math.max(0, total - page.issuesPage * PAGE_SIZE);
  const start = Math.max(0, end - PAGE_SIZE);
  if (total > PAGE_SIZE) found = await call(`${base}&limit=${end - start}&offset=${start}`);
  page.issuesTotal = total;
  const list = clear($("issues-list"));
  for (const issue of [...found.items].reverse()) list.append(issueCard(issue, "issue"));
  if (!found.items.length) list.append(el("li", { class: "muted" }, t("common.none")));
  $("issues-total").textContent = t("common.total", { n: total });
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  $("issues-page").textContent = t("village.issues.page", { p: page.issuesPage + 1, n: pages });
  $("issues-prev").disabled = page.issuesPage === 0;
  $("issues-next").disabled = page.issuesPage + 1 >= pages;
}

async function loadReview() {
  const unit = page.account.unit_code;
  const found = await call(`issues/?unit=${encodeURIComponent(unit)}&scope=at&state=pending_review&limit=200`);
  $("review-badge").textContent = String(found.total);
  $("review-badge").classList.toggle("warn", found.total > 0);
  $("review-count").textContent = t("village.review.count", { n: found.total });
  const list = clear($("review-list"));
  for (const issue of found.items) list.append(issueCard(issue, "review-issue"));
  if (!found.items.length) list.append(el("li", { class: "muted" }, t("village.review.none")));
}

let refreshing = null;
async function refreshLists() {
  if (!page.account?.unit_code || !online()) return;
  if (refreshing) return refreshing;
  refreshing = Promise.all([loadIssues(), loadReview()])
    .catch((error) => {
      if (offlineFailure(error)) say(t("village.net.needed"));
      else showError(error);
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

// ---------------------------------------------------------------- start

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" }).catch(() => {}); // without it the page still works online
}

function wireControls() {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => {
      showTab(tab.dataset.tab);
      window.scrollTo(0, 0);
    });
  }
  $("queue-count").addEventListener("click", () => {
    showTab("record");
    $("outbox-section").scrollIntoView({ block: "start" });
  });
  $("issues-refresh").addEventListener("click", () => refreshLists());
  $("issues-prev").addEventListener("click", () => {
    page.issuesPage = Math.max(0, page.issuesPage - 1);
    refreshLists();
  });
  $("issues-next").addEventListener("click", () => {
    page.issuesPage += 1;
    refreshLists();
  });
}

function stop(messageKey) {
  const note = $("no-station");
  note.textContent = t(messageKey);
  note.hidden = false;
  for (const panel of document.querySelectorAll("[role=tabpanel], nav.tabs")) panel.hidden = true;
}

async function start() {
  registerServiceWorker();
  let account;
  try {
    account = await loadAccount();
  } catch (error) {
    mountHeader("page.village", null);
    watchNet();
    return stop(offlineFailure(error) ? "village.net.firstTime" : "village.noAccount");
  }
  page.account = account;
  mountHeader("page.village", account);
  watchNet();
  wireControls();
  if (!account.unit_code) return stop("village.noStation");
  page.station = await loadStation(account.unit_code).catch((error) => (showError(error), null));
  if (!page.station) return stop("village.noStation");
  $("station-name").textContent = page.station.name;
  page.deputies = await loadDeputies(page.station.code).catch(() => []);
  $("review-link").hidden = !(PAGES_BY_ROLE[account.role] || []).includes("review");
  buildForm();
  page.outbox = new Outbox({
    name: "platform-intakes",
    path: "intakes",
    owner: account.login,
    onChange: renderOutbox,
    onNetwork: reached,
    onNumbered: (item) => {
      say(t("village.sent.numbered", { number: item.issue_number }), "ok");
      refreshLists();
    },
  });
  if (account.offline) page.outbox.changed(); // shown now, sent once the account is confirmed (confirmAccount)
  else page.outbox.start();
  refreshLists();
  document.body.dataset.ready = "true";
}

start();
