// One line of an issue's history in the reader's words: the event's name and what it says, from the
// `details` the read model keeps for it (gateway/readmodel.py). Unknown events show their type.

/** The event's name without its producer and version: "triage.issue_escalated.v1" → "issue_escalated". */
export function eventName(type) {
  const parts = String(type || "").split(".");
  return parts.length === 3 ? parts[1] : String(type || "");
}

/**
 * @param entry  a HistoryEntry {type, occurred_at, details}
 * @param tools  {t, label, named, day}: named(kind, code) gives a node that shows a registry name
 * @returns {{title: string, lines: Array}} lines are strings or arrays of strings and nodes
 */
export function describeEvent(entry, { t, label, named, day }) {
  const name = eventName(entry.type);
  const key = `village.event.${name}`;
  const title = t(key) === key ? entry.type : t(key);
  const d = entry.details || {};
  const lines = [];
  const colon = t("village.colon");
  const text = (field, value) => value && lines.push(`${t(`village.f.${field}`)}${colon}${value}`);
  const unit = (field, code) => code && lines.push([`${t(`village.f.${field}`)}${colon}`, named("units", code)]);
  switch (name) {
    case "issue_received":
      lines.push(`${label("channel", d.channel)} · ${label("kind", d.kind)}`);
      text("resolution", d.on_spot_resolution);
      break;
    case "issue_triaged":
      text("category", label("category", d.category));
      unit("at", d.responsible_unit);
      break;
    case "issue_escalated":
      unit("to", d.to_unit);
      text("reason", d.reason);
      if (d.automatic) lines.push(t("village.f.automatic"));
      if (d.city_linkage) lines.push(t("village.f.cityLinkage"));
      break;
    case "issue_resolved_on_spot":
    case "issue_resolved":
      text("resolution", d.resolution);
      break;
    case "issue_carried_over":
      text("month", d.month);
      break;
    case "issue_assigned":
    case "referral_sent":
      if (d.handler_code) lines.push([`${t("village.f.handler")}${colon}`, named("handlers", d.handler_code)]);
      if (d.co_handlers?.length) lines.push([`${t("village.f.co_handlers")}${colon}`, ...d.co_handlers.flatMap((c, n) => [n ? "、" : "", named("handlers", c)])]);
      text("deadline", d.deadline && day(d.deadline));
      break;
    case "issue_merged":
      text("into", d.into_issue_id);
      break;
    case "referral_accepted":
      if (d.handler_code) lines.push(named("handlers", d.handler_code));
      break;
    case "progress_reported":
      text("note", d.note);
      break;
    case "referral_completed":
      text("result", d.result);
      break;
    case "referral_unable":
      text("reason", [label("unable", d.reason_code), d.reason].filter(Boolean).join(colon)); // a reason code and the words
      break;
    case "issue_fed_back":
      text("message", d.message);
      break;
    case "issue_rated":
      lines.push(label("satisfaction", d.satisfaction));
      text("comment", d.comment);
      break;
    case "issue_closed":
    case "issue_reopened":
      text("reason", d.reason);
      break;
    case "issue_supervised":
      text("reason", d.reason);
      if (d.overdue_days) lines.push(t("village.f.overdue", { n: d.overdue_days }));
      break;
    default:
      break;
  }
  return { title, lines };
}
