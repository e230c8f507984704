// 基础信息管理: browse, view, create, change and remove registry entities; import and export rosters; set
// a user's password. Everything goes through /api/v1/registry and /api/v1/auth/passwords; the registry's
// refusals (422, every problem with its field) are shown next to the fields they name.
import { api, ApiError, clear, download, el, mountHeader, notify, requireSignIn, showError, t } from "./common.js";
import "./admin-strings.js";
import { FIRST_COLUMN_NAME, KIND_OF_ENTITY, KINDS, SETS, valueLabel } from "./admin-kinds.js";

const PAGE_SIZE = 25;
const $ = (id) => document.getElementById(id);

const state = {
  kind: "units", items: [], shown: [], page: 0, counts: {}, entity: null, editing: false,
  names: { units: new Map(), stations: new Map(), handlers: new Map() },
};

const spec = () => KINDS[state.kind];
const fieldOf = (name) => spec().fields.find((field) => field.name === name);
const kindName = (kind = state.kind) => t(`adm.kind.${kind}`);
const entityName = (entity) => (KIND_OF_ENTITY[entity] ? kindName(KIND_OF_ENTITY[entity]) : entity || "");

/** A problem's field in words: the form's label of that field in the entity's kind, or the field's name. */
function fieldName(entity, field) {
  const kind = KIND_OF_ENTITY[entity] || state.kind;
  const name = String(field || "").split(/[.[]/)[0];
  const found = KINDS[kind]?.fields.find((f) => f.name === name);
  return found ? t(found.label) : field || "";
}

// -- showing values --------------------------------------------------------------------------------

function shown(field, value) {
  if (value === undefined || value === null || value === "") return "";
  if (field?.type === "bool") return value ? t("adm.yes") : t("adm.no");
  if (Array.isArray(value)) return value.map((v) => (field?.set ? valueLabel(field.set, v) : v)).join("、");
  if (field?.type === "choice") return valueLabel(field.set, value);
  if (field?.type === "ref") {
    const name = state.names[field.ref]?.get(value);
    return name ? `${value} ${name}` : value;
  }
  return String(value);
}

function columnHead(name) {
  if (name === "code") return t(FIRST_COLUMN_NAME[state.kind] || "adm.f.code");
  return t(fieldOf(name)?.label || `adm.f.${name}`);
}

// -- the list ----------------------------------------------------------------------------------------

async function fetchAll(kind, filters = {}) {
  const items = [];
  for (let offset = 0; ; offset += 5000) {
    const search = new URLSearchParams({ ...filters, limit: "5000", offset: String(offset) });
    const page = await api(`registry/${kind}?${search}`);
    items.push(...page.items);
    if (!page.items.length || items.length >= page.total) return items;
  }
}

function filters() {
  const out = {};
  const { choice, parent } = spec();
  if (choice && $("filter-choice").value) out[choice] = $("filter-choice").value;
  if (parent && $("filter-parent").value.trim()) out[parent] = $("filter-parent").value.trim();
  return out;
}

async function loadList({ keepPage = false } = {}) {
  try {
    state.items = await fetchAll(state.kind, filters());
  } catch (error) {
    state.items = [];
    showError(error);
  }
  applySearch(keepPage);
}

function applySearch(keepPage = false) {
  const words = $("list-search").value.trim().toLowerCase();
  state.shown = words
    ? state.items.filter((e) => `${e.code} ${e.name || ""}`.toLowerCase().includes(words))
    : state.items;
  if (!keepPage) state.page = 0;
  drawList();
}

function drawList() {
  const pages = Math.max(1, Math.ceil(state.shown.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const rows = state.shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  const columns = spec().columns;
  const list = clear($("list"));
  $("list-count").textContent = t("common.total", { n: state.shown.length });
  $("list-page").textContent = t("adm.page", { n: state.page + 1, of: pages });
  $("list-prev").disabled = state.page === 0;
  $("list-next").disabled = state.page >= pages - 1;
  if (!rows.length) return list.append(el("p", { class: "muted", "data-testid": "list-empty" }, t("common.none")));
  list.append(
    el(
      "table",
      { "data-testid": "list-table" },
      el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", { class: i > 1 ? "wide" : null }, columnHead(c))))),
      el(
        "tbody",
        {},
        rows.map((entity) =>
          el(
            "tr",
            {
              class: `pick${state.entity?.code === entity.code ? " chosen" : ""}`,
              tabindex: 0,
              "data-testid": `row-${entity.code}`,
              onclick: () => openEntity(entity.code),
              onkeydown: (event) => event.key === "Enter" && openEntity(entity.code),
            },
            columns.map((c, i) => el("td", { class: i > 1 ? "wide" : null }, shown(fieldOf(c), entity[c]))),
          ),
        ),
      ),
    ),
  );
}

// -- one entity: view, form, problems ----------------------------------------------------------------

function showOnly(which) {
  $("entity-view").hidden = which !== "view";
  $("entity-form").hidden = which !== "form";
  $("entity-empty").hidden = which !== "empty";
}

async function openEntity(code) {
  try {
    state.entity = await api(`registry/${state.kind}/${encodeURIComponent(code)}`);
  } catch (error) {
    return showError(error);
  }
  drawEntity();
  drawList();
}

function drawEntity() {
  const entity = state.entity;
  $("entity-title").textContent = `${kindName()}：${entity.name || entity.code}`;
  const dl = clear($("entity-fields"));
  for (const field of spec().fields) {
    dl.append(el("dt", {}, t(field.label)), el("dd", { "data-testid": `value-${field.name}` }, shown(field, entity[field.name])));
  }
  problemsList($("view-problems"), []);
  const isUser = state.kind === "users";
  $("password-form").hidden = !isUser;
  $("password-login").value = isUser ? entity.code : "";
  $("password-input").value = "";
  fieldProblem($("password-input"), $("password-problem"), "");
  showOnly("view");
}

function fieldInput(field, value) {
  const id = `field-${field.name}`;
  const common = { id, name: field.name, "data-testid": id };
  if (field.type === "choice") {
    return el(
      "select",
      common,
      field.required ? null : el("option", { value: "" }, ""),
      SETS[field.set].map((code) => el("option", { value: code, selected: code === value }, valueLabel(field.set, code))),
    );
  }
  if (field.type === "many") {
    const chosen = new Set(value || []);
    return el(
      "fieldset",
      { id, "data-testid": id },
      SETS[field.set].map((code) =>
        el(
          "label",
          { class: "inline" },
          el("input", { type: "checkbox", name: field.name, value: code, checked: chosen.has(code), "data-testid": `${id}-${code}` }),
          valueLabel(field.set, code),
        ),
      ),
    );
  }
  if (field.type === "bool") {
    return el("input", { ...common, type: "checkbox", checked: value === undefined ? true : Boolean(value) });
  }
  const text = Array.isArray(value) ? value.join("、") : value ?? "";
  const list = field.type === "ref" ? `${field.ref}-list` : null;
  return el("input", { ...common, type: field.input || "text", value: text, list, autocomplete: "off", maxlength: 200 });
}

function drawForm(entity) {
  state.editing = Boolean(entity);
  $("form-title").textContent = entity
    ? t("adm.editOf", { kind: kindName(), name: entity.name || entity.code })
    : t("adm.newOf", { kind: kindName() });
  const box = clear($("form-fields"));
  for (const field of spec().fields) {
    const input = fieldInput(field, entity?.[field.name]);
    if (field.name === "code" && entity) input.readOnly = true;
    const head = el("span", {}, t(field.label), field.required ? el("span", { class: "req", "aria-hidden": "true" }, "*") : null);
    const hint = ["list", "days"].includes(field.type) ? el("span", { class: "muted" }, t("adm.listHint")) : null;
    const problem = el("p", { class: "problem", id: `problem-${field.name}`, "data-testid": `problem-${field.name}`, hidden: true });
    if (field.type === "many") {
      box.append(el("div", { class: "stack" }, el("span", {}, head), input, problem));
    } else if (field.type === "bool") {
      box.append(el("label", { class: "inline" }, input, head), problem);
    } else {
      box.append(el("label", {}, head, input, hint), problem);
    }
    input.setAttribute("aria-describedby", problem.id);
  }
  problemsList($("form-problems"), []);
  showOnly("form");
  $("form-fields").querySelector("input:not([readonly]), select")?.focus();
}

function split(text) {
  return text.split(/[、,，;；\s]+/).map((part) => part.trim()).filter(Boolean);
}

/** The form's values as the registry's JSON body; empty optional fields are left out. */
function formBody() {
  const body = {};
  for (const field of spec().fields) {
    const node = $(`field-${field.name}`);
    if (field.type === "many") {
      const values = [...node.querySelectorAll("input:checked")].map((box) => box.value);
      body[field.name] = field.set === "weekday" ? values.map(Number) : values;
    } else if (field.type === "bool") {
      body[field.name] = node.checked;
    } else if (field.type === "list" || field.type === "days") {
      const values = split(node.value);
      if (values.length || field.required) body[field.name] = field.type === "days" ? values.map(Number) : values;
    } else {
      const value = node.value.trim();
      if (value || field.required) body[field.name] = value;
    }
  }
  return body;
}

function fieldProblem(input, slot, reason) {
  slot.textContent = reason;
  slot.hidden = !reason;
  if (reason) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function clearProblems() {
  for (const field of spec().fields) {
    const input = $(`field-${field.name}`);
    if (input) fieldProblem(input, $(`problem-${field.name}`), "");
  }
  problemsList($("form-problems"), []);
}

/** Put each problem next to the field it names; the rest (other entities, unknown fields) in `other`. */
function showProblems(problems, other) {
  const rest = [];
  for (const problem of problems) {
    const name = String(problem.field || "").split(/[.[]/)[0];
    const sameEntity = !problem.code || problem.code === $("field-code")?.value.trim();
    const input = sameEntity ? $(`field-${name}`) : null;
    if (input) {
      const slot = $(`problem-${name}`);
      fieldProblem(input, slot, slot.hidden ? problem.reason : `${slot.textContent}；${problem.reason}`);
    } else rest.push(problem);
  }
  problemsList(other, rest);
  const first = document.querySelector("#entity-form [aria-invalid=true]");
  first?.focus?.();
}

function problemsList(list, problems) {
  clear(list).hidden = !problems.length;
  if (!problems.length) return;
  list.append(el("li", { class: "error" }, t("adm.refused")));
  for (const p of problems) {
    const field = fieldName(p.entity, p.field);
    const text = p.entity || p.code
      ? t("adm.problemOther", { entity: entityName(p.entity), code: p.code || "", field, reason: p.reason })
      : `${field}: ${p.reason}`;
    list.append(el("li", { "data-testid": "problem-item" }, text));
  }
}

function missingRequired(body) {
  const missing = spec().fields.filter((field) => {
    if (!field.required) return false;
    const value = body[field.name];
    return value === undefined || value === "" || (Array.isArray(value) && !value.length);
  });
  for (const field of missing) fieldProblem($(`field-${field.name}`), $(`problem-${field.name}`), t("adm.required"));
  return missing.length > 0;
}

/** Wait for a registry command the gateway answered 202 (pending): its status URL says what became of it. */
async function settle(outcome) {
  for (let tries = 0; outcome?.status === "pending" && tries < 20; tries++) {
    notify(t("adm.pending"));
    await new Promise((resolve) => setTimeout(resolve, 500));
    outcome = await api(outcome.status_url);
  }
  if (outcome?.status === "pending") throw new Error(t("adm.stillPending"));
  return outcome;
}

/** The registry's 422 (every problem) or a 400 naming one field, as a list of problems; else rethrow. */
function problemsOf(error) {
  if (!(error instanceof ApiError)) throw error;
  if (error.status === 422 && Array.isArray(error.body?.problems)) return error.body.problems;
  if (error.status === 400 && error.field) {
    const reason = error.body?.extra?.[0]?.message || error.detail;
    return [{ field: error.field, reason }];
  }
  throw error;
}

async function save(event) {
  event.preventDefault();
  clearProblems();
  const body = formBody();
  if (missingRequired(body)) return;
  const code = body.code;
  const button = $("save-entity");
  button.disabled = true;
  try {
    if (!state.editing && (await exists(code))) {
      return fieldProblem($("field-code"), $("problem-code"), t("adm.exists", { code }));
    }
    const outcome = await settle(await api(`registry/${state.kind}/${encodeURIComponent(code)}`, { method: "PUT", body }));
    notify(outcome.put ? t("adm.saved", { code }) : t("adm.unchanged"), "ok");
    await Promise.all([loadList({ keepPage: true }), loadCounts()]);
    await openEntity(code);
  } catch (error) {
    try {
      showProblems(problemsOf(error), $("form-problems"));
      notify("");
    } catch (other) {
      showError(other);
    }
  } finally {
    button.disabled = false;
  }
}

async function exists(code) {
  try {
    await api(`registry/${state.kind}/${encodeURIComponent(code)}`);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

function askDelete() {
  const entity = state.entity;
  $("confirm-text").textContent = t("adm.confirm", { kind: kindName(), name: entity.name || entity.code, code: entity.code });
  $("confirm-delete").showModal();
}

async function remove() {
  $("confirm-delete").close();
  const code = state.entity.code;
  try {
    await settle(await api(`registry/${state.kind}/${encodeURIComponent(code)}`, { method: "DELETE" }));
    notify(t("adm.removed", { code }), "ok");
    state.entity = null;
    showOnly("empty");
    await Promise.all([loadList({ keepPage: true }), loadCounts()]);
  } catch (error) {
    try {
      problemsList($("view-problems"), problemsOf(error));
      notify("");
    } catch (other) {
      showError(other);
    }
  }
}

async function setPassword(event) {
  event.preventDefault();
  const input = $("password-input");
  const slot = $("password-problem");
  const login = state.entity.code;
  if (input.value.length < 10) return fieldProblem(input, slot, t("adm.password.short"));
  try {
    await api(`auth/passwords/${encodeURIComponent(login)}`, { method: "PUT", body: { password: input.value } });
    fieldProblem(input, slot, "");
    input.value = "";
    notify(t("adm.password.done", { login }), "ok");
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) fieldProblem(input, slot, error.body?.extra?.[0]?.message || error.detail);
    else showError(error);
  }
}

// -- rosters -------------------------------------------------------------------------------------------

async function exportFile(path, filename) {
  await download(path, filename);
  notify(t("adm.exported", { file: filename }), "ok");
}

function exportButton(id, file) {
  $(id).addEventListener("click", () => exportFile(`registry/exports/${file()}`, file()).catch(showError));
}

async function importRoster(event) {
  event.preventDefault();
  const result = clear($("import-result"));
  const file = $("import-file").files[0];
  const kind = $("import-kind").value;
  const say = (text, cls = "error") => result.append(el("p", { class: cls }, text));
  if (!file) return say(t("adm.import.noFile"));
  if (!file.name.toLowerCase().endsWith(".xlsx") && !kind) return say(t("adm.import.needKind"));
  const form = new FormData();
  form.append("data", file, file.name);
  try {
    const outcome = await settle(await api(`registry/imports${kind ? `?kind=${kind}` : ""}`, { method: "POST", body: form }));
    say(t("adm.import.applied", { put: outcome.put ?? 0, unchanged: outcome.unchanged ?? 0 }), "result-ok");
    await Promise.all([loadList({ keepPage: true }), loadCounts()]);
  } catch (error) {
    let problems;
    try {
      problems = problemsOf(error);
    } catch (other) {
      return say(other instanceof ApiError ? other.detail : String(other.message || other));
    }
    say(t("adm.import.refused", { n: problems.length }));
    const cols = ["line", "entity", "code", "field", "reason"];
    result.append(
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { "data-testid": "import-problems" },
          el("thead", {}, el("tr", {}, cols.map((c) => el("th", { class: c === "line" ? "num" : null }, t(`adm.col.${c}`))))),
          el(
            "tbody",
            {},
            problems.map((p) =>
              el(
                "tr",
                { "data-testid": "import-problem" },
                el("td", { class: "num" }, p.line ?? ""),
                el("td", {}, entityName(p.entity)),
                el("td", {}, p.code ?? ""),
                el("td", {}, fieldName(p.entity, p.field)),
                el("td", {}, p.reason),
              ),
            ),
          ),
        ),
      ),
    );
  }
}

// -- kinds, counts and lookups -------------------------------------------------------------------------

async function loadCounts() {
  try {
    state.counts = (await api("registry/")).counts;
  } catch {
    state.counts = {};
  }
  for (const button of document.querySelectorAll("#kinds [data-kind]")) {
    const n = state.counts[button.dataset.kind];
    button.querySelector(".count").textContent = n === undefined ? "" : String(n);
  }
}

async function loadLookups() {
  await Promise.all(
    Object.keys(state.names).map(async (kind) => {
      try {
        const items = await fetchAll(kind);
        state.names[kind] = new Map(items.map((e) => [e.code, e.name]));
        clear($(`${kind}-list`)).append(...items.map((e) => el("option", { value: e.code }, e.name)));
      } catch {
        // the lists only help typing codes
      }
    }),
  );
}

function chooseKind(kind) {
  state.kind = kind;
  state.entity = null;
  history.replaceState(null, "", `#${kind}`);
  for (const button of document.querySelectorAll("#kinds [data-kind]")) {
    button.setAttribute("aria-selected", String(button.dataset.kind === kind));
  }
  const { choice, parent, fields } = spec();
  const choiceField = fields.find((field) => field.name === choice);
  $("filter-choice-label").hidden = !choiceField;
  if (choiceField) {
    $("filter-choice-name").textContent = t(choiceField.label);
    clear($("filter-choice")).append(
      el("option", { value: "" }, t("adm.all")),
      SETS[choiceField.set].map((code) => el("option", { value: code }, valueLabel(choiceField.set, code))),
    );
  }
  const parentField = fields.find((field) => field.name === parent);
  $("filter-parent-label").hidden = !parentField;
  $("filter-parent").value = "";
  if (parentField) {
    $("filter-parent-name").textContent = t(parentField.label);
    $("filter-parent").setAttribute("list", parentField.ref ? `${parentField.ref}-list` : "");
  }
  $("list-search").value = "";
  $("export-csv").textContent = t("adm.export.csv", { kind: kindName() });
  $("export-xlsx").textContent = t("adm.export.xlsx", { kind: kindName() });
  showOnly("empty");
  clear($("list")).append(el("p", { class: "muted" }, t("common.loading")));
  return loadList();
}

async function start() {
  const account = await requireSignIn();
  mountHeader("page.admin", account);
  const kinds = Object.keys(KINDS);
  $("kinds").append(
    ...kinds.map((kind) =>
      el(
        "button",
        { type: "button", role: "tab", "data-kind": kind, "data-testid": `kind-${kind}`, onclick: () => chooseKind(kind) },
        kindName(kind),
        el("span", { class: "count" }),
      ),
    ),
  );
  $("import-kind").append(el("option", { value: "" }, t("adm.import.bySheet")), ...kinds.map((k) => el("option", { value: k }, kindName(k))));

  let typing;
  $("list-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => applySearch(), 150);
  });
  $("filter-choice").addEventListener("change", () => loadList());
  $("filter-parent").addEventListener("change", () => loadList());
  $("list-prev").addEventListener("click", () => { state.page -= 1; drawList(); });
  $("list-next").addEventListener("click", () => { state.page += 1; drawList(); });
  $("new-entity").addEventListener("click", () => drawForm(null));
  $("edit-entity").addEventListener("click", () => drawForm(state.entity));
  $("delete-entity").addEventListener("click", askDelete);
  $("confirm-yes").addEventListener("click", remove);
  $("confirm-no").addEventListener("click", () => $("confirm-delete").close());
  $("cancel-entity").addEventListener("click", () => (state.entity ? drawEntity() : showOnly("empty")));
  $("entity-form").addEventListener("submit", save);
  $("password-form").addEventListener("submit", setPassword);
  $("import-form").addEventListener("submit", importRoster);
  $("import-file").addEventListener("change", (event) => {
    const name = event.target.files[0]?.name.toLowerCase() || "";
    if (name.endsWith(".csv") && !$("import-kind").value) $("import-kind").value = state.kind; // a CSV is one kind
  });
  exportButton("export-csv", () => `${state.kind}.csv`);
  exportButton("export-xlsx", () => `${state.kind}.xlsx`);
  exportButton("export-all", () => "registry.xlsx");

  window.addEventListener("hashchange", () => {
    const kind = location.hash.slice(1);
    if (kind in KINDS && kind !== state.kind) chooseKind(kind);
  });
  const wanted = location.hash.slice(1);
  await Promise.all([loadCounts(), loadLookups(), chooseKind(wanted in KINDS ? wanted : "units")]);
  drawList(); // again, now with the names of the codes it shows
}

start().catch(showError);
