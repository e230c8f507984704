"""The ledgers (台账): issue events folded into counters per unit, handler, category, channel and deputy, per month.

Pure and fast: no I/O, and no registry while folding (it is read only to answer a query), so a ledger is
rebuilt from offset 0 of the issue topic alone. A figure is counted once, in the China-time month of the
event behind it, under five keys at once: the unit it happened at, the handler answering for it (if any),
and the issue's category, channel and collecting deputy. Where it happened at:

- collected: the receiving unit (a workroom `<unit>-Wnn` counts for `<unit>`);
- resolved_on_spot, resolved, escalated (from), assigned: the deciding unit; assigned also for the lead handler;
- completed, unable (by reason), on_time_completed: the assigning unit and the lead handler (joint referrals
  are credited to the lead: only the lead's reply moves the issue);
- satisfaction, closed, reopened, closed_content, real_resolved, flagged: the issue's return point (the
  assigning unit if assigned, else the resolving unit, else where it sits) and the handler that completed it;
- in_progress, overdue: "now" figures from the open referrals (assigned, not yet completed or unable),
  at the assigning unit and the lead; they appear in every period's row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from operator import add
from typing import Any, Final

import msgspec

from common.clock import CHINA
from common.registry.view import RegistryView
from contracts.base import IssueEvent
from contracts.issues import (
    IssueAssigned,
    IssueCarriedOver,
    IssueClosed,
    IssueEscalated,
    IssueEventMessage,
    IssueMerged,
    IssueRated,
    IssueReceived,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    IssueTriaged,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.registry import AdminUnit, Deputy, GridRole, Handler, Station
from contracts.vocabulary import SATISFACTION, UNABLE_REASONS
from services.oversight.views import FIGURES, AccountabilityEntry, LedgerRow, OverdueItem, UnreviewedItem

NOW: Final = ("in_progress", "overdue")
EXTRA: Final = ("on_time_completed", "closed_content", "real_resolved", "flagged")
REASONS: Final = tuple(f"unable:{reason}" for reason in UNABLE_REASONS)  # an unknown reason counts as "other"
ALL: Final = (*(f for f in FIGURES if f not in NOW), *EXTRA, *REASONS, *NOW)  # one counter vector's layout
AT: Final = {name: i for i, name in enumerate(ALL)}
DIMENSIONS: Final = ("unit", "town", "handler", "category", "channel", "deputy")
UNTRIAGED: Final = "untriaged"  # the category of an issue until it is triaged
CONTENT: Final = frozenset({"satisfied", "basically_satisfied"})
_WIDTH, _COUNTED = len(ALL), len(ALL) - len(NOW)
_ROW = [(f, AT[f]) for f in FIGURES]
_PERIOD = re.compile(r"^(all|\d{4}|\d{4}-(0[1-9]|1[0-2]))$")

Counts = dict[str, dict[str, list[int]]]  # key -> month -> counter vector


class _Issue:
    """What the ledger keeps of one issue: where it was received and sits, who answers for it, how it ended."""

    __slots__ = (
        "assigned_unit",
        "at",
        "category",
        "channel",
        "closed_month",
        "completed_by",
        "deadline",
        "deputy",
        "flagged",
        "id",
        "lead",
        "month",
        "rating",
        "received_unit",
        "referral",
        "reopened",
        "resolved_unit",
    )

    def __init__(self, event: IssueReceived, unit: str, month: str) -> None:
        self.id, self.received_unit, self.at, self.month = event.issue_id, unit, unit, month
        self.category, self.channel, self.deputy = UNTRIAGED, event.channel, event.deputy_code
        self.assigned_unit: str | None = None
        self.resolved_unit: str | None = None
        self.lead: str | None = None  # the lead handler of the open referral
        self.referral: str | None = None
        self.deadline: date | None = None
        self.completed_by: str | None = None  # the lead that completed it, until it is reopened
        self.rating: str | None = None
        self.reopened, self.flagged = False, False
        self.closed_month: str | None = None

    def return_point(self) -> str:
        return self.assigned_unit or self.resolved_unit or self.at


def station_unit(station_code: str) -> str:
    """The unit a station serves: a workroom `<unit>-Wnn` serves `<unit>`; any other station has its unit's code."""
    head, sep, tail = station_code.rpartition("-W")
    return head if sep and tail.isdigit() else station_code


def check_period(period: str) -> str:
    if not _PERIOD.match(period):
        raise ValueError(f"period must be YYYY-MM, YYYY or 'all', not {period!r}")
    return period


_DECIDING = frozenset((IssueResolvedOnSpot, IssueResolved, IssueEscalated, IssueAssigned, IssueMerged, IssueClosed))


class Ledger:
    """The ledgers of a district, folded from the issue topic; queries read the registry for names and subtrees."""

    def __init__(self) -> None:
        self._issues: dict[str, _Issue] = {}
        self._open: dict[str, _Issue] = {}  # issues with an open referral
        self._seen: set[int] = set()
        self._tables: dict[str, Counts] = {d: {} for d in DIMENSIONS if d != "town"}
        self._marks: dict[tuple[str, str], list[tuple[str, str, str]]] = {}  # (dim, key) -> (month, what, issue)
        self._hours: dict[int, tuple[str, date]] = {}  # UTC hour -> China (month, day)
        # issues a tier's review left undecided at month end (carried over), until a review decides them
        self._unreviewed: dict[str, tuple[str, str, str]] = {}  # issue -> (tier, unit, month)
        self._decoder = msgspec.json.Decoder(IssueEventMessage)
        self.skipped = 0
        self._rules: dict[type, Callable[[_Issue, Any], None]] = {
            IssueTriaged: self._triaged,
            IssueResolvedOnSpot: self._resolved,
            IssueResolved: self._resolved,
            IssueEscalated: self._escalated,
            IssueAssigned: self._assigned,
            ReferralSent: self._sent,
            ReferralCompleted: self._replied,
            ReferralUnable: self._replied,
            IssueRated: self._rated,
            IssueClosed: self._closed,
            IssueReopened: self._reopened,
        }

    # -- folding -------------------------------------------------------------------------------

    def apply_raw(self, value: bytes) -> None:
        try:
            event = self._decoder.decode(value)
        except msgspec.DecodeError:
            self.skipped += 1
            return
        self.apply(event)

    def apply(self, event: IssueEvent) -> None:
        """Fold one event. A repeat (same event_id), an event of an issue never received, or a type that makes
        no figure changes nothing."""
        event_id = event.event_id.int
        if event_id in self._seen:
            return
        if type(event) is IssueReceived:
            if event.issue_id not in self._issues:
                self._received(event)
            self._seen.add(event_id)
            return
        issue = self._issues.get(event.issue_id)
        rule = self._rules.get(type(event))
        if issue is not None:
            self._seen.add(event_id)
            if rule is not None:
                rule(issue, event)
            if type(event) is IssueCarriedOver:
                self._unreviewed[event.issue_id] = (event.tier, event.unit, event.month)
            elif type(event) in _DECIDING:
                self._unreviewed.pop(event.issue_id, None)

    def unreviewed(self, view: RegistryView) -> list[UnreviewedItem]:
        """Issues a tier's monthly review left undecided (carried over), until a review decides them."""
        return [
            UnreviewedItem(
                issue_id=issue_id,
                tier=tier,
                unit=unit,
                unit_name=_name(view, "unit", unit),
                month=month,
                town=_town(view, unit),
            )
            for issue_id, (tier, unit, month) in sorted(self._unreviewed.items(), key=lambda kv: (kv[1][2], kv[0]))
        ]

    def _when(self, moment: datetime) -> tuple[str, date]:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        hour = int(moment.timestamp()) // 3600  # China time is UTC+8 exactly: an hour falls in one China day
        found = self._hours.get(hour)
        if found is None:
            local = moment.astimezone(CHINA)
            found = self._hours[hour] = (f"{local.year:04d}-{local.month:02d}", local.date())
        return found

    def _count(self, issue: _Issue, figure: int, month: str, unit: str, handler: str | None = None) -> None:
        t = self._tables
        for table, key in (
            (t["unit"], unit),
            (t["category"], issue.category),
            (t["channel"], issue.channel),
            (t["deputy"], issue.deputy),
            (t["handler"], handler),
        ):
            if key is None:
                continue
            months = table.get(key)
            if months is None:
                months = table[key] = {}
            vector = months.get(month)
            if vector is None:
                vector = months[month] = [0] * _WIDTH
            vector[figure] += 1

    def _mark(self, issue: _Issue, what: str, month: str, unit: str, handler: str | None) -> None:
        self._marks.setdefault(("unit", unit), []).append((month, what, issue.id))
        if handler is not None:
            self._marks.setdefault(("handler", handler), []).append((month, what, issue.id))

    def _received(self, event: IssueReceived) -> None:
        month = self._when(event.occurred_at)[0]
        issue = self._issues[event.issue_id] = _Issue(event, station_unit(event.station_code), month)
        self._count(issue, AT["collected"], month, issue.received_unit)

    def _triaged(self, issue: _Issue, event: IssueTriaged) -> None:
        issue.at = event.responsible_unit
        if issue.category != UNTRIAGED or event.category == UNTRIAGED:
            return
        self._tables["category"][UNTRIAGED][issue.month][AT["collected"]] -= 1  # collected moves to its category
        issue.category = event.category
        months = self._tables["category"].setdefault(event.category, {})
        months.setdefault(issue.month, [0] * _WIDTH)[AT["collected"]] += 1

    def _resolved(self, issue: _Issue, event: IssueResolved | IssueResolvedOnSpot) -> None:
        issue.resolved_unit, issue.assigned_unit = event.unit, None
        figure = AT["resolved"] if type(event) is IssueResolved else AT["resolved_on_spot"]
        self._count(issue, figure, self._when(event.occurred_at)[0], event.unit)

    def _escalated(self, issue: _Issue, event: IssueEscalated) -> None:
        issue.at = event.to_unit
        self._count(issue, AT["escalated"], self._when(event.occurred_at)[0], event.from_unit)

    def _assigned(self, issue: _Issue, event: IssueAssigned) -> None:
        issue.assigned_unit, issue.resolved_unit, issue.at = event.unit, None, event.unit
        issue.lead, issue.deadline, issue.referral = event.handler_code, event.deadline, None
        self._open[issue.id] = issue
        self._count(issue, AT["assigned"], self._when(event.occurred_at)[0], event.unit, event.handler_code)

    def _sent(self, issue: _Issue, event: ReferralSent) -> None:
        if issue.lead == event.handler_code:
            issue.referral = event.referral_id

    def _replied(self, issue: _Issue, event: ReferralCompleted | ReferralUnable) -> None:
        lead = issue.lead
        if issue.id not in self._open or event.handler_code != lead or event.referral_id != issue.referral:
            return  # a co-handler's reply, or a stale one: only the lead's answer to the open referral counts
        del self._open[issue.id]
        month, day = self._when(event.occurred_at)
        unit = issue.assigned_unit or issue.at
        issue.lead = issue.referral = None
        if type(event) is ReferralUnable:
            issue.at = unit
            reason = AT.get(f"unable:{event.reason_code}", AT["unable:other"])
            self._count(issue, AT["unable"], month, unit, lead)
            self._count(issue, reason, month, unit, lead)
            return
        issue.completed_by, issue.resolved_unit = lead, unit
        self._count(issue, AT["completed"], month, unit, lead)
        if issue.deadline is None or day <= issue.deadline:
            self._count(issue, AT["on_time_completed"], month, unit, lead)

    def _rated(self, issue: _Issue, event: IssueRated) -> None:
        if event.satisfaction in SATISFACTION:
            issue.rating = event.satisfaction
            self._count(
                issue,
                AT[event.satisfaction],
                self._when(event.occurred_at)[0],
                issue.return_point(),
                issue.completed_by,
            )

    def _closed(self, issue: _Issue, event: IssueClosed) -> None:
        if issue.closed_month is not None:
            return
        self._open.pop(issue.id, None)  # an oversight close ends an open referral too
        month, unit, handler = self._when(event.occurred_at)[0], issue.return_point(), issue.completed_by
        issue.closed_month = month
        self._count(issue, AT["closed"], month, unit, handler)
        if issue.rating in CONTENT:
            self._count(issue, AT["closed_content"], month, unit, handler)
            if not issue.reopened:
                self._count(issue, AT["real_resolved"], month, unit, handler)

    def _reopened(self, issue: _Issue, event: IssueReopened) -> None:
        month, handler = self._when(event.occurred_at)[0], issue.completed_by
        self._count(issue, AT["reopened"], month, event.unit, handler)
        self._mark(issue, "reopened", month, event.unit, handler)
        issue.reopened, issue.rating, issue.completed_by, issue.at = True, None, None, event.unit

    def flag_callback(self, issue_id: str, handler_code: str | None) -> None:
        """A callback (回访抽查) found the recorded satisfaction untrue: flagged once per issue, in the month it
        was closed, for its return point and for `handler_code` (default: the handler that completed it)."""
        issue = self._issues.get(issue_id)
        if issue is None or issue.flagged:
            return
        issue.flagged = True
        month, unit, handler = issue.closed_month or issue.month, issue.return_point(), handler_code
        handler = handler or issue.completed_by
        self._count(issue, AT["flagged"], month, unit, handler)
        self._mark(issue, "flagged", month, unit, handler)

    def closing(self, issue_id: str) -> tuple[str | None, str | None] | None:
        """For callbacks: (the satisfaction recorded, the handler that completed it) of a closed issue; None while
        it is not closed (or unknown). Closed is final, so the answer never changes once there is one."""
        issue = self._issues.get(issue_id)
        if issue is None or issue.closed_month is None:
            return None
        return issue.rating, issue.completed_by

    def closed_issues(self, period: str = "all") -> list[tuple[str, str]]:
        """(issue id, month closed) of the issues closed in the period, by id: what callbacks are drawn from."""
        check_period(period)
        return sorted(
            (i.id, month) for i in self._issues.values() if (month := i.closed_month) and _in_period(month, period)
        )

    def issues_count(self) -> int:
        return len(self._issues)

    # -- reading -------------------------------------------------------------------------------

    def figures(
        self, view: RegistryView, *, by: str, period: str, today: date, under: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Every figure (FIGURES, EXTRA and the "unable:<reason>" counts) of every key with any, by `by`."""
        return {
            key: dict(zip(ALL, vector, strict=True)) for key, vector in self._vectors(view, by, period, today, under)
        }

    def rows(
        self, view: RegistryView, *, by: str, period: str, today: date, under: str | None = None
    ) -> list[LedgerRow]:
        """One row per key with any figure: by unit, town (its whole subtree), handler, category, channel or
        deputy; `under` keeps the units, towns, handlers and deputies of that unit's subtree."""
        return [self._row(view, by, key, period, v) for key, v in self._vectors(view, by, period, today, under)]

    def unable_reasons(self, *, by: str, key: str, period: str) -> dict[str, int]:
        if by not in self._tables:
            raise ValueError(f"by must be one of {sorted(self._tables)}, not {by!r}")
        vector = _sum(self._tables[by].get(key, {}), check_period(period))
        return {name.split(":", 1)[1]: vector[AT[name]] for name in REASONS if vector[AT[name]]}

    def overdue(self, view: RegistryView, today: date) -> list[OverdueItem]:
        """Open referrals past their deadline, oldest deadline first."""
        late = sorted(
            (i.deadline, i.id, i) for i in self._open.values() if i.deadline is not None and i.deadline < today
        )
        return [
            OverdueItem(
                issue_id=i.id,
                referral_id=i.referral or "",
                handler_code=i.lead or "",
                handler_name=_name(view, "handler", i.lead or ""),
                unit=i.return_point(),
                town=_town(view, i.received_unit) or _town(view, i.return_point()),
                deadline=deadline,
                days_overdue=(today - deadline).days,
            )
            for deadline, _, i in late
        ]

    def accountability(
        self, view: RegistryView, today: date, period: str, threshold: int = 2
    ) -> list[AccountabilityEntry]:
        """Handlers and units whose overdue (now) + reopened + flagged (in the period) reach `threshold`."""
        check_period(period)
        found: dict[tuple[str, str], dict[str, list[str]]] = {}
        for item in self.overdue(view, today):
            for key in (("handler", item.handler_code), ("unit", item.unit)):
                found.setdefault(key, {}).setdefault("overdue", []).append(item.issue_id)
        for key, marks in self._marks.items():
            for month, what, issue_id in marks:
                if _in_period(month, period):
                    found.setdefault(key, {}).setdefault(what, []).append(issue_id)
        entries = [
            AccountabilityEntry(
                key=code,
                name=_name(view, dim, code),
                kind=_kind(view, dim, code),
                overdue=len(what.get("overdue", ())),
                reopened=len(what.get("reopened", ())),
                flagged=len(what.get("flagged", ())),
                issues=sorted({i for issues in what.values() for i in issues}),
            )
            for (dim, code), what in found.items()
            if sum(map(len, what.values())) >= threshold
        ]
        return sorted(entries, key=lambda e: (-(e.overdue + e.reopened + e.flagged), e.key))

    def rankings(self, view: RegistryView, *, kind: str, period: str, today: date) -> list[LedgerRow]:
        """Exemplars (典型): towns (whole subtree) or villages by results (resolved on the spot + resolved +
        closed, descending, then fewer dissatisfied); deputies by the issues they collected that were closed
        satisfied or basically satisfied (then by issues collected)."""
        if kind in ("deputy", "grid_staff"):
            vectors = list(self._vectors(view, "deputy", period, today, None))
            if kind == "grid_staff":  # grid leaders and members (网长, 网格员) are deputies holding a grid role
                vectors = [kv for kv in vectors if view.referrers("deputy_grid_roles", kv[0])]
            vectors.sort(key=lambda kv: (-kv[1][AT["closed_content"]], -kv[1][AT["collected"]], kv[0]))
        elif kind in ("town", "village"):
            found = self._vectors(view, "town" if kind == "town" else "unit", period, today, None)
            vectors = [kv for kv in found if _kind(view, "unit", kv[0]) == kind]
            results = (AT["resolved_on_spot"], AT["resolved"], AT["closed"])
            vectors.sort(key=lambda kv: (-sum(kv[1][i] for i in results), kv[1][AT["dissatisfied"]], kv[0]))
        else:
            raise ValueError(f"kind must be town, village, deputy or grid_staff, not {kind!r}")
        by = "deputy" if kind in ("deputy", "grid_staff") else "unit"
        rows = [self._row(view, by, key, period, vector) for key, vector in vectors]
        if kind == "grid_staff":
            for row in rows:
                roles = [view.get(GridRole, code) for code in sorted(view.referrers("deputy_grid_roles", row.key))]
                row.kind = "、".join(r.role for r in roles if r) or row.kind
        return rows

    def _row(self, view: RegistryView, by: str, key: str, period: str, vector: list[int]) -> LedgerRow:
        dim = "unit" if by == "town" else by
        figures = {name: vector[i] for name, i in _ROW}
        return LedgerRow(key=key, name=_name(view, dim, key), kind=_kind(view, dim, key), period=period, **figures)

    def _vectors(
        self, view: RegistryView, by: str, period: str, today: date, under: str | None
    ) -> Iterable[tuple[str, list[int]]]:
        if by not in DIMENSIONS:
            raise ValueError(f"by must be one of {list(DIMENSIONS)}, not {by!r}")
        if under is not None and by in ("category", "channel"):
            raise ValueError(f"`under` does not apply to rows by {by}")
        check_period(period)
        table = self._tables["unit" if by == "town" else by]
        sums = {key: _sum(months, period) for key, months in table.items()}
        for issue in self._open.values():
            key = _open_key(issue, "unit" if by == "town" else by)
            if key is not None:
                vector = sums.get(key) or sums.setdefault(key, [0] * _WIDTH)
                vector[AT["in_progress"]] += 1
                vector[AT["overdue"]] += issue.deadline is not None and issue.deadline < today
        if by == "town":
            sums = _roll_up(view, sums)
        keep = _scope(view, by, under)
        return sorted((k, v) for k, v in sums.items() if any(v) and (keep is None or k in keep))


def _sum(months: dict[str, list[int]], period: str) -> list[int]:
    if len(period) == 7:
        return list(months.get(period) or [0] * _WIDTH)
    total = [0] * _WIDTH
    for month, vector in months.items():
        if period == "all" or month.startswith(period):
            total = list(map(add, total, vector))
    return total


def _in_period(month: str, period: str) -> bool:
    return period == "all" or month == period or (len(period) == 4 and month.startswith(period))


def _open_key(issue: _Issue, dim: str) -> str | None:
    if dim == "unit":
        return issue.assigned_unit or issue.at
    if dim == "handler":
        return issue.lead
    return {"category": issue.category, "channel": issue.channel, "deputy": issue.deputy}[dim]


def _town(view: RegistryView, unit: str) -> str | None:
    return next((u.code for u in view.parent_chain(unit) if u.tier == "town"), None)


def _roll_up(view: RegistryView, sums: dict[str, list[int]]) -> dict[str, list[int]]:
    towns: dict[str, list[int]] = {}
    for unit, vector in sums.items():
        town = _town(view, unit)
        if town is not None:
            towns[town] = list(map(add, towns.get(town) or [0] * _WIDTH, vector))
    return towns


def _scope(view: RegistryView, by: str, under: str | None) -> set[str] | None:
    if under is None:
        return None
    units = {u.code for u in view.subtree(under)}
    if by in ("unit", "town"):
        return units
    if by == "handler":
        return {h.code for h in view.all(Handler) if h.unit_code in units}
    stations = {s.code for s in view.all(Station) if s.unit_code in units}
    return {d.code for d in view.all(Deputy) if d.station_code in stations}


def _name(view: RegistryView, dim: str, key: str) -> str:
    found: AdminUnit | Handler | Deputy | None = None
    if dim == "unit":
        found = view.unit(key)
    elif dim in ("handler", "deputy"):
        found = view.get(Handler if dim == "handler" else Deputy, key)
    return found.name if found is not None else key


def _kind(view: RegistryView, dim: str, key: str) -> str:
    if dim == "unit":
        unit = view.unit(key)
        return unit.tier if unit is not None else "unit"
    if dim == "handler":
        handler = view.get(Handler, key)
        return handler.kind if handler is not None else "handler"
    return dim
