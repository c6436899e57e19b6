"""The parts of a briefing PDF that are not tables: the letterhead of a Vietnamese
administrative document (issuing agency top left, the national emblem line top right, place
and date), the signature block, and the charts (reportlab.graphics).

A Vietnamese report carries the national emblem line in Vietnamese; an English report is a
translation for information and carries its English rendering ("SOCIALIST REPUBLIC OF VIET
NAM / Independence - Freedom - Happiness"), as official translations do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from collector.config import ReportsConfig
from collector.reports import fmt
from collector.reports.cells import clean
from collector.reports.i18n import ICT, t

FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
GREEN = colors.HexColor("#2E7D32")
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def pct(lang: str, ratio: float) -> str:
    """A ratio as a percentage with one decimal, in the language's format (61,9 % / 61.9 %)."""
    return fmt.percent(ratio, lang)


def date_line(lang: str, place: str, when: datetime) -> str:
    """ "Hà Nội, ngày 05 tháng 12 năm 2026" (or "Hà Nội, 5 December 2026"), in UTC+7."""
    d = when.astimezone(ICT)
    return t(lang, "date_line").format(
        place=place, d=d.day, m=d.month, y=d.year, month=_MONTHS_EN[d.month - 1]
    )


def _centred(st: dict[str, ParagraphStyle], name: str) -> ParagraphStyle:
    return ParagraphStyle(f"{name}-c", parent=st[name], alignment=TA_CENTER)


def letterhead(
    lang: str, head: ReportsConfig, when: datetime, st: dict[str, ParagraphStyle], width: float
) -> list[Flowable]:
    """Agency (bold, upper case) top left, the emblem line and the underlined motto top
    right, each with its short rule beneath, then the place and date on the right."""
    bold = ParagraphStyle("lh-b", parent=_centred(st, "base"), fontName=FONT_BOLD, fontSize=9.5)
    plain = ParagraphStyle("lh", parent=_centred(st, "base"), fontSize=9.5)
    left: list[Flowable] = []
    if head.parent_agency.strip():
        left.append(Paragraph(escape(clean(head.parent_agency).upper()), plain))
    left.append(Paragraph(escape(clean(head.agency).upper()), bold))
    left.append(_Rule(18 * mm))
    right: list[Flowable] = [
        Paragraph(escape(t(lang, "emblem_country")), bold),
        Paragraph(f"<u>{escape(t(lang, 'emblem_motto'))}</u>", bold),
    ]
    date = ParagraphStyle("lh-d", parent=st["base"], alignment=2, fontSize=9.5)
    table = Table(
        [[left, right], ["", Paragraph(escape(date_line(lang, clean(head.place), when)), date)]],
        colWidths=[width * 0.42, width * 0.58],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 1), (-1, 1), 6),
            ]
        )
    )
    return [table]


class _Rule(Flowable):
    """A short centred horizontal rule under the agency's name."""

    def __init__(self, length: float) -> None:
        super().__init__()
        self.length = length

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, 4

    def draw(self) -> None:
        x = (self.width - self.length) / 2
        self.canv.setLineWidth(0.6)
        self.canv.line(x, 2, x + self.length, 2)


def title(lang: str, scope_label: str, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """BÁO CÁO, centred, then its subject."""
    big = ParagraphStyle("t", parent=_centred(st, "title"), spaceBefore=10)
    sub = ParagraphStyle("ts", parent=_centred(st, "h2"), spaceBefore=2, spaceAfter=8)
    return [
        Paragraph(escape(t(lang, "report_heading")), big),
        Paragraph(escape(t(lang, "report_subject").format(scope=clean(scope_label))), sub),
    ]


def signature(lang: str, head: ReportsConfig, st: dict[str, ParagraphStyle]) -> Flowable:
    """The signature block on the right: title (bold, upper case), the hint, room to sign,
    the name."""
    bold = ParagraphStyle("sig-b", parent=_centred(st, "base"), fontName=FONT_BOLD)
    small = ParagraphStyle("sig-s", parent=_centred(st, "small"))
    cell = [
        Paragraph(escape(clean(head.signer_title).upper()), bold),
        Paragraph(escape(t(lang, "sign_hint")), small),
        Paragraph("<br/><br/><br/>", st["base"]),
        Paragraph(escape(clean(head.signer_name)), bold),
    ]
    table = Table([["", cell]], colWidths=[95 * mm, 80 * mm])
    table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 10)]))
    table.keepWithPrevious = True
    return table


def bar_chart(labels: list[str], ratios: list[float], width: float, lang: str = "vi") -> Drawing:
    """Green coverage (%) as horizontal bars, one per label, in the given order top down,
    each labelled with its figure in the language's format (61,9 / 61.9)."""
    row = 11.0
    height = max(60.0, row * len(labels) + 30)
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 120, 20
    chart.width, chart.height = width - 140, height - 30
    # The category axis runs bottom up: reverse, so the first label is on top.
    chart.data = [[round(r * 100, 1) for r in reversed(ratios)]]
    chart.categoryAxis.categoryNames = [_short(x, 30) for x in reversed(labels)]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%d %%"
    chart.bars[0].fillColor = GREEN
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = lambda v: fmt.number(v, lang)
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 5.5
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 2
    drawing.add(chart)
    return drawing


def trend_chart(history: list[dict[str, Any]], width: float) -> Drawing:
    """Green coverage (%) over time as a line, the time axis in UTC+7 dates."""
    points = [(h["taken_at"].timestamp(), round(h["green_ratio"] * 100, 1)) for h in history]
    first, last = points[0][0], points[-1][0]
    steps = [first + (last - first) * i / 4 for i in range(5)]
    return _coverage_plot(points, width, steps, _stamp)


def day_chart(days: list[date], ratios: list[float], width: float) -> Drawing:
    """Green coverage (%) per working day as a line with a dot per day, the day axis
    labelled dd/mm (days off leave a gap in time, not a point)."""
    points = [(float(d.toordinal()), round(r * 100, 1)) for d, r in zip(days, ratios, strict=True)]
    first, last = points[0][0], points[-1][0]
    n = min(6, max(1, int(last - first)))
    steps = [round(first + (last - first) * i / n) for i in range(n + 1)]
    return _coverage_plot(points, width, steps, _day, dots=True)


def _coverage_plot(
    points: list[tuple[float, float]],
    width: float,
    steps: Sequence[float],
    label: Callable[[float], str],
    *,
    dots: bool = False,
) -> Drawing:
    """A line of green coverage (%, 0 to 100) over ``points`` (x, %), the x axis marked
    at ``steps`` and labelled by ``label``."""
    drawing = Drawing(width, 150)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 25, width - 60, 110
    plot.data = [points]
    plot.lines[0].strokeColor = GREEN
    plot.lines[0].strokeWidth = 1.5
    if dots:
        plot.lines[0].symbol = makeMarker("FilledCircle", size=2.5, fillColor=GREEN)
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0, 100, 20
    plot.yValueAxis.labelTextFormat = "%d %%"
    first, last = points[0][0], points[-1][0]
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = first, max(last, first + 1)
    plot.xValueAxis.valueSteps = steps
    plot.xValueAxis.labelTextFormat = label
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = FONT
        axis.labels.fontSize = 6.5
    drawing.add(plot)
    drawing.add(Line(40, 25, width - 20, 25, strokeWidth=0.3))
    return drawing


def _day(ordinal: float) -> str:
    return date.fromordinal(round(ordinal)).strftime("%d/%m")


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, ICT).strftime("%d/%m %H:%M")


def _short(text: str, n: int) -> str:
    text = clean(text)
    return text if len(text) <= n else text[: n - 1] + "…"
