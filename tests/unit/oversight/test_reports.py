"""The monthly report read back from its files: the workbook with openpyxl (sheets, headers, values and the
formulas behind totals, rates and the summary), the PDF with pypdfium2 (its text, and page 1 rendered)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.oversight.reports import FIGURE_TITLES, monthly_pdf, monthly_workbook, period_title
from services.oversight.views import (
    FIGURES,
    AccountabilityEntry,
    LedgerRow,
    MonthlyReport,
    OverdueItem,
    Score,
    ScoreLine,
)

MONTH = "2026-11"
LEDGER_SHEETS = ("镇(街道)台账", "部门台账", "分类台账")


def ledger(key: str, name: str, kind: str, *figures: int) -> LedgerRow:
    return LedgerRow(key=key, name=name, kind=kind, period=MONTH, **dict(zip(FIGURES, figures, strict=True)))


def line(indicator: str, numerator: int, denominator: int, weight: float) -> ScoreLine:
    value = numerator / denominator
    return ScoreLine(
        indicator=indicator,
        value=value,
        weight=weight,
        points=value * weight * 100,
        numerator=numerator,
        denominator=denominator,
    )


def score(key: str, name: str, kind: str, rank: int, lines: list[ScoreLine]) -> Score:
    total = sum(x.points for x in lines)
    return Score(key=key, name=name, kind=kind, period=MONTH, score=total, rank=rank, lines=lines)


#                 collected on_spot resolved escalated assigned completed in_progress overdue unable closed reopened
#                 satisfied basically dissatisfied
TOWNS = [
    ledger("610902005", "关庙镇", "town", 120, 96, 14, 10, 14, 12, 2, 1, 0, 104, 2, 82, 15, 3),
    ledger("610902007", "瀛湖镇", "town", 86, 70, 9, 7, 9, 7, 2, 0, 1, 76, 1, 60, 12, 4),
    ledger("610902014", "双龙镇", "town", 64, 55, 5, 4, 5, 5, 0, 0, 0, 58, 0, 50, 6, 2),
    ledger("610902001", "老城街道", "town", 150, 118, 20, 12, 20, 15, 5, 2, 1, 130, 3, 101, 22, 7),
]
DEPARTMENTS = [
    ledger("d-transport", "汉滨区交通运输局", "district_department", 0, 0, 0, 0, 18, 13, 5, 2, 1, 11, 2, 8, 3, 2),
    ledger("d-water", "汉滨区水利局", "district_department", 0, 0, 0, 0, 9, 9, 0, 0, 0, 9, 0, 8, 1, 0),
    ledger("t-610902005-finance", "关庙镇财政所", "town_office", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
]
CATEGORIES = [
    ledger("water_supply", "water_supply", "category", 150, 130, 11, 9, 9, 9, 0, 0, 0, 135, 1, 110, 20, 5),
    ledger("roads_and_landslides", "道路与滑坡", "category", 170, 120, 27, 23, 27, 19, 8, 3, 2, 150, 4, 120, 25, 8),
    ledger("hardship", "生活困难", "category", 100, 89, 10, 1, 12, 11, 1, 0, 0, 83, 1, 63, 10, 3),
]
DISTRICT = ledger("610902", "汉滨区", "district", 420, 339, 48, 33, 48, 39, 9, 3, 2, 368, 6, 293, 55, 16)
SCORES = [
    score(
        "d-water",
        "汉滨区水利局",
        "department",
        1,
        [line("on_time_completion", 9, 9, 0.4), line("satisfaction", 9, 9, 0.4), line("reopen_rate", 9, 9, 0.2)],
    ),
    score(
        "d-transport",
        "汉滨区交通运输局",
        "department",
        2,
        [line("on_time_completion", 13, 18, 0.4), line("satisfaction", 11, 13, 0.4), line("reopen_rate", 9, 11, 0.2)],
    ),
    score("610902014", "双龙镇", "town", 1, [line("real_resolution", 58, 64, 0.6), line("satisfaction", 56, 58, 0.4)]),
]
OVERDUE = [
    OverdueItem(
        issue_id="HB-202611-000087",
        referral_id="R-HB-202611-000087-1",
        handler_code="d-transport",
        handler_name="汉滨区交通运输局",
        unit="610902",
        town="610902005",
        deadline=date(2026, 11, 20),
        days_overdue=11,
    ),
    OverdueItem(
        issue_id="HB-202610-000412",
        referral_id="R-HB-202610-000412-2",
        handler_code="d-transport",
        handler_name="汉滨区交通运输局",
        unit="610902",
        town=None,
        deadline=date(2026, 11, 5),
        days_overdue=26,
    ),
]
ACCOUNTABILITY = [
    AccountabilityEntry(
        key="d-transport",
        name="汉滨区交通运输局",
        kind="district_department",
        overdue=2,
        reopened=2,
        flagged=1,
        issues=["HB-202611-000087", "HB-202610-000412", "HB-202610-000377"],
    )
]


def monthly_report(**changes: object) -> MonthlyReport:
    parts: dict[str, object] = {
        "month": MONTH,
        "district": "汉滨区",
        "generated_on": date(2026, 12, 1),
        "total": DISTRICT,
        "towns": TOWNS,
        "departments": DEPARTMENTS,
        "categories": CATEGORIES,
        "scores": SCORES,
        "overdue": OVERDUE,
        "accountability": ACCOUNTABILITY,
    }
    return MonthlyReport(**(parts | changes))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    path = tmp_path_factory.mktemp("report") / "月报.xlsx"
    path.write_bytes(monthly_workbook(monthly_report()))
    return load_workbook(path)


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> pdfium.PdfDocument:
    path = tmp_path_factory.mktemp("report") / "月报.pdf"
    path.write_bytes(monthly_pdf(monthly_report()))
    return pdfium.PdfDocument(path)


def column(sheet: Worksheet, title: str, header_row: int = 1) -> str:
    """The letter of the column whose header is `title`, so tests follow the headers, not fixed positions."""
    letters = [cell.column_letter for cell in sheet[header_row] if cell.value == title]
    assert len(letters) == 1, f"{sheet.title} has {len(letters)} columns titled {title}"
    return letters[0]


def row_titled(sheet: Worksheet, title: str) -> int:
    rows = [cell.row for cell in sheet["A"] if cell.value == title]
    assert len(rows) == 1, f"{sheet.title} has {len(rows)} rows titled {title}"
    return rows[0]


# ---- the words ----


def test_every_ledger_figure_has_a_chinese_title_in_the_ledgers_order() -> None:
    assert tuple(FIGURE_TITLES) == FIGURES


def test_periods_read_as_chinese_months_years_or_all_time() -> None:
    assert [period_title(p) for p in ("2026-11", "2026-03", "2026", "all")] == [
        "2026年11月",
        "2026年3月",
        "2026年",
        "累计",
    ]


# ---- the workbook ----


def test_workbook_has_one_sheet_per_view_summary_first(book: Workbook) -> None:
    assert book.sheetnames == ["汇总", *LEDGER_SHEETS, "考核得分", "督办(逾期)", "问责名单"]
    assert book.properties.language == "zh-CN"


def test_ledger_sheets_have_chinese_headers_a_frozen_header_and_numbers_as_numbers(book: Workbook) -> None:
    towns = book["镇(街道)台账"]
    titles = [cell.value for cell in towns[1]]
    assert titles == ["代码", "名称", *FIGURE_TITLES.values(), "解决率", "办结率", "满意率"]
    assert titles[2:9] == ["收集", "立即解决", "本级解决", "上报", "交办", "办结", "办理中"]
    assert titles[9:16] == ["逾期", "无法办理", "销号", "重新办理", "满意", "基本满意", "不满意"]
    assert towns.freeze_panes == "C2"
    assert [towns[f"{column(towns, '名称')}{r}"].value for r in range(2, 6)] == [
        "关庙镇",
        "瀛湖镇",
        "双龙镇",
        "老城街道",
    ]
    assert towns[f"{column(towns, '收集')}2"].value == 120
    assert towns[f"{column(towns, '满意')}5"].value == 101
    assert all(isinstance(towns.cell(2, c).value, int) for c in range(3, 17))
    assert towns.column_dimensions["B"].width >= 8
    assert [cell.value for cell in book["部门台账"][1]][:4] == ["代码", "名称", "类型", "收集"]
    assert book["部门台账"]["C2"].value == "区直部门"
    assert book["分类台账"]["B2"].value == "供水", "a category whose name is its code shows its Chinese label"


def test_unit_codes_and_issue_numbers_stay_text(book: Workbook) -> None:
    towns, overdue = book["镇(街道)台账"], book["督办(逾期)"]
    assert [towns[f"A{r}"].value for r in range(2, 6)] == ["610902005", "610902007", "610902014", "610902001"]
    assert towns["A2"].data_type == "s" and towns["A2"].number_format == "@"
    assert overdue["A2"].value == "HB-202611-000087" and overdue["A2"].number_format == "@"
    assert book["考核得分"]["A8"].value == "610902014"


@pytest.mark.parametrize(("sheet_name", "rows"), [("镇(街道)台账", 4), ("部门台账", 3), ("分类台账", 3)])
def test_the_total_row_sums_every_figure_column_over_the_data_rows(book: Workbook, sheet_name: str, rows: int) -> None:
    sheet = book[sheet_name]
    total = rows + 2
    assert sheet[f"A{total}"].value == "合计"
    assert sheet.max_row == total
    for title in FIGURE_TITLES.values():
        letter = column(sheet, title)
        assert sheet[f"{letter}{total}"].value == f"=SUM({letter}2:{letter}{total - 1})"
    assert sheet[f"A{total}"].font.bold


@pytest.mark.parametrize("sheet_name", LEDGER_SHEETS)
def test_rates_are_percentage_formulas_blank_when_nothing_to_divide_by(book: Workbook, sheet_name: str) -> None:
    sheet = book[sheet_name]
    c = {title: column(sheet, title) for title in FIGURE_TITLES.values()}
    for r in range(2, sheet.max_row + 1):  # the 合计 row too
        done = sheet[f"{column(sheet, '办结率')}{r}"]
        assert done.value == f'=IF({c["交办"]}{r}=0,"",{c["办结"]}{r}/{c["交办"]}{r})'
        assert done.number_format == "0.0%"
        rated = f"{c['满意']}{r}+{c['基本满意']}{r}+{c['不满意']}{r}"
        satisfied = f"{c['满意']}{r}+{c['基本满意']}{r}"
        assert sheet[f"{column(sheet, '满意率')}{r}"].value == f'=IF(({rated})=0,"",({satisfied})/({rated}))'
        solved = f"{c['立即解决']}{r}+{c['本级解决']}{r}"
        assert sheet[f"{column(sheet, '解决率')}{r}"].value == f'=IF({c["收集"]}{r}=0,"",({solved})/{c["收集"]}{r})'


def test_summary_shows_the_district_beside_each_ledger_sheets_total_by_cross_sheet_formulas(book: Workbook) -> None:
    summary = book["汇总"]
    assert summary["A1"].value == "汉滨区人大代表联系选民工作月报 2026年11月"
    header = row_titled(summary, "指标")
    assert [cell.value for cell in summary[header]] == ["指标", "全区", *(f"{s}合计" for s in LEDGER_SHEETS)]
    assert summary.freeze_panes == f"B{header + 1}"
    for figure, title in FIGURE_TITLES.items():
        r = row_titled(summary, title)
        assert summary[f"B{r}"].value == getattr(DISTRICT, figure)
        for letter, sheet_name in zip("CDE", LEDGER_SHEETS, strict=True):
            reference = re.fullmatch(r"='(.+)'!([A-Z]+)(\d+)", summary[f"{letter}{r}"].value)
            assert reference is not None and reference[1] == sheet_name
            target = book[sheet_name]
            assert target[f"A{reference[3]}"].value == "合计", "the summary points at the sheet's 合计 row"
            assert reference[2] == column(target, title), "and at the figure's own column"
    done, assigned, completed = (row_titled(summary, t) for t in ("办结率", "交办", "办结"))
    assert summary[f"C{done}"].value == f'=IF(C{assigned}=0,"",C{completed}/C{assigned})'
    assert summary[f"C{done}"].number_format == "0.0%"
    assert summary[f"B{row_titled(summary, '督办(逾期)件数')}"].value == "=COUNTA('督办(逾期)'!A:A)-1"
    assert summary[f"B{row_titled(summary, '问责对象数')}"].value == "=COUNTA('问责名单'!A:A)-1"
    assert summary["B3"].value == datetime(2026, 12, 1)


def test_scores_sheet_explains_each_score_line_by_line(book: Workbook) -> None:
    sheet = book["考核得分"]
    titles = ["代码", "名称", "类型", "期间", "排名", "总分", "指标", "指标值", "权重", "得分", "分子", "分母"]
    assert [cell.value for cell in sheet[1]] == titles
    lines = [(s, x) for s in SCORES for x in s.lines]
    assert sheet.max_row == 1 + len(lines)
    value, weight, points = column(sheet, "指标值"), column(sheet, "权重"), column(sheet, "得分")
    for r, (s, x) in enumerate(lines, start=2):
        row = {cell.column_letter: cell.value for cell in sheet[r]}
        assert (row["A"], row["B"], row["E"], row["F"]) == (s.key, s.name, s.rank, pytest.approx(s.score))
        assert (row["K"], row["L"]) == (x.numerator, x.denominator)
        assert row[points] == f"={value}{r}*{weight}{r}*100"
        assert row[value] * row[weight] * 100 == pytest.approx(x.points), "the formula gives the recorded points"
    assert sheet["C2"].value == "部门" and sheet["C8"].value == "镇(街道)"
    assert sheet["G2"].value == "按期办结率" and sheet[f"{value}2"].number_format == "0.0%"


def test_overdue_sheet_lists_each_referral_with_its_deadline_as_a_date(book: Workbook) -> None:
    sheet = book["督办(逾期)"]
    assert [cell.value for cell in sheet[1]] == [
        "问题编号",
        "交办单号",
        "承办单位代码",
        "承办单位",
        "交办单位",
        "所属镇(街道)",
        "办理期限",
        "逾期天数",
    ]
    assert [cell.value for cell in sheet[2]] == [
        "HB-202611-000087",
        "R-HB-202611-000087-1",
        "d-transport",
        "汉滨区交通运输局",
        "汉滨区",
        "关庙镇",
        datetime(2026, 11, 20),
        11,
    ]
    assert sheet["F3"].value is None and sheet["H3"].value == 26
    assert sheet["G2"].number_format == "yyyy-mm-dd"


def test_accountability_sheet_totals_each_entry_and_names_its_issues(book: Workbook) -> None:
    sheet = book["问责名单"]
    assert [cell.value for cell in sheet[1]][3:8] == ["逾期", "重新办理", "回访抽查不符", "合计", "问题数"]
    assert [cell.value for cell in sheet[2]] == [
        "d-transport",
        "汉滨区交通运输局",
        "区直部门",
        2,
        2,
        1,
        "=SUM(D2:F2)",
        3,
        "HB-202611-000087、HB-202610-000412、HB-202610-000377",
    ]


def test_an_empty_month_still_makes_a_workbook_without_circular_totals(tmp_path: Path) -> None:
    empty = ledger("610902", "汉滨区", "district", *[0] * len(FIGURES))
    report = monthly_report(
        total=empty, towns=[], departments=[], categories=[], scores=[], overdue=[], accountability=[]
    )
    path = tmp_path / "空.xlsx"
    path.write_bytes(monthly_workbook(report))
    towns = load_workbook(path)["镇(街道)台账"]
    assert towns["A2"].value == "合计" and towns["C2"].value == 0
    assert towns[f"{column(towns, '办结率')}2"].value == '=IF(G2=0,"",H2/G2)'
    assert monthly_pdf(report).startswith(b"%PDF")


# ---- the PDF ----


def test_pdf_is_a4_and_its_first_page_carries_the_title_and_the_summary(pdf: pdfium.PdfDocument) -> None:
    assert len(pdf) >= 1
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (595, 842)
    text = pdf[0].get_textpage().get_text_range()
    assert "2026" in text and "11" in text and "2026-12-01" in text
    # STSong-Light is a standard CID font, so its text extracts as Chinese.
    assert "汉滨区人大代表联系选民工作月报 2026年11月" in text
    assert "收集问题和意见建议420条" in text
    assert "95.6%" in text  # 满意率 (293 + 55) / 364


def test_pdf_holds_the_departments_overdue_and_accountability_tables(pdf: pdfium.PdfDocument) -> None:
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for expected in ("关庙镇", "老城街道", "汉滨区交通运输局", "关庙镇财政所", "HB-202611-000087", "2026-11-05"):
        assert expected in text
    assert "HB-202610-000377" in text, "the accountability list names the issues behind an entry"


def test_pdf_first_page_renders_with_text_and_coloured_charts(pdf: pdfium.PdfDocument) -> None:
    image = pdf[0].render(scale=1).to_pil().convert("RGB")
    area = image.width * image.height
    ink = sum(image.convert("L").histogram()[:200])
    assert ink > 0.03 * area, "the page has plenty of non-white pixels"
    saturated = sum(image.convert("HSV").getchannel("S").histogram()[100:])
    assert saturated > 0.02 * area, "the charts' bars and slices are in colour"
    counts = {colour: n for n, colour in image.getcolors(maxcolors=area)}
    blue, green = (0x2E, 0x75, 0xB6), (0x70, 0xAD, 0x47)
    assert counts.get(blue, 0) > 1000 and counts.get(green, 0) > 1000, "collected and resolved bars both drawn"


def test_the_same_report_gives_the_same_pdf_bytes() -> None:
    assert monthly_pdf(monthly_report()) == monthly_pdf(monthly_report())
