// 部门办理: a handler's referrals (交办件), overdue first; accept, report progress, complete with the
// result, or say why it cannot be done. The lifecycle's refusal (409) is shown with its reason.
import { api, ApiError, clear, el, mountHeader, notify, requireSignIn, showError, t } from "./common.js";
import { addStrings, label, labels } from "./i18n.js";
import { byUrgency, entity, historyToggle, isOverdue, issueFacts, issueHead, pager, platformDay } from "./work.js";

addStrings({
  "zh-CN": {
    "dept.noHandler": "您的账号不属于任何承办单位。",
    "dept.referrals": "交办件",
    "dept.hint": "按期限排列，超期的排在最前。签收后请及时报告进展，办结后填写办理结果；确实无法办理的，请说明原因。",
    "dept.overdueCount": "超期 {n} 件",
    "dept.referralNo": "交办单号",
    "dept.notSent": "交办单正在送达，请稍后刷新",
    "dept.accept": "签收",
    "dept.progress": "报告进展",
    "dept.complete": "办结",
    "dept.unable": "无法办理",
    "dept.note": "办理进展（必填）",
    "dept.result": "办理结果（必填）",
    "dept.reasonCode": "原因类别",
    "dept.reason": "具体说明（必填）",
    "dept.send": "提交",
    "dept.sent.accepted": "已签收",
    "dept.sent.progress": "进展已报告",
    "dept.sent.completed": "已办结，结果将反馈给代表和选民",
    "dept.sent.unable": "已退回交办层级重新研判",
    "dept.refused": "未能提交：{reason}",
    "dept.required": "请填写后再提交",
    "dept.kind.district_department": "区直部门",
    "dept.kind.town_office": "镇(街道)站办所",
    "dept.kind.city_department": "市级部门",
    "dept.superior": "分管负责人：{who}",
  },
  en: {
    "dept.noHandler": "Your account does not belong to a handler.",
    "dept.referrals": "Referrals",
    "dept.hint": "By deadline, overdue first. Accept, report progress, and give the result when done; if it cannot be done, say why.",
    "dept.overdueCount": "{n} overdue",
    "dept.referralNo": "Referral",
    "dept.notSent": "The referral is on its way; refresh in a moment",
    "dept.accept": "Accept",
    "dept.progress": "Report progress",
    "dept.complete": "Complete",
    "dept.unable": "Cannot be done",
    "dept.note": "Progress (required)",
    "dept.result": "What was done (required)",
    "dept.reasonCode": "Reason",
    "dept.reason": "Explanation (required)",
    "dept.send": "Send",
    "dept.sent.accepted": "Accepted",
    "dept.sent.progress": "Progress reported",
    "dept.sent.completed": "Completed; the result goes back to the deputy and the voter",
    "dept.sent.unable": "Sent back to the referring tier for review",
    "dept.refused": "Not sent: {reason}",
    "dept.required": "Fill this in first",
    "dept.kind.district_department": "District department",
    "dept.kind.town_office": "Town office",
    "dept.kind.city_department": "City department",
    "dept.superior": "Answers to: {who}",
  },
});

const PAGE = 20;
const ctx = { handler: null, today: "", referrals: [], offset: 0 };
const $ = (id) => document.getElementById(id);

/** Wait (a while) until the platform shows the issue moved on from `before`. */
async function moved(number, before) {
  for (let tries = 0; tries < 40; tries += 1) {
    const issue = await api(`issues/${encodeURIComponent(number)}`).catch(() => null);
    if (issue && (issue.state !== before.state || (issue.handler_code || "") !== (before.handler_code || ""))) return issue;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return null;
}

async function reply(issue, body, card) {
  const line = card.querySelector(".field-error");
  line.hidden = true;
  for (const button of card.querySelectorAll("button")) button.disabled = true;
  try {
    await api(`referrals/${encodeURIComponent(issue.referral_id)}/replies`, {
      method: "POST",
      body: { handler_code: ctx.handler.code, ...body },
    });
    notify(t(`dept.sent.${body.kind}`), "ok");
    const lead = issue.handler_code === ctx.handler.code;
    if (lead && (["completed", "unable"].includes(body.kind) || issue.state === "assigned")) await moved(issue.number, issue);
    await load();
  } catch (error) {
    const reason = error instanceof ApiError ? String(error.detail).replace(/^issue_id: /, "") : error.message;
    line.textContent = t("dept.refused", { reason });
    line.hidden = false;
    if (error instanceof ApiError && error.field) card.querySelector(`[data-field="${CSS.escape(error.field)}"]`)?.classList.add("invalid");
    notify(t("dept.refused", { reason }), "error");
    for (const button of card.querySelectorAll("button")) button.disabled = false;
  }
}

function textField(key, name, multiline = true) {
  const input = el(multiline ? "textarea" : "input", { name, "data-testid": `reply-${name}`, maxlength: 2000, required: true });
  return el("label", { "data-field": name }, el("span", {}, t(key)), input);
}

/** The form for one kind of reply, opened inside the card. */
function replyForm(issue, kind, card, box) {
  const fields = {
    progress: [textField("dept.note", "note")],
    completed: [textField("dept.result", "result")],
    unable: [
      el(
        "label",
        { "data-field": "reason_code" },
        el("span", {}, t("dept.reasonCode")),
        el("select", { name: "reason_code", "data-testid": "reply-reason_code" }, ...Object.keys(labels("unable")).map((code) => el("option", { value: code }, label("unable", code)))),
      ),
      textField("dept.reason", "reason"),
    ],
  }[kind];
  const send = el("button", { type: "submit", class: "primary", "data-testid": "reply-submit" }, t("dept.send"));
  const cancel = el("button", { type: "button", "data-testid": "reply-cancel" }, t("common.cancel"));
  const form = el("form", { class: "reply", "data-testid": `form-${kind}`, novalidate: true }, ...fields, el("div", { class: "reply-buttons" }, send, cancel));
  cancel.addEventListener("click", () => clear(box));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { kind };
    for (const input of form.querySelectorAll("textarea, input, select")) {
      const value = input.value.trim();
      input.closest("label").classList.toggle("invalid", !value);
      if (!value) {
        input.focus();
        return notify(t("dept.required"), "error");
      }
      body[input.name] = value;
    }
    reply(issue, body, card);
  });
  clear(box).append(form);
  form.querySelector("textarea, select")?.focus();
}

function referralCard(issue) {
  const lead = issue.handler_code === ctx.handler.code;
  const history = el("div", { class: "history-box", hidden: true });
  const formBox = el("div", { class: "reply-box" });
  const card = el("li", {
    class: `issue-card${isOverdue(issue, ctx.today) ? " overdue" : ""}`,
    "data-testid": `referral-${issue.number}`,
    "data-number": issue.number,
    "data-state": issue.state,
  });
  const button = (key, testid, onclick, primary = false) =>
    el("button", { type: "button", class: primary ? "primary" : "", "data-testid": testid, onclick }, t(key));
  const sent = !!issue.referral_id;
  const actions = el(
    "div",
    { class: "actions" },
    sent && issue.state === "assigned" ? button("dept.accept", "reply-accepted", () => reply(issue, { kind: "accepted" }, card), true) : null,
    sent ? button("dept.progress", "open-progress", () => replyForm(issue, "progress", card, formBox)) : null,
    sent ? button("dept.complete", "open-completed", () => replyForm(issue, "completed", card, formBox)) : null,
    sent ? button("dept.unable", "open-unable", () => replyForm(issue, "unable", card, formBox)) : null,
    historyToggle(issue.number, history),
  );
  card.append(
    issueHead(issue, ctx.today),
    el(
      "p",
      { class: "muted" },
      el("span", { class: `badge ${lead ? "ok" : ""}`, "data-testid": "role" }, t(lead ? "work.lead" : "work.co")),
      " ",
      sent ? `${t("dept.referralNo")} ${issue.referral_id}` : t("dept.notSent"),
    ),
    el("p", { class: "text" }, issue.text),
    issueFacts(issue, ctx.today),
    actions,
    formBox,
    el("p", { class: "field-error error", role: "alert", hidden: true, "data-testid": "reply-error" }),
    history,
  );
  return card;
}

function show(offset) {
  ctx.offset = offset;
  const page = ctx.referrals.slice(offset, offset + PAGE);
  clear($("referral-list")).append(...(page.length ? page.map(referralCard) : [el("li", { class: "muted empty" }, t("common.none"))]));
  clear($("referral-pager")).append(pager(ctx.referrals.length, offset, PAGE, show, "referral-pager"));
}

async function load() {
  const held = await api(`referrals/?${new URLSearchParams({ handler: ctx.handler.code })}`);
  ctx.referrals = held.sort(byUrgency(ctx.today));
  const overdue = ctx.referrals.filter((i) => isOverdue(i, ctx.today)).length;
  $("referrals-total").textContent = String(ctx.referrals.length);
  $("referrals-overdue").textContent = t("dept.overdueCount", { n: overdue });
  $("referrals-overdue").hidden = !overdue;
  const last = Math.max(0, Math.floor((ctx.referrals.length - 1) / PAGE) * PAGE);
  show(Math.min(ctx.offset, last));
}

async function start() {
  const account = await requireSignIn();
  mountHeader("page.department", account);
  $("loading").hidden = true;
  const code = account.handler_code || new URLSearchParams(location.search).get("handler");
  const [handler, clock] = await Promise.all([code ? entity("handlers", code) : null, platformDay()]);
  if (!handler) {
    $("no-handler").hidden = false;
    return;
  }
  Object.assign(ctx, { handler, today: clock.today });
  $("handler-name").textContent = handler.name;
  const unit = await entity("units", handler.unit_code);
  $("handler-about").textContent = [t(`dept.kind.${handler.kind}`), unit?.name, handler.superior ? t("dept.superior", { who: handler.superior }) : null]
    .filter(Boolean)
    .join(" · ");
  $("handler").hidden = false;
  $("referrals").hidden = false;
  $("refresh").addEventListener("click", () => load().catch(showError));
  await load();
}

start().catch(showError);
