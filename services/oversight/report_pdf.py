"""The monthly report as an A4 PDF (reportlab): the summary in the source's words, a chart of the towns'
collected and resolved issues, the satisfaction mix, and the towns', departments', overdue and
accountability tables. All text is set in the built-in CID font STSong-Light, so nothing is embedded."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.oversight.reports import (
    COMPLETION,
    FIGURE_TITLES,
    RATES,
    SATISFACTION,
    kind_title,
    period_title,
    rate,
    report_title,
    unit_name,
)
from services.oversight.views import FIGURES, LedgerRow, MonthlyReport

FONT = "STSong-Light"
MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
BLUE, GREEN, AMBER, RED = (colors.HexColor(c) for c in ("#2E75B6", "#70AD47", "#FFC000", "#C00000"))
RATINGS = ((GREEN, "满意"), (AMBER, "基本满意"), (RED, "不满意"))
HEADER_FILL, TOTAL_FILL = colors.HexColor("#DDEBF7"), colors.HexColor("#F2F2F2")

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=17, leading=24, alignment=1, spaceAfter=2)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=9, leading=13, alignment=1, textColor=colors.grey)
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=15, wordWrap="CJK", firstLineIndent=19)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5, wordWrap="CJK")
HEAD_CELL = ParagraphStyle("head", parent=CELL, fontSize=7, alignment=1)

TOWN_FIGURES = ("collected", "resolved_on_spot", "resolved", "escalated", "assigned", "completed", "in_progress")
TOWN_FIGURES += ("overdue", "closed", "reopened")
DEPARTMENT_FIGURES = ("assigned", "completed", "in_progress", "overdue", "unable", "reopened")
DEPARTMENT_FIGURES += ("satisfied", "basically_satisfied", "dissatisfied")
MOST_ISSUES_LISTED = 12


def document(report: MonthlyReport) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = BytesIO()
    title = report_title(report)
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=title,
        author=f"{report.district}人大常委会",
        subject="人大代表联系选民工作月报",
        lang="zh-CN",
        displayDocTitle=True,
        initialFontName=FONT,
        invariant=True,  # the same report gives the same bytes
    )

    def footer(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, MARGIN, f"{title}　第 {canvas.getPageNumber()} 页")

    doc.build(story(report, title), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def story(report: MonthlyReport, title: str) -> list[Flowable]:
    generated = f"统计期间：{period_title(report.month)}　　生成日期：{report.generated_on.isoformat()}"
    return [
        Paragraph(title, TITLE),
        Paragraph(generated, SUBTITLE),
        Paragraph("一、总体情况", HEADING),
        Paragraph(summary_text(report.total), BODY),
        Spacer(1, 3 * mm),
        summary_table(report.total),
        KeepTogether([Paragraph("二、镇(街道)收集与解决情况", HEADING), towns_chart(report.towns)]),
        KeepTogether([Paragraph("三、满意度评价", HEADING), satisfaction_chart(report.total)]),
        Paragraph("四、镇(街道)台账", HEADING),
        ledger_table(report.towns, TOWN_FIGURES, with_kind=False),
        Paragraph("五、部门办理台账", HEADING),
        ledger_table(report.departments, DEPARTMENT_FIGURES, with_kind=True),
        Paragraph("六、督办事项（逾期未办结）", HEADING),
        overdue_table(report),
        Paragraph("七、问责名单", HEADING),
        accountability_table(report),
    ]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def summary_text(t: LedgerRow) -> str:
    """The month in one paragraph, in the source article's own phrasing."""
    satisfaction = percent(rate(t, SATISFACTION))
    return (
        f"本月全区共收集问题和意见建议{t.collected}条，立即解决{t.resolved_on_spot}条，本级研判解决{t.resolved}条，"
        f"上报{t.escalated}条；交办{t.assigned}条，已办结{t.completed}条，正在办理{t.in_progress}条，"
        f"逾期{t.overdue}条，无法办理{t.unable}条；已销号{t.closed}条，重新办理{t.reopened}条。"
        f"选民评价满意{t.satisfied}条、基本满意{t.basically_satisfied}条、不满意{t.dissatisfied}条，满意率{satisfaction}。"
    )


def summary_table(t: LedgerRow) -> Table:
    """Every figure and rate of the district as label/value pairs, six pairs a line."""
    pairs = [(FIGURE_TITLES[f], str(getattr(t, f))) for f in FIGURES]
    pairs += [(r.title, percent(rate(t, r))) for r in RATES]
    pairs += [("", "")] * (-len(pairs) % 6)
    lines = [[cell for pair in pairs[i : i + 6] for cell in pair] for i in range(0, len(pairs), 6)]
    table = Table(lines, colWidths=[WIDTH / 12] * 12)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.lightgrey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                *(("BACKGROUND", (c, 0), (c, -1), HEADER_FILL) for c in range(0, 12, 2)),
                *(("ALIGN", (c, 0), (c, -1), "CENTER") for c in range(0, 12, 2)),
            ]
        )
    )
    return table


def towns_chart(towns: list[LedgerRow]) -> Flowable:
    """Bars of each town's collected issues beside those it resolved (at once or by its review)."""
    if not towns:
        return Paragraph("本月无镇(街道)数据。", BODY)
    collected = [t.collected for t in towns]
    resolved = [t.resolved_on_spot + t.resolved for t in towns]
    drawing = Drawing(WIDTH, 210)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 32, 52, WIDTH - 40, 135
    chart.data = [collected, resolved]
    chart.bars[0].fillColor, chart.bars[1].fillColor = BLUE, GREEN
    chart.bars.strokeColor = None
    chart.groupSpacing, chart.barSpacing = 4, 0.5
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(1, *collected, *resolved) * 1.1
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = FONT, 7
    chart.valueAxis.gridStrokeColor, chart.valueAxis.visibleGrid = colors.lightgrey, True
    labels = chart.categoryAxis.labels
    chart.categoryAxis.categoryNames = [t.name for t in towns]
    labels.fontName, labels.fontSize, labels.angle, labels.boxAnchor, labels.dy = FONT, 7, 45, "ne", -2
    drawing.add(chart)
    drawing.add(legend([(BLUE, "收集"), (GREEN, "解决（立即解决＋本级解决）")], x=WIDTH - 190, y=205))
    return drawing


def satisfaction_chart(t: LedgerRow) -> Flowable:
    """A pie of the district's ratings: satisfied, basically satisfied, dissatisfied."""
    counts = [t.satisfied, t.basically_satisfied, t.dissatisfied]
    if not sum(counts):
        return Paragraph("本月暂无选民评价。", BODY)
    drawing = Drawing(WIDTH, 130)
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 40, 10, 110, 110
    pie.data = counts
    pie.slices.strokeColor, pie.slices.strokeWidth = colors.white, 1
    shares = []
    for i, (colour, name, count) in enumerate(
        zip((GREEN, AMBER, RED), ("满意", "基本满意", "不满意"), counts, strict=True)
    ):
        pie.slices[i].fillColor = colour
        shares.append((colour, f"{name}　{count}条（{count / sum(counts):.1%}）"))
    drawing.add(pie)
    drawing.add(legend(shares, x=190, y=90))
    return drawing


def legend(pairs: Sequence[tuple[colors.Color, str]], *, x: float, y: float) -> Legend:
    key = Legend()
    key.x, key.y, key.alignment = x, y, "right"
    key.fontName, key.fontSize, key.dy, key.dx, key.deltay = FONT, 8, 7, 7, 12
    key.colorNamePairs = list(pairs)
    key.columnMaximum, key.strokeColor = 3, None
    return key


def table(head: Sequence[str], rows: list[list[object]], widths: Sequence[float], *, total: bool = False) -> Table:
    """A ledger-style table: a shaded header repeated on every page, numbers to the right, an optional 合计."""
    data = [[Paragraph(h, HEAD_CELL) for h in head], *rows]
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    if total:
        style.append(("BACKGROUND", (0, -1), (-1, -1), TOTAL_FILL))
    result = Table(data, colWidths=list(widths), repeatRows=1)
    result.setStyle(TableStyle(style))
    return result


def ledger_table(rows: list[LedgerRow], figures: Sequence[str], *, with_kind: bool) -> Flowable:
    """A ledger with a 合计 line; a department collects nothing, so its table leaves out the 解决率."""
    if not rows:
        return Paragraph("本月无数据。", BODY)
    shown_rates = (COMPLETION, SATISFACTION) if with_kind else RATES
    leading = ["名称", *(["类型"] if with_kind else [])]
    head = [*leading, *(FIGURE_TITLES[f] for f in figures), *(r.title for r in shown_rates)]
    sums = {figure: sum(getattr(r, figure) for r in rows) for figure in FIGURES}
    everything = LedgerRow(key="total", name="合计", kind="", period=rows[0].period, **sums)
    lines = []
    for row in [*rows, everything]:
        kind = [kind_title(row.kind) if row.kind else ""] if with_kind else []
        rates = [percent(rate(row, r)) for r in shown_rates]
        lines.append([Paragraph(row.name, CELL), *kind, *(getattr(row, f) for f in figures), *rates])
    fixed = [90, 40] if with_kind else [58]
    rest = (WIDTH - sum(fixed)) / (len(head) - len(fixed))
    return table(head, lines, [*fixed, *[rest] * (len(head) - len(fixed))], total=True)


def overdue_table(report: MonthlyReport) -> Flowable:
    if not report.overdue:
        return Paragraph("本月无逾期未办结事项。", BODY)
    head = ["问题编号", "承办单位", "所属镇(街道)", "办理期限", "逾期天数"]
    lines: list[list[object]] = [
        [
            i.issue_id,
            Paragraph(i.handler_name, CELL),
            unit_name(report, i.town) or "区级",
            i.deadline.isoformat(),
            i.days_overdue,
        ]
        for i in report.overdue
    ]
    return table(head, lines, [110, WIDTH - 110 - 80 - 70 - 50, 80, 70, 50])


def accountability_table(report: MonthlyReport) -> Flowable:
    if not report.accountability:
        return Paragraph("本月无问责对象。", BODY)
    head = ["名称", "类型", "逾期", "重新办理", "回访抽查不符", "涉及问题"]
    lines: list[list[object]] = []
    for entry in report.accountability:
        issues = "、".join(entry.issues[:MOST_ISSUES_LISTED])
        if len(entry.issues) > MOST_ISSUES_LISTED:
            issues += f" 等{len(entry.issues)}件"
        counts = [entry.overdue, entry.reopened, entry.flagged]
        lines.append([Paragraph(entry.name, CELL), kind_title(entry.kind), *counts, Paragraph(issues, CELL)])
    return table(head, lines, [100, 50, 36, 40, 54, WIDTH - 280])
