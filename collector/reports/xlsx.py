"""XLSX (openpyxl): one sheet per level — summary, provinces, communes, criteria — each table
with an autofilter and a frozen header; for a commune also its evidence, attestations, waivers.

Headings and values are in the report's language; times are UTC+7 wall-clock times (Excel
has no time zones: the headings say UTC+7) shown as dd/mm/yyyy hh:mm; every text is cleaned
and never written as a formula (:mod:`collector.reports.cells`)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from collector.reports.cells import clean, clip, is_formula_like
from collector.reports.i18n import (
    colour_label,
    ict_wall,
    kind_label,
    severity_label,
    status_label,
    t,
)
from collector.reports.model import (
    COLOUR_COLUMN,
    NOT_MET,
    ReadinessReport,
    commune_columns,
    evidence_text,
)

_FILL = {
    "green": "C6EFCE",
    "yellow": "FFEB9C",
    "red": "FFC7CE",
    "grey": "D9D9D9",
}
_BOLD = Font(bold=True)
_TIME_FORMAT = "dd/mm/yyyy hh:mm"


def _value(ws: Any, v: Any) -> Any:
    """A value as the sheet gets it: a text cleaned, cut to what a cell holds, and written
    as a string (never a formula); a time in UTC+7; anything else as it is."""
    if isinstance(v, str):
        text = clip(clean(v))
        if not (is_formula_like(v) or is_formula_like(text)):
            return text
        cell = _cell(ws, text, quotePrefix=True)
        cell.data_type = "s"  # openpyxl would take a leading "=" for a formula
        return cell
    if isinstance(v, datetime):
        return _cell(ws, ict_wall(v), number_format=_TIME_FORMAT)
    return v


def _table(
    ws: Any,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[int] | None = None,
    percent_col: int | None = None,
) -> None:
    """Write a table in write-only mode (fast for 3,321 rows): bold frozen header, autofilter.

    Widths and panes go before the rows (they precede the sheet data in the file)."""
    for i, w in enumerate(widths or (), start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, clean(h), font=_BOLD) for h in header])
    n = 1
    for row in rows:
        values: list[Any] = [_value(ws, v) for v in row]
        if percent_col is not None:
            values[percent_col - 1] = _cell(ws, values[percent_col - 1], number_format="0.0%")
        ws.append(values)
        n += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(n, 2)}"


def _cell(ws: Any, value: Any, **style: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    for k, v in style.items():
        if v is not None:
            setattr(cell, k, v)
    return cell


def _sheet(wb: Workbook, lang: str, key: str) -> Any:
    """A new sheet named by ``key`` in ``lang`` (Excel allows 31 characters)."""
    return wb.create_sheet(t(lang, key)[:31])


def _local(lang: str, key: str) -> str:
    """The heading of a column of times: Excel has no time zones, so the heading says UTC+7."""
    return t(lang, key) + " (UTC+7)"


def _summary_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """Title, scope, date, the count of each colour and the green ratio."""
    lang = report.lang
    ws = _sheet(wb, lang, "summary")
    tot = report.totals
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 40
    ws.append([_cell(ws, report.title, font=Font(bold=True, size=14))])
    for label, value in (
        (t(lang, "scope"), report.scope_label),
        (_local(lang, "generated_at"), report.generated_at),
        (t(lang, "count"), tot.communes),
        (colour_label(lang, "green"), tot.green),
        (colour_label(lang, "yellow"), tot.yellow),
        (colour_label(lang, "red"), tot.red),
        (colour_label(lang, "grey"), tot.grey),
    ):
        ws.append([_value(ws, label), _value(ws, value)])
    if report.off_hours:
        ws.append([_value(ws, t(lang, "off_hours_notice"))])
    ws.append([t(lang, "green_ratio"), _cell(ws, tot.green_ratio, number_format="0.0%")])


def _provinces_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """One row per province: its communes by colour and its green ratio."""
    lang = report.lang
    _table(
        _sheet(wb, lang, "provinces"),
        [
            t(lang, "province_code"),
            t(lang, "province"),
            t(lang, "count"),
            *(colour_label(lang, c) for c in ("green", "yellow", "red", "grey")),
            t(lang, "green_ratio"),
        ],
        (
            [p.code, p.name, p.communes, p.green, p.yellow, p.red, p.grey, p.green_ratio]
            for p in report.provinces
        ),
        widths=[7, 28, 9, 9, 9, 9, 9, 12],
        percent_col=8,
    )


def _communes_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """One row per commune: its colour, last report, and the status of every criterion."""
    lang = report.lang
    cids = [c.id for c in report.catalogue]
    ws = wb.create_sheet(t(lang, "communes")[:31].replace(",", ""))
    fills = {k: PatternFill("solid", fgColor=v) for k, v in _FILL.items()}

    def row(r: Any) -> list[Any]:
        cells = r.cells(cids, lang, lambda when: when)
        # The colour's name (and "outside working hours") on its own colour.
        cells[COLOUR_COLUMN] = _cell(ws, r.colour_text(lang), fill=fills.get(r.colour))
        return cells

    _table(
        ws,
        commune_columns(lang, cids),
        (row(r) for r in report.communes),
        widths=[10, 26, 10, 9, 24, 9, 19, 30] + [12] * len(cids),
    )


def _criteria_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """One row per criterion of the catalogue: its basis and how many communes miss it."""
    lang = report.lang
    counts = {c.id: c for c in report.criterion_counts}
    _table(
        _sheet(wb, lang, "criteria"),
        [
            "ID",
            t(lang, "criterion"),
            t(lang, "kind"),
            t(lang, "severity"),
            t(lang, "basis"),
            t(lang, "proposal"),
            t(lang, "not_met_count"),
            *(status_label(lang, s) for s in ("fail", "warn", "unknown", "waived")),
        ],
        (
            [
                c.id,
                c.title,
                kind_label(lang, c.kind),
                severity_label(lang, c.severity),
                c.basis,
                t(lang, "yes") if c.proposal else "",
                counts[c.id].not_met,
                counts[c.id].fail,
                counts[c.id].warn,
                counts[c.id].unknown,
                counts[c.id].waived,
            ]
            for c in report.catalogue
        ),
        widths=[9, 50, 11, 13, 60, 10, 12, 10, 10, 10, 10],
    )


def _evidence_rows(report: ReadinessReport) -> Iterator[list[Any]]:
    """One row per evidence item of each criterion (at least one row per criterion), so
    that hundreds of findings never overflow a cell; the reason on the first row."""
    lang = report.lang
    for d in report.detail:
        since = datetime.fromisoformat(d.since) if d.since else ""
        head = [d.id, d.title, severity_label(lang, d.severity), status_label(lang, d.status)]
        items = [evidence_text(e, lang) for e in d.evidence] or [""]
        todo = ""
        if d.status in NOT_MET:
            todo = "\n".join(f"{n}. {step}" for n, step in enumerate(d.remediation, 1))
        for i, item in enumerate(items):
            first = i == 0
            yield [*head, d.reason if first else "", item, since, todo if first else ""]


def _evidence_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """Commune scope: each criterion's status, reason and evidence, and for a criterion not
    met what to do about it (no detail: no sheet)."""
    if not report.detail:
        return
    lang = report.lang
    _table(
        _sheet(wb, lang, "evidence"),
        [
            "ID",
            t(lang, "criterion"),
            t(lang, "severity"),
            t(lang, "status"),
            t(lang, "reason"),
            t(lang, "evidence"),
            _local(lang, "since"),
            t(lang, "todo"),
        ],
        _evidence_rows(report),
        widths=[9, 40, 12, 12, 50, 70, 19, 70],
    )


def _attestations_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """The attestations in the scope (none: no sheet)."""
    if not report.attestations:
        return
    lang = report.lang
    _table(
        _sheet(wb, lang, "attestations"),
        [
            t(lang, "commune"),
            "ID",
            t(lang, "status"),
            t(lang, "evidence"),
            t(lang, "entered_by"),
            _local(lang, "entered_at"),
            _local(lang, "expires_at"),
            t(lang, "file"),
        ],
        (
            [
                a["commune_code"],
                a["criterion_id"],
                t(lang, "attested_met" if a["status"] == "pass" else "attested_not_met"),
                a["evidence"],
                a["entered_by"],
                a["entered_at"],
                a["expires_at"],
                a["filename"] or "",
            ]
            for a in report.attestations
        ),
        widths=[9, 9, 10, 50, 16, 19, 19, 24],
    )


def _waivers_sheet(wb: Workbook, report: ReadinessReport) -> None:
    """The waivers in the scope (none: no sheet)."""
    if not report.waivers:
        return
    lang = report.lang
    _table(
        _sheet(wb, lang, "waivers"),
        [
            t(lang, "commune"),
            "ID",
            t(lang, "reason"),
            t(lang, "granted_by"),
            _local(lang, "expires_at"),
        ],
        (
            [w["commune_code"], w["criterion_id"], w["reason"], w["granted_by"], w["expires_at"]]
            for w in report.waivers
        ),
        widths=[9, 9, 50, 16, 19],
    )


_SHEETS = (
    _summary_sheet,
    _provinces_sheet,
    _communes_sheet,
    _criteria_sheet,
    _evidence_sheet,
    _attestations_sheet,
    _waivers_sheet,
)


def render_xlsx(report: ReadinessReport) -> bytes:
    wb = Workbook(write_only=True)
    for sheet in _SHEETS:
        sheet(wb, report)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
