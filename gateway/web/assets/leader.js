// 包抓领导: everything in the leader's subtree. Overdue referrals and escalations first, counts by state,
// and every issue a page at a time (a town can hold thousands: never read them all).
import { api, clear, el, mountHeader, requireSignIn, showError, t } from "./common.js";
import { addStrings, label } from "./i18n.js";
import { entity, historyToggle, isEscalated, isOverdue, issueFacts, issueHead, pager, platformDay, readAll } from "./work.js";

addStrings({
  "zh-CN": {
    "leader.noUnit": "您的账号没有包抓范围。",
    "leader.scope": "包抓范围：{unit}及下属 {n} 个单元",
    "leader.overdue": "超期未办结",
    "leader.escalations": "下级上报待研判",
    "leader.all": "全部问题",
    "leader.filter": "按状态筛选",
    "leader.everyState": "全部状态",
    "leader.total": "全部",
    "leader.overdueTile": "超期",
    "leader.checked": "按平台日期 {today} 计算；每种状态最多查看 {n} 条。",
  },
  en: {
    "leader.noUnit": "Your account has no area in charge.",
    "leader.scope": "In charge of {unit} and the {n} units under it",
    "leader.overdue": "Overdue referrals",
    "leader.escalations": "Escalated, awaiting review",
    "leader.all": "Every issue",
    "leader.filter": "State",
    "leader.everyState": "Every state",
    "leader.total": "All",
    "leader.overdueTile": "Overdue",
    "leader.checked": "As of the platform's day {today}; up to {n} issues read per state.",
  },
});

const PAGE = 20;
const ATTENTION_PAGE = 10;
const CAP = 1000; // issues read per state for the overdue and escalation lists
const STATES = ["pending_review", "assigned", "in_progress", "completed", "fed_back", "rated", "resolved_on_spot", "received"];
const ctx = { unit: null, today: "", state: "" };
const $ = (id) => document.getElementById(id);

function card(issue) {
  const history = el("div", { class: "history-box", hidden: true });
  return el(
    "li",
    { class: `issue-card${isOverdue(issue, ctx.today) ? " overdue" : ""}`, "data-testid": `issue-${issue.number}`, "data-number": issue.number },
    issueHead(issue, ctx.today),
    el("p", { class: "text" }, issue.text),
    issueFacts(issue, ctx.today),
    el("div", { class: "actions" }, historyToggle(issue.number, history)),
    history,
  );
}

function listInto(listId, pagerId, items, size) {
  const show = (offset) => {
    const page = items.slice(offset, offset + size);
    clear($(listId)).append(...(page.length ? page.map(card) : [el("li", { class: "muted empty" }, t("common.none"))]));
    clear($(pagerId)).append(pager(items.length, offset, size, show, pagerId));
  };
  show(0);
}

function query(extra) {
  return new URLSearchParams({ unit: ctx.unit.code, scope: "subtree", ...extra });
}

async function loadAll(offset = 0) {
  const page = await api(`issues/?${query({ ...(ctx.state ? { state: ctx.state } : {}), limit: PAGE, offset })}`);
  $("all-total").textContent = String(page.total);
  clear($("all-list")).append(...(page.items.length ? page.items.map(card) : [el("li", { class: "muted empty" }, t("common.none"))]));
  clear($("all-pager")).append(pager(page.total, offset, PAGE, (next) => loadAll(next).catch(showError), "all-pager"));
  $("all-list").dataset.state = ctx.state || "all"; // which filter the list shows, once it shows it
}

function filterBy(state) {
  ctx.state = state;
  $("state-filter").value = state;
  for (const tile of $("counts").querySelectorAll("button[data-state]")) tile.setAttribute("aria-pressed", String(tile.dataset.state === state));
  loadAll(0).catch(showError);
}

function tile(text, n, state, extra = {}) {
  return el(
    "li",
    {},
    el(
      "button",
      { type: "button", "data-state": state, "data-testid": `count-${state || "all"}`, "aria-pressed": String(state === ctx.state), ...extra },
      el("span", { class: "muted" }, text),
      el("span", { class: "n" }, String(n)),
    ),
  );
}

async function loadCounts() {
  const totals = await Promise.all(
    ["", ...STATES].map((state) => api(`issues/?${query({ ...(state ? { state } : {}), limit: 1 })}`).then((p) => p.total)),
  );
  return Object.fromEntries(["", ...STATES].map((state, i) => [state, totals[i]]));
}

async function loadAttention() {
  const [assigned, inProgress, pending] = await Promise.all(
    ["assigned", "in_progress", "pending_review"].map((state) => readAll("issues/", Object.fromEntries(query({ state })), CAP)),
  );
  const overdue = [...assigned.items, ...inProgress.items].filter((i) => isOverdue(i, ctx.today)).sort((a, b) => a.deadline.localeCompare(b.deadline));
  const escalated = pending.items.filter(isEscalated);
  $("overdue-total").textContent = String(overdue.length);
  $("escalated-total").textContent = String(escalated.length);
  $("overdue-hint").textContent = t("leader.checked", { today: ctx.today, n: CAP });
  listInto("overdue-list", "overdue-pager", overdue, ATTENTION_PAGE);
  listInto("escalated-list", "escalated-pager", escalated, ATTENTION_PAGE);
  $("attention").hidden = false;
  return overdue.length;
}

async function start() {
  const account = await requireSignIn();
  mountHeader("page.leader", account);
  $("loading").hidden = true;
  const code = new URLSearchParams(location.search).get("unit") || account.unit_code;
  const [unit, clock] = await Promise.all([code ? entity("units", code) : null, platformDay()]);
  if (!unit) {
    $("no-unit").hidden = false;
    return;
  }
  Object.assign(ctx, { unit, today: clock.today });
  $("scope-title").textContent = `${unit.name}（${label("tier", unit.tier)}）`;
  api(`registry/lookups/subtree/${encodeURIComponent(unit.code)}`)
    .then((units) => ($("scope-about").textContent = t("leader.scope", { unit: unit.name, n: units.length - 1 })))
    .catch(() => {});
  const filter = $("state-filter");
  filter.append(el("option", { value: "" }, t("leader.everyState")), ...STATES.map((s) => el("option", { value: s }, label("state", s))));
  filter.addEventListener("change", () => filterBy(filter.value));
  $("scope").hidden = false;
  $("all").hidden = false;
  const [counts, overdue] = await Promise.all([loadCounts(), loadAttention(), loadAll(0)]);
  clear($("counts")).append(
    tile(t("leader.total"), counts[""], ""),
    el(
      "li",
      {},
      el(
        "button",
        { type: "button", class: overdue ? "alert" : "", "data-testid": "count-overdue", onclick: () => $("attention").scrollIntoView() },
        el("span", { class: "muted" }, t("leader.overdueTile")),
        el("span", { class: "n" }, String(overdue)),
      ),
    ),
    ...STATES.map((s) => tile(label("state", s), counts[s], s)),
  );
  for (const button of $("counts").querySelectorAll("button[data-state]")) button.addEventListener("click", () => filterBy(button.dataset.state));
}

start().catch(showError);
