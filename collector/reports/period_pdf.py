"""The period report as a PDF briefing, laid out as the readiness briefing (:mod:`.pdf`):
letterhead, title with the period, I. the summary and how a ready day is defined; II. green
coverage per working day, a line chart and its figures; III. the provinces (a national
report); IV. every commune of the scope, a table that splits across pages with its heading
repeated; V. the criteria failed most; the signature block.

Figures in the report's language (Babel, :mod:`.fmt`): 93,8 % in Vietnamese, 93.8 % in English;
days as dd/mm/yyyy.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph

from collector.config import ReportsConfig
from collector.reports import fmt, pdf_parts
from collector.reports.cells import clean
from collector.reports.i18n import t
from collector.reports.pdf import (
    PAGE_WIDTH,
    _labels,
    _Numbering,
    _register_fonts,
    _Styles,
    _styles,
    _table,
    _text,
    build,
)
from collector.reports.period import PeriodReport, fmt_day


def _share(value: float | None, lang: str) -> str:
    return "—" if value is None else fmt.percent(value, lang)


def _opening(report: PeriodReport, head: ReportsConfig, st: _Styles) -> list[Flowable]:
    lang = report.lang
    subject = t(lang, "period_subject").format(
        scope=clean(report.scope_label),
        start=fmt_day(report.period.start),
        end=fmt_day(report.period.end),
    )
    return [
        *pdf_parts.letterhead(lang, head, report.generated_at, st, PAGE_WIDTH),
        *pdf_parts.title(lang, subject, st),
    ]


def _summary(report: PeriodReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    lang = report.lang
    return [
        n.h1(t(lang, "summary")),
        Paragraph(_text(report.summary_text(), lang), st["base"]),
        Paragraph(_text(report.rule_text(), lang), st["base"]),
    ]


def _trend(report: PeriodReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """II. Green coverage per working day: the chart, then the figures of every day."""
    lang = report.lang
    out: list[Flowable] = [n.h1(t(lang, "daily_coverage"))]
    if not report.days:
        return [*out, Paragraph(_text(t(lang, "period_none"), lang), st["base"])]
    if len(report.days) >= 2:
        chart = pdf_parts.day_chart(
            [d.day for d in report.days], [d.coverage for d in report.days], PAGE_WIDTH
        )
        out += [n.h2(t(lang, "chart")), chart]
    else:
        out.append(Paragraph(_text(t(lang, "period_trend_none"), lang), st["base"]))
    header = _labels(lang, "day", "count", "ready_communes", "green_ratio")
    rows: list[list[Any]] = [
        [fmt_day(d.day), d.tally.working_days, d.tally.ready_days, _share(d.coverage, lang)]
        for d in report.days
    ]
    widths = [w * mm for w in (30, 30, 30, 30)]
    return [*out, n.h2(t(lang, "figures")), _table(lang, header, rows, widths, st)]


def _provinces(report: PeriodReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """III. One row per province (a national report only), the furthest behind first."""
    lang = report.lang
    if report.scope != "national":
        return []
    header = _labels(lang, "code", "province", "count", "ready_days", "period_coverage")
    header.append(t(lang, "availability"))
    provinces = sorted(report.provinces, key=lambda p: (p.tally.ready_ratio or 0.0, p.code))
    rows: list[list[Any]] = [
        [
            p.code,
            p.name,
            p.communes,
            p.tally.ready_days,
            _share(p.tally.ready_ratio, lang),
            _share(p.tally.availability, lang),
        ]
        for p in provinces
    ]
    widths = [w * mm for w in (12, 55, 18, 25, 35, 35)]
    return [n.h1(t(lang, "provinces")), _table(lang, header, rows, widths, st)]


def _communes(report: PeriodReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """IV. Every commune: working days, days ready, availability, the criteria failed most."""
    lang = report.lang
    header = _labels(
        lang, "code", "commune", "working_days", "ready_days", "availability", "failed_most"
    )
    rows: list[list[Any]] = [
        [
            c.code,
            c.name if report.scope != "national" else f"{c.name} ({c.province_name})",
            c.tally.working_days,
            c.tally.ready_days,
            _share(c.tally.availability, lang),
            c.failed_text(lang) if c.tally.working_days else t(lang, "no_data"),
        ]
        for c in report.communes
    ]
    widths = [w * mm for w in (14, 45, 18, 18, 22, 63)]
    return [n.h1(t(lang, "communes")), _table(lang, header, rows, widths, st)]


def _criteria(report: PeriodReport, n: _Numbering, st: _Styles) -> list[Flowable]:
    """V. Every criterion assessed in the period, the lowest share of time passed first."""
    lang = report.lang
    header = _labels(lang, "ID", "criterion", "working_hours", "pass_share")
    rows: list[list[Any]] = [
        [c.id, c.title, fmt.number(c.assessed_s / 3600, lang), _share(c.pass_share, lang)]
        for c in report.criteria
    ]
    widths = [w * mm for w in (18, 100, 30, 32)]
    return [n.h1(t(lang, "failed_most")), _table(lang, header, rows, widths, st)]


def render_period_pdf(report: PeriodReport, head: ReportsConfig | None = None) -> bytes:
    _register_fonts()
    st = _styles()
    head = head or ReportsConfig()
    n = _Numbering(st)
    story = _opening(report, head, st)
    for part in (_summary, _trend, _provinces, _communes, _criteria):
        story += part(report, n, st)
    story.append(pdf_parts.signature(report.lang, head, st))
    return build(report, story)
