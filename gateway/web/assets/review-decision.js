// One issue's decision in the monthly review: resolve (how), assign (lead, joint handlers, deadline),
// escalate (city linkage at the district) or merge; kept per issue across pages until the batch is applied.
import { api, clear, el, t } from "./common.js";
import { label } from "./i18n.js";
import { addDays, historyToggle, issueFacts, issueHead } from "./work.js";

// The triage service's default referral deadline per tier (REVIEW_DEADLINE_DAYS); an empty deadline gets it too.
const DEFAULT_DAYS = { village: 7, town: 15, district: 30, city: 30 };
// Whose handlers a review assigns to: a village assigns to its town's offices.
const HANDLER_KIND = { village: "town_office", town: "town_office", district: "district_department", city: "city_department" };
const CHOICES = ["", "resolve", "assign", "escalate", "merge"];

/** The review being held: its unit, the platform's day and month, and every decision made so far. */
export const ctx = {
  unit: null, // the registry unit reviewed
  today: "",
  month: "",
  handlerUnit: "",
  parentName: "",
  decisions: new Map(), // issue number -> {decision, note, handler_code, co_handlers, deadline, into_issue_id}
  problems: new Map(), // issue number -> {field, reason}: refused by the platform or missing here
  pendingOffset: 0,
  handlersFor: new Map(), // category -> promise of handlers taking it here
  allHandlers: null, // promise of every handler this tier may assign to
};

export function decisionOf(number) {
  if (!ctx.decisions.has(number)) {
    ctx.decisions.set(number, { decision: "", note: "", handler_code: "", co_handlers: [], deadline: "", into_issue_id: "" });
  }
  return ctx.decisions.get(number);
}

export function decidedCount() {
  return [...ctx.decisions.values()].filter((d) => d.decision).length;
}

export function decisionLabel(code) {
  if (code === "escalate" && ctx.unit.tier === "district") return t("review.cityLinkage");
  return code ? label("decision", code) : t("review.noDecision");
}

function handlersFor(category) {
  if (!ctx.handlersFor.has(category)) {
    const query = new URLSearchParams({ category: category || "other", unit: ctx.handlerUnit });
    ctx.handlersFor.set(category, api(`registry/lookups/handlers-for?${query}`).catch(() => []));
  }
  return ctx.handlersFor.get(category);
}

function allHandlers() {
  if (!ctx.allHandlers) {
    const query = new URLSearchParams({ unit_code: ctx.handlerUnit, kind: HANDLER_KIND[ctx.unit.tier], limit: 500 });
    ctx.allHandlers = api(`registry/handlers?${query}`).then((page) => page.items, () => []);
  }
  return ctx.allHandlers;
}

// -- one issue's decision ------------------------------------------------------------------

function field(labelText, input, testid) {
  return el("label", { "data-field": testid }, el("span", {}, labelText), input);
}

function textInput(d, key, testid, { multiline = false, placeholder = "" } = {}) {
  const attrs = { "data-testid": testid, maxlength: 2000, placeholder: placeholder || null };
  const input = el(multiline ? "textarea" : "input", attrs);
  input.value = d[key];
  input.addEventListener("input", () => {
    d[key] = input.value;
  });
  return input;
}

async function assignFields(issue, d, box) {
  const [taking, every] = await Promise.all([handlersFor(issue.category), allHandlers()]);
  const takingCodes = new Set(taking.map((h) => h.code));
  const others = every.filter((h) => !takingCodes.has(h.code));
  const lead = el(
    "select",
    { "data-testid": "handler" },
    el("option", { value: "" }, t("review.pick")),
    taking.length
      ? el("optgroup", { label: t("review.takesCategory") }, ...taking.map((h) => el("option", { value: h.code }, h.name)))
      : el("option", { value: "", disabled: true }, t("review.noHandlers")),
    others.length ? el("optgroup", { label: t("review.otherHandlers") }, ...others.map((h) => el("option", { value: h.code }, h.name))) : null,
  );
  if (!d.handler_code && taking.length === 1) d.handler_code = taking[0].code;
  lead.value = d.handler_code;
  const coList = el("div", { class: "checks" });
  const drawCo = () => {
    clear(coList).append(
      ...every
        .filter((h) => h.code !== d.handler_code)
        .map((h) => {
          const box = el("input", { type: "checkbox", value: h.code, "data-testid": `co-${h.code}`, checked: d.co_handlers.includes(h.code) });
          box.addEventListener("change", () => {
            d.co_handlers = box.checked ? [...d.co_handlers, h.code] : d.co_handlers.filter((c) => c !== h.code);
          });
          return el("label", { class: "inline" }, box, h.name);
        }),
    );
  };
  lead.addEventListener("change", () => {
    d.handler_code = lead.value;
    d.co_handlers = d.co_handlers.filter((c) => c !== d.handler_code);
    drawCo();
  });
  drawCo();
  const days = DEFAULT_DAYS[ctx.unit.tier];
  if (!d.deadline) d.deadline = addDays(ctx.today, days);
  const deadline = el("input", { type: "date", "data-testid": "deadline-input", min: ctx.today, required: true });
  deadline.value = d.deadline;
  deadline.addEventListener("change", () => {
    d.deadline = deadline.value;
  });
  box.append(
    el("div", { class: "row" }, field(t("review.leadHandler"), lead, "handler_code"), field(t("review.deadline"), deadline, "deadline")),
    el("p", { class: "muted" }, t("review.deadlineHint", { n: days })),
    el("details", { class: "co", "data-field": "co_handlers" }, el("summary", { "data-testid": "co-handlers" }, t("review.coHandlers")), coList),
    field(t("review.assignNote"), textInput(d, "note", "note"), "note"),
  );
}

function escalateFields(d, box) {
  if (ctx.unit.tier === "city") {
    box.append(el("p", { class: "error" }, t("review.topTier")));
    return;
  }
  box.append(
    el("p", { class: "muted" }, ctx.unit.tier === "district" ? t("review.linkageHint") : `${t("review.escalateTo")}${ctx.parentName}`),
    field(t("review.escalateNote"), textInput(d, "note", "note"), "note"),
  );
}

function drawFields(issue, d, box) {
  clear(box);
  if (d.decision === "resolve") box.append(field(t("review.how"), textInput(d, "note", "note", { multiline: true }), "note"));
  else if (d.decision === "assign") assignFields(issue, d, box).then(() => markProblem(box.closest("li"), issue.number));
  else if (d.decision === "escalate") escalateFields(d, box);
  else if (d.decision === "merge") {
    box.append(
      field(t("review.into"), textInput(d, "into_issue_id", "into", { placeholder: "HB-YYYYMM-000000" }), "into_issue_id"),
      field(t("review.mergeNote"), textInput(d, "note", "note"), "note"),
    );
  }
}

export function markProblem(card, number) {
  if (!card) return;
  const problem = ctx.problems.get(number);
  card.classList.toggle("invalid", !!problem);
  for (const node of card.querySelectorAll("[data-field]")) node.classList.toggle("invalid", !!problem && node.dataset.field === problem.field);
  const line = card.querySelector(".field-error");
  line.textContent = problem ? problem.reason : "";
  line.hidden = !problem;
}

/** The card of an issue awaiting review, with its decision; `changed()` after each change of decision. */
export function decisionCard(issue, changed) {
  const d = decisionOf(issue.number);
  const fields = el("div", { class: "decision-fields" });
  const history = el("div", { class: "history-box", hidden: true });
  const choices = CHOICES.filter((c) => !(c === "escalate" && ctx.unit.tier === "city")).map((choice) => {
    const radio = el("input", { type: "radio", name: `d-${issue.number}`, value: choice, "data-testid": `decide-${choice || "none"}`, checked: d.decision === choice });
    radio.addEventListener("change", () => {
      d.decision = choice;
      ctx.problems.delete(issue.number);
      drawFields(issue, d, fields);
      markProblem(radio.closest("li"), issue.number);
      changed();
    });
    return el("label", { class: `choice ${choice || "none"}` }, radio, el("span", {}, decisionLabel(choice)));
  });
  const card = el(
    "li",
    { class: "issue-card", "data-testid": `issue-${issue.number}`, "data-number": issue.number },
    issueHead(issue, ctx.today),
    el("p", { class: "text" }, issue.text),
    issueFacts(issue, ctx.today, { handler: false }),
    el("div", { class: "actions" }, historyToggle(issue.number, history)),
    history,
    el("fieldset", { class: "decide", "data-field": "decision" }, el("legend", {}, t("review.decision")), ...choices),
    fields,
    el("p", { class: "field-error error", role: "alert", hidden: true, "data-testid": "field-error" }),
  );
  drawFields(issue, d, fields);
  markProblem(card, issue.number);
  return card;
}
