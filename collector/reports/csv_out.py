"""CSV: one row per commune of the scope, one column per criterion status.

UTF-8 with a byte order mark, so that spreadsheet programs on officials' PCs read the
diacritics right; headings and values in the report's language; times in UTC+7 as
dd/mm/yyyy HH:MM; every text cleaned of control characters and defused as
:mod:`collector.reports.cells` says (a leading apostrophe before a would-be formula).
"""

from __future__ import annotations

import csv
import io

from collector.reports.cells import csv_value
from collector.reports.i18n import ict
from collector.reports.model import ReadinessReport, commune_columns


def render_csv(report: ReadinessReport) -> bytes:
    lang = report.lang
    cids = [c.id for c in report.catalogue]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_value(h) for h in commune_columns(lang, cids)])
    for r in report.communes:
        w.writerow([csv_value(v) for v in r.cells(cids, lang, ict)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
