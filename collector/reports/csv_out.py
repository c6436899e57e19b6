"""CSV: one row per commune of the scope, one column per criterion status (UTF-8 with BOM so
spreadsheet programs on officials' PCs read the diacritics right)."""

from __future__ import annotations

import csv
import io

from collector.reports.i18n import t
from collector.reports.model import ReadinessReport


def render_csv(report: ReadinessReport) -> bytes:
    lang = report.lang
    cids = [c.id for c in report.catalogue]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(
        [
            "commune_code",
            t(lang, "commune"),
            t(lang, "kind"),
            "province_code",
            t(lang, "province"),
            t(lang, "colour"),
            t(lang, "last_report"),
            t(lang, "not_met"),
            *cids,
        ]
    )
    for r in report.communes:
        w.writerow(
            [
                r.code,
                r.name,
                r.kind,
                r.province_code,
                r.province_name,
                r.colour,
                r.last_report_at.isoformat() if r.last_report_at else "",
                " ".join(r.not_met),
                *(r.statuses[c] for c in cids),
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
