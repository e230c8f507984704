"""The monthly report (月报) as an Excel workbook and as a PDF, and the Chinese words both of them use.

The renderers live in `report_xlsx` and `report_pdf`; they are imported when a report is asked for, so
a process that never renders one does not load reportlab."""

from __future__ import annotations

from typing import NamedTuple

from common.registry.rosters import CATEGORY, HANDLER_KIND, TIER
from services.oversight.views import LedgerRow, MonthlyReport

# The ledger's column titles (台账), in the order of FIGURES.
FIGURE_TITLES: dict[str, str] = {
    "collected": "收集",
    "resolved_on_spot": "立即解决",
    "resolved": "本级解决",
    "escalated": "上报",
    "assigned": "交办",
    "completed": "办结",
    "in_progress": "办理中",
    "overdue": "逾期",
    "unable": "无法办理",
    "closed": "销号",
    "reopened": "重新办理",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}


class Rate(NamedTuple):
    """A rate of the ledger: the figures added up above the line, over the figures added up below it."""

    title: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]


RESOLUTION = Rate("解决率", ("resolved_on_spot", "resolved"), ("collected",))
COMPLETION = Rate("办结率", ("completed",), ("assigned",))
SATISFACTION = Rate(
    "满意率", ("satisfied", "basically_satisfied"), ("satisfied", "basically_satisfied", "dissatisfied")
)
RATES = (RESOLUTION, COMPLETION, SATISFACTION)

# The assessment's indicators as the scoring model names them; an indicator not listed shows its own name.
INDICATOR_TITLES: dict[str, str] = {
    "on_time_completion": "按期办结率",
    "real_resolution": "实际解决率",
    "satisfaction": "满意率",
    "reopen_rate": "重新办理率",
    "escalation_rate": "上报率",
    "unable_share": "无法办理占比",
    "callback_mismatch": "回访抽查不符",
}
SCORE_KINDS: dict[str, str] = {"department": "部门", "town": "镇(街道)", "village": "村(社区)"}


def period_title(period: str) -> str:
    """`2026-11` → `2026年11月`, `2026` → `2026年`, `all` → `累计`."""
    if period == "all":
        return "累计"
    year, _, month = period.partition("-")
    return f"{year}年{int(month)}月" if month else f"{year}年"


def report_title(report: MonthlyReport) -> str:
    return f"{report.district}人大代表联系选民工作月报 {period_title(report.month)}"


def kind_title(kind: str) -> str:
    """A ledger row's or score's kind in Chinese: a tier, a handler kind, or an assessed kind."""
    return SCORE_KINDS.get(kind) or HANDLER_KIND.dump(TIER.dump(kind))


def row_name(row: LedgerRow) -> str:
    """A category row may carry its code as its name; show the category's Chinese label then."""
    return CATEGORY.dump(row.key) if row.kind == "category" and row.name == row.key else row.name


def unit_name(report: MonthlyReport, code: str | None) -> str:
    """The name of the district or of one of its towns, from the report's own rows; else the code itself."""
    if code is None:
        return ""
    names = {report.total.key: report.district} | {town.key: town.name for town in report.towns}
    return names.get(code, code)


def rate(row: LedgerRow, of: Rate) -> float | None:
    """The rate's value for a row, or None where there is nothing below the line."""
    below = sum(getattr(row, f) for f in of.denominator)
    return sum(getattr(row, f) for f in of.numerator) / below if below else None


def monthly_workbook(report: MonthlyReport) -> bytes:
    """The report as an .xlsx workbook: one sheet per view, with totals and rates as live formulas."""
    from services.oversight.report_xlsx import workbook

    return workbook(report)


def monthly_pdf(report: MonthlyReport) -> bytes:
    """The report as an A4 PDF: the summary, charts of the towns and of satisfaction, and the tables."""
    from services.oversight.report_pdf import document

    return document(report)
