// What the work pages (review, department, leader, deputy) share: the platform's day, issue cards,
// an issue's history on demand, paging, and names of units and handlers looked up once.
import { api, clear, day, el, when } from "./common.js";
import { addStrings, label, t } from "./i18n.js";

addStrings({
  "zh-CN": {
    "work.overdue": "已超期",
    "work.dueSoon": "临近期限",
    "work.deadline": "办结期限",
    "work.lead": "主办",
    "work.co": "协办",
    "work.handler": "承办单位",
    "work.coHandlers": "联合办结单位",
    "work.sitsAt": "当前所在",
    "work.received": "受理时间",
    "work.station": "受理站点",
    "work.voter": "选民",
    "work.history": "办理记录",
    "work.hideHistory": "收起记录",
    "work.noHistory": "暂无记录",
    "work.page": "第 {from}–{to} 条，共 {n} 条",
    "work.escalated": "下级上报",
    "work.reopened": "不满意重办 {n} 次",
    "work.satisfaction": "评价",
    "work.refresh": "刷新",
    "event.intake.issue_received.v1": "受理登记",
    "event.triage.issue_triaged.v1": "分类分级",
    "event.triage.issue_resolved_on_spot.v1": "立即解决",
    "event.triage.issue_escalated.v1": "上报",
    "event.triage.issue_resolved.v1": "研判解决",
    "event.triage.issue_carried_over.v1": "转入下月研判",
    "event.triage.issue_assigned.v1": "交办",
    "event.triage.issue_merged.v1": "合并",
    "event.referral.referral_sent.v1": "交办单送达",
    "event.referral.referral_accepted.v1": "签收",
    "event.referral.progress_reported.v1": "办理进展",
    "event.referral.referral_completed.v1": "办结",
    "event.referral.referral_unable.v1": "无法办理",
    "event.feedback.issue_fed_back.v1": "反馈",
    "event.feedback.issue_rated.v1": "评价",
    "event.feedback.issue_closed.v1": "销号",
    "event.feedback.issue_reopened.v1": "重新办理",
    "event.oversight.issue_supervised.v1": "督办",
  },
  en: {
    "work.overdue": "Overdue",
    "work.dueSoon": "Due soon",
    "work.deadline": "Deadline",
    "work.lead": "Lead",
    "work.co": "Joint",
    "work.handler": "Handler",
    "work.coHandlers": "Joint handlers",
    "work.sitsAt": "Now at",
    "work.received": "Received",
    "work.station": "Station",
    "work.voter": "Voter",
    "work.history": "History",
    "work.hideHistory": "Hide history",
    "work.noHistory": "No history yet",
    "work.page": "{from}–{to} of {n}",
    "work.escalated": "Escalated",
    "work.reopened": "Reopened {n}×",
    "work.satisfaction": "Rating",
    "work.refresh": "Refresh",
    "event.intake.issue_received.v1": "Received",
    "event.triage.issue_triaged.v1": "Triaged",
    "event.triage.issue_resolved_on_spot.v1": "Resolved on the spot",
    "event.triage.issue_escalated.v1": "Escalated",
    "event.triage.issue_resolved.v1": "Resolved at review",
    "event.triage.issue_carried_over.v1": "Carried over",
    "event.triage.issue_assigned.v1": "Referred",
    "event.triage.issue_merged.v1": "Merged",
    "event.referral.referral_sent.v1": "Referral sent",
    "event.referral.referral_accepted.v1": "Accepted",
    "event.referral.progress_reported.v1": "Progress",
    "event.referral.referral_completed.v1": "Completed",
    "event.referral.referral_unable.v1": "Unable",
    "event.feedback.issue_fed_back.v1": "Fed back",
    "event.feedback.issue_rated.v1": "Rated",
    "event.feedback.issue_closed.v1": "Closed",
    "event.feedback.issue_reopened.v1": "Reopened",
    "event.oversight.issue_supervised.v1": "Supervised",
  },
});

/** The platform clock: {now, month, today: "YYYY-MM-DD" in China time}. Deadlines are counted on it. */
export async function platformDay() {
  const clock = await api("clock/");
  const today = new Date(clock.now).toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });
  return { now: clock.now, month: clock.month, today };
}

/** "YYYY-MM-DD" plus n days. */
export function addDays(isoDay, n) {
  const d = new Date(`${isoDay}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Assigned (or in progress) past its deadline; the state does not change (DESIGN.md section 3). */
export function isOverdue(issue, today) {
  return ["assigned", "in_progress"].includes(issue.state) && !!issue.deadline && issue.deadline < today;
}

/** Sitting for review above the tier that took it in: it came up from below. */
export function isEscalated(issue) {
  return issue.state === "pending_review" && !!issue.responsible_tier && issue.tier !== issue.responsible_tier;
}

/** Overdue first (longest overdue first), then by deadline, then oldest first. */
export function byUrgency(today) {
  return (a, b) =>
    Number(isOverdue(b, today)) - Number(isOverdue(a, today)) ||
    (a.deadline || "9999").localeCompare(b.deadline || "9999") ||
    a.received_at.localeCompare(b.received_at);
}

const names = new Map();

/** A registry entity's name ("units", "handlers", "stations", "deputies"), looked up once; the code if unknown. */
export async function nameOf(kind, code) {
  if (!code) return "";
  const key = `${kind}/${code}`;
  if (!names.has(key)) {
    names.set(
      key,
      api(`registry/${kind}/${encodeURIComponent(code)}`).then(
        (found) => found,
        () => null,
      ),
    );
  }
  return (await names.get(key))?.name || code;
}

export async function entity(kind, code) {
  await nameOf(kind, code);
  return names.get(`${kind}/${code}`);
}

/** A text node filled in once the name is known. */
export function nameNode(kind, code) {
  const node = el("span", { class: "name", title: code }, code || "");
  if (code) nameOf(kind, code).then((name) => (node.textContent = name));
  return node;
}

export function stateBadge(state) {
  const tone = { completed: "ok", fed_back: "ok", rated: "ok", closed: "ok", pending_review: "warn" }[state] || "";
  return el("span", { class: `badge state ${tone}`, "data-testid": "state", "data-state": state }, label("state", state));
}

/** The heading line of an issue: number, state, overdue/escalated marks, category, kind, channel. */
export function issueHead(issue, today) {
  return el(
    "div",
    { class: "issue-head" },
    el("strong", { class: "number", "data-testid": "issue-number" }, issue.number),
    stateBadge(issue.state),
    isOverdue(issue, today) ? el("span", { class: "badge overdue", "data-testid": "overdue" }, t("work.overdue")) : null,
    isEscalated(issue) ? el("span", { class: "badge warn", "data-testid": "escalated" }, t("work.escalated")) : null,
    issue.reopened ? el("span", { class: "badge bad" }, t("work.reopened", { n: issue.reopened })) : null,
    issue.category ? el("span", { class: "badge" }, label("category", issue.category)) : null,
    el("span", { class: "muted" }, `${label("kind", issue.kind)} · ${label("channel", issue.channel)}`),
  );
}

/** Facts about an issue as a definition list: only those it has. */
export function issueFacts(issue, today, { handler = true, station = true } = {}) {
  const facts = [
    [t("work.received"), when(issue.received_at)],
    station ? [t("work.station"), nameNode("stations", issue.station_code)] : null,
    issue.voter ? [t("work.voter"), issue.voter] : null,
    issue.unit ? [t("work.sitsAt"), el("span", {}, `${label("tier", issue.tier)} `, nameNode("units", issue.unit))] : null,
    handler && issue.handler_code ? [t("work.handler"), nameNode("handlers", issue.handler_code)] : null,
    handler && issue.co_handlers?.length
      ? [t("work.coHandlers"), el("span", {}, ...issue.co_handlers.flatMap((c, i) => [i ? "、" : "", nameNode("handlers", c)]))]
      : null,
    issue.deadline
      ? [t("work.deadline"), el("span", { class: isOverdue(issue, today) ? "error" : "", "data-testid": "deadline" }, day(issue.deadline))]
      : null,
    issue.satisfaction ? [t("work.satisfaction"), label("satisfaction", issue.satisfaction)] : null,
  ].filter(Boolean);
  return el("dl", { class: "facts" }, ...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

// What a history entry says, in this order; codes become names and labels.
const DETAIL_KEYS = ["resolution", "note", "result", "reason_code", "reason", "handler_code", "co_handlers", "deadline", "to_unit", "into_issue_id", "satisfaction", "comment", "message"];

function detailNode(key, value) {
  if (key === "reason_code") return label("unable", value);
  if (key === "satisfaction") return label("satisfaction", value);
  if (key === "deadline") return `${t("work.deadline")} ${day(value)}`;
  if (key === "handler_code") return nameNode("handlers", value);
  if (key === "co_handlers") return el("span", {}, ...[].concat(value).flatMap((c, i) => [i ? "、" : "", nameNode("handlers", c)]));
  if (key === "to_unit") return nameNode("units", value);
  return String(value);
}

function eventName(type) {
  const text = t(`event.${type}`);
  return text === `event.${type}` ? type : text;
}

function details(entry) {
  const parts = DETAIL_KEYS.filter((k) => entry?.[k] != null && entry[k] !== "" && !(Array.isArray(entry[k]) && !entry[k].length));
  return parts.flatMap((k, i) => [i ? " · " : "", detailNode(k, entry[k])]);
}

/** A button that shows (and hides) the issue's history under `into`. */
export function historyToggle(number, into) {
  const button = el("button", { type: "button", class: "link", "data-testid": "history" }, t("work.history"));
  button.addEventListener("click", async () => {
    if (!into.hidden) {
      into.hidden = true;
      button.textContent = t("work.history");
      return;
    }
    clear(into).append(el("p", { class: "muted" }, t("common.loading")));
    into.hidden = false;
    button.textContent = t("work.hideHistory");
    try {
      const issue = await api(`issues/${encodeURIComponent(number)}`);
      const rows = (issue.history || []).map((h) =>
        el("li", {}, el("time", { class: "muted" }, when(h.occurred_at)), " ", el("strong", {}, eventName(h.type)), " ", ...details(h.details)),
      );
      clear(into).append(rows.length ? el("ol", { class: "history", "data-testid": "history-list" }, ...rows) : el("p", { class: "muted" }, t("work.noHistory")));
    } catch (error) {
      clear(into).append(el("p", { class: "error" }, error.message));
    }
  });
  return button;
}

/** Previous/next buttons and "x–y of n" for a limit/offset list; `go(offset)` loads a page. */
export function pager(total, offset, limit, go, testid = "pager") {
  const to = Math.min(offset + limit, total);
  return el(
    "div",
    { class: "pager", "data-testid": testid, hidden: offset === 0 && total <= limit },
    el("button", { type: "button", disabled: offset <= 0, "data-testid": `${testid}-prev`, onclick: () => go(Math.max(0, offset - limit)) }, t("common.prev")),
    el("span", { class: "muted" }, total ? t("work.page", { from: offset + 1, to, n: total }) : t("common.none")),
    el("button", { type: "button", disabled: to >= total, "data-testid": `${testid}-next`, onclick: () => go(offset + limit) }, t("common.next")),
  );
}

/** Read every page of a list endpoint that answers {total, items}, up to `cap` items. */
export async function readAll(path, params, cap = 2000, limit = 500) {
  const items = [];
  let total = 0;
  for (let offset = 0; offset < cap; offset += limit) {
    const page = await api(`${path}?${new URLSearchParams({ ...params, limit, offset })}`);
    total = page.total;
    items.push(...page.items);
    if (items.length >= total) break;
  }
  return { total, items };
}
