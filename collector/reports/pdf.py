"""PDF (reportlab): a document an official can file — title, date, scope, summary, tables and
the basis of each criterion from the catalogue.

The DejaVu Sans font (Bitstream Vera licence, ``fonts/LICENSE-DejaVu.txt``) ships inside the
package and is embedded (subset) in every PDF, so Vietnamese diacritics render the same on any
machine, with no system font needed.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
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
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from collector.reports.cells import clean
from collector.reports.i18n import (
    colour_label,
    ict,
    kind_label,
    severity_label,
    status_label,
    t,
)
from collector.reports.model import ReadinessReport, evidence_text

FONT_DIR = Path(__file__).parent / "fonts"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
_COLOUR_BG = {
    "green": colors.HexColor("#C6EFCE"),
    "yellow": colors.HexColor("#FFEB9C"),
    "red": colors.HexColor("#FFC7CE"),
    "grey": colors.HexColor("#D9D9D9"),
}


def _register_fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=16, leading=20),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=11.5,
            leading=15,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=8, leading=10),
    }


def _table(
    header: list[str],
    rows: list[list[Any]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    colour_col: int | None = None,
    colours: list[str] | None = None,
) -> Table:
    data = [[Paragraph(_text(h), st["head"]) for h in header]]
    for row in rows:
        data.append([Paragraph(_text(v), st["cell"]) for v in row])
    # A row taller than a page (a criterion with hundreds of findings) continues on the next.
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if colour_col is not None and colours is not None:
        for i, c in enumerate(colours, start=1):
            bg = _COLOUR_BG.get(c)
            if bg is not None:
                style.append(("BACKGROUND", (colour_col, i), (colour_col, i), bg))
    table.setStyle(TableStyle(style))
    return table


def _text(v: Any) -> str:
    """A cell's value as paragraph markup: cleaned of control characters, escaped, line
    breaks kept."""
    return escape(clean(str(v))).replace("\n", "<br/>")


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


_Styles = dict[str, ParagraphStyle]


def _labels(lang: str, *keys: str) -> list[str]:
    """Column headings: each key in ``lang``, but ``ID``, the same in both languages."""
    return [k if k == "ID" else t(lang, k) for k in keys]


def _expired(lang: str, item: dict[str, Any]) -> str:
    """`` (expired)`` after an attestation or a waiver no longer in force, else nothing."""
    return "" if item["active"] else f" ({t(lang, 'expired')})"


def _section(
    lang: str,
    key: str,
    st: _Styles,
    header: list[str],
    rows: list[list[Any]],
    widths_mm: list[float],
    **colours: Any,
) -> list[Flowable]:
    """A level-2 heading (the text of ``key``) and its table, column widths in mm."""
    table = _table(header, rows, [w * mm for w in widths_mm], st, **colours)
    return [Paragraph(escape(t(lang, key)), st["h2"]), table]


def _header(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """Title, application, scope and date, then the summary sentence of the totals."""
    lang = report.lang
    tot = report.totals
    return [
        Paragraph(escape(report.title), st["title"]),
        Paragraph(escape(t(lang, "app")), st["base"]),
        Spacer(1, 4 * mm),
        Paragraph(f"<b>{escape(t(lang, 'scope'))}:</b> {escape(report.scope_label)}", st["base"]),
        Paragraph(
            f"<b>{escape(t(lang, 'generated_at'))}:</b> {ict(report.generated_at)} (UTC+7)",
            st["base"],
        ),
        Spacer(1, 3 * mm),
        Paragraph(escape(t(lang, "summary")), st["h2"]),
        Paragraph(
            escape(
                f"{tot.communes} {t(lang, 'communes').lower()}: "
                f"{tot.green} {colour_label(lang, 'green').lower()}, "
                f"{tot.yellow} {colour_label(lang, 'yellow').lower()}, "
                f"{tot.red} {colour_label(lang, 'red').lower()}, "
                f"{tot.grey} {colour_label(lang, 'grey').lower()}. "
                f"{t(lang, 'green_ratio')}: {_pct(tot.green_ratio)}."
            ),
            st["base"],
        ),
        *([Paragraph(escape(t(lang, "off_hours_notice")), st["base"])] if report.off_hours else []),
    ]


def _provinces(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """National scope: one row per province, the furthest behind first."""
    lang = report.lang
    header = [
        *_labels(lang, "code", "province", "count"),
        *(colour_label(lang, c) for c in ("green", "yellow", "red", "grey")),
        t(lang, "green_ratio"),
    ]
    rows: list[list[Any]] = [
        [p.code, p.name, p.communes, p.green, p.yellow, p.red, p.grey, _pct(p.green_ratio)]
        for p in sorted(report.provinces, key=lambda p: p.green_ratio)
    ]
    return _section(lang, "provinces", st, header, rows, [11, 52, 15, 15, 15, 15, 15, 22])


def _communes(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """Province scope: one row per commune, red first, then yellow, grey and green."""
    lang = report.lang
    communes = sorted(report.communes, key=lambda r: ("redyellowgreygreen".find(r.colour), r.code))
    header = _labels(lang, "code", "commune", "colour", "not_met", "last_report")
    rows: list[list[Any]] = [
        [r.code, r.name, r.colour_text(lang), ", ".join(r.not_met), ict(r.last_report_at)]
        for r in communes
    ]
    return _section(
        lang,
        "communes",
        st,
        header,
        rows,
        [14, 45, 16, 78, 27],
        colour_col=2,
        colours=[r.colour for r in communes],
    )


def _commune_criteria(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """Commune scope: its colour and last report, then each criterion with its evidence."""
    lang = report.lang
    r = report.communes[0]
    status = Paragraph(
        escape(
            f"{t(lang, 'colour')}: {r.colour_text(lang)}. "
            f"{t(lang, 'last_report')}: {ict(r.last_report_at) or t(lang, 'never')}."
        ),
        st["base"],
    )
    header = _labels(lang, "ID", "criterion", "status", "reason", "evidence", "since")
    rows: list[list[Any]] = [
        [
            d.id,
            d.title,
            status_label(lang, d.status),
            d.reason,
            "; ".join(evidence_text(e) for e in d.evidence),
            ict(datetime.fromisoformat(d.since)) if d.since else "",
        ]
        for d in report.detail
    ]
    return [status, *_section(lang, "criteria", st, header, rows, [13, 33, 17, 40, 57, 20])]


def _attestations(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """Commune scope: the attestations entered for it (none: no section)."""
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
    return _section(lang, "attestations", st, header, rows, [13, 25, 82, 30, 30])


def _scope_body(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """The part that depends on the scope: provinces, communes, or one commune's criteria."""
    if report.scope == "national":
        return _provinces(report, st)
    if report.scope == "province":
        return _communes(report, st)
    return _commune_criteria(report, st) + _attestations(report, st)


def _waivers(report: ReadinessReport, st: _Styles) -> list[Flowable]:
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
    return _section(lang, "waivers", st, header, rows, [18, 14, 88, 30, 30])


def _worst_criteria(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """National and province scopes: the criteria most communes miss, first."""
    if report.scope == "commune":
        return []
    lang = report.lang
    header = [
        *_labels(lang, "ID", "criterion", "severity", "not_met_count"),
        *(status_label(lang, s) for s in ("fail", "warn", "unknown", "waived")),
    ]
    rows: list[list[Any]] = [
        [c.id, c.title, severity_label(lang, c.severity), c.not_met]
        + [c.fail, c.warn, c.unknown, c.waived]
        for c in sorted(report.criterion_counts, key=lambda c: -c.not_met)
    ]
    return _section(lang, "worst_criteria", st, header, rows, [14, 62, 20, 18, 16, 16, 16, 18])


def _history(report: ReadinessReport, st: _Styles) -> list[Flowable]:
    """The last twelve coverage snapshots (none: no section)."""
    if not report.history:
        return []
    lang = report.lang
    header = [
        *_labels(lang, "taken_at", "count"),
        colour_label(lang, "green"),
        t(lang, "green_ratio"),
    ]
    rows: list[list[Any]] = [
        [ict(h["taken_at"]), h["communes"], h["green"], _pct(h["green_ratio"])]
        for h in report.history[-12:]
    ]
    return _section(lang, "history", st, header, rows, [40, 25, 25, 30])


def _criteria_basis(report: ReadinessReport, st: _Styles) -> list[Flowable]:
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
    return _section(lang, "criteria_basis", st, header, rows, [14, 58, 18, 20, 70])


def _footer(report: ReadinessReport) -> Callable[[Any, Any], None]:
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


def _build(report: ReadinessReport, story: list[Flowable]) -> bytes:
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


_SECTIONS = (
    _header,
    _scope_body,
    _waivers,
    _worst_criteria,
    _history,
    _criteria_basis,
)


def render_pdf(report: ReadinessReport) -> bytes:
    _register_fonts()
    st = _styles()
    story: list[Flowable] = [f for section in _SECTIONS for f in section(report, st)]
    return _build(report, story)
