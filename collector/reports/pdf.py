"""PDF (reportlab): a briefing an official can file, laid out as a Vietnamese administrative
document — the issuing agency and the national emblem line, place and date, the title,
numbered sections (I., II., ...; 1., 2., ...) and a signature block (:mod:`.pdf_parts`).

* National and province reports: I. a summary paragraph; II. a bar chart of green coverage
  by province (national) or by kind of unit (province) with its figures; III. the trend, a
  line chart of the coverage snapshots; IV. the red communes, named, with the criteria they
  fail; V. the criteria most often not met; VI. waivers; VII. the basis of each criterion.
* A commune report: one page (shrunk to fit if it must) with its status, a line per
  criterion and what to do about each criterion not met; its evidence in an appendix.

No input makes a report fail: every table splits across pages with its heading row repeated,
a row taller than a page splits inside the row, long words break, and a cell longer than
``MAX_CELL`` characters is cut with a note saying how much was cut (the whole text stays in
the XLSX and JSON reports).

The DejaVu Sans font (Bitstream Vera licence, ``fonts/LICENSE-DejaVu.txt``) ships inside the
package and is embedded (subset) in every PDF, so Vietnamese diacritics render the same on any
machine, with no system font needed.
"""

from __future__ import annotations

import functools
import io
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from collector.config import ReportsConfig
from collector.reports import pdf_parts
from collector.reports.cells import clean
from collector.reports.i18n import (
    Lang,
    colour_label,
    ict,
    kind_label,
    severity_label,
    status_label,
    t,
    unit_kind_label,
)
from collector.reports.model import CommuneRow, ReadinessReport

FONT_DIR = Path(__file__).parent / "fonts"
FONT, FONT_BOLD = pdf_parts.FONT, pdf_parts.FONT_BOLD
#: The longest text a table cell holds; beyond it the text is cut with a note.
MAX_CELL = 1500
#: A reason on the commune report's one page is cut here (whole in the appendix).
SHORT_REASON = 160
#: Red communes named in a national or province report (the XLSX and CSV name them all).
RED_LIMIT = 300
PAGE_WIDTH = A4[0] - 30 * mm
PAGE_HEIGHT = A4[1] - 33 * mm
_COLOUR_BG = {
    "green": colors.HexColor("#C6EFCE"),
    "yellow": colors.HexColor("#FFEB9C"),
    "red": colors.HexColor("#FFC7CE"),
    "grey": colors.HexColor("#D9D9D9"),
}
_STATUS_COLOUR = {
    "pass": "green",
    "waived": "green",
    "fail": "red",
    "warn": "yellow",
    "unknown": "grey",
}
_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def _register_fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5, splitLongWords=1)
    heading = ParagraphStyle("heading", parent=base, fontName=FONT_BOLD)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle("title", parent=heading, fontSize=14, leading=18),
        "title-c": ParagraphStyle(
            "title-c", parent=heading, fontSize=14, leading=18, alignment=1, spaceAfter=6
        ),
        "h1": ParagraphStyle(
            "h1", parent=heading, fontSize=10.5, leading=14, spaceBefore=8, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2", parent=heading, fontSize=9.5, leading=13, spaceBefore=5, spaceAfter=3
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "step": ParagraphStyle("step", parent=base, fontSize=8, leading=10, leftIndent=10),
        "head": ParagraphStyle("head", parent=heading, fontSize=8, leading=10),
    }


def _cell(lang: str, v: Any, style: ParagraphStyle) -> Paragraph:
    """A table cell: a value, or (text, limit, note key) for a text cut shorter."""
    if isinstance(v, tuple):
        return Paragraph(_text(v[0], lang, v[1], v[2]), style)
    return Paragraph(_text(v, lang), style)


def _table(
    lang: str,
    header: list[str],
    rows: list[list[Any]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    colour_col: int | None = None,
    colours: list[str] | None = None,
) -> Table:
    data = [[Paragraph(_text(h, lang), st["head"]) for h in header]]
    data += [[_cell(lang, v, st["cell"]) for v in row] for row in rows]
    # The heading row repeats on every page; a row taller than a page continues on the next.
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    for i, c in enumerate(colours or [], start=1):
        bg = _COLOUR_BG.get(c)
        if bg is not None and colour_col is not None:
            style.append(("BACKGROUND", (colour_col, i), (colour_col, i), bg))
    table.setStyle(TableStyle(style))
    return table


def _text(v: Any, lang: str = "vi", limit: int = MAX_CELL, note: str = "cut_note") -> str:
    """A cell's value as paragraph markup: cleaned of control characters, cut beyond
    ``limit`` characters with a note, escaped, line breaks kept."""
    text = clean(str(v))
    if len(text) > limit:
        cut = len(text) - limit
        text = text[:limit] + " " + t(lang, note).format(n=cut)
    return escape(text).replace("\n", "<br/>")


_Styles = dict[str, ParagraphStyle]
_Heading = Callable[[str], Paragraph]


def _labels(lang: str, *keys: str) -> list[str]:
    """Column headings: each key in ``lang``, but ``ID``, the same in both languages."""
    return [k if k == "ID" else t(lang, k) for k in keys]


def _expired(lang: str, item: dict[str, Any]) -> str:
    """`` (expired)`` after an attestation or a waiver no longer in force, else nothing."""
    return "" if item["active"] else f" ({t(lang, 'expired')})"


class _SectionHeading(Paragraph):
    """A heading never left alone at the foot of a page: with less than ``ROOM`` below it,
    it does not fit there and starts the next page. (Not ``keepWithNext``, which moves a
    heading and the whole long table after it to a new page.)"""

    ROOM = 35 * mm

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        width, height = super().wrap(avail_width, avail_height)
        if avail_height < height + self.ROOM:
            return width, avail_height + 1
        return width, height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        return []


class _Numbering:
    """Section headings numbered as an administrative document does: I., II., ... (level 1)
    and 1., 2., ... under each (level 2)."""

    def __init__(self, st: _Styles) -> None:
        self.st = st
        self.top = 0
        self.sub = 0

    def h1(self, text: str) -> Paragraph:
        self.top += 1
        self.sub = 0
        return _SectionHeading(f"{_ROMAN[self.top - 1]}. {escape(text.upper())}", self.st["h1"])

    def h2(self, text: str) -> Paragraph:
        self.sub += 1
        return _SectionHeading(f"{self.sub}. {escape(text)}", self.st["h2"])


def _section(
    lang: str,
    heading: Paragraph,
    st: _Styles,
    header: list[str],
    rows: list[list[Any]],
    widths_mm: Sequence[float],
    **colours: Any,
) -> list[Flowable]:
    """A numbered heading and its table, column widths in mm."""
    table = _table(lang, header, rows, [w * mm for w in widths_mm], st, **colours)
    return [heading, table]


def _opening(report: ReadinessReport, head: ReportsConfig, st: _Styles) -> list[Flowable]:
    """The letterhead, place and date, and the title."""
    return [
        *pdf_parts.letterhead(report.lang, head, report.generated_at, st, PAGE_WIDTH),
        *pdf_parts.title(report.lang, report.scope_label, st),
    ]


def _summary(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """I. The summary paragraph: the colours, green coverage and monitoring coverage."""
    lang = report.lang
    tot = report.totals
    reporting = tot.communes - tot.grey
    text = t(lang, "summary_text").format(
        at=ict(report.generated_at),
        scope=report.scope_label,
        n=tot.communes,
        units="commune" if tot.communes == 1 else "communes",
        g=tot.green,
        y=tot.yellow,
        r=tot.red,
        x=tot.grey,
        ratio=pdf_parts.pct(lang, tot.green_ratio),
        rep=reporting,
        cov=pdf_parts.pct(lang, reporting / tot.communes if tot.communes else 0.0),
    )
    out: list[Flowable] = [n.h1(t(lang, "summary")), Paragraph(_text(text, lang), st["base"])]
    if report.off_hours:  # every commune outside working time: colours kept, not grey
        out.append(Paragraph(_text(t(lang, "off_hours_notice"), lang), st["base"]))
    return out


def _coverage(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """II. Green coverage by province (national) or by kind of unit (province): a bar chart
    and its figures."""
    lang = report.lang
    if report.scope == "national":
        provinces = sorted(report.provinces, key=lambda p: (p.green_ratio, p.code))
        labels = [p.name for p in provinces]
        ratios = [p.green_ratio for p in provinces]
        heading = t(lang, "coverage_by_province")
        figures = _provinces(report, st)
    else:
        kinds = _by_kind(report.communes)
        labels = [unit_kind_label(lang, k) for k in kinds]
        ratios = [g / total for g, total in kinds.values()]
        heading = t(lang, "coverage_by_kind")
        figures = _communes(report, st)
    chart: list[Flowable] = []
    if labels:  # no unit at all: no chart, an empty table says so
        chart = [n.h2(t(lang, "chart")), pdf_parts.bar_chart(labels, ratios, PAGE_WIDTH, lang)]
    return [n.h1(heading), *chart, n.h2(t(lang, "figures")), figures]


def _by_kind(rows: list[CommuneRow]) -> dict[str, tuple[int, int]]:
    """Per kind of unit (xã, phường, đặc khu): (green, all)."""
    total = Counter(r.kind for r in rows)
    green = Counter(r.kind for r in rows if r.colour == "green")
    return {k: (green[k], total[k]) for k in sorted(total)}


def _provinces(report: ReadinessReport, st: _Styles) -> Table:
    """National scope: one row per province, the furthest behind first."""
    lang = report.lang
    header = [
        *_labels(lang, "code", "province", "count"),
        *(colour_label(lang, c) for c in ("green", "yellow", "red", "grey")),
        t(lang, "green_ratio"),
    ]
    rows: list[list[Any]] = [
        [p.code, p.name, p.communes, p.green, p.yellow, p.red, p.grey]
        + [pdf_parts.pct(lang, p.green_ratio)]
        for p in sorted(report.provinces, key=lambda p: (p.green_ratio, p.code))
    ]
    widths = [w * mm for w in (11, 52, 15, 15, 15, 15, 15, 22)]
    return _table(lang, header, rows, widths, st)


def _communes(report: ReadinessReport, st: _Styles) -> Table:
    """Province scope: one row per commune, red first, then yellow, grey and green."""
    lang = report.lang
    communes = sorted(report.communes, key=lambda r: ("redyellowgreygreen".find(r.colour), r.code))
    header = _labels(lang, "code", "commune", "colour", "not_met", "last_report")
    rows: list[list[Any]] = [
        [r.code, r.name, r.colour_text(lang), ", ".join(r.not_met), ict(r.last_report_at)]
        for r in communes
    ]
    widths = [w * mm for w in (14, 45, 16, 78, 27)]
    colours = [r.colour for r in communes]
    return _table(lang, header, rows, widths, st, colour_col=2, colours=colours)


def _trend(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """III. Green coverage over time: a line chart and the last twelve snapshots."""
    lang = report.lang
    out: list[Flowable] = [n.h1(t(lang, "history"))]
    if len(report.history) < 2:
        return [*out, Paragraph(_text(t(lang, "trend_none"), lang), st["base"])]
    header = [
        *_labels(lang, "taken_at", "count"),
        colour_label(lang, "green"),
        t(lang, "green_ratio"),
    ]
    rows: list[list[Any]] = [
        [ict(h["taken_at"]), h["communes"], h["green"], pdf_parts.pct(lang, h["green_ratio"])]
        for h in report.history[-12:]
    ]
    return [
        *out,
        n.h2(t(lang, "chart")),
        pdf_parts.trend_chart(report.history, PAGE_WIDTH),
        *_section(lang, n.h2(t(lang, "figures")), st, header, rows, [40, 25, 25, 30]),
    ]


def _red_communes(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """IV. The red communes by name, each with the criteria it fails (id and name)."""
    lang = report.lang
    heading = n.h1(t(lang, "red_communes"))
    red = sorted((r for r in report.communes if r.colour == "red"), key=lambda r: r.code)
    if not red:
        return [heading, Paragraph(_text(t(lang, "red_none"), lang), st["base"])]
    titles = {c.id: c.title for c in report.catalogue}
    header = _labels(lang, "code", "commune", "province", "failing")
    rows: list[list[Any]] = [
        [
            r.code,
            r.name,
            r.province_name,
            "\n".join(f"{c} {titles.get(c, '')}" for c, s in r.statuses.items() if s == "fail"),
        ]
        for r in red[:RED_LIMIT]
    ]
    out = _section(lang, heading, st, header, rows, [14, 40, 32, 94])
    if len(red) > RED_LIMIT:
        more = t(lang, "red_more").format(n=len(red) - RED_LIMIT)
        out.append(Paragraph(_text(more, lang), st["base"]))
    return out


def _worst_criteria(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """V. The criteria most communes miss, first."""
    lang = report.lang
    header = [
        *_labels(lang, "ID", "criterion", "severity", "not_met_count"),
        *(status_label(lang, s) for s in ("fail", "warn", "unknown", "waived")),
    ]
    rows: list[list[Any]] = [
        [c.id, c.title, severity_label(lang, c.severity), c.not_met]
        + [c.fail, c.warn, c.unknown, c.waived]
        for c in sorted(report.criterion_counts, key=lambda c: (-c.not_met, c.id))
    ]
    heading = n.h1(t(lang, "worst_criteria"))
    return _section(lang, heading, st, header, rows, [14, 62, 20, 18, 16, 16, 16, 18])


def _waivers(report: ReadinessReport, heading: _Heading, st: _Styles) -> list[Flowable]:
    """The waivers granted in the scope (none: no section)."""
    if not report.waivers:
        return []
    lang = report.lang
    header = _labels(lang, "commune", "ID", "reason", "granted_by", "expires_at")
    rows: list[list[Any]] = [
        [
            w["commune_code"],
            w["criterion_id"],
            w["reason"],
            w["granted_by"],
            ict(w["expires_at"]) + _expired(lang, w),
        ]
        for w in report.waivers
    ]
    return _section(lang, heading(t(lang, "waivers")), st, header, rows, [18, 14, 88, 30, 30])


def _criteria_basis(report: ReadinessReport, heading: _Heading, st: _Styles) -> list[Flowable]:
    """Every criterion of the catalogue with its kind, severity and legal basis."""
    lang = report.lang
    proposal = f" ({t(lang, 'proposal')})"
    header = _labels(lang, "ID", "criterion", "kind", "severity", "basis")
    rows: list[list[Any]] = [
        [
            c.id,
            c.title,
            kind_label(lang, c.kind),
            severity_label(lang, c.severity),
            c.basis + (proposal if c.proposal else ""),
        ]
        for c in report.catalogue
    ]
    widths = [14, 58, 18, 20, 70]
    return _section(lang, heading(t(lang, "criteria_basis")), st, header, rows, widths)


def _briefing(report: ReadinessReport, head: ReportsConfig, st: _Styles) -> list[Flowable]:
    """A national or province report: sections I. to VII., then the signature block."""
    n = _Numbering(st)
    story = _opening(report, head, st)
    for part in (_summary, _coverage, _trend, _red_communes, _worst_criteria):
        story += part(report, n, st)
    story += _waivers(report, n.h1, st)
    story += _criteria_basis(report, n.h1, st)
    story.append(pdf_parts.signature(report.lang, head, st))
    return story


def _commune_status(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """I. The commune's colour, last report and how many criteria are met."""
    lang = report.lang
    r = report.communes[0]
    statuses = Counter(d.status for d in report.detail)
    text = t(lang, "commune_status_text").format(
        colour=r.colour_text(lang),
        last=ict(r.last_report_at) or t(lang, "never"),
        npass=statuses["pass"] + statuses["waived"] + statuses["not_applicable"],
        n=len(report.detail),
        nfail=statuses["fail"],
        nother=statuses["warn"] + statuses["unknown"],
    )
    return [n.h1(t(lang, "status_overall")), Paragraph(_text(text, lang), st["base"])]


def _commune_criteria(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """II. One line per criterion: its status and reason, cut short (whole in the appendix)."""
    lang = report.lang
    header = _labels(lang, "ID", "criterion", "status", "reason")
    rows: list[list[Any]] = [
        [d.id, d.title, status_label(lang, d.status), (d.reason, SHORT_REASON, "see_appendix")]
        for d in report.detail
    ]
    colours = [_STATUS_COLOUR.get(d.status, "") for d in report.detail]
    heading = n.h1(t(lang, "criteria_results"))
    widths = [14, 60, 20, 86]
    return _section(lang, heading, st, header, rows, widths, colour_col=2, colours=colours)


def _todo(report: ReadinessReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """III. For each criterion not met: what commune IT staff do about it (the catalogue's
    remediation steps)."""
    lang = report.lang
    out: list[Flowable] = [n.h1(t(lang, "todo"))]
    missing = [d for d in report.detail if d.status in ("fail", "warn", "unknown")]
    if not missing:
        return [*out, Paragraph(_text(t(lang, "todo_none"), lang), st["base"])]
    for d in missing:
        out.append(Paragraph(f"<b>{_text(f'{d.id} {d.title}', lang)}</b>", st["cell"]))
        steps = d.remediation or [d.reason]
        for i, step in enumerate(steps, start=1):
            out.append(Paragraph(f"{i}. {_text(step, lang, SHORT_REASON * 2)}", st["step"]))
    return out


def _appendix(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """PHỤ LỤC: each criterion's whole reason and every evidence line (a row each), the
    attestations, the waivers and the basis of the criteria."""
    lang = report.lang
    n = _Numbering(st)
    rows: list[list[Any]] = []
    for d in report.detail:
        rows.append([d.id, f"{t(lang, 'reason')}: {d.reason}", ""])
        rows += [[d.id, said, raw] for said, raw in d.evidence_rows(lang)]
    story: list[Flowable] = [
        PageBreak(),
        Paragraph(escape(t(lang, "appendix")), st["title-c"]),
        *_section(
            lang,
            n.h2(t(lang, "appendix_evidence")),
            st,
            _labels(lang, "ID", "evidence", "raw_values"),
            rows,
            [16, 82, 82],
        ),
    ]
    story += _meaning(report, n.h2, st)
    story += _attestations(report, n.h2, st)
    story += _waivers(report, n.h2, st)
    story += _criteria_basis(report, n.h2, st)
    return story


def _meaning(report: ReadinessReport, heading: _Heading, st: _Styles) -> list[Flowable]:
    """What each criterion checks and why it matters (the catalogue's guidance)."""
    lang = report.lang
    rows: list[list[Any]] = [[d.id, d.title, d.explanation] for d in report.detail if d.explanation]
    if not rows:
        return []
    header = _labels(lang, "ID", "criterion", "explanation")
    return _section(lang, heading(t(lang, "criteria_meaning")), st, header, rows, [16, 54, 110])


def _attestations(
    report: ReadinessReport, heading: Callable[[str], Paragraph], st: _Styles
) -> list[Flowable]:
    """The attestations entered for the commune (none: no section)."""
    if not report.attestations:
        return []
    lang = report.lang
    header = _labels(lang, "ID", "status", "evidence", "entered_by", "expires_at")
    rows: list[list[Any]] = [
        [
            a["criterion_id"],
            t(lang, "attested_met" if a["status"] == "pass" else "attested_not_met")
            + _expired(lang, a),
            a["evidence"] + (f" [{a['filename']}]" if a["filename"] else ""),
            a["entered_by"],
            ict(a["expires_at"]),
        ]
        for a in report.attestations
    ]
    return _section(lang, heading(t(lang, "attestations")), st, header, rows, [13, 25, 82, 30, 30])


def _commune_report(report: ReadinessReport, head: ReportsConfig, st: _Styles) -> list[Flowable]:
    """One page (shrunk to fit when it must), then the appendix."""
    n = _Numbering(st)
    page = _opening(report, head, st)
    for part in (_commune_status, _commune_criteria, _todo):
        page += part(report, n, st)
    page.append(pdf_parts.signature(report.lang, head, st))
    one_page = KeepInFrame(PAGE_WIDTH, PAGE_HEIGHT, page, mode="shrink")
    return [one_page, *_appendix(report, st)]


class Titled(Protocol):
    """What the page layout needs of a report (a readiness or a period report)."""

    @property
    def title(self) -> str: ...

    scope_label: str
    lang: Lang
    generated_at: datetime


def _footer(report: Titled) -> Callable[[Any, Any], None]:
    """The page callback: title, scope and date on the left, the page number on the right."""
    footer = f"{report.title} — {report.scope_label} — {ict(report.generated_at)}"
    page = "Page" if report.lang == "en" else "Trang"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(15 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"{page} {doc.page}")
        canvas.restoreState()

    return on_page


def build(report: Titled, story: list[Flowable]) -> bytes:
    """Lay ``story`` out on A4 pages with the footer, in the embedded font."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=17 * mm,
        title=f"{report.title} — {report.scope_label}",
        author="commune-ioc",
        lang="en" if report.lang == "en" else "vi",
    )
    on_page = _footer(report)
    # Start the canvas in the embedded font, so no unembedded base-14 font is referenced.
    canvasmaker = functools.partial(Canvas, initialFontName=FONT, initialFontSize=9)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=canvasmaker)
    return buf.getvalue()


def render_pdf(report: ReadinessReport, head: ReportsConfig | None = None) -> bytes:
    """The report as a PDF, under the letterhead ``head`` (the collector's ``reports``
    configuration; its defaults when None)."""
    _register_fonts()
    st = _styles()
    head = head or ReportsConfig()
    if report.scope == "commune":
        return build(report, _commune_report(report, head, st))
    return build(report, _briefing(report, head, st))
