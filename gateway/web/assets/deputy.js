// 代表履职: a deputy's issues and what became of each, this month's contacts with voters, and a form to
// log a reception (接访) or a visit (走访) with how many voters were met.
import { api, ApiError, clear, el, mountHeader, newIdempotencyKey, notify, requireSignIn, showError, t } from "./common.js";
import { addStrings, label } from "./i18n.js";
import { entity, historyToggle, isOverdue, issueFacts, issueHead, pager, platformDay } from "./work.js";

addStrings({
  "zh-CN": {
    "deputy.noDeputy": "您的账号没有关联人大代表。",
    "deputy.level.province": "省人大代表",
    "deputy.level.city": "市人大代表",
    "deputy.level.district": "区人大代表",
    "deputy.level.town": "镇人大代表",
    "deputy.groupedAt": "编组：{station}",
    "deputy.thisMonth": "本月联系选民",
    "deputy.receptions": "接访（次）",
    "deputy.visits": "走访（次）",
    "deputy.votersMetN": "联系选民（人）",
    "deputy.noFigures": "暂无本月记录",
    "deputy.log": "记录接访、走访",
    "deputy.kind": "方式",
    "deputy.reception": "接访",
    "deputy.visit": "走访",
    "deputy.heldOn": "日期",
    "deputy.votersMet": "接待（走访）选民人数",
    "deputy.note": "情况记录（可选）",
    "deputy.save": "保存记录",
    "deputy.saved": "已记录：{kind} {n} 人",
    "deputy.need.held_on": "请填写日期",
    "deputy.need.voters_met": "请填写 0 以上的人数",
    "deputy.issues": "我收集的问题",
    "deputy.whose": "范围",
    "deputy.mine": "我收集的问题",
    "deputy.station": "本站受理的全部问题",
    "deputy.stationIssues": "本站受理的问题",
    "deputy.hint": "每个问题现在所在的层级、承办单位、办结期限和评价结果；点“办理记录”查看全过程。",
    "deputy.filter": "按状态筛选",
    "deputy.everyState": "全部状态",
  },
  en: {
    "deputy.noDeputy": "Your account is not linked to a deputy.",
    "deputy.level.province": "Provincial deputy",
    "deputy.level.city": "City deputy",
    "deputy.level.district": "District deputy",
    "deputy.level.town": "Town deputy",
    "deputy.groupedAt": "Grouped at {station}",
    "deputy.thisMonth": "Voters contacted this month",
    "deputy.receptions": "Receptions",
    "deputy.visits": "Visits",
    "deputy.votersMetN": "Voters met",
    "deputy.noFigures": "Nothing recorded this month",
    "deputy.log": "Log a reception or a visit",
    "deputy.kind": "How",
    "deputy.reception": "Reception",
    "deputy.visit": "Visit",
    "deputy.heldOn": "Date",
    "deputy.votersMet": "Voters met",
    "deputy.note": "Notes (optional)",
    "deputy.save": "Save",
    "deputy.saved": "Logged: {kind}, {n} voters",
    "deputy.need.held_on": "Give the date",
    "deputy.need.voters_met": "Give a number of voters (0 or more)",
    "deputy.issues": "Issues I collected",
    "deputy.whose": "Which",
    "deputy.mine": "Issues I collected",
    "deputy.station": "Everything received at my station",
    "deputy.stationIssues": "Issues received at my station",
    "deputy.hint": "Where each issue is now, who handles it, its deadline and rating; open its history for every step.",
    "deputy.filter": "State",
    "deputy.everyState": "Every state",
  },
});

const PAGE = 20;
const STATES = ["pending_review", "assigned", "in_progress", "completed", "fed_back", "rated", "resolved_on_spot", "received"];
const ctx = { deputy: null, station: null, unit: "", today: "", month: "", state: "", whose: "mine", recordId: "" };
const $ = (id) => document.getElementById(id);

async function loadFigures() {
  const box = $("figures");
  try {
    const rows = await api(`oversight/records/contacts?${new URLSearchParams({ by: "deputy", period: ctx.month })}`);
    const mine = rows.find((r) => r.key === ctx.deputy.code);
    const figure = (key, n, testid) => el("div", { "data-testid": testid }, el("span", { class: "muted" }, t(key)), el("span", { class: "n" }, String(n)));
    clear(box).append(
      mine
        ? el("div", { class: "figures" }, figure("deputy.receptions", mine.receptions, "receptions"), figure("deputy.visits", mine.visits, "visits"), figure("deputy.votersMetN", mine.voters_met, "voters-met"))
        : el("p", { class: "muted" }, t("deputy.noFigures")),
    );
  } catch {
    box.closest("section").querySelector("h3").hidden = true;
    box.hidden = true;
  }
}

function card(issue) {
  const history = el("div", { class: "history-box", hidden: true });
  return el(
    "li",
    { class: `issue-card${isOverdue(issue, ctx.today) ? " overdue" : ""}`, "data-testid": `issue-${issue.number}` },
    issueHead(issue, ctx.today),
    el("p", { class: "text" }, issue.text),
    issueFacts(issue, ctx.today, { station: false }),
    el("div", { class: "actions" }, historyToggle(issue.number, history)),
    history,
  );
}

async function loadIssues(offset = 0) {
  const whose = ctx.whose === "station" ? { unit: ctx.unit, scope: "received" } : { deputy: ctx.deputy.code };
  const query = { ...whose, limit: PAGE, offset, ...(ctx.state ? { state: ctx.state } : {}) };
  const page = await api(`issues/?${new URLSearchParams(query)}`);
  $("issues-total").textContent = String(page.total);
  clear($("issue-list")).append(...(page.items.length ? page.items.map(card) : [el("li", { class: "muted empty" }, t("common.none"))]));
  clear($("issue-pager")).append(pager(page.total, offset, PAGE, (next) => loadIssues(next).catch(showError), "issue-pager"));
}

function markField(form, name) {
  for (const node of form.querySelectorAll("[data-field]")) node.classList.toggle("invalid", node.dataset.field === name);
}

async function saveContact(event) {
  event.preventDefault();
  const form = $("contact-form");
  const error = $("contact-error");
  error.hidden = true;
  const kind = form.querySelector("input[name=kind]:checked").value;
  const heldOn = $("held-on").value;
  const voters = $("voters-met").value.trim();
  const problem = !heldOn ? "held_on" : !/^\d+$/.test(voters) ? "voters_met" : null;
  markField(form, problem);
  if (problem) {
    error.textContent = t(`deputy.need.${problem}`);
    error.hidden = false;
    return;
  }
  const body = {
    record_id: ctx.recordId, // the same id on a retry: recorded once
    deputy_code: ctx.deputy.code,
    station_code: ctx.deputy.station_code,
    kind,
    held_on: heldOn,
    voters_met: Number(voters),
  };
  const note = $("contact-note").value.trim();
  if (note) body.note = note;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("oversight/records/contacts", { method: "POST", body });
    notify(t("deputy.saved", { kind: t(`deputy.${kind}`), n: body.voters_met }), "ok");
    ctx.recordId = `CT-${newIdempotencyKey()}`;
    $("voters-met").value = "";
    $("contact-note").value = "";
    setTimeout(() => loadFigures(), 1500); // oversight counts it a moment later
  } catch (failure) {
    if (failure instanceof ApiError && failure.field) markField(form, failure.field);
    error.textContent = failure instanceof ApiError ? failure.detail : failure.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function start() {
  const account = await requireSignIn();
  mountHeader("page.deputy", account);
  $("loading").hidden = true;
  const code = account.deputy_code || new URLSearchParams(location.search).get("deputy");
  const [deputy, clock] = await Promise.all([code ? entity("deputies", code) : null, platformDay()]);
  if (!deputy) {
    $("no-deputy").hidden = false;
    return;
  }
  const station = await entity("stations", deputy.station_code);
  Object.assign(ctx, {
    deputy,
    station,
    unit: station?.unit_code || deputy.station_code.split("-W")[0],
    today: clock.today,
    month: clock.month,
    recordId: `CT-${newIdempotencyKey()}`,
  });
  $("deputy-name").textContent = `${deputy.name} · ${t(`deputy.level.${deputy.congress_level}`)}`;
  $("deputy-about").textContent = t("deputy.groupedAt", { station: station?.name || deputy.station_code });
  $("held-on").value = clock.today;
  $("held-on").max = clock.today;
  $("contact-form").addEventListener("submit", saveContact);
  const filter = $("state-filter");
  filter.append(el("option", { value: "" }, t("deputy.everyState")), ...STATES.map((s) => el("option", { value: s }, label("state", s))));
  filter.addEventListener("change", () => {
    ctx.state = filter.value;
    loadIssues(0).catch(showError);
  });
  const whose = $("whose");
  whose.append(el("option", { value: "mine" }, t("deputy.mine")), el("option", { value: "station" }, t("deputy.station")));
  whose.addEventListener("change", () => {
    ctx.whose = whose.value;
    $("issues-title").textContent = t(ctx.whose === "station" ? "deputy.stationIssues" : "deputy.issues");
    loadIssues(0).catch(showError);
  });
  for (const id of ["profile", "contact", "issues"]) $(id).hidden = false;
  await Promise.all([loadFigures(), loadIssues(0)]);
}

start().catch(showError);
