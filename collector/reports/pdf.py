"""PDF (reportlab): a document an official can file — title, date, scope, summary, tables and
the basis of each criterion from the catalogue.

The DejaVu Sans font (Bitstream Vera licence, ``fonts/LICENSE-DejaVu.txt``) ships inside the
package and is embedded (subset) in every PDF, so Vietnamese diacritics render the same on any
machine, with no system font needed.
"""

from __future__ import annotations

import functools
import io
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
    data = [[Paragraph(escape(h), st["head"]) for h in header]]
    for row in rows:
        data.append([Paragraph(escape(str(v)), st["cell"]) for v in row])
    table = Table(data, colWidths=widths, repeatRows=1)
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


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def render_pdf(report: ReadinessReport) -> bytes:
    _register_fonts()
    st = _styles()
    lang = report.lang
    L = lambda key: t(lang, key)  # noqa: E731 - short local alias
    story: list[Flowable] = [
        Paragraph(escape(report.title), st["title"]),
        Paragraph(escape(L("app")), st["base"]),
        Spacer(1, 4 * mm),
        Paragraph(f"<b>{escape(L('scope'))}:</b> {escape(report.scope_label)}", st["base"]),
        Paragraph(
            f"<b>{escape(L('generated_at'))}:</b> {ict(report.generated_at)} (UTC+7)", st["base"]
        ),
        Spacer(1, 3 * mm),
        Paragraph(escape(L("summary")), st["h2"]),
    ]
    tot = report.totals
    story.append(
        Paragraph(
            escape(
                f"{tot.communes} {L('communes').lower()}: "
                f"{tot.green} {colour_label(lang, 'green').lower()}, "
                f"{tot.yellow} {colour_label(lang, 'yellow').lower()}, "
                f"{tot.red} {colour_label(lang, 'red').lower()}, "
                f"{tot.grey} {colour_label(lang, 'grey').lower()}. "
                f"{L('green_ratio')}: {_pct(tot.green_ratio)}."
            ),
            st["base"],
        )
    )

    if report.scope == "national":
        story.append(Paragraph(escape(L("provinces")), st["h2"]))
        story.append(
            _table(
                [
                    L("code"),
                    L("province"),
                    L("count"),
                    *(colour_label(lang, c) for c in ("green", "yellow", "red", "grey")),
                    L("green_ratio"),
                ],
                [
                    [
                        p.code,
                        p.name,
                        p.communes,
                        p.green,
                        p.yellow,
                        p.red,
                        p.grey,
                        _pct(p.green_ratio),
                    ]
                    for p in sorted(report.provinces, key=lambda p: p.green_ratio)
                ],
                [11 * mm, 52 * mm, 15 * mm, 15 * mm, 15 * mm, 15 * mm, 15 * mm, 22 * mm],
                st,
            )
        )
    elif report.scope == "province":
        story.append(Paragraph(escape(L("communes")), st["h2"]))
        rows = sorted(report.communes, key=lambda r: ("redyellowgreygreen".find(r.colour), r.code))
        story.append(
            _table(
                [L("code"), L("commune"), L("colour"), L("not_met"), L("last_report")],
                [
                    [
                        r.code,
                        r.name,
                        colour_label(lang, r.colour),
                        ", ".join(r.not_met),
                        ict(r.last_report_at),
                    ]
                    for r in rows
                ],
                [14 * mm, 45 * mm, 16 * mm, 78 * mm, 27 * mm],
                st,
                colour_col=2,
                colours=[r.colour for r in rows],
            )
        )
    else:
        r = report.communes[0]
        story.append(
            Paragraph(
                escape(
                    f"{L('colour')}: {colour_label(lang, r.colour)}. "
                    f"{L('last_report')}: {ict(r.last_report_at) or L('never')}."
                ),
                st["base"],
            )
        )
        story.append(Paragraph(escape(L("criteria")), st["h2"]))
        story.append(
            _table(
                ["ID", L("criterion"), L("status"), L("reason"), L("evidence"), L("since")],
                [
                    [
                        d.id,
                        d.title,
                        status_label(lang, d.status),
                        d.reason,
                        "; ".join(evidence_text(e) for e in d.evidence),
                        ict(datetime.fromisoformat(d.since)) if d.since else "",
                    ]
                    for d in report.detail
                ],
                [13 * mm, 33 * mm, 17 * mm, 40 * mm, 57 * mm, 20 * mm],
                st,
            )
        )
        if report.attestations:
            story.append(Paragraph(escape(L("attestations")), st["h2"]))
            story.append(
                _table(
                    ["ID", L("status"), L("evidence"), L("entered_by"), L("expires_at")],
                    [
                        [
                            a["criterion_id"],
                            t(lang, "attested_met" if a["status"] == "pass" else "attested_not_met")
                            + ("" if a["active"] else f" ({L('expired')})"),
                            a["evidence"] + (f" [{a['filename']}]" if a["filename"] else ""),
                            a["entered_by"],
                            ict(a["expires_at"]),
                        ]
                        for a in report.attestations
                    ],
                    [13 * mm, 25 * mm, 82 * mm, 30 * mm, 30 * mm],
                    st,
                )
            )

    if report.waivers:
        story.append(Paragraph(escape(L("waivers")), st["h2"]))
        story.append(
            _table(
                [L("commune"), "ID", L("reason"), L("granted_by"), L("expires_at")],
                [
                    [
                        w["commune_code"],
                        w["criterion_id"],
                        w["reason"],
                        w["granted_by"],
                        ict(w["expires_at"]) + ("" if w["active"] else f" ({L('expired')})"),
                    ]
                    for w in report.waivers
                ],
                [18 * mm, 14 * mm, 88 * mm, 30 * mm, 30 * mm],
                st,
            )
        )

    if report.scope != "commune":
        story.append(Paragraph(escape(L("worst_criteria")), st["h2"]))
        worst = sorted(report.criterion_counts, key=lambda c: -c.not_met)
        story.append(
            _table(
                [
                    "ID",
                    L("criterion"),
                    L("severity"),
                    L("not_met_count"),
                    status_label(lang, "fail"),
                    status_label(lang, "warn"),
                    status_label(lang, "unknown"),
                    status_label(lang, "waived"),
                ],
                [
                    [
                        c.id,
                        c.title,
                        severity_label(lang, c.severity),
                        c.not_met,
                        c.fail,
                        c.warn,
                        c.unknown,
                        c.waived,
                    ]
                    for c in worst
                ],
                [14 * mm, 62 * mm, 20 * mm, 18 * mm, 16 * mm, 16 * mm, 16 * mm, 18 * mm],
                st,
            )
        )

    if report.history:
        story.append(Paragraph(escape(L("history")), st["h2"]))
        story.append(
            _table(
                [L("taken_at"), L("count"), colour_label(lang, "green"), L("green_ratio")],
                [
                    [ict(h["taken_at"]), h["communes"], h["green"], _pct(h["green_ratio"])]
                    for h in report.history[-12:]
                ],
                [40 * mm, 25 * mm, 25 * mm, 30 * mm],
                st,
            )
        )

    story.append(Paragraph(escape(L("criteria_basis")), st["h2"]))
    story.append(
        _table(
            ["ID", L("criterion"), L("kind"), L("severity"), L("basis")],
            [
                [
                    c.id,
                    c.title,
                    kind_label(lang, c.kind),
                    severity_label(lang, c.severity),
                    c.basis + (f" ({L('proposal')})" if c.proposal else ""),
                ]
                for c in report.catalogue
            ],
            [14 * mm, 58 * mm, 18 * mm, 20 * mm, 70 * mm],
            st,
        )
    )
    footer = f"{report.title} — {report.scope_label} — {ict(report.generated_at)}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(15 * mm, 10 * mm, footer)
        page = "Page" if lang == "en" else "Trang"
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"{page} {doc.page}")
        canvas.restoreState()

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
        lang="en" if lang == "en" else "vi",
    )
    # Start the canvas in the embedded font, so no unembedded base-14 font is referenced.
    canvasmaker = functools.partial(Canvas, initialFontName=FONT, initialFontSize=9)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=canvasmaker)
    return buf.getvalue()
