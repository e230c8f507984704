// The review page's lower half: the referrals this unit made (overdue first) and what it escalated.
import { api, clear, el, t } from "./common.js";
import { byUrgency, historyToggle, isOverdue, issueFacts, issueHead, pager, readAll } from "./work.js";
import { ctx } from "./review-decision.js";

const PAGE = 20;
const RECENT = 200; // received issues read per station for the escalated list
const CHILD_TIER = { city: "district", district: "town", town: "village" };
const RANK = { city: 0, district: 1, town: 2, village: 3 };
const $ = (id) => document.getElementById(id);

let referrals = [];

function referralCard(issue) {
  const history = el("div", { class: "history-box", hidden: true });
  return el(
    "li",
    { class: `issue-card${isOverdue(issue, ctx.today) ? " overdue" : ""}`, "data-testid": `referral-${issue.number}` },
    issueHead(issue, ctx.today),
    el("p", { class: "text" }, issue.text),
    issueFacts(issue, ctx.today),
    el("div", { class: "actions" }, historyToggle(issue.number, history)),
    history,
  );
}

function showReferrals(offset) {
  clear($("referral-list")).append(
    ...(referrals.length ? referrals.slice(offset, offset + PAGE).map(referralCard) : [el("li", { class: "muted empty" }, t("common.none"))]),
  );
  clear($("referral-pager")).append(pager(referrals.length, offset, PAGE, showReferrals, "referral-pager"));
}

export async function loadReferrals() {
  const lists = await Promise.all(
    ["assigned", "in_progress"].map((state) => readAll("issues/", { unit: ctx.unit.code, scope: "subtree", state }, 1000)),
  );
  referrals = lists.flatMap((l) => l.items).filter((i) => i.handler_code).sort(byUrgency(ctx.today));
  const overdue = referrals.filter((i) => isOverdue(i, ctx.today)).length;
  $("referrals-total").textContent = String(referrals.length);
  $("referrals-overdue").textContent = t("review.overdueCount", { n: overdue });
  $("referrals-overdue").hidden = !overdue;
  $("referrals").hidden = false;
  showReferrals(0);
}

async function recentReceived(code) {
  const ask = (offset) => api(`issues/?${new URLSearchParams({ unit: code, scope: "received", limit: RECENT, offset })}`);
  const first = await ask(0);
  return first.total > RECENT ? (await ask(first.total - RECENT)).items : first.items;
}

let escalated = [];

function showEscalated(offset) {
  clear($("escalated-list")).append(
    ...(escalated.length ? escalated.slice(offset, offset + PAGE).map(referralCard) : [el("li", { class: "muted empty" }, t("common.none"))]),
  );
  clear($("escalated-pager")).append(pager(escalated.length, offset, PAGE, showEscalated, "escalated-pager"));
}

export async function loadEscalated() {
  const { tier, code } = ctx.unit;
  const child = CHILD_TIER[tier];
  const below = child ? await api(`registry/lookups/subtree/${encodeURIComponent(code)}?tier=${child}`).catch(() => []) : [];
  const stations = [code, ...below.filter((u) => u.parent_code === code).map((u) => u.code)];
  const found = [];
  for (let i = 0; i < stations.length; i += 6) {
    const lists = await Promise.all(stations.slice(i, i + 6).map((s) => recentReceived(s).catch(() => [])));
    found.push(...lists.flat());
  }
  escalated = found.filter((i) => i.tier && RANK[i.tier] < RANK[tier]).sort((a, b) => b.received_at.localeCompare(a.received_at));
  $("escalated-total").textContent = String(escalated.length);
  $("escalated-hint").textContent = t("review.escalatedHint", { n: RECENT });
  $("escalated").hidden = false;
  showEscalated(0);
}
