"""What oversight answers with: ledger rows, scores, supervision items, rankings and the monthly report's
data. Plain Structs, shared by the ledger (which computes them), the reports (which render them) and
the query API (which serves them as JSON)."""

from __future__ import annotations

from datetime import date

import msgspec

# The ledger's figures, in the order reports show them (台账).
FIGURES: tuple[str, ...] = (
    "collected",  # received at the unit's stations (by month received)
    "resolved_on_spot",  # resolved at once by the station that received it
    "resolved",  # resolved by the unit's own monthly review
    "escalated",  # passed up to the parent tier by the unit (month-end escalations included)
    "assigned",  # referred to a handler by the unit's review (for a handler: referrals it received)
    "completed",  # referrals completed by the lead handler
    "in_progress",  # referrals open now: assigned or accepted, not completed
    "overdue",  # referrals open now and past their deadline
    "unable",  # handlers' "unable" replies
    "closed",  # closed out (销号)
    "reopened",  # reopened after a dissatisfied rating
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
)


class LedgerRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of a ledger: a unit, a handler or a category, for one month (or a year, or all time)."""

    key: str  # a unit code, a handler code, a category, or a channel
    name: str
    kind: str  # city / district / town / village, a handler kind, "category" or "channel"
    period: str  # YYYY-MM, YYYY, or "all"
    collected: int = 0
    resolved_on_spot: int = 0
    resolved: int = 0
    escalated: int = 0
    assigned: int = 0
    completed: int = 0
    in_progress: int = 0
    overdue: int = 0
    unable: int = 0
    closed: int = 0
    reopened: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0


class ScoreLine(msgspec.Struct, kw_only=True):
    """One indicator of an assessment: its value, weight and what it counted, so a score explains itself."""

    indicator: str
    value: float  # 0..1
    weight: float
    points: float  # value × weight × 100
    numerator: int
    denominator: int


class Score(msgspec.Struct, kw_only=True):
    key: str
    name: str
    kind: str  # department / town / village
    period: str
    score: float  # 0..100
    rank: int
    lines: list[ScoreLine]


class OverdueItem(msgspec.Struct, kw_only=True):
    issue_id: str
    referral_id: str
    handler_code: str
    handler_name: str
    unit: str  # the unit whose review assigned it
    town: str | None  # the code of the town it came from (for the notice by town, and its leaders in charge)
    deadline: date
    days_overdue: int


class UnreviewedItem(msgspec.Struct, kw_only=True):
    """An issue its tier's monthly review did not decide: a supervision item until a review does."""

    issue_id: str
    tier: str
    unit: str
    unit_name: str
    month: str  # the month whose review left it
    town: str | None


class AccountabilityEntry(msgspec.Struct, kw_only=True):
    """A handler or unit repeatedly overdue, reopened or flagged, with the issues behind it (问责)."""

    key: str
    name: str
    kind: str
    overdue: int
    reopened: int
    flagged: int
    issues: list[str]


class MonthlyReport(msgspec.Struct, kw_only=True):
    """Everything the monthly report (workbook and PDF) shows, computed from the ledgers."""

    month: str
    district: str  # the district's name, e.g. 汉滨区
    generated_on: date
    total: LedgerRow  # the whole district
    towns: list[LedgerRow]
    departments: list[LedgerRow]
    categories: list[LedgerRow]
    scores: list[Score]
    overdue: list[OverdueItem]
    accountability: list[AccountabilityEntry]
