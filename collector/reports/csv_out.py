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
        w.writerow(r.cells(cids, lambda when: when.isoformat() if when else ""))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
