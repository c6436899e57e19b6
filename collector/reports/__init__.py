"""Readiness reports: one data model (:mod:`.model`), rendered as PDF, XLSX, CSV or JSON."""

from __future__ import annotations

import json
from typing import Literal

from collector.config import ReportsConfig
from collector.reports.model import ReadinessReport, ReportError, build_report
from collector.reports.period import PeriodReport, build_period_report

Format = Literal["pdf", "xlsx", "csv", "json"]
FORMATS: tuple[Format, ...] = ("pdf", "xlsx", "csv", "json")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def render(report: ReadinessReport, fmt: str, letterhead: ReportsConfig | None = None) -> bytes:
    """The report as a file's bytes; a PDF under ``letterhead`` (the collector's ``reports``
    configuration). Renderers are imported only when asked for."""
    if fmt == "json":
        return json.dumps(report.to_json(), ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        from collector.reports.csv_out import render_csv

        return render_csv(report)
    if fmt == "xlsx":
        from collector.reports.xlsx import render_xlsx

        return render_xlsx(report)
    if fmt == "pdf":
        from collector.reports.pdf import render_pdf

        return render_pdf(report, letterhead)
    raise ReportError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def render_period(report: PeriodReport, fmt: str, letterhead: ReportsConfig | None = None) -> bytes:
    """The period report as a file's bytes (the same formats as :func:`render`)."""
    if fmt == "json":
        return json.dumps(report.to_json(), ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        from collector.reports.period_tables import render_period_csv

        return render_period_csv(report)
    if fmt == "xlsx":
        from collector.reports.period_tables import render_period_xlsx

        return render_period_xlsx(report)
    if fmt == "pdf":
        from collector.reports.period_pdf import render_period_pdf

        return render_period_pdf(report, letterhead)
    raise ReportError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def period_filename(report: PeriodReport, fmt: str) -> str:
    scope = report.scope if report.code is None else f"{report.scope}-{report.code}"
    return f"ioc-period-{scope}-{report.period.slug()}.{fmt}"


def filename(report: ReadinessReport, fmt: str) -> str:
    stamp = report.generated_at.strftime("%Y%m%d-%H%M")
    scope = report.scope if report.code is None else f"{report.scope}-{report.code}"
    return f"ioc-readiness-{scope}-{stamp}.{fmt}"


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "PeriodReport",
    "ReadinessReport",
    "ReportError",
    "build_period_report",
    "build_report",
    "render",
    "render_period",
]
