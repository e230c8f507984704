// 月度研判: a tier's monthly review. Every issue awaiting review at the unit gets one decision (resolve,
// assign, escalate, merge); the decisions go to the platform as ONE batch and each one's outcome is shown.
// Below: the referrals this unit made (overdue first) and what it escalated.
import { api, ApiError, clear, el, mountHeader, notify, requireSignIn, showError, t } from "./common.js";
import { label } from "./i18n.js";
import "./review-strings.js";
import { ctx, decidedCount, decisionCard, decisionLabel, markProblem } from "./review-decision.js";
import { loadEscalated, loadReferrals } from "./review-lists.js";
import { entity, nameNode, pager, platformDay } from "./work.js";

const PAGE = 20;
const $ = (id) => document.getElementById(id);

function showDecidedCount() {
  $("decided-count").textContent = t("review.decidedCount", { n: decidedCount() });
}

// -- the list awaiting review ---------------------------------------------------------------

async function loadPending(offset = ctx.pendingOffset) {
  const query = new URLSearchParams({ unit: ctx.unit.code, scope: "at", state: "pending_review", limit: PAGE, offset });
  const page = await api(`issues/?${query}`);
  if (offset > 0 && offset >= page.total) return loadPending(Math.max(0, page.total - PAGE));
  ctx.pendingOffset = offset;
  $("pending-total").textContent = String(page.total);
  clear($("pending-list")).append(...(page.items.length ? page.items.map((issue) => decisionCard(issue, showDecidedCount)) : [el("li", { class: "muted empty" }, t("common.none"))]));
  clear($("pending-pager")).append(pager(page.total, offset, PAGE, (next) => loadPending(next).catch(showError), "pending-pager"));
  showDecidedCount();
}

function participants() {
  return $("participants")
    .value.split(/[,，、;；\n]+/)
    .map((p) => p.trim().slice(0, 50))
    .filter(Boolean);
}

/** The decisions to send, in order, or null (with the rows marked) if one lacks what it needs. */
function batch() {
  const sent = [];
  let missing = 0;
  for (const [number, d] of ctx.decisions) {
    if (!d.decision) continue;
    const need = d.decision === "resolve" && !d.note.trim() ? "note"
      : d.decision === "assign" && !d.handler_code ? "handler_code"
      : d.decision === "merge" && !d.into_issue_id.trim() ? "into_issue_id" : null;
    if (need) {
      ctx.problems.set(number, { field: need, reason: t(`review.need.${need}`) });
      missing += 1;
    }
    const one = { issue_id: number, decision: d.decision };
    if (d.note.trim()) one.note = d.note.trim();
    if (d.decision === "assign") {
      Object.assign(one, { handler_code: d.handler_code, co_handlers: d.co_handlers.filter((c) => c !== d.handler_code) });
      if (d.deadline) one.deadline = d.deadline;
    }
    if (d.decision === "merge") one.into_issue_id = d.into_issue_id.trim();
    sent.push(one);
  }
  return missing ? null : sent;
}

function redrawMarks() {
  for (const card of $("pending-list").querySelectorAll("li[data-number]")) markProblem(card, card.dataset.number);
}

/** A 400 naming `decisions[3].handler_code` (or `decisions.3.handler_code`) marks that issue's row. */
function showFieldError(error, sent) {
  const key = error.field || /^(decisions[^:\s]*)/.exec(error.detail || "")?.[1] || "";
  const match = /^decisions(?:\[(\d+)\]|\.(\d+))\.?(\w+)?/.exec(key);
  const reason = String(error.body?.extra?.[0]?.message || error.detail || error.message).replace(/^[\w.[\]]+: /, "");
  if (match) {
    const one = sent[Number(match[1] ?? match[2])];
    if (one) {
      ctx.problems.set(one.issue_id, { field: match[3] || "decision", reason });
      redrawMarks();
      document.querySelector(`li[data-number="${CSS.escape(one.issue_id)}"]`)?.scrollIntoView({ block: "center" });
      notify(t("review.fieldError", { number: one.issue_id, reason }), "error");
      return;
    }
  }
  const input = { held_on: "held-on", participants: "participants", month: "month" }[key.split(/[.[]/)[0]];
  if (input) $(input).classList.add("invalid");
  notify(t("common.error", { detail: error.detail }), "error");
}

async function apply() {
  const button = $("apply");
  ctx.problems.clear();
  $("held-on").classList.remove("invalid");
  const sent = batch();
  redrawMarks();
  if (!sent) {
    document.querySelector("#pending-list li.invalid")?.scrollIntoView({ block: "center" });
    const lines = [...ctx.problems].map(([number, p]) => t("review.fieldError", { number, reason: p.reason }));
    return notify(lines.join("; "), "error");
  }
  if (!sent.length) return notify(t("review.nothingDecided"), "error");
  if (!$("held-on").value) {
    $("held-on").classList.add("invalid");
    return notify(t("review.need.held_on"), "error");
  }
  const body = {
    tier: ctx.unit.tier,
    unit: ctx.unit.code,
    month: ctx.month,
    held_on: $("held-on").value,
    participants: participants(),
    decisions: sent,
  };
  button.disabled = true;
  button.textContent = t("review.applying");
  try {
    const accepted = await api("reviews", { method: "POST", body });
    notify(t("review.submitted", { id: accepted.review_id }), "ok");
    await follow(accepted.review_id, sent);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) showFieldError(error, sent);
    else showError(error);
  } finally {
    button.disabled = false;
    button.textContent = t("review.apply");
  }
}

// -- what became of the review ----------------------------------------------------------------

async function follow(reviewId, sent) {
  const section = $("outcome");
  section.hidden = false;
  section.dataset.reviewId = reviewId;
  let status = null;
  for (let tries = 0; tries < 120; tries += 1) {
    status = await api(`reviews/${encodeURIComponent(reviewId)}?every=true`);
    drawOutcome(status, sent);
    if (status.pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, tries < 20 ? 250 : 1000));
  }
  const outcomes = new Map(status.outcomes.map((o) => [o.issue_id, o]));
  for (const one of sent) {
    const outcome = outcomes.get(one.issue_id);
    if (outcome?.status === "applied") ctx.decisions.delete(one.issue_id);
    else if (outcome?.status === "refused") ctx.problems.set(one.issue_id, { field: outcome.field || "decision", reason: outcome.reason || "" });
  }
  if (status.pending) notify(t("review.stillPending", { n: status.pending }), "info");
  section.scrollIntoView({ block: "start" });
  await settled(sent.filter((one) => outcomes.get(one.issue_id)?.status === "applied").slice(0, 5));
  await Promise.all([loadPending(), loadReferrals()]);
}

function fieldName(field) {
  const text = t(`review.field.${field}`);
  return text === `review.field.${field}` ? field : text;
}

/** The work lists follow the issue events a moment after the review's outcomes: wait (a while) until a
 * few of the applied issues no longer wait for review. */
async function settled(applied) {
  for (let tries = 0; tries < 40 && applied.length; tries += 1) {
    const states = await Promise.all(applied.map((one) => api(`issues/${encodeURIComponent(one.issue_id)}`).then((i) => i.state, () => "")));
    if (states.every((state) => state !== "pending_review")) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function drawOutcome(status, sent) {
  $("outcome").dataset.pending = String(status.pending);
  $("outcome-summary").textContent = t("review.summary", { n: status.decisions, applied: status.applied, refused: status.refused, pending: status.pending });
  const outcomes = new Map(status.outcomes.map((o) => [o.issue_id, o]));
  clear($("outcome-rows")).append(
    ...sent.map((one) => {
      const o = outcomes.get(one.issue_id);
      const state = o?.status || "waiting";
      const badge = { applied: "ok", refused: "bad", waiting: "warn" }[state];
      return el(
        "tr",
        { "data-testid": `outcome-${one.issue_id}`, "data-status": state, "data-field": o?.field, class: state === "refused" ? "refused" : "" },
        el("td", {}, one.issue_id),
        el("td", {}, decisionLabel(one.decision)),
        el("td", {}, el("span", { class: `badge ${badge}` }, t(`review.${state}`))),
        el("td", {}, o?.reason ? `${o.field ? `${fieldName(o.field)}：` : ""}${o.reason}` : ""),
      );
    }),
  );
}

// -- start ------------------------------------------------------------------------------------

function askForUnit() {
  const input = el("input", { "data-testid": "unit-code", maxlength: 64 });
  const go = el("button", { type: "button", class: "primary" }, t("review.open"));
  go.addEventListener("click", () => {
    if (input.value.trim()) location.search = `?unit=${encodeURIComponent(input.value.trim())}`;
  });
  $("no-unit").append(el("div", { class: "row" }, el("label", {}, el("span", {}, t("review.unitCode")), input), go));
  $("no-unit").hidden = false;
}

async function start() {
  const account = await requireSignIn();
  mountHeader("page.review", account);
  $("loading").hidden = true;
  const code = new URLSearchParams(location.search).get("unit") || (account.role === "handler" ? null : account.unit_code);
  if (!code) return askForUnit();
  const [unit, clock] = await Promise.all([entity("units", code), platformDay()]);
  if (!unit) return askForUnit();
  Object.assign(ctx, { unit, today: clock.today, month: clock.month });
  ctx.handlerUnit = unit.tier === "village" ? unit.parent_code : unit.code;
  ctx.parentName = unit.parent_code ? `${label("tier", { village: "town", town: "district", district: "city" }[unit.tier])} ` : "";
  if (unit.parent_code) ctx.parentName += (await entity("units", unit.parent_code))?.name || unit.parent_code;
  $("meeting-title").textContent = `${unit.name} · ${t(`review.meeting.${unit.tier}`)}`;
  clear($("meeting-unit")).append(`${label("tier", unit.tier)} · `, nameNode("units", unit.code), ` (${unit.code})`);
  $("month").value = clock.month;
  $("held-on").value = clock.today;
  $("held-on").max = clock.today;
  $("meeting").hidden = false;
  $("pending").hidden = false;
  $("apply").addEventListener("click", apply);
  await loadPending(0);
  await Promise.all([loadReferrals().catch(showError), loadEscalated().catch(showError)]);
}

start().catch(showError);
