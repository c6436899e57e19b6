"""The period report as tables: CSV (one row per commune) and XLSX (summary, green coverage
per working day, provinces, communes, criteria), in the report's language.

The same rules as the readiness report's exports (:mod:`.csv_out`, :mod:`.xlsx`): UTF-8 with
a byte order mark, every text cleaned and never a formula (:mod:`.cells`); counts, hours and
shares stay numbers (the CSV's availability in % with one decimal, the XLSX's as a
percentage-formatted share).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from collector.reports.cells import csv_value
from collector.reports.i18n import t
from collector.reports.period import PeriodReport, commune_columns, fmt_day
from collector.reports.xlsx import _cell, _local, _sheet, _table, _value

#: The column of :meth:`PeriodCommune.cells` that holds the availability (0-based).
AVAILABILITY_COLUMN = 8


def render_period_csv(report: PeriodReport) -> bytes:
    lang = report.lang
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_value(h) for h in commune_columns(lang)])
    for c in report.communes:
        w.writerow([csv_value(v) for v in c.cells(lang)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _summary(wb: Workbook, report: PeriodReport) -> None:
    lang = report.lang
    ws = _sheet(wb, lang, "summary")
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 40
    ws.append([_cell(ws, report.title, font=Font(bold=True, size=14))])
    tot = report.total
    for label, value in (
        (t(lang, "scope"), report.scope_label),
        (t(lang, "period"), f"{fmt_day(report.period.start)} – {fmt_day(report.period.end)}"),
        (_local(lang, "generated_at"), report.generated_at),
        (t(lang, "count"), len(report.communes)),
        (t(lang, "working_days"), len(report.days)),
        (t(lang, "ready_days"), tot.ready_days),
    ):
        ws.append([_value(ws, label), _value(ws, value)])
    for key, ratio in (("period_coverage", tot.ready_ratio), ("availability", tot.availability)):
        shown = "" if ratio is None else ratio
        ws.append([t(lang, key), _cell(ws, shown, number_format="0.0%")])
    ws.append([_value(ws, report.summary_text())])
    ws.append([_value(ws, report.rule_text())])


def _days(wb: Workbook, report: PeriodReport) -> None:
    lang = report.lang
    ws = _sheet(wb, lang, "daily_coverage")
    _table(
        ws,
        [t(lang, "day"), t(lang, "count"), t(lang, "ready_communes"), t(lang, "green_ratio")],
        (
            [
                _cell(ws, d.day, number_format="dd/mm/yyyy"),
                d.tally.working_days,
                d.tally.ready_days,
                d.coverage,
            ]
            for d in report.days
        ),
        widths=[14, 10, 14, 14],
        percent_col=4,
    )


def _provinces(wb: Workbook, report: PeriodReport) -> None:
    lang = report.lang
    _table(
        _sheet(wb, lang, "provinces"),
        [
            t(lang, "province_code"),
            t(lang, "province"),
            t(lang, "count"),
            t(lang, "ready_days"),
            t(lang, "period_coverage"),
            t(lang, "availability"),
        ],
        (
            [
                p.code,
                p.name,
                p.communes,
                p.tally.ready_days,
                _share(p.tally.ready_ratio),
                _share(p.tally.availability),
            ]
            for p in report.provinces
        ),
        widths=[7, 28, 9, 12, 16, 16],
        percent_col=5,
    )


def _share(value: float | None) -> Any:
    return "" if value is None else value


def _communes(wb: Workbook, report: PeriodReport) -> None:
    lang = report.lang
    ws = wb.create_sheet(t(lang, "communes")[:31].replace(",", ""))

    def row(c: Any) -> list[Any]:
        cells = c.cells(lang)
        cells[AVAILABILITY_COLUMN] = _share(c.tally.availability)
        return cells

    _table(
        ws,
        commune_columns(lang),
        (row(c) for c in report.communes),
        widths=[10, 26, 10, 9, 24, 12, 12, 12, 14, 60],
        percent_col=AVAILABILITY_COLUMN + 1,
    )


def _criteria(wb: Workbook, report: PeriodReport) -> None:
    lang = report.lang
    _table(
        _sheet(wb, lang, "failed_most"),
        ["ID", t(lang, "criterion"), t(lang, "working_hours"), t(lang, "pass_share")],
        ([c.id, c.title, round(c.assessed_s / 3600, 2), c.pass_share] for c in report.criteria),
        widths=[10, 50, 14, 16],
        percent_col=4,
    )


def render_period_xlsx(report: PeriodReport) -> bytes:
    wb = Workbook(write_only=True)
    for sheet in (_summary, _days, _provinces, _communes, _criteria):
        sheet(wb, report)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
