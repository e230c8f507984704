"""The monthly report as an Excel workbook: one sheet per view, Chinese headers, and totals, rates and
the summary as live formulas, so the figures stay right when an office sorts, filters or corrects a row."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from services.oversight.reports import (
    FIGURE_TITLES,
    INDICATOR_TITLES,
    RATES,
    Rate,
    kind_title,
    period_title,
    report_title,
    row_name,
    unit_name,
)
from services.oversight.views import FIGURES, LedgerRow, MonthlyReport

SUMMARY, TOWNS, DEPARTMENTS, CATEGORIES = "汇总", "镇(街道)台账", "部门台账", "分类台账"
SCORES, OVERDUE, ACCOUNTABILITY = "考核得分", "督办(逾期)", "问责名单"
TOTAL = "合计"
TEXT, PERCENT, DECIMAL, DATE = "@", "0.0%", "0.00", "yyyy-mm-dd"

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
RULE = Border(top=Side(style="thin"))


@dataclass(frozen=True)
class Totals:
    """Where a ledger sheet keeps its 合计 row, for the summary's cross-sheet formulas."""

    sheet: str
    row: int
    columns: dict[str, str]  # figure → column letter

    def ref(self, figure: str) -> str:
        return f"={quote_sheetname(self.sheet)}!{self.columns[figure]}{self.row}"


def workbook(report: MonthlyReport) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = SUMMARY
    ledgers = [
        ledger_sheet(book.create_sheet(TOWNS), report.towns),
        ledger_sheet(book.create_sheet(DEPARTMENTS), report.departments, with_kind=True),
        ledger_sheet(book.create_sheet(CATEGORIES), report.categories),
    ]
    scores_sheet(book.create_sheet(SCORES), report)
    overdue_sheet(book.create_sheet(OVERDUE), report)
    accountability_sheet(book.create_sheet(ACCOUNTABILITY), report)
    summary_sheet(summary, report, ledgers)
    book.properties.title = report_title(report)
    book.properties.creator = f"{report.district}人大常委会"
    book.properties.language = "zh-CN"
    book.properties.created = datetime.combine(report.generated_on, time())
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def rate_formula(of: Rate, cell: Callable[[str], str]) -> str:
    """`=IF(G2=0,"",H2/G2)` over the figures' cells (`cell(figure)`): blank, not #DIV/0!, when nothing is below."""
    top, below = "+".join(map(cell, of.numerator)), "+".join(map(cell, of.denominator))
    if len(of.numerator) > 1:
        top = f"({top})"
    if len(of.denominator) > 1:
        below = f"({below})"
    return f'=IF({below}=0,"",{top}/{below})'


def put_rates(sheet: Worksheet, row: int, column: int, cell: Callable[[str], str]) -> None:
    """The rate columns from `column` on, as percentages."""
    for offset, of in enumerate(RATES):
        sheet.cell(row, column + offset, rate_formula(of, cell)).number_format = PERCENT


def ledger_sheet(sheet: Worksheet, rows: list[LedgerRow], *, with_kind: bool = False) -> Totals:
    """A ledger (台账): a row per unit, handler or category, a 合计 row of SUMs, and the rates."""
    leading = ["代码", "名称", *(["类型"] if with_kind else [])]
    header(sheet, [*leading, *FIGURE_TITLES.values(), *(r.title for r in RATES)])
    first = len(leading) + 1
    columns = {figure: get_column_letter(first + i) for i, figure in enumerate(FIGURES)}
    for r, row in enumerate(rows, start=2):
        kind = [kind_title(row.kind)] if with_kind else []
        put(sheet, r, [row.key, row_name(row), *kind, *(getattr(row, f) for f in FIGURES)], text_columns=1)
        put_rates(sheet, r, first + len(FIGURES), lambda f, r=r: f"{columns[f]}{r}")
    total = len(rows) + 2
    sheet.cell(total, 1, TOTAL)
    for column in columns.values():
        sheet[f"{column}{total}"] = f"=SUM({column}2:{column}{total - 1})" if rows else 0
    put_rates(sheet, total, first + len(FIGURES), lambda f: f"{columns[f]}{total}")
    emphasise(sheet, total)
    finish(sheet, freeze=f"{get_column_letter(first)}2", filter_rows=len(rows))
    return Totals(sheet.title, total, columns)


def summary_sheet(sheet: Worksheet, report: MonthlyReport, ledgers: list[Totals]) -> None:
    """汇总: the district's figures beside each ledger sheet's 合计 (cross-sheet formulas), the rates, and counts."""
    sheet["A1"] = report_title(report)
    sheet["A1"].font = Font(bold=True, size=14)
    put(sheet, 2, ["统计期间", period_title(report.month)])
    put(sheet, 3, ["生成日期", report.generated_on])
    sheet["B3"].number_format = DATE
    top = 5
    header(sheet, ["指标", "全区", *(f"{t.sheet}合计" for t in ledgers)], row=top)
    at = {figure: top + 1 + i for i, figure in enumerate(FIGURES)}
    for figure, r in at.items():
        put(sheet, r, [FIGURE_TITLES[figure], getattr(report.total, figure), *(t.ref(figure) for t in ledgers)])
    for i, of in enumerate(RATES):
        r = top + 1 + len(FIGURES) + i
        sheet.cell(r, 1, of.title)
        for c in range(2, 3 + len(ledgers)):
            letter = get_column_letter(c)
            sheet.cell(r, c, rate_formula(of, lambda f, x=letter: f"{x}{at[f]}")).number_format = PERCENT
    r = top + len(FIGURES) + len(RATES) + 2
    for title, counted in (("督办(逾期)件数", OVERDUE), ("问责对象数", ACCOUNTABILITY)):
        put(sheet, r, [title, f"=COUNTA({quote_sheetname(counted)}!A:A)-1"])
        r += 1
    finish(sheet, freeze=f"B{top + 1}")
    sheet.column_dimensions["A"].width = 16


def scores_sheet(sheet: Worksheet, report: MonthlyReport) -> None:
    """考核得分: a row per indicator of each score, so a score explains itself line by line."""
    header(
        sheet,
        ["代码", "名称", "类型", "期间", "排名", "总分", "指标", "指标值", "权重", "得分", "分子", "分母"],
    )
    r = 2
    for score in report.scores:
        about = [score.key, score.name, kind_title(score.kind), period_title(score.period), score.rank, score.score]
        for line in score.lines or [None]:
            put(sheet, r, about, text_columns=1)
            sheet.cell(r, 6).number_format = DECIMAL
            if line is not None:
                title = INDICATOR_TITLES.get(line.indicator, line.indicator)
                put(sheet, r, [title, line.value, line.weight, f"=H{r}*I{r}*100", line.numerator, line.denominator], 7)
                for column, number_format in ((8, PERCENT), (9, DECIMAL), (10, DECIMAL)):
                    sheet.cell(r, column).number_format = number_format
            r += 1
    finish(sheet, freeze="C2", filter_rows=r - 2)


def overdue_sheet(sheet: Worksheet, report: MonthlyReport) -> None:
    """督办(逾期): every referral past its deadline, with who holds it and for how long."""
    titles = ["问题编号", "交办单号", "承办单位代码", "承办单位", "交办单位", "所属镇(街道)", "办理期限", "逾期天数"]
    header(sheet, titles)
    for r, item in enumerate(report.overdue, start=2):
        units = [unit_name(report, item.unit), unit_name(report, item.town)]
        values = [item.issue_id, item.referral_id, item.handler_code, item.handler_name, *units]
        put(sheet, r, [*values, item.deadline, item.days_overdue], text_columns=6)
        sheet.cell(r, 7).number_format = DATE
    finish(sheet, freeze="B2", filter_rows=len(report.overdue))


def accountability_sheet(sheet: Worksheet, report: MonthlyReport) -> None:
    """问责名单: handlers and units repeatedly overdue, reopened or flagged, with the issues behind them."""
    titles = ["代码", "名称", "类型", "逾期", "重新办理", "回访抽查不符", "合计", "问题数", "涉及问题"]
    header(sheet, titles)
    for r, entry in enumerate(report.accountability, start=2):
        counts = [entry.overdue, entry.reopened, entry.flagged, f"=SUM(D{r}:F{r})", len(entry.issues)]
        put(sheet, r, [entry.key, entry.name, kind_title(entry.kind), *counts, "、".join(entry.issues)], text_columns=1)
        sheet.cell(r, 9).number_format = TEXT
    finish(sheet, freeze="C2", filter_rows=len(report.accountability))


# ---- cells and looks ----


def put(sheet: Worksheet, row: int, values: Sequence[Any], column: int = 1, *, text_columns: int = 0) -> None:
    """Write values from `column` on; the first `text_columns` are codes, kept (and typed on as) text."""
    for offset, value in enumerate(values):
        cell = sheet.cell(row, column + offset, value)
        if offset < text_columns:
            cell.number_format = TEXT


def header(sheet: Worksheet, titles: Sequence[str], *, row: int = 1) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row, column, title)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.print_title_rows = f"{row}:{row}"


def emphasise(sheet: Worksheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font, cell.fill, cell.border = BOLD, TOTAL_FILL, RULE


def finish(sheet: Worksheet, *, freeze: str, filter_rows: int = 0) -> None:
    """Freeze the header, filter the data rows, fit the columns to their text, print landscape on one width."""
    sheet.freeze_panes = freeze
    if filter_rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(sheet.max_column)}{filter_rows + 1}"
    for column in sheet.iter_cols(min_row=1 if sheet.title != SUMMARY else 2):
        widest = max((display_width(c.value) for c in column), default=0)
        sheet.column_dimensions[column[0].column_letter].width = min(max(widest + 2, 8), 48)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def display_width(value: Any) -> int:
    """Columns a value takes in Excel: a Chinese character takes two; a formula takes a number's width."""
    if value is None:
        return 0
    text = "0.000%" if isinstance(value, str) and value.startswith("=") else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
